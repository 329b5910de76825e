"""Checking an uploaded logo and re-encoding it (PNG for pages, JPEG for signature blocks).

Only PNG and JPEG are taken, recognised by their signatures (PNG: ISO/IEC 15948 §5.2;
JPEG: the SOI marker, ITU T.81 B.2) before any decoder sees them. SVG is refused: it is
a document that may carry scripts and external references, and sanitizing it is a
project of its own. The size is checked before reading and the pixel count from the
header before decoding (DESIGN.md "Security floor"); what is stored is medsign's own
re-encoding, so nothing of the upload (metadata, trailing bytes) is ever served.
"""

from __future__ import annotations

import io
from dataclasses import dataclass

from PIL import Image, UnidentifiedImageError

from medsign.errors import InvalidInput, LimitExceeded

MAX_LOGO_BYTES = 512 * 1024
MAX_LOGO_SIDE = 4096
MAX_LOGO_PIXELS = 4_000_000
PAGE_BOX = (480, 160)  # the page header shows it at most 48 px high
BLOCK_BOX = (240, 80)  # the signature block shows it about 14 pt high
_PNG = b"\x89PNG\r\n\x1a\n"
_JPEG = b"\xff\xd8\xff"


@dataclass(frozen=True)
class Logo:
    """A logo as medsign stores it."""

    png: bytes
    jpeg: bytes
    width: int
    height: int


def _looks_like_svg(data: bytes) -> bool:
    head = data[:1024].lstrip().lower()
    return head.startswith((b"<svg", b"<?xml", b"<!doctype svg")) or b"<svg" in head


def _flatten(image: Image.Image) -> Image.Image:
    """The image over white, in RGB (transparency kept only in the PNG)."""
    rgba = image.convert("RGBA")
    white = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
    return Image.alpha_composite(white, rgba).convert("RGB")


def prepare_logo(data: bytes) -> Logo:
    """Check ``data`` and re-encode it; a refusal says what is accepted."""
    if len(data) > MAX_LOGO_BYTES:
        raise LimitExceeded(f"The logo is larger than {MAX_LOGO_BYTES // 1024} KB.")
    if not data.startswith((_PNG, _JPEG)) and _looks_like_svg(data):
        raise InvalidInput(
            "SVG logos are not accepted (they can carry scripts). Upload a PNG or JPEG."
        )
    if not data.startswith((_PNG, _JPEG)):
        raise InvalidInput("The logo must be a PNG or JPEG image.")
    try:
        with Image.open(io.BytesIO(data), formats=("PNG", "JPEG")) as image:
            width, height = image.size  # from the header; nothing decoded yet
            if width > MAX_LOGO_SIDE or height > MAX_LOGO_SIDE or width * height > MAX_LOGO_PIXELS:
                raise LimitExceeded(
                    f"The logo is {width}x{height} pixels; at most {MAX_LOGO_SIDE} px a side "
                    f"and {MAX_LOGO_PIXELS:,} pixels are accepted."
                )
            image.load()
            page = image.convert("RGBA")
    except (
        UnidentifiedImageError,
        Image.DecompressionBombError,
        OSError,
        SyntaxError,
        ValueError,
    ) as exc:
        raise InvalidInput("The logo could not be read as a PNG or JPEG image.") from exc
    page.thumbnail(PAGE_BOX)
    png = io.BytesIO()
    page.save(png, "PNG", optimize=True)
    block = _flatten(page)
    block.thumbnail(BLOCK_BOX)
    jpeg = io.BytesIO()
    block.save(jpeg, "JPEG", quality=88)
    return Logo(png.getvalue(), jpeg.getvalue(), page.width, page.height)
