"""Filling a PDF template's AcroForm text fields and flattening them (docs/templates.md).

A template is a PDF whose text fields (ISO 32000-1 §12.7.4.3, field type /Tx) mark where
values go. Filling draws each value in its field's widget rectangle as ordinary page
content (shaped with HarfBuzz in the shipped font, as the signature block and reports
are: :mod:`medsign.pdf.report`), then removes the form (every widget annotation and the
/AcroForm dictionary, §12.7.2), so what is signed is plain page content that no viewer
renders differently and nobody can edit. The result then goes through intake like any
upload (:mod:`medsign.pdf.intake`).
"""

from __future__ import annotations

import io
from dataclasses import dataclass

import pikepdf

from medsign.errors import InvalidDocument
from medsign.pdf.report import _char_dir, _width, render_pages, wrap
from medsign.pdf.textfont import Line

MAX_FIELDS = 200
_MAX_SIZE = 11.0
_MIN_SIZE = 5.0


@dataclass(frozen=True)
class FormSpot:
    """Where one text field's widget lies: the field's full name, page and rectangle."""

    name: str
    page: int
    rect: tuple[float, float, float, float]


def _full_name(annot: pikepdf.Object) -> str:
    """The field's fully qualified name: the /T of it and its ancestors, joined by
    periods (§12.7.3.2)."""
    parts: list[str] = []
    node: pikepdf.Object | None = annot
    depth = 0
    while node is not None and depth < 32:
        if "/T" in node:
            parts.append(str(node.T))
        node = node.get("/Parent")
        depth += 1
    return ".".join(reversed(parts))


def _field_type(annot: pikepdf.Object) -> str | None:
    node: pikepdf.Object | None = annot
    for _ in range(32):  # /FT is inheritable (§12.7.3.1)
        if node is None:
            return None
        if "/FT" in node:
            return str(node.FT)
        node = node.get("/Parent")
    return None


def _open(data: bytes) -> pikepdf.Pdf:
    try:
        pdf = pikepdf.open(io.BytesIO(data))
    except pikepdf.PasswordError as exc:
        raise InvalidDocument("The template is encrypted; upload it without a password.") from exc
    except pikepdf.PdfError as exc:
        raise InvalidDocument("The template is not a readable PDF.") from exc
    return pdf


def _spots(pdf: pikepdf.Pdf) -> list[FormSpot]:
    spots: list[FormSpot] = []
    for index, page in enumerate(pdf.pages):
        x0, y0 = (float(v) for v in list(page.mediabox)[:2])
        for annot in page.obj.get("/Annots", []):
            if annot.get("/Subtype") != "/Widget" or _field_type(annot) != "/Tx":
                continue
            r = [float(v) for v in annot.get("/Rect", [0, 0, 0, 0])]
            rect = (
                min(r[0], r[2]) - x0,
                min(r[1], r[3]) - y0,
                max(r[0], r[2]) - x0,
                max(r[1], r[3]) - y0,
            )
            spots.append(FormSpot(_full_name(annot), index, rect))
            if len(spots) > MAX_FIELDS:
                raise InvalidDocument(f"The template has more than {MAX_FIELDS} fields.")
    return spots


def template_fields(data: bytes) -> list[FormSpot]:
    """The text fields of a template (refused when it has none)."""
    with _open(data) as pdf:
        spots = _spots(pdf)
    if not spots:
        raise InvalidDocument(
            "The template has no text form fields (AcroForm /Tx) to fill. Add fields "
            "named like patient_name in your PDF editor."
        )
    return spots


def _is_rtl(text: str) -> bool:
    for ch in text:
        kind = _char_dir(ch)
        if kind != "N":
            return kind == "R"
    return False


def _place(value: str, rect: tuple[float, float, float, float]) -> list[Line]:
    """The value's lines inside ``rect``: as large as fits (5 to 11 pt), wrapped when the
    box is tall enough, right-aligned for right-to-left text."""
    x0, y0, x1, y1 = rect
    width, height = max(x1 - x0 - 2.0, 1.0), max(y1 - y0, 1.0)
    rtl = _is_rtl(value)
    size = min(_MAX_SIZE, height * 0.75)
    while True:
        rows = wrap(value, size, width, rtl)
        leading = size * 1.2
        if len(rows) * leading <= height or size <= _MIN_SIZE:
            break
        size = max(_MIN_SIZE, size - 0.5)
    rows = rows[: max(1, int(height // (size * 1.2)))]
    top = y0 + (height + len(rows) * size * 1.2) / 2
    lines = []
    for i, glyphs in enumerate(rows):
        baseline = top - (i + 1) * size * 1.2 + size * 0.3
        x = x0 + 1.0 + (width - _width(glyphs, size) if rtl else 0.0)
        lines.append(Line(glyphs, size, round(x, 2), round(baseline, 2), 0.0))
    return lines


def fill_template(data: bytes, values: dict[str, str]) -> bytes:
    """The template with every field's value drawn in place and the form removed."""
    with _open(data) as pdf:
        spots = _spots(pdf)
        per_page: dict[int, list[Line]] = {}
        for spot in spots:
            value = values.get(spot.name, "")
            if value:
                per_page.setdefault(spot.page, []).extend(_place(value, spot.rect))
        sizes = []
        for page in pdf.pages:
            box = [float(v) for v in page.mediabox]
            sizes.append((box[2] - box[0], box[3] - box[1]))
        pages = sorted(per_page)
        overlay_bytes = render_pages([(sizes[i], per_page[i]) for i in pages])
        for page in pdf.pages:  # the form goes: plain page content is what is signed
            if "/Annots" in page.obj:
                kept = [a for a in page.obj.Annots if a.get("/Subtype") != "/Widget"]
                page.obj.Annots = pikepdf.Array(kept)
        if "/AcroForm" in pdf.Root:
            del pdf.Root["/AcroForm"]
        with pikepdf.open(io.BytesIO(overlay_bytes)) as overlay:
            for n, index in enumerate(pages):
                target = pdf.pages[index]
                target.add_overlay(
                    overlay.pages[n], pikepdf.Rectangle(*[float(v) for v in target.mediabox])
                )
            out = io.BytesIO()
            pdf.save(out)
    return out.getvalue()
