"""Gluing PDFs into one, in order, with one bookmark per source file.

Pages are copied with everything they reference (qpdf's foreign object copy). Form
fields of each source are carried into the new /AcroForm (ISO 32000-1 §12.7.2) so
widget annotations stay fields.

Each source gets one top-level outline item (ISO 32000-1 §12.3.3) titled with its file
name and pointing at its first page. The source's own outline (its bookmarks) is nested
under that item, every destination (§12.3.2: an explicit array, a named destination, or
a /GoTo action) re-pointed at the same page of the merged document; an item whose
destination does not lead to a page of its source keeps its title without one. The copy
is bounded for hostile files: cycles are cut, at most :data:`MAX_OUTLINE_ITEMS` items
(all sources together, each an equal share of what is left) and
:data:`MAX_OUTLINE_DEPTH` levels below the file's item are copied, titles are cut at
:data:`MAX_TITLE_CHARS`.

Both functions write to a binary file (the caller's temporary file): qpdf's output then
never grows in memory, and the caller reads it back once the sources are closed —
pikepdf copies a source's stream data into memory when its pages are copied, and
those copies are freed only with the sources.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import BinaryIO

import pikepdf

MAX_OUTLINE_ITEMS = 10_000
"""Source outline items copied into one merged document, all sources together; each
file may use an equal share of what the files before it left."""
MAX_OUTLINE_DEPTH = 16
"""Levels of a source's outline kept below the file's own top-level item."""
MAX_TITLE_CHARS = 512
"""Characters of an outline item's title kept (one string may be shared by many items)."""
MAX_NAMED_DESTINATIONS = 100_000
"""Name tree nodes and entries read to resolve named destinations, per source."""

# Explicit destinations (ISO 32000-1 §12.3.2.2, table 151): fit type -> number of values.
_FIT_ARGS = {
    "/XYZ": 3,
    "/Fit": 0,
    "/FitH": 1,
    "/FitV": 1,
    "/FitR": 4,
    "/FitB": 0,
    "/FitBH": 1,
    "/FitBV": 1,
}


def merge_pdfs(
    parts: Sequence[tuple[str, pikepdf.Pdf]], out_file: BinaryIO, *, bookmarks: bool = True
) -> None:
    """Write one PDF holding the pages of every ``(title, pdf)`` part in order.

    With ``bookmarks``, one top-level outline item per part (``title``, first page),
    the part's own outline nested under it (see the module docstring).
    """
    out = pikepdf.new()
    try:
        fields = pikepdf.Array()
        form_defaults: pikepdf.Dictionary | None = None
        starts = []
        for _title, src in parts:
            starts.append(len(out.pages))
            with warnings.catch_warnings():
                # pikepdf 10 warns that extend() leaves named destinations and form
                # fields behind: both are carried here (links re-pointed, fields below).
                warnings.simplefilter("ignore", pikepdf.PageCopyWarning)
                out.pages.extend(src.pages)
            _repoint_named_links(src, out, starts[-1])
            form = src.Root.get("/AcroForm")
            if isinstance(form, pikepdf.Dictionary):
                for field in form.get("/Fields", pikepdf.Array()):
                    fields.append(out.copy_foreign(field))
                if form_defaults is None:
                    form_defaults = form
        if len(fields):
            acroform = pikepdf.Dictionary(Fields=fields)
            if form_defaults is not None:
                for key in ("/DA", "/DR", "/Q"):
                    if key in form_defaults:
                        acroform[key] = out.copy_foreign(form_defaults[key])
            out.Root.AcroForm = out.make_indirect(acroform)
        if bookmarks:
            left = MAX_OUTLINE_ITEMS
            # max_depth: pikepdf writes no deeper than this; the file items are level 0.
            with out.open_outline(max_depth=MAX_OUTLINE_DEPTH + 1) as outline:
                for index, ((title, src), start) in enumerate(zip(parts, starts, strict=True)):
                    # an equal share of what is left: one huge outline cannot starve the
                    # files after it, and what a small one leaves passes on
                    share = _Budget(left // (len(parts) - index))
                    item = pikepdf.OutlineItem(title or "Document", start)
                    item.children = _copy_outline(src, out, start, share)
                    left -= left // (len(parts) - index) - share.left
                    outline.root.append(item)
        # Classic xref table, no object streams: the structure medsign's fast sealing
        # path knows (ISO 32000-1 §7.5.4); a fixed /ID so equal input gives equal output.
        out.save(
            out_file,
            object_stream_mode=pikepdf.ObjectStreamMode.disable,
            deterministic_id=True,
            fix_metadata_version=False,  # XMP stays as written (see rewrite_pdf)
        )
    finally:
        out.close()


def rewrite_pdf(pdf: pikepdf.Pdf, out_file: BinaryIO) -> None:
    """Write ``pdf`` anew with qpdf: repaired structure, decrypted, same content."""
    if "/Size" not in pdf.trailer:
        # A trailer rebuilt from a damaged file may lack /Size (ISO 32000-1 §7.5.5,
        # required); qpdf fills in the right value only where the key exists.
        pdf.trailer.Size = 0
    pdf.save(
        out_file,
        object_stream_mode=pikepdf.ObjectStreamMode.disable,
        deterministic_id=True,
        encryption=False,
        # pikepdf would parse the XMP to update its pdf:PDFVersion, and replace XMP it
        # cannot parse with an empty packet: the document's metadata stays as written.
        fix_metadata_version=False,
    )


# --- source outlines -------------------------------------------------------------------


@dataclass
class _Budget:
    """Outline items that may still be copied."""

    left: int


def _copy_outline(
    src: pikepdf.Pdf, out: pikepdf.Pdf, start: int, budget: _Budget
) -> list[pikepdf.OutlineItem]:
    """``src``'s outline as new items for ``out``, whose page ``start`` is ``src``'s first.

    The outline is a tree of dictionaries linked by /First, /Next (ISO 32000-1 §12.3.3,
    table 153); it is walked without recursion, in document order, each indirect item
    once (a /Next or /First leading back ends that branch), at most
    :data:`MAX_OUTLINE_DEPTH` levels deep and while ``budget`` lasts (it is spent).
    A file whose outline breaks off while being read keeps the items read up to there.
    """
    top: list[pikepdf.OutlineItem] = []
    try:
        outlines = src.Root.get("/Outlines")
        if not isinstance(outlines, pikepdf.Dictionary):
            return top
        targets = _Targets(src, out, start)
        seen = {outlines.objgen} if outlines.is_indirect else set()
        # (node, its depth, the list its item joins); the top of the stack is next.
        todo: list[tuple[object, int, list[pikepdf.OutlineItem]]] = [
            (outlines.get("/First"), 1, top)
        ]
        while todo and budget.left > 0:
            node, depth, siblings = todo.pop()
            if not isinstance(node, pikepdf.Dictionary):
                continue
            if node.is_indirect:
                if node.objgen in seen:  # a cycle: this item was copied already
                    continue
                seen.add(node.objgen)
            budget.left -= 1
            item = pikepdf.OutlineItem(_title(node), targets.of_item(node))
            count = node.get("/Count")
            item.is_closed = isinstance(count, int) and count < 0
            siblings.append(item)
            todo.append((node.get("/Next"), depth, siblings))
            if depth < MAX_OUTLINE_DEPTH:
                todo.append((node.get("/First"), depth + 1, item.children))
    except Exception:  # a hostile file: its bookmarks never fail the merge
        return top
    return top


def _title(node: pikepdf.Dictionary) -> str:
    title = node.get("/Title")
    if not isinstance(title, pikepdf.String):
        return ""
    return str(title)[:MAX_TITLE_CHARS]


MAX_LINKS = 100_000
"""Link annotations looked at per source when re-pointing named destinations."""


def _repoint_named_links(src: pikepdf.Pdf, out: pikepdf.Pdf, start: int) -> None:
    """Links on ``src``'s copied pages that go to a *named* destination get the page.

    A link annotation (ISO 32000-1 §12.5.6.5) has /Dest or a /GoTo action's /D; a name
    or string there is looked up in the file's own /Dests or /Names /Dests (§12.3.2.3),
    which the merged document does not carry (the names of several files could clash).
    Each is replaced by the explicit destination it names, re-pointed at the merged
    page; explicit destinations are mapped by qpdf's page copy already. A name that
    leads nowhere is left as it was (the link did nothing in its own file either).
    """
    names = src.Root.get("/Names")
    if "/Dests" not in src.Root and not (
        isinstance(names, pikepdf.Dictionary) and "/Dests" in names
    ):
        return
    targets = _Targets(src, out, start)
    left = MAX_LINKS
    for index in range(len(src.pages)):
        annots = out.pages[start + index].obj.get("/Annots")
        if not isinstance(annots, pikepdf.Array):
            continue
        for annot in annots:
            left -= 1
            if left < 0:
                return
            if not isinstance(annot, pikepdf.Dictionary) or annot.get("/Subtype") != "/Link":
                continue
            holder: pikepdf.Object = annot
            if "/Dest" not in annot:
                action = annot.get("/A")
                if not isinstance(action, pikepdf.Dictionary) or action.get("/S") != "/GoTo":
                    continue
                holder = action
            key = "/Dest" if holder is annot else "/D"
            named = holder.get(key)
            if isinstance(named, pikepdf.Name | pikepdf.String):
                explicit = targets.of_link(named)
                if explicit is not None:
                    holder[key] = explicit


class _Targets:
    """Destinations of one source, re-pointed at the merged document's pages.

    A destination (ISO 32000-1 §12.3.2) is an explicit array whose first element is a
    page of the same file (§12.3.2.2), or a name looked up in the catalog's /Dests
    dictionary (a name object) or the /Names /Dests name tree (a string, §12.3.2.3)
    whose value is such an array or a dictionary holding it as /D. An outline item has
    it as /Dest or, as a /GoTo action (§12.6.4.2), as /A /D.
    """

    def __init__(self, src: pikepdf.Pdf, out: pikepdf.Pdf, start: int) -> None:
        self._src = src
        self._index = {page.obj.objgen: i for i, page in enumerate(src.pages)}
        self._pages = [out.pages[start + i].obj for i in range(len(self._index))]
        self._names: dict[str, pikepdf.Object] | None = None

    def of_item(self, node: pikepdf.Dictionary) -> pikepdf.Array | None:
        """The merged document's destination for the outline item ``node``, or None."""
        try:
            dest = node.get("/Dest")
            if dest is None:
                action = node.get("/A")
                if isinstance(action, pikepdf.Dictionary) and action.get("/S") == pikepdf.Name.GoTo:
                    dest = action.get("/D")
            return self.resolve(dest)
        except Exception:  # a broken destination: the item keeps its title only
            return None

    def of_link(self, named: pikepdf.Object) -> pikepdf.Array | None:
        """The merged document's destination for a link's named destination, or None."""
        try:
            return self.resolve(named)
        except Exception:  # a broken name tree: the link stays as it was
            return None

    def resolve(self, dest: object) -> pikepdf.Array | None:
        """``dest`` (explicit, or a name to look up) as an explicit destination in the
        merged document, or None when it leads to no page of this source."""
        if isinstance(dest, pikepdf.Name):
            dests = self._src.Root.get("/Dests")
            dest = dests.get(str(dest)) if isinstance(dests, pikepdf.Dictionary) else None
        elif isinstance(dest, pikepdf.String):
            dest = self._named().get(str(dest))
        if isinstance(dest, pikepdf.Dictionary):
            dest = dest.get("/D")
        if not isinstance(dest, pikepdf.Array) or len(dest) == 0:
            return None
        page = dest[0]
        index: int | None = None
        if isinstance(page, pikepdf.Dictionary) and page.is_indirect:
            index = self._index.get(page.objgen)
        elif isinstance(page, int) and not isinstance(page, bool):
            # A page number, as some producers write even in local destinations.
            index = page if 0 <= page < len(self._pages) else None
        if index is None:
            return None
        return pikepdf.Array([self._pages[index], *_view(dest)])

    def _named(self) -> dict[str, pikepdf.Object]:
        """The /Names /Dests name tree (ISO 32000-1 §7.9.6), read once, bounded."""
        if self._names is None:
            self._names = {}
            names = self._src.Root.get("/Names")
            root = names.get("/Dests") if isinstance(names, pikepdf.Dictionary) else None
            todo: list[object] = [root]
            seen: set[tuple[int, int]] = set()
            left = MAX_NAMED_DESTINATIONS
            while todo and left > 0:
                node = todo.pop()
                if not isinstance(node, pikepdf.Dictionary):
                    continue
                if node.is_indirect:
                    if node.objgen in seen:
                        continue
                    seen.add(node.objgen)
                left -= 1
                pairs = node.get("/Names")
                if isinstance(pairs, pikepdf.Array):
                    for i in range(0, min(len(pairs) - 1, 2 * left), 2):
                        key = pairs[i]
                        if isinstance(key, pikepdf.String):
                            self._names.setdefault(str(key), pairs[i + 1])
                    left -= len(pairs) // 2
                kids = node.get("/Kids")
                if isinstance(kids, pikepdf.Array):
                    todo.extend(reversed(list(kids)))
        return self._names


def _view(dest: pikepdf.Array) -> list[object]:
    """The fit type and its values of an explicit destination; /Fit when malformed.

    Values are numbers or null (keep the viewer's current value, §12.3.2.2); missing
    trailing values are null.
    """
    fit = dest[1] if len(dest) > 1 else None
    count = _FIT_ARGS.get(str(fit)) if isinstance(fit, pikepdf.Name) else None
    if count is None:
        return [pikepdf.Name.Fit]
    values = list(dest[2 : 2 + count])
    if not all(v is None or _is_number(v) for v in values):
        return [pikepdf.Name.Fit]
    return [fit, *values, *([None] * (count - len(values)))]


def _is_number(value: object) -> bool:
    return isinstance(value, int | float | Decimal) and not isinstance(value, bool)
