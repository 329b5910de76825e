"""Intake and PDF structures: source outlines in a merge, Word hybrid files, XFA forms."""

from __future__ import annotations

import io
import itertools
import re
from collections.abc import Callable
from decimal import Decimal
from typing import Any

import pikepdf
import pytest

from medsign import errors
from medsign.pdf.intake import IntakeLimits, NormalizedPdf, SourceFile, normalize
from medsign.pdf.merge import MAX_OUTLINE_DEPTH, MAX_OUTLINE_ITEMS, MAX_TITLE_CHARS
from tests.support.pdfs import make_pdf
from tests.unit.pdf import intake_samples as samples

Name = pikepdf.Name
Entry = tuple[int, str, int | None]  # depth (0: a file's own item), title, page index


def run(*files: tuple[str, bytes]) -> NormalizedPdf:
    return normalize([SourceFile(n, None, d) for n, d in files], IntakeLimits())


def bookmarks(data: bytes) -> list[Entry]:
    """The merged outline in document order, each destination resolved to a page index.

    Read with pikepdf in strict mode, so a malformed outline fails the test.
    """
    with pikepdf.open(io.BytesIO(data)) as pdf:
        outline = pdf.open_outline(max_depth=MAX_OUTLINE_DEPTH + 2, strict=True)
        index = {page.obj.objgen: i for i, page in enumerate(pdf.pages)}
        found: list[Entry] = []
        todo = [(0, item) for item in reversed(outline.root)]
        while todo:
            depth, item = todo.pop()
            assert item.action is None  # destinations only: no action survives a merge
            page = None
            if item.destination is not None:
                assert isinstance(item.destination, pikepdf.Array)  # explicit (§12.3.2.2)
                page = index[item.destination[0].objgen]  # a page of the merged file
            found.append((depth, str(item.title), page))
            todo.extend((depth + 1, child) for child in reversed(item.children))
        return found


def views(data: bytes) -> dict[str, list[pikepdf.Object]]:
    """Title -> the destination array after its page (fit type and values)."""
    with pikepdf.open(io.BytesIO(data)) as pdf:
        result: dict[str, list[pikepdf.Object]] = {}
        todo = list(pdf.open_outline(max_depth=MAX_OUTLINE_DEPTH + 2).root)
        while todo:
            item = todo.pop()
            if isinstance(item.destination, pikepdf.Array):
                result[str(item.title)] = list(item.destination)[1:]
            todo.extend(item.children)
        return result


def page_text(data: bytes, index: int) -> bytes:
    with pikepdf.open(io.BytesIO(data)) as pdf:
        return pdf.pages[index].obj.Contents.read_bytes()


# --- building source outlines by hand (ISO 32000-1 §12.3.3) ----------------------------


def source(pages: int, text: str) -> pikepdf.Pdf:
    return pikepdf.open(io.BytesIO(make_pdf(pages, text)))


def item(pdf: pikepdf.Pdf, title: str | None, **entries: Any) -> pikepdf.Dictionary:
    node = pikepdf.Dictionary(**entries)
    if title is not None:
        node.Title = pikepdf.String(title)
    return pdf.make_indirect(node)


def link(parent: pikepdf.Dictionary, children: list[pikepdf.Dictionary]) -> None:
    """``children`` under ``parent``: /First, /Last, /Count, /Parent, /Prev, /Next."""
    parent.First, parent.Last, parent.Count = children[0], children[-1], len(children)
    for child in children:
        child.Parent = parent
    for before, after in itertools.pairwise(children):
        before.Next, after.Prev = after, before


def outline_root(pdf: pikepdf.Pdf) -> pikepdf.Dictionary:
    pdf.Root.Outlines = pdf.make_indirect(pikepdf.Dictionary(Type=Name.Outlines))
    root = pdf.Root.Outlines
    assert isinstance(root, pikepdf.Dictionary)
    return root


def dest(pdf: pikepdf.Pdf, page: int, *view: object) -> pikepdf.Array:
    return pikepdf.Array([pdf.pages[page].obj, *(view or [Name.Fit])])


def save(pdf: pikepdf.Pdf) -> bytes:
    out = io.BytesIO()
    pdf.save(out)
    pdf.close()
    return out.getvalue()


# --- source outlines in a merge ---------------------------------------------------------


def referral() -> bytes:
    """4 pages; every kind of local destination (§12.3.2), nested, one item closed."""
    pdf = source(4, "Referral")
    labs = pdf.make_indirect(pikepdf.Dictionary(D=dest(pdf, 3)))
    leaf_a = pdf.make_indirect(
        pikepdf.Dictionary(
            Limits=pikepdf.Array([pikepdf.String("findings"), pikepdf.String("findings")]),
            Names=pikepdf.Array([pikepdf.String("findings"), dest(pdf, 1, Name.FitH, 500)]),
        )
    )
    leaf_b = pdf.make_indirect(
        pikepdf.Dictionary(
            Limits=pikepdf.Array([pikepdf.String("labs"), pikepdf.String("labs")]),
            Names=pikepdf.Array([pikepdf.String("labs"), labs]),
        )
    )
    pdf.Root.Names = pikepdf.Dictionary(
        Dests=pdf.make_indirect(pikepdf.Dictionary(Kids=pikepdf.Array([leaf_a, leaf_b])))
    )
    pdf.Root.Dests = pikepdf.Dictionary(
        imaging=pikepdf.Dictionary(D=dest(pdf, 3, Name.FitR, 1, 2, 3, 4))
    )
    summary = item(pdf, "Summary", Dest=dest(pdf, 0, Name.XYZ, 0, 800, None))
    findings = item(pdf, "Findings", Dest=pikepdf.String("findings"))
    blood = item(pdf, "Blood", A=pikepdf.Dictionary(S=Name.GoTo, D=dest(pdf, 2)))
    imaging = item(pdf, "Imaging", Dest=Name("/imaging"))
    lab = item(pdf, "Labs", A=pikepdf.Dictionary(S=Name.GoTo, D=pikepdf.String("labs")))
    root = outline_root(pdf)
    link(root, [summary, findings])
    link(findings, [blood, imaging, lab])
    findings.Count = -3  # closed (table 153)
    return save(pdf)


def notes() -> bytes:
    """3 pages; a page given by its number, as some producers write it."""
    pdf = source(3, "Notes")
    link(
        outline_root(pdf),
        [
            item(pdf, "Last page", Dest=dest(pdf, 2)),
            item(pdf, "Page number", Dest=pikepdf.Array([1, Name.Fit])),
        ],
    )
    return save(pdf)


def test_source_bookmarks_are_nested_and_follow_their_pages(
    qpdf_check: Callable[[bytes], None],
) -> None:
    result = run(
        ("consent.pdf", make_pdf(2, "Consent")),
        ("referral.pdf", referral()),
        ("scan.png", samples.image("PNG")),
        ("notes.pdf", notes()),
    )
    assert result.pages == 2 + 4 + 1 + 3
    qpdf_check(result.data)
    assert bookmarks(result.data) == [
        (0, "consent.pdf", 0),
        (0, "referral.pdf", 2),
        (1, "Summary", 2),
        (1, "Findings", 3),
        (2, "Blood", 4),
        (2, "Imaging", 5),
        (2, "Labs", 5),
        (0, "scan.png", 6),
        (0, "notes.pdf", 7),
        (1, "Last page", 9),
        (1, "Page number", 8),
    ]
    # the pages are the sources' pages, in order
    assert b"(Referral - page 2)" in page_text(result.data, 3)
    assert b"(Referral - page 4)" in page_text(result.data, 5)
    assert b"(Notes - page 3)" in page_text(result.data, 9)
    # the view of each destination is kept
    seen = views(result.data)
    assert seen["Summary"] == [Name.XYZ, 0, 800, None]
    assert seen["Findings"] == [Name.FitH, 500]
    assert seen["Imaging"] == [Name.FitR, 1, 2, 3, 4]
    assert seen["Blood"] == [Name.Fit]
    with pikepdf.open(io.BytesIO(result.data)) as pdf:
        (_, referral_item, *_) = pdf.open_outline().root
        assert [c.is_closed for c in referral_item.children] == [False, True]


def test_bookmarks_that_lead_nowhere_keep_their_title() -> None:
    pdf = source(2, "Broken")
    lonely_page = pdf.make_indirect(pikepdf.Dictionary(Type=Name.Page))  # in no page tree
    gone = item(pdf, "placeholder")  # its xref entry is freed below: a dangling reference
    link(
        outline_root(pdf),
        [
            item(pdf, "Dangling", Dest=pikepdf.Array([gone, Name.Fit])),
            item(pdf, "Not a page", Dest=pikepdf.Array([lonely_page, Name.Fit])),
            item(pdf, "Unknown name", Dest=pikepdf.String("nowhere")),
            item(pdf, "Unknown legacy name", Dest=Name("/nowhere")),
            item(
                pdf, "Web link", A=pikepdf.Dictionary(S=Name.URI, URI=pikepdf.String("https://x"))
            ),
            item(pdf, "Number", Dest=7),
            item(pdf, "Empty", Dest=pikepdf.Array()),
            item(pdf, "Far page", Dest=pikepdf.Array([99, Name.Fit])),
            item(
                pdf,
                "Remote",
                A=pikepdf.Dictionary(
                    S=Name.GoToR, F=pikepdf.String("other.pdf"), D=pikepdf.Array([0, Name.Fit])
                ),
            ),
            item(pdf, "Bad view", Dest=dest(pdf, 1, Name.XYZ, pikepdf.String("a"), 1, 2)),
            item(pdf, None, Dest=dest(pdf, 1)),  # /Title is required; missing here
        ],
    )
    data = save(pdf)
    with pikepdf.open(io.BytesIO(data)) as check:
        number = next(o.Dest[0].objgen[0] for o in check.objects if o.get("/Title") == "Dangling")
    data = with_xref_entry(data, number, b"0000000000 00000 f \n")
    with pikepdf.open(io.BytesIO(data)) as check:
        # pikepdf's own reader gives up on this outline (the /Dest that is a number)
        with pytest.raises(pikepdf.OutlineStructureError):
            check.open_outline().root  # noqa: B018
        dangling = next(o for o in check.objects if o.get("/Title") == "Dangling")
        assert dangling.Dest[0] is None

    result = run(("first.pdf", make_pdf(1)), ("broken.pdf", data))
    assert bookmarks(result.data) == [
        (0, "first.pdf", 0),
        (0, "broken.pdf", 1),
        (1, "Dangling", None),
        (1, "Not a page", None),
        (1, "Unknown name", None),
        (1, "Unknown legacy name", None),
        (1, "Web link", None),
        (1, "Number", None),
        (1, "Empty", None),
        (1, "Far page", None),
        (1, "Remote", None),
        (1, "Bad view", 2),
        (1, "", 2),
    ]
    assert views(result.data)["Bad view"] == [Name.Fit]


def test_cyclic_outline_is_cut_and_merged() -> None:
    pdf = source(3, "Loop")
    a, b, c = (item(pdf, t, Dest=dest(pdf, i)) for i, t in enumerate("ABC"))
    link(outline_root(pdf), [a, b, c])
    c.Next = a  # siblings in a ring
    b.First = b  # an item that is its own child
    c.First = a  # a child that is an earlier sibling
    data = save(pdf)
    with pikepdf.open(io.BytesIO(data)) as check, pytest.raises(pikepdf.OutlineStructureError):
        check.open_outline(strict=True).root  # noqa: B018

    result = run(("loop.pdf", data), ("more.pdf", make_pdf(1)))
    assert bookmarks(result.data) == [
        (0, "loop.pdf", 0),
        (1, "A", 0),
        (1, "B", 1),
        (1, "C", 2),
        (0, "more.pdf", 3),
    ]


def self_first(pdf: pikepdf.Pdf) -> pikepdf.Dictionary:
    """An outline dictionary whose first item is the outline dictionary itself."""
    root = pdf.make_indirect(pikepdf.Dictionary(Type=Name.Outlines, Count=1))
    root.First = root.Last = root
    return root


@pytest.mark.parametrize(
    ("outlines", "nested"),
    [
        (lambda pdf: 5, []),
        (lambda pdf: pikepdf.Dictionary(First=5), []),
        (lambda pdf: pikepdf.Dictionary(First=pikepdf.Array([pdf.pages[0].obj])), []),
        (
            lambda pdf: pikepdf.Dictionary(
                First=pikepdf.Dictionary(Title=5, Dest=dest(pdf, 1), Next=pikepdf.Array())
            ),
            [(1, "", 1)],
        ),
        (self_first, []),
    ],
    ids=["number", "first-is-number", "first-is-array", "bad-title-and-next", "first-is-root"],
)
def test_malformed_outline_root(
    outlines: Callable[[pikepdf.Pdf], object], nested: list[Entry]
) -> None:
    pdf = source(2, "Odd")
    pdf.Root.Outlines = outlines(pdf)
    result = run(("odd.pdf", save(pdf)), ("more.pdf", make_pdf(1)))
    assert bookmarks(result.data) == [(0, "odd.pdf", 0), *nested, (0, "more.pdf", 2)]


def chained(count: int, *, nested: bool) -> bytes:
    """``count`` items, as siblings or each the only child of the one before."""
    pdf = source(2, "Long")
    target = dest(pdf, 1)
    root = outline_root(pdf)
    parent = root
    previous: pikepdf.Dictionary | None = None
    for i in range(count):
        node = pdf.make_indirect(pikepdf.Dictionary(Title=pikepdf.String(f"item {i}"), Dest=target))
        if nested:
            link(parent, [node])
            parent = node
        elif previous is None:
            root.First = node
        else:
            previous.Next = node
        previous = node
    return save(pdf)


@pytest.mark.timeout(120)
def test_outline_items_and_depth_are_capped() -> None:
    flat = chained(100_000, nested=False)
    deep = chained(5_000, nested=True)
    result = run(("flat.pdf", flat), ("tail.pdf", notes()))
    found = bookmarks(result.data)
    nested = [entry for entry in found if entry[0] > 0]
    half = MAX_OUTLINE_ITEMS // 2  # two files: the first may take half of the budget
    assert nested[0] == (1, "item 0", 1) and nested[half - 1] == (1, f"item {half - 1}", 1)
    # the huge outline did not starve the file after it: its own items follow
    assert found[half + 1 :] == [(0, "tail.pdf", 2), (1, "Last page", 4), (1, "Page number", 3)]

    small_first = bookmarks(run(("tail.pdf", notes()), ("flat.pdf", flat)).data)
    assert len([e for e in small_first if e[0] > 0]) == MAX_OUTLINE_ITEMS  # 2 + what is left

    found = bookmarks(run(("deep.pdf", deep), ("tail.pdf", notes())).data)
    assert found[: MAX_OUTLINE_DEPTH + 1] == [
        (0, "deep.pdf", 0),
        *[(depth, f"item {depth - 1}", 1) for depth in range(1, MAX_OUTLINE_DEPTH + 1)],
    ]
    assert found[MAX_OUTLINE_DEPTH + 1 :] == [
        (0, "tail.pdf", 2),
        (1, "Last page", 4),
        (1, "Page number", 3),
    ]


def test_long_titles_are_cut() -> None:
    pdf = source(1, "Title")
    link(outline_root(pdf), [item(pdf, "x" * 100_000, Dest=dest(pdf, 0))])
    result = run(("long.pdf", save(pdf)), ("more.pdf", make_pdf(1)))
    (_, (_, title, page), _) = bookmarks(result.data)
    assert page == 0 and title == "x" * MAX_TITLE_CHARS


def test_destination_values_keep_reals_and_nulls() -> None:
    pdf = source(1, "View")
    link(outline_root(pdf), [item(pdf, "v", Dest=dest(pdf, 0, Name.XYZ, 1.5, None, 2))])
    result = run(("v.pdf", save(pdf)), ("w.pdf", make_pdf(1)))
    assert views(result.data)["v"] == [Name.XYZ, Decimal("1.5"), None, 2]


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


@pytest.mark.parametrize("object_streams", [False, True], ids=["plain", "object-streams"])
def test_static_xfa_with_template_scripts_is_refused(object_streams: bool) -> None:
    """Adobe readers run a static form's template scripts too (on initialize, ...)."""
    data = samples.xfa_pdf(needs_rendering=None, object_streams=object_streams, script=True)
    with pytest.raises(errors.ActiveContent) as exc:
        run(("scripted-xfa.pdf", data))
    assert "scripts in its XFA form" in exc.value.detail


def test_links_to_named_destinations_still_lead_to_their_page() -> None:
    """A link annotation with a named destination (§12.5.6.5, §12.3.2.3) points at the
    same page of the merged document, whose catalog has no names of its own."""
    pdf = pikepdf.open(io.BytesIO(referral()))
    for number, target in enumerate([pikepdf.String("findings"), Name("/imaging")]):
        link_annot = pdf.make_indirect(
            pikepdf.Dictionary(
                Type=Name.Annot,
                Subtype=Name.Link,
                Rect=pikepdf.Array([72, 72 + 30 * number, 200, 90 + 30 * number]),
                Dest=target,
            )
        )
        pdf.pages[0].obj.Annots = pikepdf.Array([*pdf.pages[0].obj.get("/Annots", []), link_annot])
    goto = pikepdf.Dictionary(
        Type=Name.Annot,
        Subtype=Name.Link,
        Rect=pikepdf.Array([72, 200, 200, 220]),
        A=pikepdf.Dictionary(S=Name.GoTo, D=pikepdf.String("labs")),
    )
    pdf.pages[1].obj.Annots = pikepdf.Array([pdf.make_indirect(goto)])
    nowhere = pikepdf.Dictionary(
        Type=Name.Annot, Subtype=Name.Link, Rect=[0, 0, 9, 9], Dest=pikepdf.String("gone")
    )
    pdf.pages[2].obj.Annots = pikepdf.Array([pdf.make_indirect(nowhere)])
    referral_pdf = save(pdf)

    result = run(("consent.pdf", make_pdf(2, "Consent")), ("referral.pdf", referral_pdf))
    with pikepdf.open(io.BytesIO(result.data)) as merged:
        index = {page.obj.objgen: i for i, page in enumerate(merged.pages)}
        first, second, third = (merged.pages[i].obj.Annots for i in (2, 3, 4))
        assert [index[a.Dest[0].objgen] for a in first] == [3, 5]  # findings, imaging
        assert first[0].Dest[1] == Name.FitH and first[1].Dest[1] == Name.FitR
        assert index[second[0].A.D[0].objgen] == 5  # labs, through the /GoTo action
        assert third[0].Dest == pikepdf.String("gone")  # led nowhere before, too
        assert "/Names" not in merged.Root and "/Dests" not in merged.Root
