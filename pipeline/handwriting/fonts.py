"""Handwriting-style fonts for training, and the plain font the conditioning image uses.

Fonts come from Debian `fonts-*` packages and PyPI `fontpkg-*` packages (both free licences).
Many lack glyphs (accents, upper case, digits): coverage is read from each font's cmap, so a
style is only ever asked to write characters its font has.
"""

from __future__ import annotations

import importlib.util
import os
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from fontTools.ttLib import TTFont

PLAIN_FONT = "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf"

# Printable ASCII and the letters of the European languages the pipeline reads.
CHARSET = "".join(chr(c) for c in range(0x20, 0x7F)) + (
    "àâäáãåçèéêëìíîïñòóôöõøùúûüýÿßæœÀÂÄÁÃÅÇÈÉÊËÌÍÎÏÑÒÓÔÖÕØÙÚÛÜÝŸÆŒąćęłńśźżĄĆĘŁŃŚŹŻ"
)

DEBIAN_FONTS = [
    "/usr/share/fonts/opentype/comic-neue/ComicNeue-Regular.otf",
    "/usr/share/fonts/opentype/dancingscript/DancingScript-Regular.otf",
    "/usr/share/fonts/truetype/kristi/Kristi.ttf",
    "/usr/share/fonts/truetype/sjfonts/Delphine.ttf",
    "/usr/share/fonts/truetype/sjfonts/SteveHand.ttf",
    "/usr/share/fonts/truetype/breip/Breip.ttf",
    "/usr/share/fonts/truetype/ecolier-court/Ecolier-court.ttf",
    "/usr/share/fonts/truetype/tlwg/Purisa.ttf",
    # femkeklaver is left out: its glyphs are outlines, hollow at line height
]
PYPI_FONTS = {  # module -> file inside its files/ folder
    "fontpkg_caveat": "Caveat[wght].ttf",
    "fontpkg_kalam": "Kalam-Regular.ttf",
    "fontpkg_indie_flower": "IndieFlower-Regular.ttf",
}
# Below this share of the lower-case Latin alphabet a font cannot write ordinary text.
MIN_LOWERCASE_COVERAGE = 1.0


@dataclass(frozen=True)
class HandwritingFont:
    name: str
    path: str
    charset: frozenset[str]


@lru_cache(maxsize=None)
def font_charset(path: str) -> frozenset[str]:
    """Characters of CHARSET the font has a real glyph for (space always counts)."""
    with TTFont(path, lazy=True) as font:
        cmap = font.getBestCmap() or {}
    return frozenset(ch for ch in CHARSET if ord(ch) in cmap) | {" "}


def _pypi_font_paths() -> list[str]:
    paths = []
    for module, filename in PYPI_FONTS.items():
        spec = importlib.util.find_spec(module)
        if spec is None or spec.origin is None:
            continue
        path = Path(spec.origin).parent / "files" / filename
        if path.exists():
            paths.append(str(path))
    return paths


def discover_fonts(paths: list[str] | None = None) -> list[HandwritingFont]:
    """The usable handwriting fonts on this machine, in a stable order (style id = index).

    A font is usable when it covers the whole lower-case alphabet; the rest of its coverage
    is recorded so a style is never asked for a glyph it lacks.
    """
    candidates = paths if paths is not None else DEBIAN_FONTS + _pypi_font_paths()
    fonts = []
    for path in candidates:
        if not os.path.exists(path):
            continue
        charset = font_charset(path)
        lower = set("abcdefghijklmnopqrstuvwxyz")
        if len(lower & charset) / len(lower) < MIN_LOWERCASE_COVERAGE:
            continue
        name = Path(path).stem.split("[")[0].replace("-Regular", "")
        fonts.append(HandwritingFont(name=name, path=path, charset=charset))
    return fonts


def missing_fonts_hint() -> str:
    return ("no handwriting fonts found: install Debian fonts-comic-neue fonts-dancingscript "
            "fonts-kristi fonts-sjfonts fonts-breip fonts-ecolier-court "
            "fonts-tlwg-purisa-ttf, or PyPI fontpkg-caveat fontpkg-kalam fontpkg-indie-flower "
            "(scripts/setup.sh does both)")
