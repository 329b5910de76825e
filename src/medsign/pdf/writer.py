"""A whole PDF file written by hand, for pages medsign builds itself (images).

qpdf rewriting a file buffers every stream it writes and grows its output as it goes;
for a document made only of images that costs several times the upload in memory.
Here the file is a list of buffers laid end to end (:func:`pdf_chunks`): small
pieces of PDF syntax and, between them, the encoded image data as it was handed over —
the uploaded JPEG itself, or views of a PNG's IDAT chunks in the upload. :func:`write_pdf`
joins them once, so the image data is copied exactly once, into the result.

The file has the structure medsign's fast sealing path (:mod:`medsign.pdf.incremental`)
knows and qpdf would write (ISO 32000-1 §7.5): a header with a binary comment
(§7.5.2), indirect objects 1..n with no object streams, one classic cross-reference
table (§7.5.4), a trailer with /Size, /Root and a deterministic /ID (§7.5.5, §14.4), and
``startxref`` / ``%%EOF``.

Objects: the catalog (§7.7.2), a flat page tree (§7.7.3), one page object and one
content stream per page, the objects of each :class:`PageGroup` (image XObjects, soft
masks, ICC profiles) and, when asked, a document outline with one item per group
(§12.3.3) pointing at the group's first page.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from medsign.pdf.objects import Name, ObjectSet, PdfValue, Raw, Ref, Stream, serialize

_HEADER = b"%%PDF-%d.%d\n%%\xe2\xe3\xcf\xd3\n"  # §7.5.2: 4 bytes >= 128 mark a binary file


@dataclass(frozen=True)
class Page:
    """One page: its size in points, its content stream and its resources.

    ``resources`` is the page's resource dictionary (§7.8.3); a :class:`Ref` in it
    points into the objects of the page's :class:`PageGroup`.
    """

    width: float
    height: float
    content: bytes
    resources: dict[str, PdfValue]


@dataclass
class PageGroup:
    """The pages made from one source file and the indirect objects they use.

    ``objects`` holds streams and other objects; a :class:`Ref` anywhere in the group
    (page resources or another object) points to ``objects.objects[ref.index]``.
    A :class:`Stream` may only appear at the top level of ``objects`` (streams are
    always indirect, §7.3.8.1). ``version`` is the PDF version the objects need.
    """

    pages: list[Page]
    objects: ObjectSet = field(default_factory=ObjectSet)
    version: tuple[int, int] = (1, 4)


class _Out:
    """Buffers laid end to end; small pieces are gathered, stream data kept as is."""

    def __init__(self) -> None:
        self.chunks: list[bytes | memoryview] = []
        self._small = bytearray()
        self.size = 0

    def write(self, piece: bytes) -> None:
        self._small += piece
        self.size += len(piece)

    def write_data(self, data: bytes | memoryview) -> None:
        """Append ``data`` by reference: it is copied only when the file is joined."""
        self._flush()
        self.chunks.append(data)
        self.size += data.nbytes if isinstance(data, memoryview) else len(data)

    def finish(self) -> list[bytes | memoryview]:
        self._flush()
        return self.chunks

    def _flush(self) -> None:
        if self._small:
            self.chunks.append(bytes(self._small))
            self._small.clear()


def _no_streams_inside(value: PdfValue) -> None:
    """Refuse a stream nested in another object: it would be written as a direct object."""
    if isinstance(value, Stream):
        raise ValueError("a stream must be a top-level object of its PageGroup")
    if isinstance(value, list):
        for item in value:
            _no_streams_inside(item)
    elif isinstance(value, dict):
        for item in value.values():
            _no_streams_inside(item)


def pdf_chunks(
    groups: Sequence[tuple[str, PageGroup]], *, bookmarks: bool
) -> list[bytes | memoryview]:
    """The PDF file holding the pages of every ``(title, group)`` in order, in pieces.

    ``b"".join`` of the result is the file. Stream data of the groups is in the list
    as the very objects given (not copied; a stream in pieces gives each piece). With
    ``bookmarks`` the document outline has one item per group titled ``title`` (or
    "Document").
    """
    if not groups or not all(group.pages for _title, group in groups):
        raise ValueError("every group needs at least one page (ISO 32000-1 §7.7.3.2)")
    # Object numbers: 1 catalog, 2 page tree, [3 outline, one item per group], then
    # per group its pages (page, content) followed by its own objects.
    next_number = 3
    outline_number = 0
    if bookmarks:
        outline_number = next_number
        next_number += 1 + len(groups)
    page_numbers: list[list[int]] = []
    bases: list[int] = []
    for _title, group in groups:
        page_numbers.append([next_number + 2 * i for i in range(len(group.pages))])
        next_number += 2 * len(group.pages)
        bases.append(next_number)
        next_number += len(group.objects.objects)
    size = next_number  # /Size: highest object number + 1 (§7.5.5)

    version = max([(1, 4), *(group.version for _title, group in groups)])
    out = _Out()
    out.write(_HEADER % version)
    offsets = [0] * size

    def begin(number: int) -> None:
        offsets[number] = out.size
        out.write(b"%d 0 obj\n" % number)

    def direct(number: int, value: PdfValue) -> None:
        begin(number)
        out.write(serialize(value, _no_refs))
        out.write(b"\nendobj\n")

    catalog: dict[str, PdfValue] = {"Type": Name("Catalog"), "Pages": Raw(b"2 0 R")}
    if bookmarks:
        catalog["Outlines"] = Raw(b"%d 0 R" % outline_number)
    direct(1, catalog)
    kids = [Raw(b"%d 0 R" % n) for numbers in page_numbers for n in numbers]
    direct(2, {"Type": Name("Pages"), "Kids": list(kids), "Count": len(kids)})

    if bookmarks:
        _outline(direct, outline_number, [title for title, _group in groups], page_numbers)

    for (_title, group), numbers, base in zip(groups, page_numbers, bases, strict=True):

        def ref(r: Ref, base: int = base, count: int = len(group.objects.objects)) -> bytes:
            if not 0 <= r.index < count:
                raise ValueError(f"reference to object {r.index} outside its PageGroup")
            return b"%d 0 R" % (base + r.index)

        for page, number in zip(group.pages, numbers, strict=True):
            _no_streams_inside(page.resources)
            begin(number)
            out.write(
                b"<</Type/Page/Parent 2 0 R/MediaBox %s/Resources %s/Contents %d 0 R>>\nendobj\n"
                % (
                    serialize([0, 0, page.width, page.height], ref),
                    serialize(page.resources, ref),
                    number + 1,
                )
            )
            begin(number + 1)
            out.write(b"<</Length %d>>\nstream\n" % len(page.content))
            out.write(page.content)
            out.write(b"\nendstream\nendobj\n")
        for index, obj in enumerate(group.objects.objects):
            begin(base + index)
            if isinstance(obj, Stream):
                _no_streams_inside(obj.dictionary)
                out.write(serialize({**obj.dictionary, "Length": obj.length}, ref))
                out.write(b"\nstream\n")  # §7.3.8.1: EOL after the keyword, not counted
                for piece in obj.pieces:
                    out.write_data(piece)
                out.write(b"\nendstream\nendobj\n")
            else:
                _no_streams_inside(obj)
                out.write(serialize(obj, ref))
                out.write(b"\nendobj\n")

    body = out.finish()
    # §14.4: a file identifier made from the file's content, so equal input gives
    # equal output (what qpdf's deterministic /ID does); both halves equal as the
    # file is new.
    digest = hashlib.sha256()
    for chunk in body:
        digest.update(chunk)
    ident = digest.digest()[:16].hex().encode("ascii")
    xref_at = out.size
    # §7.5.4: each entry is exactly 20 bytes: 10-digit offset, 5-digit generation,
    # n/f and a two-byte end of line (space + LF).
    table = bytearray(b"xref\n0 %d\n0000000000 65535 f \n" % size)
    for offset in offsets[1:]:
        table += b"%010d 00000 n \n" % offset
    table += b"trailer\n<</Size %d/Root 1 0 R/ID[<%s><%s>]>>\nstartxref\n%d\n%%%%EOF\n" % (
        size,
        ident,
        ident,
        xref_at,
    )
    return [*body, bytes(table)]


def write_pdf(groups: Sequence[tuple[str, PageGroup]], *, bookmarks: bool) -> bytes:
    """The PDF file of :func:`pdf_chunks` as one byte string (stream data copied once)."""
    return b"".join(pdf_chunks(groups, bookmarks=bookmarks))


def _outline(
    direct: Callable[[int, PdfValue], None],
    root: int,
    titles: Sequence[str],
    page_numbers: Sequence[Sequence[int]],
) -> None:
    """The outline dictionary and one top-level item per group (§12.3.3, tables 152-153).

    Each item goes to its group's first page (/Dest [page /Fit], §12.3.2.2); items
    have no children, hence no /Count.
    """
    items = [
        (root + 1 + i, title or "Document", numbers[0])
        for i, (title, numbers) in enumerate(zip(titles, page_numbers, strict=True))
    ]
    direct(
        root,
        {
            "Type": Name("Outlines"),
            "First": Raw(b"%d 0 R" % items[0][0]),
            "Last": Raw(b"%d 0 R" % items[-1][0]),
            "Count": len(items),  # top-level items, all visible
        },
    )
    for position, (number, title, page) in enumerate(items):
        item: dict[str, PdfValue] = {
            "Title": title,
            "Parent": Raw(b"%d 0 R" % root),
            "Dest": [Raw(b"%d 0 R" % page), Name("Fit")],
        }
        if position:
            item["Prev"] = Raw(b"%d 0 R" % items[position - 1][0])
        if position + 1 < len(items):
            item["Next"] = Raw(b"%d 0 R" % items[position + 1][0])
        direct(number, item)


def _no_refs(r: Ref) -> bytes:
    raise ValueError(f"unexpected reference {r!r} in a document-level object")
