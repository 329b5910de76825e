"""The visible signature block: layout on the last page and its appearance stream.

A block is a form XObject (ISO 32000-1 §8.10) used as the normal appearance (/AP /N,
§12.5.5) of the signature widget. It shows the signer, the time with its UTC offset,
the method, the document id, the verification code and, when a verification URL is
given, a QR code (drawn as filled rectangles, no image: :mod:`medsign.pdf.qr`).
Text is shaped with HarfBuzz and shown with subsets of the shipped font
(:mod:`medsign.pdf.textfont`): one shared by every block, one for what it lacks.
"""

from __future__ import annotations

import functools
import zlib
from dataclasses import dataclass
from datetime import datetime

from medsign.errors import InvalidInput
from medsign.pdf.font import Font, ShapedGlyph, default_font
from medsign.pdf.objects import Name, ObjectSet, PdfValue, Ref, Stream, fmt_number
from medsign.pdf.qr import qr_path
from medsign.pdf.textfont import Line, base_font, font_objects, rest_font, tj

BLOCK_WIDTH = 180.0
BLOCK_HEIGHT = 62.0
PAGE_MARGIN = 18.0
BLOCK_GAP = 6.0
COLUMNS = 3

_PAD = 4.0
_MIN_SIZE = 4.0
# White background and a thin gray frame (ISO 32000-1 §8.5.2, §8.6.8).
_FRAME = b"q\n1 g 0 0 %s %s re f\n0.4 G 0.6 w 0.3 0.3 %s %s re S\n" % (
    fmt_number(BLOCK_WIDTH),
    fmt_number(BLOCK_HEIGHT),
    fmt_number(BLOCK_WIDTH - 0.6),
    fmt_number(BLOCK_HEIGHT - 0.6),
)
# zlib level 1: a third of level 6's time for ~20% more bytes on a 7 kB stream.
_CONTENT_LEVEL = 1


@dataclass(frozen=True)
class BlockLogo:
    """An organization's logo for the block: baseline JPEG (RGB, 8 bits) as medsign
    re-encoded it, embedded as-is with /DCTDecode (ISO 32000-1 §7.4.8, §8.9.5)."""

    jpeg: bytes
    width: int
    height: int


@dataclass(frozen=True)
class SignatureBlock:
    """What the visible block shows; ``issuer`` (the organization's name) and ``logo``
    brand its first line, which otherwise names medsign."""

    signer_name: str
    signed_at: datetime
    method: str
    document_id: str
    verification_code: str
    verify_url: str | None = None
    issuer: str = ""
    logo: BlockLogo | None = None


_LOGO_HEIGHT = 8.0
_LOGO_MAX_WIDTH = 30.0


def _logo_size(logo: BlockLogo) -> tuple[float, float]:
    """The logo's drawn size in points: 8 pt high, at most 30 pt wide."""
    w = _LOGO_HEIGHT * logo.width / max(logo.height, 1)
    if w <= _LOGO_MAX_WIDTH:
        return round(w, 3), _LOGO_HEIGHT
    return _LOGO_MAX_WIDTH, round(_LOGO_MAX_WIDTH * logo.height / max(logo.width, 1), 3)


def format_time(value: datetime) -> str:
    """``2026-11-23 10:15:02 +03:00``: local time with its UTC offset."""
    offset = value.utcoffset()
    if offset is None:
        raise InvalidInput("The signing time must carry a time zone.")
    total = int(offset.total_seconds())
    sign = "+" if total >= 0 else "-"
    hours, minutes = divmod(abs(total) // 60, 60)
    return f"{value:%Y-%m-%d %H:%M:%S} {sign}{hours:02d}:{minutes:02d}"


def slot_rect(
    mediabox: tuple[float, float, float, float], slot: int
) -> tuple[float, float, float, float]:
    """Rectangle of block ``slot`` on a page: 3 per row from the bottom-left, rows upward.

    Blocks shrink uniformly on pages too narrow for three, so slots never overlap.
    """
    x0, y0, x1, _y1 = mediabox
    page_w = x1 - x0
    full = COLUMNS * BLOCK_WIDTH + (COLUMNS - 1) * BLOCK_GAP + 2 * PAGE_MARGIN
    scale = min(1.0, page_w / full) if page_w > 0 else 1.0
    w, h = BLOCK_WIDTH * scale, BLOCK_HEIGHT * scale
    gap, margin = BLOCK_GAP * scale, PAGE_MARGIN * scale
    row, col = divmod(max(slot, 0), COLUMNS)
    left = x0 + margin + col * (w + gap)
    bottom = y0 + margin + row * (h + gap)
    return (round(left, 3), round(bottom, 3), round(left + w, 3), round(bottom + h, 3))


@functools.lru_cache(maxsize=2048)
def _shape(text: str) -> tuple[ShapedGlyph, ...]:
    return tuple(default_font().shape(text))


def _fit(font: Font, text: str, size: float, width: float) -> tuple[tuple[ShapedGlyph, ...], float]:
    """Shrink to fit ``width`` down to a minimum size, then cut with an ellipsis."""
    glyphs = _shape(text)
    natural = font.text_width(list(glyphs), 1.0)
    if natural * size <= width or natural == 0:
        return glyphs, size
    if natural * _MIN_SIZE <= width:
        return glyphs, width / natural
    ellipsis = _shape("…")
    room = width / _MIN_SIZE - font.text_width(list(ellipsis), 1.0)
    kept: list[ShapedGlyph] = []
    used = 0.0
    for g in glyphs:
        adv = g.advance / font.units_per_em
        if used + adv > room:
            break
        kept.append(g)
        used += adv
    return tuple(kept) + ellipsis, _MIN_SIZE


def _qr_ops(url: str, x: float, y: float, size: float) -> bytes:
    """A QR code (ISO/IEC 18004) as filled rectangles, one per horizontal run.

    The matrix is drawn in module units under a ``cm`` transform (ISO 32000-1 §8.4.4),
    so every rectangle is written with small integers; all of them are one path,
    filled once (§8.5.3), so adjacent modules show no seams.
    """
    n, path = qr_path(url)
    module = size / n
    return (
        b"q %s 0 0 %s %s %s cm 0 g\n"
        % (fmt_number(module), fmt_number(module), fmt_number(x), fmt_number(y))
        + path
        + b"f Q\n"
    )


def _logo_image(objs: ObjectSet, logo: BlockLogo) -> Ref:
    """The logo as an image XObject (ISO 32000-1 §8.9.5) scaled by the ``cm`` above."""
    return objs.add(
        Stream(
            {
                "Type": Name("XObject"),
                "Subtype": Name("Image"),
                "Width": logo.width,
                "Height": logo.height,
                "ColorSpace": Name("DeviceRGB"),
                "BitsPerComponent": 8,
                "Filter": Name("DCTDecode"),
            },
            logo.jpeg,
        )
    )


def build_appearance(
    objs: ObjectSet, block: SignatureBlock, associated: list[Ref] | None = None
) -> Ref:
    """Add the block's form XObject (and its font) to ``objs``; return the form's ref.

    The form's /BBox is the unscaled block (180 x 62); viewers map it onto the widget
    /Rect (ISO 32000-1 §12.5.5, Algorithm 8.1).
    """
    font = default_font()
    w, h = BLOCK_WIDTH, BLOCK_HEIGHT
    qr_size = h - 2 * _PAD if block.verify_url else 0.0
    text_w = w - 2 * _PAD - (qr_size + _PAD if qr_size else 0.0)
    x = _PAD + 1.0
    logo_w, logo_h = _logo_size(block.logo) if block.logo else (0.0, 0.0)
    head_x = x + (logo_w + 2.0 if logo_w else 0.0)
    specs: list[tuple[str, float, float]] = [
        (f"Signed electronically · {block.issuer.strip() or 'medsign'}", 4.6, 0.35),
        (block.signer_name.strip() or "—", 7.6, 0.0),
        (format_time(block.signed_at), 6.0, 0.0),
        (f"Method: {block.method}", 6.0, 0.0),
        (f"Document {block.document_id}", 6.0, 0.2),
        (f"Code {block.verification_code}", 7.0, 0.0),
    ]
    baselines = [h - 9.0, h - 18.5, h - 27.5, h - 36.0, h - 44.5, h - 55.0]
    lines: list[Line] = []
    for i, ((text, size, gray), y) in enumerate(zip(specs, baselines, strict=True)):
        left = head_x if i == 0 else x
        glyphs, fitted = _fit(font, text, size, text_w - 1.0 - (left - x))
        lines.append(Line(glyphs, fitted, left, y, gray))
    # Lines the shared base subset can show use /F1; the others (a name in another
    # script, a ligature) a per-document subset /F2 (medsign.pdf.textfont).
    base = base_font()
    in_base = [base.shows(line.glyphs) for line in lines]
    rest_lines = [line for line, ok in zip(lines, in_base, strict=True) if not ok]
    rest = base.font
    if rest_lines:
        rest = rest_font(frozenset(g.gid for line in rest_lines for g in line.glyphs))
    ops: list[bytes] = [_FRAME, b"BT\n"]
    for line, ok in zip(lines, in_base, strict=True):
        ops.append(
            b"%s g /F%d %s Tf 1 0 0 1 %s %s Tm %s\n"
            % (
                fmt_number(line.gray),
                1 if ok else 2,
                fmt_number(round(line.size, 3)),
                fmt_number(line.x),
                fmt_number(line.y),
                tj(line, base.font if ok else rest),
            )
        )
    ops.append(b"ET\n")
    resources: dict[str, PdfValue] = {}
    if block.logo is not None:
        ops.append(
            b"q %s 0 0 %s %s %s cm /Logo Do Q\n"
            % (fmt_number(logo_w), fmt_number(logo_h), fmt_number(x), fmt_number(h - 11.5))
        )
        resources["XObject"] = {"Logo": _logo_image(objs, block.logo)}
    if block.verify_url:
        ops.append(_qr_ops(block.verify_url, w - _PAD - qr_size, _PAD, qr_size))
    ops.append(b"Q\n")
    content = zlib.compress(b"".join(ops), _CONTENT_LEVEL)
    fonts: dict[str, PdfValue] = {"F1": font_objects(objs, base.font)}
    if rest_lines:
        fonts["F2"] = font_objects(objs, rest, rest_lines)
    form: dict[str, PdfValue] = {
        "Type": Name("XObject"),
        "Subtype": Name("Form"),
        "BBox": [0, 0, w, h],
        "Resources": {"Font": fonts, **resources},
        "Filter": Name("FlateDecode"),
    }
    if associated:
        form["AF"] = list[PdfValue](associated)
    return objs.add(Stream(form, content))
