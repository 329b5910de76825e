"""MEDSIGN_MAX_IMAGE_PIXELS for the images inside an uploaded PDF.

A viewer decodes an image whole, so a few kilobytes of compressed samples (or a JPEG
header that claims a huge size) could exhaust a patient's phone. Every image a viewer
may draw is judged from its declared /Width × /Height, before anything is decoded:

- image XObjects (ISO 32000-1 §8.9.5), wherever they are used — pages, form XObjects,
  annotation appearance streams (§12.5.5), patterns — since every object in the file
  is looked at, reachable or not;
- inline images (§8.9.7: ``BI`` dictionary ``ID`` data ``EI``) inside any content
  stream: pages' /Contents, form XObjects (which annotation appearances are), tiling
  patterns (§8.7.3.1) and Type 3 glyph procedures (§9.6.5). Their dictionaries live in
  the decoded stream, so the streams are decoded (bounded by
  MEDSIGN_MAX_PDF_STREAM_BYTES) and searched for the ``BI`` operator; only streams that
  hold one are parsed, by qpdf's content stream parser.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterator
from decimal import Decimal

import pikepdf

from medsign.errors import LimitExceeded

# "BI" as an operator: not inside a longer token (§7.2.2: white-space and delimiters
# end tokens). Only a prefilter: qpdf's parser decides what is an inline image.
_BI = re.compile(rb"(?<![^\s\[\]()<>{}/%])BI(?![^\s\[\]()<>{}/%])")
# The plain search beside qpdf's parser (see _inline_images): inline image dictionaries
# and their width and height keys, full or abbreviated (table 93).
_INLINE_DICT = re.compile(rb"(?<![^\s\[\]()<>{}/%])BI\s(.{0,4096}?)\sID\s", re.S)
_KEY = rb"\s*([+-]?(?:\d+\.?\d*|\.\d+))"
_WIDTH = re.compile(rb"/W(?:idth)?" + _KEY)
_HEIGHT = re.compile(rb"/H(?:eight)?" + _KEY)


def check_image_pixels(pdf: pikepdf.Pdf, name: str, max_pixels: int) -> None:
    """Raise :class:`LimitExceeded` (``max_image_pixels``) for the first image XObject or
    inline image of ``pdf`` with more than ``max_pixels`` samples; see the module doc."""
    content: dict[tuple[int, int], pikepdf.Stream] = {}
    for page in pdf.pages:
        contents = page.obj.get("/Contents")
        for stream in contents if isinstance(contents, pikepdf.Array) else [contents]:
            if isinstance(stream, pikepdf.Stream):
                content[stream.objgen] = stream
    for obj in pdf.objects:
        if isinstance(obj, pikepdf.Stream):
            subtype = obj.get("/Subtype")
            if subtype == pikepdf.Name.Image:
                _judge(obj.get("/Width"), obj.get("/Height"), name, max_pixels, "an image")
            elif subtype == pikepdf.Name.Form or obj.get("/PatternType") == 1:
                content[obj.objgen] = obj
        elif isinstance(obj, pikepdf.Dictionary) and obj.get("/Subtype") == pikepdf.Name.Type3:
            procs = obj.get("/CharProcs")
            for proc in procs.values() if isinstance(procs, pikepdf.Dictionary) else []:
                if isinstance(proc, pikepdf.Stream):
                    content[proc.objgen] = proc
    for stream in content.values():
        for width, height in _inline_images(stream, name):
            _judge(width, height, name, max_pixels, "an inline image")


def _judge(width: object, height: object, name: str, max_pixels: int, what: str) -> None:
    w, h = _dimension(width), _dimension(height)
    if w is None or h is None:
        return  # not numbers: qpdf and the viewers refuse to draw it
    if w * h > max_pixels:
        raise LimitExceeded(
            f"The PDF {name!r} holds {what} of {w} × {h} pixels, more than the limit of "
            f"{max_pixels}; export it at a lower resolution.",
            limit="max_image_pixels",
        )


def _dimension(value: object) -> int | None:
    """A /Width or /Height as viewers read it: an integer, or a real cut to one
    (poppler and pdf.js accept reals here); anything else is None."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, Decimal | float) and math.isfinite(value):
        return int(value)
    return None


def _inline_images(stream: pikepdf.Stream, name: str) -> Iterator[tuple[object, object]]:
    """(width, height) of each inline image in ``stream``'s decoded content."""
    try:
        data = stream.read_bytes()
    except Exception as exc:  # qpdf's decoding errors: DataDecodingError, PdfError
        if "memory limit exceeded" in str(exc):
            raise LimitExceeded(
                f"A content stream of {name!r} decodes to more than "
                "MEDSIGN_MAX_PDF_STREAM_BYTES allows (a compression bomb, or a damaged "
                "file); print it to a new PDF.",
                limit="max_pdf_stream_bytes",
            ) from exc
        return  # qpdf cannot decode it: not searched (docs/intake.md, known limits)
    if b"BI" not in data or not _BI.search(data):
        return
    parsed: list[tuple[object, object]] = []
    try:
        # only inline images become Python objects: half the time of a full parse
        for instruction in pikepdf.parse_content_stream(stream, "BI ID EI"):
            if isinstance(instruction, pikepdf.ContentStreamInlineImage):
                info = instruction.iimage.obj  # keys expanded: /W is /Width (table 93)
                parsed.append((info.get("/Width"), info.get("/Height")))
    except Exception:  # qpdf gave up on the stream; viewers still draw what they can
        parsed = []
    yield from parsed
    # qpdf's parser skips an inline image it cannot close (no EI, an open dictionary
    # before it) where viewers may still draw one: when the plain search finds more
    # inline image dictionaries than the parser did, those are judged as well.
    found = []
    for match in _INLINE_DICT.finditer(data):
        width, height = _WIDTH.search(match[1]), _HEIGHT.search(match[1])
        if width and height:
            found.append((Decimal(width[1].decode()), Decimal(height[1].decode())))
    if len(found) > len(parsed):
        yield from found
