"""PDF/A-2b from a searchable PDF, through OCRmyPDF's conversion (Ghostscript), with OCR off:
pages that already carry text keep it and no page is read again. No PDF/A validator installs
from the package registries here (veraPDF is a Java download); `check_pdfa` checks what a
conversion is responsible for: the PDF/A-2B identification in the XMP metadata, an output
intent, and every font embedded."""

from __future__ import annotations

import io
import logging
import tempfile
from pathlib import Path

# OCRmyPDF narrates each page it skips at INFO; its warnings (a damaged stream, a date without
# a time zone) stay
logging.getLogger("ocrmypdf").setLevel(logging.WARNING)
logging.getLogger("pikepdf").setLevel(logging.WARNING)


class PdfaError(Exception):
    """The PDF could not be converted to PDF/A."""


def to_pdfa(pdf: bytes) -> bytes:
    import ocrmypdf
    import pikepdf

    with tempfile.TemporaryDirectory() as tmp:
        src, dst = Path(tmp) / "in.pdf", Path(tmp) / "out.pdf"
        with pikepdf.open(io.BytesIO(pdf)) as doc:
            if "/Info" in doc.Root:  # a stray document-info key in the catalog (some producers write one)
                del doc.Root.Info
            doc.save(src)
        try:
            ocrmypdf.ocr(src, dst, output_type="pdfa-2", pdfa_backend="internal", mode="skip", tesseract_timeout=0, optimize=0,
                         progress_bar=False, jobs=1)
        except Exception as exc:  # ocrmypdf raises its own exception types, one per cause
            raise PdfaError(f"PDF/A conversion failed: {type(exc).__name__}: {_reason(exc)}") from exc
        return dst.read_bytes()


def _reason(exc: Exception) -> str:
    """OCRmyPDF's message, less its advice on its own command-line options (this export has
    none of them); the cause its exception type names where it gives no message."""
    lines = [ln for ln in str(exc).strip().splitlines() if not ln.startswith("Use --")]
    if lines:
        return "\n".join(lines)
    if type(exc).__name__ == "InputFileError":
        return "OCRmyPDF cannot read the searchable PDF made from this source (a damaged source PDF)"
    return "no reason given"


def check_pdfa(pdf: bytes) -> list[str]:
    """What is missing for PDF/A-2b among what a conversion must provide; [] when nothing is."""
    import pikepdf
    import pymupdf

    problems = []
    with pikepdf.open(io.BytesIO(pdf)) as doc:
        meta = doc.open_metadata()
        if meta.get("pdfaid:part") != "2" or (meta.get("pdfaid:conformance") or "").upper() != "B":
            problems.append(f"XMP identifies PDF/A part {meta.get('pdfaid:part')!r}, conformance {meta.get('pdfaid:conformance')!r}")
        if "/OutputIntents" not in doc.Root:
            problems.append("no output intent")
    with pymupdf.open(stream=pdf, filetype="pdf") as doc:
        for page in doc:
            for font in page.get_fonts(full=True):
                if font[1] == "n/a" or not font[1]:
                    problems.append(f"page {page.number + 1}: font {font[3]} not embedded")
    return problems
