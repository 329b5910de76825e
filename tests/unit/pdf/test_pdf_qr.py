"""The block's QR encoder against segno (layout) and zxing-cpp (an independent decoder)."""

from __future__ import annotations

import random
import string

import pytest
import segno
import zxingcpp
from PIL import Image

from medsign.pdf import qr

_QUIET = 4  # ISO/IEC 18004 §6.3.8: a 4-module quiet zone
_SCALE = 4


def _image(size: int, rows: bytes) -> Image.Image:
    """The rows as a black-on-white picture with a quiet zone."""
    side = (size + 2 * _QUIET) * _SCALE
    img = Image.new("L", (side, side), 255)
    for r in range(size):
        for c in range(size):
            if rows[r * (size + 1) + c] == ord("1"):
                x, y = (c + _QUIET) * _SCALE, (r + _QUIET) * _SCALE
                img.paste(0, (x, y, x + _SCALE, y + _SCALE))
    return img


def _decode(size: int, rows: bytes) -> zxingcpp.Barcode:
    found = zxingcpp.read_barcodes(_image(size, rows))
    assert len(found) == 1
    assert found[0].format == zxingcpp.BarcodeFormat.QRCode
    return found[0]


def _url(length: int, rng: random.Random) -> str:
    """A URL-like ASCII string of ``length`` bytes (lower case: segno picks byte mode)."""
    alphabet = string.ascii_letters + string.digits + "-._~:/?#[]@!$&'()*+,;=%"
    head = "https://"[:length]
    return head + "".join(rng.choice(alphabet) for _ in range(length - len(head)))


# One length at both ends of each version's byte-mode capacity (level M), plus the
# service's own verification URL shape.
_CAPACITY = [14, 26, 42, 62, 84, 106, 122, 152, 180, 213]
_LENGTHS = sorted({1, 2, *_CAPACITY, *(c + 1 for c in _CAPACITY[:-1])})


@pytest.mark.parametrize("length", _LENGTHS)
def test_fast_encoder_decodes_to_its_text_in_the_smallest_version(length: int) -> None:
    text = _url(length, random.Random(length))
    fast = qr._fast_rows(text)
    assert fast is not None
    size, rows = fast
    reference = segno.make_qr(text, error="m", boost_error=False, mask=2)
    assert size == len(reference.matrix)  # same (smallest) version as segno chooses
    code = _decode(size, rows)
    assert code.text == text
    assert code.ec_level == "M"


@pytest.mark.parametrize("version", range(1, qr.MAX_VERSION + 1))
def test_function_patterns_and_format_match_segno(version: int) -> None:
    """Finder, separators, timing, alignment, format and version information: every
    module that is not data is the same as segno's for the same version and mask."""
    length = _CAPACITY[version - 1]
    text = _url(length, random.Random(version))
    fast = qr._fast_rows(text)
    assert fast is not None
    size, rows = fast
    _size, reference = qr._segno_rows(text)
    _n, grid = qr._function_modules(version)
    width = size + 1
    for r in range(size):
        for c in range(size):
            if grid[r][c] is not None:
                assert rows[r * width + c] == reference[r * width + c], (r, c)


def test_service_verification_url_is_version_6() -> None:
    url = "https://clinic.example.org/verify?document=3f2a4b6c-1111-4222-8333-444455556666&code=7KQ4-M2XD"
    size, rows = qr.qr_rows(url)
    assert size == 41
    assert _decode(size, rows).text == url


@pytest.mark.parametrize(
    "text",
    [
        "HTTPS://EXAMPLE.ORG/V/7KQ4",  # alphanumeric mode
        "12345678901234567890",  # numeric mode
        "https://пример.рф/проверка",  # not ASCII
        "https://example.org/" + "a" * 230,  # beyond version 10
    ],
)
def test_other_texts_are_encoded_by_segno(text: str) -> None:
    assert qr._fast_rows(text) is None
    size, rows = qr.qr_rows(text)
    assert (size, rows) == qr._segno_rows(text)
    assert _decode(size, rows).text == text


def test_path_draws_exactly_the_dark_modules() -> None:
    """Painting the rectangles of :func:`qr.qr_path` reproduces the matrix."""
    url = "https://medsign.example.org/v/7KQ4-M2XD?n=1"
    size, rows = qr.qr_rows(url)
    n, path = qr.qr_path(url)
    assert n == size
    painted = [[0] * size for _ in range(size)]
    for op in path.decode().splitlines():
        x, y, w, h, name = op.split()
        assert (name, h) == ("re", "1")
        for c in range(int(x), int(x) + int(w)):
            assert painted[size - 1 - int(y)][c] == 0  # runs never overlap
            painted[size - 1 - int(y)][c] = 1
    expected = [[int(chr(rows[r * (size + 1) + c])) for c in range(size)] for r in range(size)]
    assert painted == expected
