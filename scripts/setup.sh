#!/usr/bin/env bash
# Set up this checkout: Debian packages (Tesseract + 10 languages and the Fraktur script), .venv/, the right torch, the project.
# Safe to run again: every step skips or no-ops when already done.
set -euo pipefail
cd "$(dirname "$0")/.."

LANGS="eng fra deu spa ita nld por swe dan pol"
# script-frak: Tesseract's model for Fraktur, which --languages auto reads a page with when OSD
# names that script (German print before the 1940s)
SCRIPTS="script-frak"
# chromium: the review page's test opens it headless; fonts-*: the handwriting generator's
# training styles; ghostscript: OCRmyPDF, the peer the speed benchmark runs beside us
HANDWRITING_FONTS="fonts-comic-neue fonts-dancingscript fonts-kristi fonts-sjfonts fonts-breip fonts-ecolier-court fonts-tlwg-purisa-ttf"
APT_PACKAGES="tesseract-ocr $(for l in $LANGS $SCRIPTS; do printf 'tesseract-ocr-%s ' "$l"; done) chromium fonts-dejavu-core $HANDWRITING_FONTS ghostscript"

missing=()
for pkg in $APT_PACKAGES; do
  dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "setup: installing Debian packages: ${missing[*]}"
  SUDO=""; [ "$(id -u)" -eq 0 ] || SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

PYTHON="${PYTHON:-python3.11}"
command -v "$PYTHON" >/dev/null || PYTHON=python3
[ -x .venv/bin/python ] || "$PYTHON" -m venv .venv
PIP=".venv/bin/python -m pip"
$PIP install -q --upgrade pip >/dev/null 2>&1 || true

# torch: never let a bare requirement pull the multi-GB CUDA build onto a CPU machine.
TORCH_VERSION="${TORCH_VERSION:-2.13.0}"
if ! .venv/bin/python -c "import torch, sys; sys.exit(0 if torch.__version__.split('+')[0] == '$TORCH_VERSION' else 1)" 2>/dev/null; then
  if command -v nvidia-smi >/dev/null 2>&1 && nvidia-smi -L >/dev/null 2>&1; then
    echo "setup: GPU found, installing torch==$TORCH_VERSION (CUDA build)"
    $PIP install -q "torch==$TORCH_VERSION"
  elif [ -n "${TORCH_INDEX_URL:-}" ]; then
    echo "setup: no GPU, installing torch==$TORCH_VERSION from TORCH_INDEX_URL (CPU build)"
    $PIP install -q "torch==$TORCH_VERSION" --index-url "$TORCH_INDEX_URL"
  else
    echo "setup: no GPU, installing torch==$TORCH_VERSION (CPU build where pip's configured wheels provide it; set TORCH_INDEX_URL to PyTorch's CPU index elsewhere)"
    $PIP install -q "torch==$TORCH_VERSION"
  fi
fi

$PIP install -q -e ".[models,test,bench]"
echo "setup: done ($(.venv/bin/python -c 'import torch, ray, tesserocr; print("torch", torch.__version__, "| ray", ray.__version__, "|", tesserocr.tesseract_version().split()[1])'))"
