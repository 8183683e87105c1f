"""Open a document's bytes as pages, and say in plain words why one cannot be opened.

PDFs go through PyMuPDF; PNG, JPEG, JPEG 2000 and TIFF (multi-page, bilevel, 16-bit,
EXIF-rotated, transparent) through Pillow. The type is decided by the bytes, not the file name.
"""

from __future__ import annotations

import io
import math
import warnings
from dataclasses import dataclass, field

import numpy as np
import pyarrow as pa
import pymupdf
from PIL import Image, ImageOps, ImageSequence

from pipeline.run.config import RenderConfig

pymupdf.TOOLS.mupdf_display_errors(False)
pymupdf.TOOLS.mupdf_display_warnings(False)
Image.MAX_IMAGE_PIXELS = None  # we enforce our own, clearer, limits below

# PNG, JPEG, TIFF (both byte orders), JPEG 2000 (the JP2 file and a bare codestream)
IMAGE_SIGNATURES = (b"\x89PNG\r\n\x1a\n", b"\xff\xd8\xff", b"II*\x00", b"MM\x00*",
                    b"\x00\x00\x00\x0cjP  \r\n\x87\n", b"\xff\x4f\xff\x51")


class DocumentError(Exception):
    """A document or page that cannot be read; `kind` is a stable label for counting."""

    def __init__(self, kind: str, message: str):
        super().__init__(message)
        self.kind = kind


@dataclass(frozen=True)
class RenderSpec:
    """What pixels an engine wants: colour mode, resolution and an optional longest side."""

    mode: str = "L"  # "L" (grey) or "RGB"
    max_side: int | None = None  # longest side in pixels, e.g. 1540 for LightOnOCR


@dataclass
class RenderedPage:
    pixels: np.ndarray  # (H, W) uint8 for "L", (H, W, 3) for "RGB"
    dpi: float
    flags: list[str] = field(default_factory=list)
    buffer: pa.Buffer | None = None  # the memory `pixels` views, when it views all of it

    def tobytes(self) -> bytes | pa.Buffer:
        """The pixels as bytes, without a copy when the renderer already made them."""
        return self.buffer if self.buffer is not None else self.pixels.tobytes()

    @property
    def width(self) -> int:
        return int(self.pixels.shape[1])

    @property
    def height(self) -> int:
        return int(self.pixels.shape[0])


def sniff_kind(data: bytes) -> str:
    """'pdf', 'image' or raise: decided by magic bytes."""
    if not data:
        raise DocumentError("empty_file", "the file is empty (0 bytes)")
    head = data[:1024]
    if b"%PDF-" in head:
        return "pdf"
    if head.startswith(IMAGE_SIGNATURES):
        return "image"
    raise DocumentError(
        "not_a_document", "the file is neither a PDF nor a PNG, JPEG, JPEG 2000 or TIFF image (unrecognised content)"
    )


def declared_dpi(image: Image.Image) -> float | None:
    """The resolution an image file states, if it states a usable one."""
    info = image.info.get("dpi")
    return float(info[0]) if info and info[0] and info[0] > 1 else None


def eight_bit(image: Image.Image) -> Image.Image:
    """The image as 8-bit pixels on white, as a reader sees it. Pillow's own conversion clips
    16-bit grey (preservation masters) to 255, a white page, and drops transparency, which
    turns a transparent background black under its text."""
    if image.mode in ("I;16", "I;16L", "I;16B", "I;16N", "I"):
        values = np.asarray(image)
        if image.mode != "I" or values.max() > 255:
            values = values.astype(np.uint32) >> 8
        return Image.fromarray(np.clip(values, 0, 255).astype(np.uint8), "L")
    if image.mode in ("RGBA", "LA", "PA") or (image.mode == "P" and "transparency" in image.info):
        rgba = image.convert("RGBA")
        return Image.alpha_composite(Image.new("RGBA", rgba.size, "white"), rgba).convert("RGB")
    return image


def scaled_dpi(width_pt: float, height_pt: float, dpi: float, spec: RenderSpec, cfg: RenderConfig) -> tuple[float, list[str]]:
    """The DPI a page of this size gets: the configured one, lowered to the engine's longest side
    and to the pixel cap (then flagged)."""
    flags: list[str] = []
    if spec.max_side:
        dpi = min(dpi, spec.max_side * 72.0 / max(width_pt, height_pt, 1.0))
    pixels = (width_pt * dpi / 72.0) * (height_pt * dpi / 72.0)
    if pixels > cfg.max_pixels:
        dpi = dpi * math.sqrt(cfg.max_pixels / pixels)
        flags.append("downscaled_pixel_cap")
    return dpi, flags


class PdfDocument:
    def __init__(self, data: bytes):
        try:
            doc = pymupdf.open(stream=data, filetype="pdf")
        except Exception as exc:  # PyMuPDF raises several types for broken files
            raise DocumentError("corrupt", f"the PDF cannot be opened: {exc}") from exc
        if doc.needs_pass and not doc.authenticate(""):
            doc.close()
            raise DocumentError("encrypted", "the PDF is encrypted and needs a password to open")
        try:
            count = doc.page_count
        except Exception as exc:
            raise DocumentError("corrupt", f"the PDF's page tree is broken: {exc}") from exc
        if count < 1:
            doc.close()
            raise DocumentError("corrupt", "the PDF has no readable pages (broken or empty page tree)")
        self.doc = doc
        self.page_count = count

    def page(self, index: int) -> pymupdf.Page:
        try:
            return self.doc.load_page(index)
        except Exception as exc:
            raise DocumentError("corrupt_page", f"page {index + 1} cannot be loaded: {exc}") from exc

    def render(self, index: int, cfg: RenderConfig, spec: RenderSpec) -> RenderedPage:
        page = self.page(index)
        rect = page.rect
        if rect.width <= 0 or rect.height <= 0:
            raise DocumentError("corrupt_page", f"page {index + 1} has an empty media box")
        dpi, flags = scaled_dpi(rect.width, rect.height, cfg.dpi, spec, cfg)
        colorspace = pymupdf.csGRAY if spec.mode == "L" else pymupdf.csRGB
        try:
            zoom = dpi / 72.0
            pix = page.get_pixmap(matrix=pymupdf.Matrix(zoom, zoom), colorspace=colorspace, alpha=False)
        except Exception as exc:
            raise DocumentError("render_failed", f"page {index + 1} cannot be rendered: {exc}") from exc
        channels = pix.n
        # Zero-copy: an Arrow buffer over MuPDF's pixel memory that keeps the pixmap alive.
        data = pa.foreign_buffer(pix.samples_ptr, pix.stride * pix.height, base=pix)
        pixels = np.frombuffer(data, dtype=np.uint8).reshape(pix.height, pix.stride)
        buffer: pa.Buffer | None = data
        if pix.stride != pix.width * channels:
            pixels, buffer = np.ascontiguousarray(pixels[:, : pix.width * channels]), None
        pixels = pixels.reshape(pix.height, pix.width, channels)
        pixels = pixels[:, :, 0] if channels == 1 else pixels
        if page.rotation:
            flags.append("rotated")
        return RenderedPage(pixels=pixels, dpi=float(round(dpi, 2)), flags=flags, buffer=buffer)

    def close(self) -> None:
        self.doc.close()


class ImageDocument:
    """A raster file: one page per frame (multi-page TIFF), EXIF orientation applied."""

    def __init__(self, data: bytes, cfg: RenderConfig):
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                image = Image.open(io.BytesIO(data))
        except Exception as exc:
            raise DocumentError("corrupt", f"the image cannot be opened: {exc}") from exc
        width, height = image.size
        if width * height > cfg.bomb_pixels:
            raise DocumentError(
                "too_large",
                f"the image claims {width}x{height} pixels, over the {cfg.bomb_pixels:,}-pixel safety limit "
                "(possible decompression bomb)",
            )
        self.image = image
        self.page_count = getattr(image, "n_frames", 1)

    def render(self, index: int, cfg: RenderConfig, spec: RenderSpec) -> RenderedPage:
        flags: list[str] = []
        try:
            frame = ImageSequence.Iterator(self.image)[index]
            if frame.size[0] * frame.size[1] > cfg.bomb_pixels:
                raise DocumentError("too_large", f"frame {index + 1} is over the pixel safety limit")
            frame.load()
            oriented = ImageOps.exif_transpose(frame)
        except DocumentError:
            raise
        except Exception as exc:
            kind = "truncated" if "truncated" in str(exc).lower() else "corrupt_page"
            raise DocumentError(kind, f"image page {index + 1} cannot be decoded: {exc}") from exc
        if frame.getexif().get(0x0112, 1) not in (0, 1):  # EXIF Orientation tag
            flags.append("rotated_exif")
        dpi = declared_dpi(frame)
        if dpi is None:
            dpi = float(cfg.dpi)
            flags.append("dpi_assumed")
        image = eight_bit(oriented).convert(spec.mode)
        scale = 1.0
        if spec.max_side and max(image.size) > spec.max_side:
            scale = spec.max_side / max(image.size)
        if image.size[0] * image.size[1] * scale * scale > cfg.max_pixels:
            scale = math.sqrt(cfg.max_pixels / (image.size[0] * image.size[1]))
            flags.append("downscaled_pixel_cap")
        if scale >= 1.0 and cfg.upscale_small_text:
            scale = _small_text_scale(image, spec, cfg)
            if scale > 1.0:
                flags.append(f"text_upscaled_x{scale:.1f}")
        if scale != 1.0:
            size = (max(1, round(image.size[0] * scale)), max(1, round(image.size[1] * scale)))
            image = image.resize(size, Image.Resampling.LANCZOS)
            dpi *= scale
        return RenderedPage(pixels=np.asarray(image, dtype=np.uint8), dpi=round(dpi, 2), flags=flags)

    def close(self) -> None:
        self.image.close()


def _small_text_scale(image: Image.Image, spec: RenderSpec, cfg: RenderConfig) -> float:
    """The factor that brings small text up to the size engines read (pipeline/page/text_size.py),
    within the engine's longest side and the pixel cap."""
    from pipeline.page.text_size import upscale_factor

    factor = upscale_factor(np.asarray(image.convert("L")))
    if factor <= 1.0:
        return 1.0
    if spec.max_side:
        factor = min(factor, spec.max_side / max(image.size))
    factor = min(factor, math.sqrt(cfg.max_pixels / max(1, image.size[0] * image.size[1])))
    return factor if factor > 1.05 else 1.0


Document = PdfDocument | ImageDocument


def open_document(data: bytes, cfg: RenderConfig) -> Document:
    """Open bytes as a document, or raise DocumentError with a reason a person understands."""
    if sniff_kind(data) == "pdf":
        return PdfDocument(data)
    return ImageDocument(data, cfg)
