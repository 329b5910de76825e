"""QR codes for the signature block, encoded with tables prepared once per version.

The block's QR code (ISO/IEC 18004:2015) is always of one kind: byte mode, error
correction level M, data mask pattern 010 (§7.8.2, ``j mod 3 = 0``), versions 1 to 10
(up to 213 bytes, far more than a verification URL needs). Per version the layout
never changes — function patterns (§6.3), format and version information (§7.9,
§7.10), where each data bit goes (§7.7.3) and which modules the mask inverts — so it
is computed once and the matrix of a document is gathered from its codeword bits by
one :func:`operator.itemgetter` call. Reed-Solomon error correction (§7.5.2) runs on
Python integers with a per-generator table of products.

Anything else (non-ASCII text, text segno would encode in numeric or alphanumeric
mode, more than 213 bytes) is encoded by segno, which stays the reference: the tests
compare the two matrices bit for bit.
"""

from __future__ import annotations

import functools
import itertools
import operator
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass

# ISO/IEC 18004:2015 Table 9, level M: (blocks, codewords per block, data codewords per
# block) for each group of blocks, versions 1 to 10.
_BLOCKS_M: dict[int, tuple[tuple[int, int, int], ...]] = {
    1: ((1, 26, 16),),
    2: ((1, 44, 28),),
    3: ((1, 70, 44),),
    4: ((2, 50, 32),),
    5: ((2, 67, 43),),
    6: ((4, 43, 27),),
    7: ((4, 49, 31),),
    8: ((2, 60, 38), (2, 61, 39)),
    9: ((3, 58, 36), (2, 59, 37)),
    10: ((4, 69, 43), (1, 70, 44)),
}
MAX_VERSION = max(_BLOCKS_M)
_ALPHANUMERIC = frozenset("0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ $%*+-./:")  # Table 5
_PAD_BYTES = (0xEC, 0x11)  # §7.4.10
_FORMAT_M_MASK2 = 0b00_010  # error correction level M (00), mask pattern reference 010
_DARK = re.compile(rb"1+")

# GF(2^8) with the primitive polynomial x^8 + x^4 + x^3 + x^2 + 1 (§7.5.2).
_EXP = [0] * 512
_LOG = [0] * 256
_value = 1
for _i in range(255):
    _EXP[_i] = _value
    _LOG[_value] = _i
    _value <<= 1
    if _value & 0x100:
        _value ^= 0x11D
for _i in range(255, 512):
    _EXP[_i] = _EXP[_i - 255]


def _gf_mul(a: int, b: int) -> int:
    if a == 0 or b == 0:
        return 0
    return _EXP[_LOG[a] + _LOG[b]]


@functools.cache
def _generator_table(degree: int) -> tuple[int, ...]:
    """For each feedback byte f, f times the generator polynomial (§7.5.2, Annex A)
    without its leading term, as a ``degree``-byte big-endian integer."""
    gen = [1]  # coefficients, highest power first
    for i in range(degree):
        nxt = [*gen, 0]
        for j, coef in enumerate(gen):
            nxt[j + 1] ^= _gf_mul(coef, _EXP[i])
        gen = nxt
    tail = gen[1:]
    return tuple(int.from_bytes(bytes(_gf_mul(c, f) for c in tail), "big") for f in range(256))


def _ec_codewords(data: bytes, degree: int) -> bytes:
    """The remainder of data(x) * x^degree divided by the generator (an LFSR)."""
    table = _generator_table(degree)
    shift = 8 * (degree - 1)
    mask = (1 << (8 * degree)) - 1
    rem = 0
    for byte in data:
        rem = ((rem << 8) & mask) ^ table[(rem >> shift) ^ byte]
    return rem.to_bytes(degree, "big")


def _bch(value: int, poly: int, bits: int) -> int:
    """``value`` followed by its BCH check bits (§7.9.1 format, §7.10 version)."""
    rem = value << bits
    top = poly.bit_length() - 1
    for shift in range(rem.bit_length() - 1, top - 1, -1):
        if rem >> shift & 1:
            rem ^= poly << (shift - top)
    return (value << bits) | rem


def _alignment_centres(version: int) -> list[int]:
    """Row/column coordinates of the alignment pattern centres (Annex E)."""
    if version == 1:
        return []
    count = version // 7 + 2
    size = 17 + 4 * version
    step = (version * 4 + count * 2 + 1) // (count * 2 - 2) * 2
    return [6, *sorted(size - 7 - i * step for i in range(count - 1))]


@dataclass(frozen=True)
class _Layout:
    """Everything about one version that does not depend on the data."""

    version: int
    size: int
    data_codewords: int
    blocks: tuple[tuple[int, int], ...]  # (data codewords, EC codewords) per block
    gather: Callable[[bytes], tuple[int, ...]]  # source bytes -> the matrix rows, joined


def _function_modules(version: int) -> tuple[int, list[list[int | None]]]:
    """The matrix with function patterns set (0/1) and data modules ``None``."""
    size = 17 + 4 * version
    grid: list[list[int | None]] = [[None] * size for _ in range(size)]

    def put(row: int, col: int, dark: int) -> None:
        grid[row][col] = dark

    for top, left in ((0, 0), (0, size - 7), (size - 7, 0)):  # finders + separators
        for dr in range(-1, 8):
            for dc in range(-1, 8):
                r, c = top + dr, left + dc
                if 0 <= r < size and 0 <= c < size:
                    ring = max(abs(dr - 3), abs(dc - 3))
                    put(r, c, 1 if ring in (0, 1, 3) else 0)
    for i in range(8, size - 8):  # timing patterns (§6.3.5)
        put(6, i, 1 - i % 2)
        put(i, 6, 1 - i % 2)
    centres = _alignment_centres(version)
    last = len(centres) - 1
    for a, row in enumerate(centres):
        for b, col in enumerate(centres):
            if (a, b) in ((0, 0), (0, last), (last, 0)):
                continue  # would overlap a finder pattern
            for dr in range(-2, 3):
                for dc in range(-2, 3):
                    put(row + dr, col + dc, 1 if max(abs(dr), abs(dc)) != 1 else 0)
    fmt = _bch(_FORMAT_M_MASK2, 0x537, 10) ^ 0x5412  # §7.9.1
    for i in range(15):
        bit = fmt >> i & 1
        # the copy around the top-left finder
        if i < 6:
            put(i, 8, bit)
        elif i < 8:
            put(i + 1, 8, bit)
        elif i == 8:
            put(8, 7, bit)
        else:
            put(8, 14 - i, bit)
        # the copy split between the other two finders
        if i < 8:
            put(8, size - 1 - i, bit)
        else:
            put(size - 15 + i, 8, bit)
    put(size - 8, 8, 1)  # the dark module
    if version >= 7:  # version information (§7.10)
        info = _bch(version, 0x1F25, 12)
        for i in range(18):
            bit = info >> i & 1
            a, b = size - 11 + i % 3, i // 3
            put(a, b, bit)
            put(b, a, bit)
    return size, grid


@functools.cache
def _layout(version: int) -> _Layout:
    size, grid = _function_modules(version)
    groups = _BLOCKS_M[version]
    blocks = tuple((data, total - data) for count, total, data in groups for _ in range(count))
    data_codewords = sum(d for d, _ in blocks)
    total_bits = 8 * sum(d + e for d, e in blocks)
    # Source of the gather: the codeword bits as ASCII '0'/'1', the same bits inverted,
    # then a constant '0' and a constant '1'.
    zero, one = 2 * total_bits, 2 * total_bits + 1
    index: list[list[int]] = [[zero] * (size + 1) for _ in range(size)]  # + a '0' column
    bit = 0
    right = size - 1
    while right >= 1:  # §7.7.3: two-column strips from the right, up then down
        if right == 6:
            right = 5  # the vertical timing pattern is skipped
        upward = ((right + 1) & 2) == 0
        for vert in range(size):
            row = size - 1 - vert if upward else vert
            for col in (right, right - 1):
                if grid[row][col] is not None:
                    continue
                masked = col % 3 == 0  # data mask 010 (§7.8.2, Table 10)
                if bit < total_bits:
                    index[row][col] = bit + total_bits if masked else bit
                    bit += 1
                else:  # remainder bits are 0 (§7.6), masked like data
                    index[row][col] = one if masked else zero
                grid[row][col] = -1
        right -= 2
    for row in range(size):
        for col in range(size):
            value = grid[row][col]
            if value is not None and value >= 0:
                index[row][col] = one if value else zero
    flat = [i for row_index in index for i in row_index]
    return _Layout(
        version=version,
        size=size,
        data_codewords=data_codewords,
        blocks=blocks,
        gather=operator.itemgetter(*flat),
    )


def _capacity_version(length: int) -> int | None:
    """The smallest version whose data capacity holds ``length`` bytes in byte mode."""
    for version in range(1, MAX_VERSION + 1):
        count_bits = 8 if version < 10 else 16  # §7.4.1, Table 3
        data_bits = 8 * sum(c * d for c, _t, d in _BLOCKS_M[version])
        if 4 + count_bits + 8 * length <= data_bits:
            return version
    return None


def _fast_rows(text: str) -> tuple[int, bytes] | None:
    """(size, rows of ASCII '0'/'1' each followed by '0') or None if not the fast case."""
    if not text.isascii() or all(ch in _ALPHANUMERIC for ch in text):
        return None  # segno would choose another mode (its find_mode)
    data = text.encode("ascii")
    version = _capacity_version(len(data))
    if version is None:
        return None
    layout = _layout(version)
    count_bits = 8 if version < 10 else 16
    # Mode indicator 0100 (byte), character count, the bytes, a 4-bit terminator
    # (§7.4.9: the bits so far are 4 short of a byte boundary, and there is room).
    header = (0b0100 << count_bits) | len(data)
    stream = ((header << (8 * len(data))) | int.from_bytes(data, "big")) << 4
    body = stream.to_bytes((4 + count_bits + 8 * len(data) + 4) // 8, "big")
    pad = layout.data_codewords - len(body)
    body += bytes(_PAD_BYTES[i % 2] for i in range(pad))
    data_blocks: list[bytes] = []
    ec_blocks: list[bytes] = []
    at = 0
    for n_data, n_ec in layout.blocks:
        chunk = body[at : at + n_data]
        at += n_data
        data_blocks.append(chunk)
        ec_blocks.append(_ec_codewords(chunk, n_ec))
    codewords = _interleave(data_blocks) + _interleave(ec_blocks)  # §7.6
    bits = format(int.from_bytes(codewords, "big"), f"0{8 * len(codewords)}b").encode()
    source = bits + bits.translate(_INVERT) + b"01"
    return layout.size, bytes(layout.gather(source))


_INVERT = bytes.maketrans(b"01", b"10")


def _interleave(blocks: Sequence[bytes]) -> bytes:
    """Codeword i of every block, then i + 1 (§7.6); longer blocks add their last."""
    shortest = min(len(b) for b in blocks)
    out = bytes(itertools.chain.from_iterable(zip(*(b[:shortest] for b in blocks), strict=True)))
    return out + bytes(b[shortest] for b in blocks if len(b) > shortest)


def _segno_rows(text: str) -> tuple[int, bytes]:
    import segno

    matrix = segno.make_qr(text, error="m", boost_error=False, mask=2).matrix
    rows = b"".join(bytes(48 + (1 if m else 0) for m in row) + b"0" for row in matrix)
    return len(matrix), rows


def qr_rows(text: str) -> tuple[int, bytes]:
    """The QR code of ``text``: its size and its rows as ASCII ``0``/``1`` (dark = 1),
    each row followed by one ``0``."""
    fast = _fast_rows(text)
    return fast if fast is not None else _segno_rows(text)


@functools.cache
def _run_tables(size: int) -> tuple[tuple[bytes, ...], tuple[bytes, ...]]:
    """Rectangle operands by where a run starts in the joined rows and by its length:
    ``col row`` (row counted from the bottom) and ``len 1 re``."""
    width = size + 1
    starts = tuple(
        b"%d %d " % (pos % width, size - 1 - pos // width) for pos in range(size * width)
    )
    lengths = tuple(b"%d 1 re\n" % n for n in range(size + 1))
    return starts, lengths


def qr_path(text: str) -> tuple[int, bytes]:
    """The QR code of ``text`` as path construction operators, in module units.

    Returns the size in modules and one rectangle (``x y w 1 re``, ISO 32000-1 §8.5.2.1)
    per horizontal run of dark modules, row by row from the top, ``y`` counted from the
    bottom row; the caller scales, places and fills them as one path. The operands of
    every rectangle come from two tables prepared once per size.
    """
    size, rows = qr_rows(text)
    starts, lengths = _run_tables(size)
    out: list[bytes] = []
    append = out.append
    for m in _DARK.finditer(rows):
        begin, end = m.span()
        append(starts[begin])
        append(lengths[end - begin])
    return size, b"".join(out)
