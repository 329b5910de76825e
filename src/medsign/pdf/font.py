"""The embedded font: shaping with HarfBuzz and a small per-document TrueType subset.

The signature block uses DejaVu Sans Condensed (shipped in ``fonts/``; Bitstream Vera
licence, see ``fonts/LICENSE-DejaVu.txt``), embedded as a Type 0 font with a
CIDFontType2 descendant and Identity-H encoding (ISO 32000-1 §9.7.4, §9.7.6.1), so any
script the font covers (Latin, Cyrillic, Arabic/Persian) is shown and extractable
through a /ToUnicode CMap (§9.10.3).

Only the glyphs a block uses are embedded. The subset renumbers glyphs densely (new
glyph id = CID, /CIDToGIDMap /Identity) and keeps only the tables a CIDFontType2
program needs (§9.9: glyf, head, hhea, hmtx, loca, maxp); hinting instructions are
dropped. Per-glyph data is cached per process, so a subset costs a join.
"""

from __future__ import annotations

import functools
import struct
from dataclasses import dataclass
from importlib import resources
from typing import Any, NamedTuple

FONT_FILE = "DejaVuSansCondensed.ttf"
FONT_NAME = "DejaVuSansCondensed"

# Composite glyph flags (OpenType 'glyf' table specification).
_ARG_1_AND_2_ARE_WORDS = 0x0001
_WE_HAVE_A_SCALE = 0x0008
_MORE_COMPONENTS = 0x0020
_WE_HAVE_AN_X_AND_Y_SCALE = 0x0040
_WE_HAVE_A_TWO_BY_TWO = 0x0080
_WE_HAVE_INSTRUCTIONS = 0x0100


class ShapedGlyph(NamedTuple):
    """One positioned glyph in font units (``x_offset`` applies to this glyph only).

    A named tuple: blocks shape a few hundred glyphs per document, and a tuple is
    created (and hashed, as a cache key) several times faster than a frozen dataclass.
    """

    gid: int
    advance: int
    x_offset: int
    text: str  # the characters this glyph stands for ('' for the 2nd+ glyph of a cluster)


def _table_dir(data: bytes) -> dict[str, tuple[int, int]]:
    (num_tables,) = struct.unpack_from(">H", data, 4)
    tables: dict[str, tuple[int, int]] = {}
    for i in range(num_tables):
        tag, _checksum, offset, length = struct.unpack_from(">4sIII", data, 12 + 16 * i)
        tables[tag.decode("latin-1")] = (offset, length)
    return tables


def _checksum(data: bytes) -> int:
    padded = data + b"\0" * (-len(data) % 4)
    return int(sum(struct.unpack(f">{len(padded) // 4}I", padded))) & 0xFFFFFFFF


class Font:
    """A parsed TrueType font with cached per-glyph data for subsetting."""

    def __init__(self, data: bytes) -> None:
        self.data = data
        tables = _table_dir(data)
        self._tables = {tag: data[off : off + ln] for tag, (off, ln) in tables.items()}
        head = self._tables["head"]
        self.units_per_em: int = struct.unpack_from(">H", head, 18)[0]
        self.bbox: tuple[int, int, int, int] = struct.unpack_from(">hhhh", head, 36)
        index_to_loc: int = struct.unpack_from(">h", head, 50)[0]
        self.num_glyphs: int = struct.unpack_from(">H", self._tables["maxp"], 4)[0]
        hhea = self._tables["hhea"]
        self.ascent: int = struct.unpack_from(">h", hhea, 4)[0]
        self.descent: int = struct.unpack_from(">h", hhea, 6)[0]
        n_hmetrics: int = struct.unpack_from(">H", hhea, 34)[0]
        hmtx = self._tables["hmtx"]
        self._advances = [struct.unpack_from(">H", hmtx, 4 * i)[0] for i in range(n_hmetrics)]
        self._lsb = [struct.unpack_from(">h", hmtx, 4 * i + 2)[0] for i in range(n_hmetrics)]
        loca = self._tables["loca"]
        n = self.num_glyphs + 1
        if index_to_loc == 0:
            self._loca = [2 * v for v in struct.unpack_from(f">{n}H", loca)]
        else:
            self._loca = list(struct.unpack_from(f">{n}I", loca))
        self._glyf = self._tables["glyf"]
        self._cmap: dict[int, int] | None = None
        self._hb: Any = None
        try:
            import uharfbuzz

            self._hb = uharfbuzz
            self._hb_font = uharfbuzz.Font(uharfbuzz.Face(uharfbuzz.Blob(data)))
        except ImportError:  # pragma: no cover - uharfbuzz is a dependency
            self._hb = None
        self._glyph_cache: dict[int, tuple[bytes, tuple[int, ...]]] = {}

    # -- metrics -----------------------------------------------------------------------
    def advance(self, gid: int) -> int:
        """Horizontal advance of a glyph in font units (hmtx, last metric repeats)."""
        return int(self._advances[min(gid, len(self._advances) - 1)])

    def _lsb_of(self, gid: int) -> int:
        if gid < len(self._lsb):
            return int(self._lsb[gid])
        return 0

    # -- shaping -----------------------------------------------------------------------
    def shape(self, text: str) -> list[ShapedGlyph]:
        """Shape ``text`` into glyphs in visual (left-to-right) order."""
        if self._hb is not None:
            return self._shape_hb(text)
        return self._shape_cmap(text)  # pragma: no cover

    def _shape_hb(self, text: str) -> list[ShapedGlyph]:
        hb = self._hb
        buf = hb.Buffer()
        buf.add_codepoints([ord(c) for c in text])
        buf.guess_segment_properties()
        hb.shape(self._hb_font, buf, {"kern": True, "liga": True})
        infos = buf.glyph_infos
        positions = buf.glyph_positions
        clusters = sorted({info.cluster for info in infos})
        cluster_end = dict(zip(clusters, [*clusters[1:], len(text)], strict=True))
        out: list[ShapedGlyph] = []
        for info, pos in zip(infos, positions, strict=True):
            c = info.cluster
            end = cluster_end.pop(c, None)  # the first glyph of a cluster gets its text
            chars = "" if end is None else text[c:end]
            out.append(ShapedGlyph(info.codepoint, pos.x_advance, pos.x_offset, chars))
        return out

    def _shape_cmap(self, text: str) -> list[ShapedGlyph]:
        if self._cmap is None:
            import io  # pragma: no cover

            from fontTools.ttLib import TTFont  # pragma: no cover

            self._cmap = TTFont(io.BytesIO(self.data)).getBestCmap()  # pragma: no cover
        cmap = self._cmap  # pragma: no cover
        glyphs = [cmap.get(ord(ch), 0) for ch in text]  # pragma: no cover
        return [ShapedGlyph(g, self.advance(g), 0, ch) for g, ch in zip(glyphs, text, strict=True)]

    def text_width(self, glyphs: list[ShapedGlyph], size: float) -> float:
        """Width of shaped glyphs at ``size`` points."""
        return sum(g.advance for g in glyphs) * size / self.units_per_em

    # -- subsetting --------------------------------------------------------------------
    def _glyph(self, gid: int) -> tuple[bytes, tuple[int, ...]]:
        """Glyph data without instructions, and the component glyph ids of a composite."""
        cached = self._glyph_cache.get(gid)
        if cached is not None:
            return cached
        start, end = self._loca[gid], self._loca[gid + 1]
        raw = self._glyf[start:end]
        result: tuple[bytes, tuple[int, ...]]
        if not raw:
            result = (b"", ())
        else:
            (n_contours,) = struct.unpack_from(">h", raw, 0)
            if n_contours >= 0:
                ins_at = 10 + 2 * n_contours
                (ins_len,) = struct.unpack_from(">H", raw, ins_at)
                stripped = raw[:ins_at] + b"\0\0" + raw[ins_at + 2 + ins_len :]
                result = (stripped, ())
            else:
                result = self._composite(raw)
        self._glyph_cache[gid] = result
        return result

    @staticmethod
    def _composite(raw: bytes) -> tuple[bytes, tuple[int, ...]]:
        pos = 10
        components: list[int] = []
        while True:
            flags, comp = struct.unpack_from(">HH", raw, pos)
            components.append(comp)
            pos += 4
            pos += 4 if flags & _ARG_1_AND_2_ARE_WORDS else 2
            if flags & _WE_HAVE_A_SCALE:
                pos += 2
            elif flags & _WE_HAVE_AN_X_AND_Y_SCALE:
                pos += 4
            elif flags & _WE_HAVE_A_TWO_BY_TWO:
                pos += 8
            if not flags & _MORE_COMPONENTS:
                break
        body = bytearray(raw[:pos])
        # Drop the composite's instructions: clear WE_HAVE_INSTRUCTIONS everywhere.
        p = 10
        while True:
            (flags,) = struct.unpack_from(">H", body, p)
            struct.pack_into(">H", body, p, flags & ~_WE_HAVE_INSTRUCTIONS)
            p += 4 + (4 if flags & _ARG_1_AND_2_ARE_WORDS else 2)
            if flags & _WE_HAVE_A_SCALE:
                p += 2
            elif flags & _WE_HAVE_AN_X_AND_Y_SCALE:
                p += 4
            elif flags & _WE_HAVE_A_TWO_BY_TWO:
                p += 8
            if not flags & _MORE_COMPONENTS:
                break
        return bytes(body), tuple(components)

    def subset(self, gids: set[int]) -> Subset:
        """Build a font program holding ``gids`` (plus .notdef and composite parts)."""
        needed = {0}
        todo = list(gids)
        while todo:
            g = todo.pop()
            if g in needed or g >= self.num_glyphs:
                continue
            needed.add(g)
            todo.extend(self._glyph(g)[1])
        order = sorted(needed)
        new_id = {old: new for new, old in enumerate(order)}
        glyf_parts: list[bytes] = []
        loca: list[int] = []
        offset = 0
        for old in order:
            data, comps = self._glyph(old)
            if comps:
                data = self._remap_composite(data, new_id)
            data += b"\0" * (-len(data) % 4)
            loca.append(offset)
            glyf_parts.append(data)
            offset += len(data)
        loca.append(offset)
        n = len(order)
        hmtx = b"".join(struct.pack(">Hh", self.advance(g), self._lsb_of(g)) for g in order)
        head = bytearray(self._tables["head"])
        struct.pack_into(">I", head, 8, 0)  # checkSumAdjustment, set below
        struct.pack_into(">h", head, 50, 1)  # indexToLocFormat: long offsets
        hhea = bytearray(self._tables["hhea"])
        struct.pack_into(">H", hhea, 34, n)
        maxp = bytearray(self._tables["maxp"])
        struct.pack_into(">H", maxp, 4, n)
        tables = {
            "glyf": b"".join(glyf_parts),
            "head": bytes(head),
            "hhea": bytes(hhea),
            "hmtx": hmtx,
            "loca": struct.pack(f">{n + 1}I", *loca),
            "maxp": bytes(maxp),
        }
        program = _assemble(tables)
        return Subset(program=program, new_id=new_id, font=self)

    @staticmethod
    def _remap_composite(data: bytes, new_id: dict[int, int]) -> bytes:
        body = bytearray(data)
        p = 10
        while True:
            flags, comp = struct.unpack_from(">HH", body, p)
            struct.pack_into(">H", body, p + 2, new_id[comp])
            p += 4 + (4 if flags & _ARG_1_AND_2_ARE_WORDS else 2)
            if flags & _WE_HAVE_A_SCALE:
                p += 2
            elif flags & _WE_HAVE_AN_X_AND_Y_SCALE:
                p += 4
            elif flags & _WE_HAVE_A_TWO_BY_TWO:
                p += 8
            if not flags & _MORE_COMPONENTS:
                break
        return bytes(body)


def _assemble(tables: dict[str, bytes]) -> bytes:
    """Write an sfnt wrapper (OpenType spec, 'Table Directory') around ``tables``."""
    tags = sorted(tables)
    num = len(tags)
    entry_selector = num.bit_length() - 1
    search_range = (1 << entry_selector) * 16
    header = struct.pack(
        ">IHHHH", 0x00010000, num, search_range, entry_selector, num * 16 - search_range
    )
    offset = 12 + 16 * num
    directory: list[bytes] = []
    bodies: list[bytes] = []
    for tag in tags:
        data = tables[tag]
        directory.append(struct.pack(">4sIII", tag.encode(), _checksum(data), offset, len(data)))
        padded = data + b"\0" * (-len(data) % 4)
        bodies.append(padded)
        offset += len(padded)
    font = bytearray(header + b"".join(directory) + b"".join(bodies))
    head_at = 12 + 16 * tags.index("head")
    (head_off,) = struct.unpack_from(">I", font, head_at + 8)
    struct.pack_into(">I", font, head_off + 8, (0xB1B0AFBA - _checksum(bytes(font))) & 0xFFFFFFFF)
    return bytes(font)


@dataclass(frozen=True)
class Subset:
    """A subset font program and the map from original glyph ids to CIDs."""

    program: bytes
    new_id: dict[int, int]
    font: Font

    def widths(self) -> list[int]:
        """/W array content: advance widths in 1/1000 em, for CIDs 0..n-1 (§9.7.4.3)."""
        upem = self.font.units_per_em
        by_cid = sorted((cid, old) for old, cid in self.new_id.items())
        return [round(self.font.advance(old) * 1000 / upem) for _cid, old in by_cid]


@functools.cache
def default_font() -> Font:
    """The shipped font, loaded once per process."""
    data = resources.files("medsign.pdf").joinpath("fonts", FONT_FILE).read_bytes()
    return Font(data)
