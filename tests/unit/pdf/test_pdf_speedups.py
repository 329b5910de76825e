"""The fast hex-string reader returns what pyHanko's own reader returns."""

from __future__ import annotations

import io

import pytest
from pyhanko.pdf_utils import generic
from pyhanko.pdf_utils.misc import PdfStreamError

from medsign.pdf import speedups

speedups.install()


@pytest.mark.parametrize(
    "raw",
    [
        b"<>",
        b"<48656c6c6f>",
        b"<48 65 6C\n6c\t6f>",
        b"<486>",  # odd: implied trailing 0 (ISO 32000-1 §7.3.4.3)
        b"<FEFF00480069>",  # UTF-16BE text string
        b"<" + b"00" * 40_000 + b">",
        b"<4865 % a comment\n6c6c6f>",  # handed back to pyHanko
    ],
)
def test_same_result_as_pyhanko(raw: bytes) -> None:
    fast = io.BytesIO(raw + b" rest")
    slow = io.BytesIO(raw + b" rest")
    with speedups.disabled():
        expected = generic.read_hex_string_from_stream(slow)
    got = speedups.read_hex_string_from_stream(fast)
    assert type(got) is type(expected) and got == expected
    assert fast.tell() == slow.tell()


@pytest.mark.parametrize("raw", [b"<4865", b"<48zz>"])
def test_same_errors_as_pyhanko(raw: bytes) -> None:
    with pytest.raises(PdfStreamError):
        speedups.read_hex_string_from_stream(io.BytesIO(raw))
