"""A tiny PDF object model for the objects medsign adds, with a byte serializer.

Both signing paths describe their new objects (appearance, font, evidence) with these
types: the fast path serializes them directly (ISO 32000-1 §7.3), the pyHanko path
converts them to ``pyhanko.pdf_utils.generic`` objects.

``Ref(i)`` points to the i-th object of the same :class:`ObjectSet`; ``Existing``
points to an object already in the file; ``Raw`` is written verbatim.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Union

# ISO 32000-1 §7.2.2: delimiters and white-space must be escaped in names.
_NAME_SAFE = frozenset(
    b"!\"$&'*+,-.0123456789:;=?@ABCDEFGHIJKLMNOPQRSTUVWXYZ\\^_`abcdefghijklmnopqrstuvwxyz|~"
)


class Name(str):
    """A PDF name (without the leading slash)."""

    __slots__ = ()


class Raw(bytes):
    """Bytes written verbatim (already valid PDF syntax)."""

    __slots__ = ()


@dataclass(frozen=True)
class Ref:
    """Reference to another object of the same :class:`ObjectSet` (by index)."""

    index: int


@dataclass(frozen=True)
class Existing:
    """Reference to an object already present in the file."""

    num: int
    gen: int = 0


@dataclass
class Stream:
    """A stream: its dictionary (without /Length) and its encoded data.

    ``data`` is one byte string or, for data that lies in several places of an upload
    (a PNG's IDAT chunks), the buffers to lay end to end: :mod:`medsign.pdf.writer`
    copies them straight into the file, never joining them on their own.
    """

    dictionary: dict[str, PdfValue]
    data: bytes | tuple[memoryview, ...]

    @property
    def length(self) -> int:
        """The /Length of the stream: bytes of data (§7.3.8.2)."""
        if isinstance(self.data, bytes):
            return len(self.data)
        return sum(piece.nbytes for piece in self.data)

    @property
    def pieces(self) -> tuple[bytes | memoryview, ...]:
        """The data as buffers to write one after the other."""
        return (self.data,) if isinstance(self.data, bytes) else self.data

    def joined(self) -> bytes:
        """The data as one byte string (a copy if it is in pieces)."""
        return self.data if isinstance(self.data, bytes) else b"".join(self.data)


PdfValue = Union[
    None,
    bool,
    int,
    float,
    str,
    bytes,
    Name,
    Raw,
    Ref,
    Existing,
    "list[PdfValue]",
    "dict[str, PdfValue]",
    Stream,
]


@dataclass
class ObjectSet:
    """An ordered set of new indirect objects that reference each other with :class:`Ref`."""

    objects: list[PdfValue] = field(default_factory=list)

    def add(self, obj: PdfValue) -> Ref:
        """Append an object and return a reference to it."""
        self.objects.append(obj)
        return Ref(len(self.objects) - 1)

    def reserve(self) -> Ref:
        """Reserve a slot to be filled later with :meth:`set`."""
        return self.add(None)

    def set(self, ref: Ref, obj: PdfValue) -> None:
        """Fill a reserved slot."""
        self.objects[ref.index] = obj


@functools.lru_cache(maxsize=4096)
def name_bytes(name: str) -> bytes:
    """Encode a name with #xx escapes for bytes outside the regular set (§7.3.5)."""
    raw = name.encode("utf-8")
    if all(b in _NAME_SAFE for b in raw):
        return b"/" + raw
    return b"/" + b"".join(bytes([b]) if b in _NAME_SAFE else b"#%02X" % b for b in raw)


def text_string(value: str) -> bytes:
    """A text string (§7.9.2.2): literal if printable ASCII, else UTF-16BE with BOM, hex."""
    if value.isascii() and value.isprintable():
        esc = value.replace("\\", "\\\\").replace("(", "\\(").replace(")", "\\)")
        return b"(" + esc.encode("ascii") + b")"
    return b"<FEFF" + value.encode("utf-16-be").hex().upper().encode("ascii") + b">"


def fmt_number(value: float) -> bytes:
    """A real number without exponent (§7.3.3), at most 4 decimals."""
    if isinstance(value, int):
        return b"%d" % value
    if value == int(value):
        return b"%d" % int(value)
    text = f"{value:.4f}".rstrip("0").rstrip(".")
    return text.encode("ascii")


def serialize(value: PdfValue, ref: Callable[[Ref], bytes]) -> bytes:
    """Serialize a value; ``ref`` maps local references to ``n g R`` bytes."""
    out: list[bytes] = []
    _write(value, ref, out)
    return b"".join(out)


def _write(value: PdfValue, ref: Callable[[Ref], bytes], out: list[bytes]) -> None:
    if value is None:
        out.append(b"null")
    elif isinstance(value, bool):
        out.append(b"true" if value else b"false")
    elif isinstance(value, int | float):
        out.append(fmt_number(value))
    elif isinstance(value, Name):
        out.append(name_bytes(value))
    elif isinstance(value, str):
        out.append(text_string(value))
    elif isinstance(value, Raw):
        out.append(bytes(value))
    elif isinstance(value, bytes):
        out.append(b"<" + value.hex().encode("ascii") + b">")
    elif isinstance(value, Ref):
        out.append(ref(value))
    elif isinstance(value, Existing):
        out.append(b"%d %d R" % (value.num, value.gen))
    elif isinstance(value, list):
        out.append(b"[")
        for i, item in enumerate(value):
            if i:
                out.append(b" ")
            if type(item) is int:  # the common case (/W widths), without recursion
                out.append(b"%d" % item)
            else:
                _write(item, ref, out)
        out.append(b"]")
    elif isinstance(value, dict):
        out.append(b"<<")
        for key, item in value.items():
            out.append(name_bytes(key))
            out.append(b" ")
            _write(item, ref, out)
        out.append(b">>")
    elif isinstance(value, Stream):
        d = dict(value.dictionary)
        d["Length"] = value.length
        _write(d, ref, out)
        out.append(b"\nstream\n")
        out.append(value.joined())
        out.append(b"\nendstream")
    else:  # pragma: no cover - exhaustive over PdfValue
        raise TypeError(f"cannot serialize {type(value)!r}")
