"""Intake and PDF structures: objects read late, MS Word hybrid files, XFA forms."""

from __future__ import annotations

import io
import re
from collections.abc import Callable

import pikepdf
import pytest

from medsign import errors
from medsign.pdf.intake import IntakeLimits, NormalizedPdf, SourceFile, normalize
from tests.support.pdfs import make_pdf
from tests.unit.pdf import intake_samples as samples


def run(*files: tuple[str, bytes]) -> NormalizedPdf:
    return normalize([SourceFile(n, None, d) for n, d in files], IntakeLimits())


def page_text(data: bytes, index: int) -> bytes:
    with pikepdf.open(io.BytesIO(data)) as pdf:
        return pdf.pages[index].obj.Contents.read_bytes()


# --- lazily found damage (fixed in intake._examine) -----------------------------------


def xref_entry(data: bytes, number: int, *, section: int = -1) -> bytes:
    """Object ``number``'s entry in a classic xref table (ISO 32000-1 §7.5.4) of ``data``.

    ``section`` counts the file's tables (-1: the last); each has one subsection from 0.
    """
    start = [m.end() for m in re.finditer(rb"\nxref\n0 \d+\n", data)][section]
    return data[start + 20 * number : start + 20 * (number + 1)]


def with_xref_entry(data: bytes, number: int, entry: bytes) -> bytes:
    """``data`` with object ``number``'s entry in its last xref table replaced."""
    start = [m.end() for m in re.finditer(rb"\nxref\n0 \d+\n", data)][-1] + 20 * number
    assert len(entry) == 20 and data[start + 17 : start + 20] == b"n \n"
    return data[:start] + entry + data[start + 20 :]


@pytest.mark.parametrize("target", ["contents", "font"])
def test_wrong_offset_of_an_object_read_late_is_repaired_not_kept(
    target: str, qpdf_check: Callable[[bytes], None]
) -> None:
    """An xref offset (§7.5.4) that is off only for an object the page tree does not hold.

    qpdf finds it when the object is read; the file must count as repaired, not sound.
    """
    data = make_pdf(3, "Offsets")
    with pikepdf.open(io.BytesIO(data)) as pdf:
        page = pdf.pages[1].obj
        obj = page.Contents if target == "contents" else page.Resources.Font.F1
        number = obj.objgen[0]
    offset = int(xref_entry(data, number)[:10])
    damaged = with_xref_entry(data, number, b"%010d 00000 n \n" % (offset + 3))
    with pikepdf.open(io.BytesIO(damaged)) as pdf:
        assert not pdf.get_warnings() and len(pdf.pages) == 3  # nothing shows on opening

    result = run(("offsets.pdf", damaged))
    assert not result.kept_as_is and result.pages == 3
    qpdf_check(result.data)
    assert b"(Offsets - page 2)" in page_text(result.data, 1)


# --- MS Word hybrid-reference files (ISO 32000-1 §7.5.8.4) ------------------------------


def test_word_hybrid_file_is_taken_byte_for_byte() -> None:
    data = samples.word_hybrid_pdf()
    # the sample is what it claims: pages only in the object stream, a classic table
    # that marks them free, an update trailer with /XRefStm
    assert b"/Type/Page/" not in data and b"/Type/ObjStm" in data
    assert re.search(rb"xref\n0 0\ntrailer\n<<[^>]*/XRefStm \d+", data)
    assert xref_entry(data, 3, section=0) == b"0000000004 65535 f \n"  # object 3: a page
    assert xref_entry(data, 1, section=0).endswith(b" 00000 n \n")  # the catalog

    result = run(("word.pdf", data))
    assert result.kept_as_is and result.data == data and result.pages == 2
    with pikepdf.open(io.BytesIO(result.data)) as pdf:
        assert not pdf.get_warnings()
        assert [p.obj.objgen for p in pdf.pages] == [(3, 0), (4, 0)]
    assert b"(Word page 2)" in page_text(result.data, 1)


def test_word_hybrid_file_in_a_merge(qpdf_check: Callable[[bytes], None]) -> None:
    result = run(("word.pdf", samples.word_hybrid_pdf()), ("more.pdf", make_pdf(1, "More")))
    assert result.pages == 3 and not result.kept_as_is
    qpdf_check(result.data)
    assert b"/ObjStm" not in result.data and b"/XRefStm" not in result.data
    assert [page_text(result.data, i) for i in range(3)] == [
        b"BT /F1 18 Tf 72 720 Td (Word page 1) Tj ET",
        b"BT /F1 18 Tf 72 720 Td (Word page 2) Tj ET",
        b"BT /F1 18 Tf 72 770 Td (More - page 1) Tj ET",
    ]


@pytest.mark.parametrize("shift", [7, -40, 10**6], ids=["inside-stream", "earlier", "past-eof"])
def test_word_hybrid_file_with_a_broken_xrefstm_is_repaired_or_refused(shift: int) -> None:
    data = samples.word_hybrid_pdf(xrefstm_shift=shift)
    try:
        result = run(("word.pdf", data))
    except errors.DomainError as exc:
        assert isinstance(exc, errors.DamagedDocument) and exc.status == 422, exc
        return
    assert not result.kept_as_is and result.pages == 2
    assert b"(Word page 2)" in page_text(result.data, 1)


@pytest.mark.parametrize("objstm_type", [True, False], ids=["objstm", "objstm-without-type"])
def test_javascript_hidden_in_a_word_hybrid_object_stream_is_refused(objstm_type: bool) -> None:
    data = samples.word_hybrid_pdf(javascript=True, objstm_type=objstm_type)
    # compressed: no name that gives the script away is in the bytes
    assert not any(marker in data for marker in (b"/JS", b"/JavaScript", b"#"))
    assert (b"/ObjStm" in data) is objstm_type
    with pytest.raises(errors.ActiveContent) as exc:
        run(("word.pdf", data))
    assert exc.value.slug == "active-content" and exc.value.status == 422
    # and not in a merge either
    with pytest.raises(errors.ActiveContent):
        run(("more.pdf", make_pdf(1)), ("word.pdf", data))


# --- XFA forms (ISO 32000-1 §12.7.8) ----------------------------------------------------


@pytest.mark.parametrize("object_streams", [False, True], ids=["plain", "object-streams"])
@pytest.mark.parametrize("needs_rendering", [None, False], ids=["absent", "false"])
def test_static_xfa_is_accepted(needs_rendering: bool | None, object_streams: bool) -> None:
    data = samples.xfa_pdf(needs_rendering=needs_rendering, object_streams=object_streams)
    with pikepdf.open(io.BytesIO(data)) as pdf:
        assert "/XFA" in pdf.Root.AcroForm
        assert pdf.Root.get("/NeedsRendering") == needs_rendering
    result = run(("static-xfa.pdf", data))
    assert result.kept_as_is and result.data == data and result.pages == 1


@pytest.mark.parametrize("object_streams", [False, True], ids=["plain", "object-streams"])
def test_dynamic_xfa_is_refused_as_active_content(object_streams: bool) -> None:
    data = samples.xfa_pdf(needs_rendering=True, object_streams=object_streams)
    with pytest.raises(errors.ActiveContent) as exc:
        run(("dynamic-xfa.pdf", data))
    assert exc.value.slug == "active-content" and exc.value.status == 422
    assert "XFA" in exc.value.detail
