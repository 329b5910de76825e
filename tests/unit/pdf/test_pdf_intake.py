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
from tests.unit.pdf.intake_checks import mutate

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
        mutant = mutate(seeds[i % 2], rng, edits=20, cuts=0.25, cut=64)
        with contextlib.suppress(InvalidDocument, LimitExceeded):
            inspect_pdf(mutant)
    for _ in range(50):
        with contextlib.suppress(InvalidDocument):
            inspect_pdf(b"%PDF-1.7\n" + rng.randbytes(rng.randint(0, 4000)))


def _with_boxes(pdf_factory: PdfFactory, edit: Callable[[pikepdf.Pdf], None]) -> bytes:
    pdf = pikepdf.open(io.BytesIO(pdf_factory(pages=2)))
    edit(pdf)
    out = io.BytesIO()
    pdf.save(out, object_stream_mode=pikepdf.ObjectStreamMode.disable)
    return out.getvalue()


def _drop_media_boxes(pdf: pikepdf.Pdf) -> None:
    for page in pdf.pages:
        del page.obj["/MediaBox"]


def _null_in_crop_box(pdf: pikepdf.Pdf) -> None:
    pdf.pages[1].obj.CropBox = pikepdf.Array([0, 0, None, 842])


def _flat_box(pdf: pikepdf.Pdf) -> None:
    pdf.pages[0].obj.MediaBox = pikepdf.Array([0, 0, 595, 0])


@pytest.mark.parametrize("edit", [_null_in_crop_box, _flat_box])
def test_pages_without_a_usable_size_are_refused(
    pdf_factory: PdfFactory, edit: Callable[[pikepdf.Pdf], None]
) -> None:
    """ISO 32000-1 §7.7.3.3: the signature block needs the page's box."""
    with pytest.raises(InvalidDocument, match="no usable size"):
        inspect_pdf(_with_boxes(pdf_factory, edit))


def test_inherited_and_indirect_boxes_are_fine(pdf_factory: PdfFactory) -> None:
    def edit(pdf: pikepdf.Pdf) -> None:
        _drop_media_boxes(pdf)
        pdf.Root.Pages.MediaBox = pikepdf.Array([0, 0, 595, 842])  # inherited, §7.7.3.4
        pdf.pages[1].obj.CropBox = pdf.make_indirect(pikepdf.Array([10, 10, 500, 800]))

    assert inspect_pdf(_with_boxes(pdf_factory, edit)).pages == 2


def test_missing_media_box_is_a_repair(pdf_factory: PdfFactory) -> None:
    """qpdf gives a page without any /MediaBox US Letter, as readers do, and warns:
    such a file is not sound (inspect refuses it) and intake stores the repaired copy."""
    from medsign.pdf.intake import IntakeLimits, SourceFile, normalize

    data = _with_boxes(pdf_factory, _drop_media_boxes)
    with pytest.raises(InvalidDocument, match="damaged"):
        inspect_pdf(data)
    result = normalize([SourceFile("letter.pdf", None, data)], IntakeLimits())
    assert not result.kept_as_is
    with pikepdf.open(io.BytesIO(result.data)) as pdf:
        assert [list(map(float, p.mediabox)) for p in pdf.pages] == [[0, 0, 612, 792]] * 2
