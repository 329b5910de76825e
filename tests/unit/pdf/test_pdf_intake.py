"""inspect_pdf: accepts sound PDFs unchanged, rejects everything else with a DomainError."""

from __future__ import annotations

import contextlib
import hashlib
import io
import random
from collections.abc import Callable

import pikepdf
import pytest

from medsign.errors import EncryptedDocument, InvalidDocument, LimitExceeded
from medsign.pdf import inspect_pdf

PdfFactory = Callable[..., bytes]


def test_good_pdf(pdf_factory: PdfFactory) -> None:
    data = pdf_factory(pages=3)
    info = inspect_pdf(data)
    assert info.pages == 3
    assert info.sha256 == hashlib.sha256(data).hexdigest()
    assert not info.has_signatures


def test_xref_stream_pdf(pdf_factory: PdfFactory) -> None:
    assert inspect_pdf(pdf_factory(pages=2, xref_stream=True)).pages == 2


def test_zero_pages() -> None:
    pdf = pikepdf.new()
    out = io.BytesIO()
    pdf.save(out)
    with pytest.raises(InvalidDocument):
        inspect_pdf(out.getvalue())


@pytest.mark.parametrize("data", [b"", b"hello world", b"\x89PNG\r\n\x1a\n" + b"\x00" * 100])
def test_garbage(data: bytes) -> None:
    with pytest.raises(InvalidDocument):
        inspect_pdf(data)


def test_truncated(pdf_factory: PdfFactory) -> None:
    data = pdf_factory(pages=2)
    for cut in (20, len(data) // 3, len(data) // 2):
        with pytest.raises(InvalidDocument):
            inspect_pdf(data[:cut])


def test_encrypted_with_user_password(pdf_factory: PdfFactory) -> None:
    pdf = pikepdf.open(io.BytesIO(pdf_factory()))
    out = io.BytesIO()
    pdf.save(out, encryption=pikepdf.Encryption(user="secret", owner="owner"))
    with pytest.raises(EncryptedDocument):
        inspect_pdf(out.getvalue())


def test_encrypted_with_owner_password_only(pdf_factory: PdfFactory) -> None:
    pdf = pikepdf.open(io.BytesIO(pdf_factory()))
    out = io.BytesIO()
    pdf.save(out, encryption=pikepdf.Encryption(user="", owner="owner"))
    with pytest.raises(EncryptedDocument):
        inspect_pdf(out.getvalue())


def test_page_limit(pdf_factory: PdfFactory) -> None:
    data = pdf_factory(pages=5)
    assert inspect_pdf(data, max_pages=5).pages == 5
    with pytest.raises(LimitExceeded):
        inspect_pdf(data, max_pages=4)


def test_never_raises_anything_else(pdf_factory: PdfFactory) -> None:
    """Random and mutated inputs give a PdfInfo or a DomainError, never a crash."""
    rng = random.Random(1234)
    seeds = [pdf_factory(pages=2), pdf_factory(pages=2, xref_stream=True)]
    for i in range(300):
        base = bytearray(seeds[i % 2])
        for _ in range(rng.randint(1, 20)):
            at = rng.randrange(len(base))
            choice = rng.random()
            if choice < 0.5:
                base[at] = rng.randrange(256)
            elif choice < 0.75:
                del base[at : at + rng.randint(1, 64)]
            else:
                base[at:at] = rng.randbytes(rng.randint(1, 64))
        with contextlib.suppress(InvalidDocument, LimitExceeded):
            inspect_pdf(bytes(base))
    for _ in range(50):
        with contextlib.suppress(InvalidDocument):
            inspect_pdf(b"%PDF-1.7\n" + rng.randbytes(rng.randint(0, 4000)))
