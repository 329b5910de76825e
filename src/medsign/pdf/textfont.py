"""Drawing shaped text with subsets of the shipped font, prepared once and reused.

A :class:`PreparedFont` holds everything of one subset that does not depend on the
page it is drawn on: the compressed font program, its subset tag, the /W widths and,
per glyph, the CID as a hex string and the advance correction a ``TJ`` needs.
:func:`font_objects` adds the Type 0 font with its CIDFontType2 descendant,
descriptor, program and /ToUnicode CMap (ISO 32000-1 §9.7.4, §9.7.6.1, §9.9, §9.10.3)
to an :class:`~medsign.pdf.objects.ObjectSet`; :func:`tj` shows a line.

The signature block draws with two of them (:func:`base_font`, :func:`rest_font`):
every block shows the same labels, a time, a UUID and an ASCII code, so the glyphs of
printable ASCII (and ``· … —``) form a *base* subset prepared once per process,
/ToUnicode included; a line made only of those glyphs, each standing for its usual
character, is shown with it. Any other line (a Cyrillic or Persian name, a ligature)
uses a second subset of just that line's glyphs, cached by glyph set.
"""

from __future__ import annotations

import functools
import hashlib
import zlib
from collections.abc import Iterable
from dataclasses import dataclass

from medsign.pdf.font import FONT_NAME, Font, ShapedGlyph, Subset, default_font
from medsign.pdf.objects import Name, ObjectSet, PdfValue, Ref, Stream, fmt_number

BASE_CHARACTERS = "".join(chr(c) for c in range(0x20, 0x7F)) + "·…—"
_REST_CACHE = 512  # glyph sets of the second subset kept per process (names repeat)


@dataclass(frozen=True)
class Line:
    """One line of shaped text at a position, size and gray level."""

    glyphs: tuple[ShapedGlyph, ...]
    size: float
    x: float
    y: float
    gray: float


@dataclass(frozen=True)
class PreparedFont:
    """A subset with its PDF pieces computed once (see the module docstring)."""

    subset: Subset
    base_name: Name  # "ABCDEF+DejaVuSansCondensed" (§9.6.4: the tag names the subset)
    program: bytes  # the TrueType subset, FlateDecode-compressed
    program_length: int
    widths: list[int]  # for CIDs 0..n-1 (§9.7.4.3)
    cids: dict[int, bytes]  # original glyph id -> b"<CID>" (Identity-H, two bytes)
    corrections: dict[int, int]  # original glyph id -> own advance, font units
    to_unicode: bytes | None = None  # compressed CMap, when it is the same for every use


def prepare(
    subset: Subset, to_unicode: dict[int, str] | None = None, level: int = 6
) -> PreparedFont:
    """Compute the pieces of ``subset``; with ``to_unicode`` (CID -> text) its CMap too.

    ``level`` is zlib's: a subset prepared once per process is worth level 9, one
    made for a single document level 1 (font programs barely compress better).
    """
    tag = "".join(chr(65 + b % 26) for b in hashlib.sha256(subset.program[:4096]).digest()[:6])
    font = subset.font
    cmap = None
    if to_unicode is not None:
        cmap = zlib.compress(to_unicode_cmap(to_unicode), level)
    return PreparedFont(
        subset=subset,
        base_name=Name(f"{tag}+{FONT_NAME}"),
        program=zlib.compress(subset.program, level),
        program_length=len(subset.program),
        widths=subset.widths(),
        cids={gid: b"<%04X>" % cid for gid, cid in subset.new_id.items()},
        corrections={gid: font.advance(gid) for gid in subset.new_id},
        to_unicode=cmap,
    )


def tj(line: Line, font: PreparedFont) -> bytes:
    """Show a shaped line with TJ; numbers adjust advances and offsets (§9.4.3)."""
    upem = font.subset.font.units_per_em
    cids = font.cids
    own = font.corrections
    parts: list[bytes] = []
    for g in line.glyphs:
        if g.x_offset:
            parts.append(fmt_number(-g.x_offset * 1000 / upem))
        parts.append(cids[g.gid])
        adjust = own[g.gid] + g.x_offset - g.advance
        if adjust:
            parts.append(fmt_number(adjust * 1000 / upem))
    return b"[" + b" ".join(parts) + b"] TJ"


def text_of(lines: Iterable[Line], subset: Subset) -> dict[int, str]:
    """CID -> the text its glyph stands for, first use wins (for /ToUnicode)."""
    mapping: dict[int, str] = {}
    for line in lines:
        for g in line.glyphs:
            cid = subset.new_id[g.gid]
            if g.text and cid not in mapping:
                mapping[cid] = g.text
    return mapping


def to_unicode_cmap(mapping: dict[int, str]) -> bytes:
    """A /ToUnicode CMap (ISO 32000-1 §9.10.3) mapping CIDs to the text they show."""
    entries = [
        b"<%04X> <%s>" % (cid, text.encode("utf-16-be").hex().upper().encode("ascii"))
        for cid, text in sorted(mapping.items())
    ]
    chunks = [entries[i : i + 100] for i in range(0, len(entries), 100)]
    body = b"".join(
        b"%d beginbfchar\n%s\nendbfchar\n" % (len(chunk), b"\n".join(chunk)) for chunk in chunks
    )
    return (
        b"/CIDInit /ProcSet findresource begin\n12 dict begin\nbegincmap\n"
        b"/CIDSystemInfo << /Registry (Adobe) /Ordering (UCS) /Supplement 0 >> def\n"
        b"/CMapName /Adobe-Identity-UCS def\n/CMapType 2 def\n"
        b"1 begincodespacerange\n<0000> <FFFF>\nendcodespacerange\n"
        + body
        + b"endcmap\nCMapName currentdict /CMap defineresource pop\nend\nend\n"
    )


def font_objects(objs: ObjectSet, font: PreparedFont, lines: Iterable[Line] = ()) -> Ref:
    """Add the Type 0 font and what it needs; return the font's reference.

    The /ToUnicode CMap is the prepared one, or else made from ``lines``.
    """
    file_ref = objs.add(
        Stream({"Length1": font.program_length, "Filter": Name("FlateDecode")}, font.program)
    )
    descriptor = objs.add(
        {
            "Type": Name("FontDescriptor"),
            "FontName": font.base_name,
            "Flags": 4,  # Symbolic (§9.8.2): glyphs outside the standard Latin set
            **_metrics(font.subset.font),
            "FontFile2": file_ref,
        }
    )
    cid_font = objs.add(
        {
            "Type": Name("Font"),
            "Subtype": Name("CIDFontType2"),
            "BaseFont": font.base_name,
            "CIDSystemInfo": {"Registry": "Adobe", "Ordering": "Identity", "Supplement": 0},
            "FontDescriptor": descriptor,
            "W": [0, list[PdfValue](font.widths)],
            "CIDToGIDMap": Name("Identity"),
        }
    )
    cmap = font.to_unicode
    if cmap is None:
        cmap = zlib.compress(to_unicode_cmap(text_of(lines, font.subset)), 1)
    to_unicode = objs.add(Stream({"Filter": Name("FlateDecode")}, cmap))
    return objs.add(
        {
            "Type": Name("Font"),
            "Subtype": Name("Type0"),
            "BaseFont": font.base_name,
            "Encoding": Name("Identity-H"),
            "DescendantFonts": [cid_font],
            "ToUnicode": to_unicode,
        }
    )


@functools.cache
def _metrics(shipped: Font) -> dict[str, PdfValue]:
    """The font descriptor's metrics (§9.8.1) in glyph space units (1/1000 em)."""
    upem = shipped.units_per_em

    def scaled(v: int) -> int:
        return round(v * 1000 / upem)

    return {
        "FontBBox": [scaled(v) for v in shipped.bbox],
        "ItalicAngle": 0,
        "Ascent": scaled(shipped.ascent),
        "Descent": scaled(shipped.descent),
        "CapHeight": scaled(1493),
        "StemV": 80,
    }


@dataclass(frozen=True)
class BaseFont:
    """The base subset and the one character each of its glyphs stands for."""

    font: PreparedFont
    characters: dict[int, str]  # glyph id -> character

    def shows(self, glyphs: Iterable[ShapedGlyph]) -> bool:
        """True if every glyph is in the base subset and stands for its own character."""
        characters = self.characters
        return all(characters.get(g.gid) == g.text for g in glyphs)


@functools.cache
def base_font() -> BaseFont:
    """The subset of :data:`BASE_CHARACTERS`, with its /ToUnicode (once per process)."""
    shipped = default_font()
    characters: dict[int, str] = {}
    for ch in BASE_CHARACTERS:
        glyphs = shipped.shape(ch)
        if len(glyphs) == 1 and glyphs[0].gid != 0:
            characters.setdefault(glyphs[0].gid, ch)
    subset = shipped.subset(set(characters))
    mapping = {subset.new_id[gid]: ch for gid, ch in characters.items()}
    return BaseFont(prepare(subset, mapping, level=9), characters)


@functools.lru_cache(maxsize=_REST_CACHE)
def rest_font(gids: frozenset[int]) -> PreparedFont:
    """A subset of ``gids`` (its /ToUnicode is made per use: texts may differ)."""
    return prepare(default_font().subset(set(gids)), level=1)


__all__ = [
    "BASE_CHARACTERS",
    "BaseFont",
    "Line",
    "PreparedFont",
    "base_font",
    "font_objects",
    "prepare",
    "rest_font",
    "text_of",
    "tj",
    "to_unicode_cmap",
]
