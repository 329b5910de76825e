"""medsign.pdf.writer: hand-written PDF files that qpdf, pikepdf and the sealing path accept."""

from __future__ import annotations

import io
import re
import zlib
from collections.abc import Callable

import pikepdf
import pytest

from medsign.pdf import validate_pdf
from medsign.pdf.images import _Joined, open_pages
from medsign.pdf.incremental import seal_incremental
from medsign.pdf.objects import Name, ObjectSet, PdfValue, Ref, Stream
from medsign.pdf.writer import Page, PageGroup, pdf_chunks, write_pdf
from medsign.pki import DevCA, SealKey
from tests.unit.pdf.test_pdf_seal import request as seal_request

QpdfCheck = Callable[[bytes], None]


def gray(width: int, height: int, level: int) -> Stream:
    """A Flate-compressed 8-bit gray image XObject."""
    pixels = zlib.compress(bytes([level]) * (width * height))
    return Stream(
        {
            "Type": Name("XObject"),
            "Subtype": Name("Image"),
            "Width": width,
            "Height": height,
            "ColorSpace": Name("DeviceGray"),
            "BitsPerComponent": 8,
            "Filter": Name("FlateDecode"),
        },
        pixels,
    )


def image_group(*levels: int, size: tuple[float, float] = (595.2756, 841.8898)) -> PageGroup:
    """One page per level, each showing its own gray image."""
    objects = ObjectSet()
    pages = []
    for level in levels:
        ref = objects.add(gray(4, 3, level))
        content = b"q 400 0 0 300 97 270 cm /Im0 Do Q"
        pages.append(Page(*size, content, {"XObject": {"Im0": ref}}))
    return PageGroup(pages, objects)


def open_clean(data: bytes) -> pikepdf.Pdf:
    pdf = pikepdf.open(io.BytesIO(data))
    assert not pdf.get_warnings(), pdf.get_warnings()
    return pdf


def outline(pdf: pikepdf.Pdf) -> list[tuple[str, int]]:
    pages: list[object] = [p.objgen for p in pdf.pages]
    result = []
    with pdf.open_outline() as tree:
        for item in tree.root:
            dest = item.destination
            assert isinstance(dest, pikepdf.Array)
            result.append((str(item.title), pages.index(dest[0].objgen)))
    return result


def test_one_page_is_valid_and_pages_show_their_images(qpdf_check: QpdfCheck) -> None:
    data = write_pdf([("scan.png", image_group(10, 200))], bookmarks=False)
    qpdf_check(data)
    assert data.startswith(b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n") and data.endswith(b"%%EOF\n")
    with open_clean(data) as pdf:
        assert len(pdf.pages) == 2
        assert "/Outlines" not in pdf.Root
        for page, level in zip(pdf.pages, (10, 200), strict=True):
            assert [float(v) for v in page.mediabox] == [0, 0, 595.2756, 841.8898]
            assert page.Contents.read_bytes() == b"q 400 0 0 300 97 270 cm /Im0 Do Q"
            (image,) = page.Resources.XObject.values()
            assert image.read_bytes() == bytes([level]) * 12
            assert (int(image.Width), int(image.Height)) == (4, 3)


def test_stream_data_is_passed_through_not_copied() -> None:
    data = b"\xff\xd8 pretend JPEG " * 1000
    objects = ObjectSet()
    ref = objects.add(Stream({"Type": Name("XObject"), "Subtype": Name("Image")}, data))
    group = PageGroup([Page(100, 100, b"", {"XObject": {"Im0": ref}})], objects)
    chunks = pdf_chunks([("a", group)], bookmarks=False)
    assert any(chunk is data for chunk in chunks)
    with open_clean(b"".join(chunks)) as pdf:
        assert pdf.pages[0].Resources.XObject.Im0.read_raw_bytes() == data


def test_stream_in_pieces_is_laid_out_piece_by_piece() -> None:
    """A stream whose data is several views (a PNG's IDAT chunks in the upload) gets
    their total /Length; the views themselves are the file's pieces, and qpdf reads the
    file from them (open_pages) without their being joined."""
    upload = bytes(range(256)) * 40
    data = zlib.compress(upload)
    holder = b"head" + data + b"tail"
    views = tuple(
        memoryview(holder)[4 + i : 4 + min(i + 333, len(data))] for i in range(0, len(data), 333)
    )
    objects = ObjectSet()
    ref = objects.add(
        Stream(
            {
                "Type": Name("XObject"),
                "Subtype": Name("Image"),
                "Width": 256,
                "Height": 40,
                "ColorSpace": Name("DeviceGray"),
                "BitsPerComponent": 8,
                "Filter": Name("FlateDecode"),
            },
            views,
        )
    )
    group = PageGroup([Page(100, 100, b"", {"XObject": {"Im0": ref}})], objects)
    chunks = pdf_chunks([("a", group)], bookmarks=False)
    laid = [c for c in chunks if isinstance(c, memoryview)]
    assert len(laid) == len(views) and all(a is b for a, b in zip(laid, views, strict=True))
    joined = _Joined(*chunks)
    for start, size in ((0, 7), (len(holder) // 2, 1000), (joined.seek(0, io.SEEK_END) - 5, 99)):
        joined.seek(start)
        assert joined.read(size) == b"".join(chunks)[start : start + size]
    with open_clean(b"".join(chunks)) as pdf:
        image = pdf.pages[0].Resources.XObject.Im0
        assert int(image.Length) == len(data) and image.read_bytes() == upload
    with open_pages(group) as pdf:
        assert pdf.pages[0].Resources.XObject.Im0.read_bytes() == upload


def test_xref_table_offsets_and_trailer() -> None:
    """Every entry of the classic table (ISO 32000-1 §7.5.4) points at its object."""
    data = write_pdf([("a", image_group(1)), ("b", image_group(2, 3))], bookmarks=True)
    startxref = int(re.search(rb"startxref\n(\d+)\n%%EOF\n$", data).group(1))  # type: ignore[union-attr]
    assert data[startxref:].startswith(b"xref\n0 ")
    head, _, rest = data[startxref + 5 :].partition(b"\n")
    first, count = map(int, head.split())
    assert first == 0
    entries = [rest[i * 20 : (i + 1) * 20] for i in range(count)]
    assert entries[0] == b"0000000000 65535 f \n"
    for number, entry in enumerate(entries[1:], start=1):
        assert len(entry) == 20 and entry.endswith(b" 00000 n \n")
        assert data[int(entry[:10]) :].startswith(b"%d 0 obj\n" % number)
    trailer = rest[count * 20 :]
    assert trailer.startswith(b"trailer\n<</Size %d/Root 1 0 R/ID[<" % count)
    assert b"/Encrypt" not in trailer and b"/Prev" not in trailer


def test_output_and_id_are_deterministic() -> None:
    def ident(data: bytes) -> bytes:
        with open_clean(data) as pdf:
            first, second = (bytes(x) for x in pdf.trailer.ID)
            assert first == second and len(first) == 16
            return first

    one = write_pdf([("a", image_group(1, 2))], bookmarks=False)
    assert write_pdf([("a", image_group(1, 2))], bookmarks=False) == one
    other = write_pdf([("a", image_group(1, 3))], bookmarks=False)
    assert ident(one) != ident(other)


def test_one_bookmark_per_group_at_its_first_page(qpdf_check: QpdfCheck) -> None:
    groups = [
        ("consent scan.tiff", image_group(1, 2, 3)),
        ("Паспорт (стр. 1).jpg", image_group(4)),  # not PDFDocEncoding: UTF-16BE
        ("", image_group(5, 6)),
    ]
    data = write_pdf(groups, bookmarks=True)
    qpdf_check(data)
    with open_clean(data) as pdf:
        assert len(pdf.pages) == 6
        # the links as written (pikepdf's outline helper rewrites the tree when it closes)
        root = pdf.Root.Outlines
        assert int(root.Count) == 3
        first = root.First
        assert "/Prev" not in first and first.Next.Next.objgen == root.Last.objgen
        assert root.Last.Prev.Prev.objgen == first.objgen and "/Next" not in root.Last
        assert all(item.Parent.objgen == root.objgen for item in (first, first.Next, root.Last))
        assert outline(pdf) == [
            ("consent scan.tiff", 0),
            ("Паспорт (стр. 1).jpg", 3),
            ("Document", 4),
        ]
        # each group's images are its own, though every group counts from Ref(0)
        levels = [p.Resources.XObject.Im0.read_bytes()[0] for p in pdf.pages]
        assert levels == [1, 2, 3, 4, 5, 6]


def test_references_between_objects_of_a_group(qpdf_check: QpdfCheck) -> None:
    """A soft mask and an ICC profile referenced from the image, a shared /Decode array."""
    objects = ObjectSet()
    icc = objects.add(
        Stream({"N": 1, "Alternate": Name("DeviceGray")}, b"not really an ICC profile")
    )
    mask = objects.add(gray(4, 3, 128))
    decode = objects.add([1, 0])
    image = gray(4, 3, 50)
    image.dictionary.update(
        {"ColorSpace": [Name("ICCBased"), icc], "SMask": mask, "Decode": decode}
    )
    ref = objects.add(image)
    group = PageGroup(
        [Page(842, 595, b"/Im0 Do", {"XObject": {"Im0": ref}})], objects, version=(1, 6)
    )
    data = write_pdf([("a.png", group)], bookmarks=False)
    qpdf_check(data)
    assert data.startswith(b"%PDF-1.6\n")
    with open_clean(data) as pdf:
        (ximage,) = pdf.pages[0].Resources.XObject.values()
        assert ximage.read_bytes() == bytes([50]) * 12
        assert ximage.SMask.read_bytes() == bytes([128]) * 12
        assert ximage.ColorSpace[0] == Name("/ICCBased")
        assert ximage.ColorSpace[1].read_bytes() == b"not really an ICC profile"
        assert ximage.ColorSpace[1].is_indirect and list(ximage.Decode) == [1, 0]


def test_the_fast_sealing_path_takes_it(seal_key: SealKey, dev_ca: DevCA) -> None:
    data = write_pdf([("a.jpg", image_group(1)), ("b.jpg", image_group(2))], bookmarks=True)
    sealed = seal_incremental(data, seal_key, seal_request(0))  # raises if it must fall back
    assert sealed.startswith(data)
    report = validate_pdf(sealed, [dev_ca.certificate])
    assert report.valid, report


@pytest.mark.parametrize(
    ("groups", "message"),
    [
        ([], "at least one page"),
        ([("a", PageGroup([]))], "at least one page"),
        (
            [("a", PageGroup([Page(1, 1, b"", {"XObject": {"Im0": Ref(0)}})]))],
            "outside its PageGroup",
        ),
    ],
)
def test_refuses_what_it_cannot_write(groups: list[tuple[str, PageGroup]], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        write_pdf(groups, bookmarks=True)


def test_refuses_a_stream_inside_another_object() -> None:
    """Streams are indirect objects (ISO 32000-1 §7.3.8.1); a nested one would be broken."""
    objects = ObjectSet()
    image = gray(4, 3, 1)
    image.dictionary["SMask"] = gray(4, 3, 2)  # not a Ref
    ref = objects.add(image)
    resources: dict[str, PdfValue] = {"XObject": {"Im0": ref}}
    with pytest.raises(ValueError, match="top-level"):
        write_pdf([("a", PageGroup([Page(1, 1, b"", resources)], objects))], bookmarks=False)
    with pytest.raises(ValueError, match="top-level"):
        write_pdf(
            [("a", PageGroup([Page(1, 1, b"", {"XObject": {"Im0": gray(1, 1, 1)}})]))],
            bookmarks=False,
        )
