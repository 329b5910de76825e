"""Page images of a PDF, drawn by PDFium (pypdfium2), for the document viewer.

A phone on a slow network sees the first page as a small image long before pdf.js and
the whole PDF could arrive (DESIGN.md "Patient pages"; docs/viewer.md). Text pages
are encoded as lossless WebP (RFC 9649): sharp glyphs at a fraction of PNG's size;
a page that hardly compresses (a photograph, a noisy scan) is encoded lossy instead.

Only PDFs medsign normalized itself at intake reach this module. PDFium is not
thread-safe (pypdfium2 documents that it must not be called from two threads at
once), so every call into it holds :data:`PDFIUM_LOCK`.
"""

from __future__ import annotations

import io
import math
import threading
import zlib
from dataclasses import dataclass

import pypdfium2 as pdfium
from PIL import Image

from medsign.errors import InvalidDocument, NotFound

PDFIUM_LOCK = threading.Lock()
# Widths (device pixels) a page may be drawn at: one suited to phones (about 360-480
# CSS pixels wide) and its 2x variant for dense screens and zooming (HTML srcset).
PAGE_WIDTHS = (480, 960)
# No page image has more pixels than this (a very tall page is drawn narrower).
MAX_PAGE_PIXELS = 960 * 2400
# Lossless above this many bytes is tried again lossy (a scanned photograph).
LOSSLESS_BUDGET = 160_000
LOSSY_QUALITY = 75
# A page whose grey levels deflate (zlib level 1) by less than this ratio is drawn lossy
# from the start: a dense text page deflates 5-7 times, a photograph or noise about once.
PHOTO_RATIO = 3
MEDIA_TYPES = {"webp": "image/webp", "png": "image/png"}


@dataclass(frozen=True)
class PageSize:
    """One page's displayed size in PDF points (1/72 in), rotation applied."""

    width: float
    height: float

    def pixels(self, width: int) -> tuple[int, int]:
        """The image size for a requested ``width``, within :data:`MAX_PAGE_PIXELS`."""
        scale = width / self.width
        if width * self.height * scale <= MAX_PAGE_PIXELS:
            return max(1, round(self.width * scale)), max(1, round(self.height * scale))
        scale = math.sqrt(MAX_PAGE_PIXELS / (self.width * self.height))
        # Rounded down, so the product stays within the limit.
        return max(1, math.floor(self.width * scale)), max(1, math.floor(self.height * scale))


def page_sizes(pdf: bytes) -> list[PageSize]:
    """The displayed size of every page of ``pdf`` (PDF 32000-1 §7.7.3.3 /Rotate)."""
    with PDFIUM_LOCK:
        doc = _open(pdf)
        try:
            # FPDF_GetPageSizeByIndexF: without loading each page, /Rotate applied.
            return [PageSize(*doc.get_page_size(index)) for index in range(len(doc))]
        finally:
            doc.close()


def render_page(pdf: bytes, number: int, width: int, fmt: str = "webp") -> bytes:
    """Page ``number`` (from 1) of ``pdf`` as an image ``width`` pixels wide.

    NotFound for a page the document does not have, a width not in
    :data:`PAGE_WIDTHS` or a format not in :data:`MEDIA_TYPES`.
    """
    if width not in PAGE_WIDTHS:
        raise NotFound(f"Pages are drawn {' or '.join(map(str, PAGE_WIDTHS))} pixels wide.")
    if fmt not in MEDIA_TYPES:
        raise NotFound(f"Pages are drawn as {' or '.join(MEDIA_TYPES)}.")
    with PDFIUM_LOCK:
        doc = _open(pdf)
        try:
            if not 1 <= number <= len(doc):
                raise NotFound(f"The document has no page {number}; it has {len(doc)}.")
            page = doc[number - 1]
            try:
                size = PageSize(*page.get_size())  # as displayed: /Rotate applied
                target = size.pixels(width)
                bitmap = page.render(scale=target[0] / size.width, may_draw_forms=True)
                image = _exactly(bitmap.to_pil().convert("RGB"), target)
            finally:
                page.close()
        finally:
            doc.close()
    return _encode(image, fmt)


def _open(pdf: bytes) -> pdfium.PdfDocument:
    try:
        return pdfium.PdfDocument(pdf)
    except pdfium.PdfiumError as exc:
        raise InvalidDocument(f"The document cannot be drawn: {exc}") from exc


def _exactly(image: Image.Image, size: tuple[int, int]) -> Image.Image:
    """``image`` at exactly ``size`` (the box the page reserved for it): PDFium rounds
    the scaled size up, which leaves a partial row or column to cut off."""
    if image.size == size:
        return image
    if image.width >= size[0] and image.height >= size[1]:
        return image.crop((0, 0, *size))
    return image.resize(size, Image.Resampling.LANCZOS)


def _looks_like_a_photo(image: Image.Image) -> bool:
    """True when the page hardly compresses (a few ms: deflate at its fastest level)."""
    grey = image.convert("L").tobytes()
    return len(zlib.compress(grey, 1)) * PHOTO_RATIO > len(grey)


def _encode(image: Image.Image, fmt: str) -> bytes:
    out = io.BytesIO()
    if fmt == "png":
        image.save(out, "PNG", optimize=True)
        return out.getvalue()
    if _looks_like_a_photo(image):
        # A photograph or a noisy scan: lossless would be large and slow (seconds for a
        # 960 px page of noise); lossy WebP is what such a page is made for.
        image.save(out, "WEBP", quality=LOSSY_QUALITY, method=4)
        return out.getvalue()
    # Lossless "quality" is the effort spent compressing: 80 makes a 960 px text page
    # about 40% smaller than 60, in the same time (measured with tests' text pages).
    image.save(out, "WEBP", lossless=True, quality=80, method=4)
    if out.tell() <= LOSSLESS_BUDGET:
        return out.getvalue()
    lossy = io.BytesIO()
    image.save(lossy, "WEBP", quality=LOSSY_QUALITY, method=4)
    return min(out.getvalue(), lossy.getvalue(), key=len)
