"""A plain text report as a PDF: A4 pages of wrapped, shaped lines (en, ru, fa).

Used for the certificate of completion (:mod:`medsign.evidence`). Text is shaped with
HarfBuzz and drawn with a subset of the shipped DejaVu font, exactly as the signature
block does (:mod:`medsign.pdf.block`, :mod:`medsign.pdf.font`): a Type 0 font with
Identity-H encoding and a /ToUnicode CMap (ISO 32000-1 §9.7.4, §9.10.3), so the text
can be searched and copied.

Right-to-left documents (Persian) are laid out right-aligned; each line is split into
directional runs with a small subset of the Unicode Bidirectional Algorithm (UAX #9:
strong types L, R/AL, European/Arabic numbers and neutrals resolved to the surrounding
direction, or the paragraph's), each run shaped in its own direction, runs placed in
visual order. Good enough for labels, names, dates and hex digests; no embeddings or
mirroring of brackets.

The file is written from scratch (header, objects, one cross-reference table,
ISO 32000-1 §7.5) so the fast sealing path (:mod:`medsign.pdf.incremental`) can seal it.
"""

from __future__ import annotations

import functools
import os
import unicodedata
import zlib
from dataclasses import dataclass
from enum import Enum

from medsign.pdf.block import _shape
from medsign.pdf.font import ShapedGlyph, default_font
from medsign.pdf.objects import Name, ObjectSet, PdfValue, Ref, Stream, fmt_number, serialize
from medsign.pdf.textfont import Line, font_objects, prepare, tj

A4 = (595.0, 842.0)
MARGIN_X = 50.0
MARGIN_TOP = 56.0
# Room at the bottom of every page for the seal's visible block (62 pt + 18 pt margin,
# medsign.pdf.block.slot_rect) so the block never covers text.
MARGIN_BOTTOM = 96.0


class Style(Enum):
    """How a line is drawn: (font size, gray level, space before)."""

    TITLE = (15.0, 0.0, 0.0)
    HEADING = (11.5, 0.0, 8.0)
    TEXT = (9.0, 0.0, 0.0)
    SMALL = (7.5, 0.3, 0.0)


@dataclass(frozen=True)
class ReportLine:
    """One paragraph of the report (wrapped onto as many lines as it needs)."""

    text: str
    style: Style = Style.TEXT


def _char_dir(ch: str) -> str:
    """Bidi class reduced to 'L', 'R' or 'N' (weak and neutral) (UAX #9 Table 4)."""
    kind = unicodedata.bidirectional(ch)
    if kind == "L":
        return "L"
    if kind in ("R", "AL"):
        return "R"
    return "N"


def _runs(text: str, rtl: bool) -> list[tuple[str, bool]]:
    """Split a line into (text, is_rtl) runs in logical order.

    Numbers and neutrals between two runs of the same direction join them; otherwise
    they take the paragraph direction (UAX #9 rules N1/N2, simplified). Digits (EN/AN)
    in an RTL paragraph stay left-to-right inside their own run (W7 analogue).
    """
    kinds = [_char_dir(c) for c in text]
    for i, c in enumerate(text):
        if kinds[i] == "N" and unicodedata.bidirectional(c) in ("EN", "AN"):
            kinds[i] = "L" if rtl else "N"  # digits read left-to-right
    # Resolve neutrals: same strong type on both sides -> that type; else paragraph.
    resolved = list(kinds)
    i = 0
    while i < len(text):
        if kinds[i] != "N":
            i += 1
            continue
        j = i
        while j < len(text) and kinds[j] == "N":
            j += 1
        before = kinds[i - 1] if i > 0 else ("R" if rtl else "L")
        after = kinds[j] if j < len(text) else ("R" if rtl else "L")
        fill = before if before == after else ("R" if rtl else "L")
        for k in range(i, j):
            resolved[k] = fill
        i = j
    runs: list[tuple[str, bool]] = []
    for ch, kind in zip(text, resolved, strict=True):
        is_rtl = kind == "R"
        if runs and runs[-1][1] == is_rtl:
            runs[-1] = (runs[-1][0] + ch, is_rtl)
        else:
            runs.append((ch, is_rtl))
    return runs


@functools.lru_cache(maxsize=4096)
def _shape_dir(text: str, rtl: bool) -> tuple[ShapedGlyph, ...]:
    """Shape one directional run with an explicit direction (HarfBuzz would guess RTL
    for Persian digits, which are left-to-right: UAX #9 class EN)."""
    font = default_font()
    hb = font._hb
    if hb is None:  # pragma: no cover - uharfbuzz is a dependency
        return _shape(text)
    buf = hb.Buffer()
    buf.add_codepoints([ord(c) for c in text])
    buf.guess_segment_properties()
    buf.direction = "rtl" if rtl else "ltr"
    hb.shape(font._hb_font, buf, {"kern": True, "liga": True})
    clusters = sorted({info.cluster for info in buf.glyph_infos})
    ends = {
        c: (clusters[i + 1] if i + 1 < len(clusters) else len(text)) for i, c in enumerate(clusters)
    }
    seen: set[int] = set()
    out: list[ShapedGlyph] = []
    for info, pos in zip(buf.glyph_infos, buf.glyph_positions, strict=True):
        c = info.cluster
        chars = "" if c in seen else text[c : ends[c]]
        seen.add(c)
        out.append(ShapedGlyph(info.codepoint, pos.x_advance, pos.x_offset, chars))
    return tuple(out)


def shape_line(text: str, rtl: bool) -> tuple[ShapedGlyph, ...]:
    """Shaped glyphs of one line in visual (left-to-right) order."""
    if not rtl and all(_char_dir(c) != "R" for c in text):
        return _shape(text)
    runs = _runs(text, rtl)
    shaped = [_shape_dir(part, is_rtl) for part, is_rtl in runs]
    # HarfBuzz already returns each RTL run in visual order; the runs themselves are
    # ordered right-to-left in an RTL paragraph (UAX #9 rule L2, one embedding level).
    if rtl:
        shaped.reverse()
    return tuple(g for run in shaped for g in run)


def _width(glyphs: tuple[ShapedGlyph, ...], size: float) -> float:
    return default_font().text_width(list(glyphs), size)


def wrap(text: str, size: float, width: float, rtl: bool) -> list[tuple[ShapedGlyph, ...]]:
    """Greedy word wrap in logical order; overlong words are cut by characters."""
    out: list[tuple[ShapedGlyph, ...]] = []
    words = text.split(" ")
    current = ""
    for word in words:
        candidate = f"{current} {word}" if current else word
        if _width(shape_line(candidate, rtl), size) <= width:
            current = candidate
            continue
        if current:
            out.append(shape_line(current, rtl))
        current = word
        while _width(shape_line(current, rtl), size) > width and len(current) > 1:
            cut = len(current)
            while cut > 1 and _width(shape_line(current[:cut], rtl), size) > width:
                cut = max(1, cut * 3 // 4) if cut > 8 else cut - 1
            out.append(shape_line(current[:cut], rtl))
            current = current[cut:]
    out.append(shape_line(current, rtl))
    return out


def render_report(
    lines: list[ReportLine], *, rtl: bool = False, title: str = "", lang: str = "en"
) -> bytes:
    """Lay ``lines`` out on A4 pages and return a complete PDF (ISO 32000-1)."""
    page_w, page_h = A4
    text_w = page_w - 2 * MARGIN_X
    pages: list[list[Line]] = [[]]
    y = page_h - MARGIN_TOP
    for line in lines:
        size, gray, before = line.style.value
        leading = size * 1.35
        y -= before
        for glyphs in wrap(line.text, size, text_w, rtl):
            if y - leading < MARGIN_BOTTOM:
                pages.append([])
                y = page_h - MARGIN_TOP
            y -= leading
            x = MARGIN_X + (text_w - _width(glyphs, size) if rtl else 0.0)
            pages[-1].append(Line(glyphs, size, round(x, 2), round(y, 2), gray))
    return render_pages([(A4, page) for page in pages], title=title, lang=lang, rtl=rtl)


def render_pages(
    pages: list[tuple[tuple[float, float], list[Line]]],
    *,
    title: str = "",
    lang: str = "en",
    rtl: bool = False,
) -> bytes:
    """A complete PDF whose pages (each of its own size) show ``Line``s where they are
    placed, with one subset of the shipped font (used for reports and filled templates)."""
    font = default_font()
    every = [ln for _size, page in pages for ln in page]
    subset = font.subset({g.gid for ln in every for g in ln.glyphs})
    objs = ObjectSet()
    catalog = objs.reserve()
    tree = objs.reserve()
    prepared = prepare(subset)
    font_ref = font_objects(objs, prepared, every)
    kids: list[PdfValue] = []
    for (page_w, page_h), page_lines in pages:
        ops = [b"BT\n"]
        for ln in page_lines:
            ops.append(
                b"%s g /F1 %s Tf 1 0 0 1 %s %s Tm %s\n"
                % (
                    fmt_number(ln.gray),
                    fmt_number(ln.size),
                    fmt_number(ln.x),
                    fmt_number(ln.y),
                    tj(ln, prepared),
                )
            )
        ops.append(b"ET\n")
        content = objs.add(Stream({"Filter": Name("FlateDecode")}, zlib.compress(b"".join(ops), 6)))
        kids.append(
            objs.add(
                {
                    "Type": Name("Page"),
                    "Parent": tree,
                    "MediaBox": [0, 0, page_w, page_h],
                    "Resources": {"Font": {"F1": font_ref}},
                    "Contents": content,
                }
            )
        )
    objs.set(tree, {"Type": Name("Pages"), "Kids": kids, "Count": len(kids)})
    info = objs.add({"Title": title, "Producer": "medsign"})
    objs.set(
        catalog,
        {
            "Type": Name("Catalog"),
            "Pages": tree,
            "Lang": lang,  # ISO 32000-1 §14.9.2
            "ViewerPreferences": {"Direction": Name("R2L" if rtl else "L2R")},  # §12.2
        },
    )
    return _write_file(objs, catalog, info)


def _write_file(objs: ObjectSet, catalog: Ref, info: Ref) -> bytes:
    """Header, objects 1..n, a cross-reference table and trailer (ISO 32000-1 §7.5)."""

    def ref(r: Ref) -> bytes:
        return b"%d 0 R" % (r.index + 1)

    out = bytearray(b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n")
    offsets = []
    for index, obj in enumerate(objs.objects):
        offsets.append(len(out))
        out += b"%d 0 obj\n" % (index + 1) + serialize(obj, ref) + b"\nendobj\n"
    xref_at = len(out)
    count = len(objs.objects) + 1
    out += b"xref\n0 %d\n0000000000 65535 f\r\n" % count
    out += b"".join(b"%010d 00000 n\r\n" % off for off in offsets)
    ident = os.urandom(16).hex().encode()
    out += b"trailer\n<</Size %d/Root %s/Info %s/ID[<%s><%s>]>>\nstartxref\n%d\n%%%%EOF\n" % (
        count,
        ref(catalog),
        ref(info),
        ident,
        ident,
        xref_at,
    )
    return bytes(out)


__all__ = ["ReportLine", "Style", "render_report", "shape_line", "wrap"]
