"""A faster hex-string reader for pyHanko, installed by :mod:`medsign.pdf.validate`.

pyHanko reads PDF hex strings (ISO 32000-1 §7.3.4.3) one byte at a time, and a
signature's ``/Contents`` is such a string of several kilobytes (larger still with
an RFC 3161 time-stamp inside), read several times per validation: about half of
the time of verifying a one-page PDF. :func:`read_hex_string_from_stream` reads
up to the closing ``>`` in one go and decodes with :mod:`binascii`; anything it
does not expect (a comment inside the string, a stray character, the end of the
stream) is handed back to pyHanko's own reader, so behaviour and errors stay
pyHanko's.
"""

from __future__ import annotations

import binascii
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

_WHITESPACE = b" \n\r\t\f\x00"  # ISO 32000-1 §7.2.2, Table 1
_HEX = b"0123456789abcdefABCDEF"
_CHUNK = 16 * 1024
_installed: dict[str, Any] = {}


def read_hex_string_from_stream(stream: Any) -> Any:
    """Drop-in for ``pyhanko.pdf_utils.generic.read_hex_string_from_stream``."""
    from pyhanko.pdf_utils import generic

    original = _installed["original"]
    start = stream.tell()
    stream.read(1)  # the opening "<"
    buf = bytearray()
    while True:
        chunk = stream.read(_CHUNK)
        if not chunk:
            stream.seek(start)
            return original(stream)  # truncated: pyHanko raises its own error
        end = chunk.find(b">")
        if end >= 0:
            buf += chunk[:end]
            break
        buf += chunk
    digits = bytes(buf).translate(None, _WHITESPACE)
    if digits.translate(None, _HEX):  # a comment or a stray byte: not our case
        stream.seek(start)
        return original(stream)
    stream.seek(start + 1 + len(buf) + 1)
    if len(digits) % 2:
        digits += b"0"  # §7.3.4.3: a final odd digit is followed by an implied 0
    return generic.pdf_string(binascii.unhexlify(digits))


def install() -> None:
    """Replace pyHanko's hex-string reader (idempotent)."""
    from pyhanko.pdf_utils import generic

    if "original" not in _installed:
        _installed["original"] = generic.read_hex_string_from_stream
        generic.read_hex_string_from_stream = read_hex_string_from_stream


@contextmanager
def disabled() -> Iterator[None]:
    """pyHanko's own reader inside the block (benchmarks compare against plain pyHanko)."""
    from pyhanko.pdf_utils import generic

    current = generic.read_hex_string_from_stream
    generic.read_hex_string_from_stream = _installed.get("original", current)
    try:
        yield
    finally:
        generic.read_hex_string_from_stream = current
