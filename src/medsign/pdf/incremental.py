"""The fast signing path: an incremental update written by hand.

pikepdf (qpdf) reads only what is needed — the trailer, the catalog, the path down the
page tree to the last page, the AcroForm — and this module appends (ISO 32000-1
§7.5.6) the new and changed objects, a cross-reference section of the same kind as the
file's last one (a table, §7.5.4, or a stream, §7.5.8) and a trailer with /Prev.

The signature dictionary (§12.8.1) gets a fixed-width /ByteRange placeholder and a
/Contents hole sized for the CMS; the covered bytes are hashed once through
memoryviews, the CMS comes from :mod:`medsign.pdf.cms`, and both are patched in place.

Anything unusual raises :class:`Unsupported`; the caller then uses pyHanko.
"""

from __future__ import annotations

import hashlib
import io
import os
import re
from dataclasses import dataclass

import pikepdf

from medsign.pdf.block import slot_rect
from medsign.pdf.cms import TIMESTAMP_ATTR_OVERHEAD, CmsTemplate, cms_template
from medsign.pdf.objects import Existing, ObjectSet, Raw, Ref, serialize
from medsign.pdf.parts import (
    SealRequest,
    add_appearance,
    add_evidence,
    pdf_date,
    widget_dict,
)
from medsign.pdf.timestamp import Timestamper
from medsign.pki import SealKey

_STARTXREF = re.compile(rb"startxref\s+(\d+)\s+%%EOF\s*$")
_XREF_OBJ = re.compile(rb"\s*\d+\s+\d+\s+obj\b")
_BYTE_RANGE_WIDTH = 48
_INHERITABLE = ("/MediaBox", "/CropBox", "/Rotate")


class Unsupported(Exception):
    """The input is outside what the fast path handles; use the reference path."""


@dataclass
class _Tail:
    startxref: int
    xref_stream: bool


def _tail(pdf: bytes) -> _Tail:
    if not pdf.startswith(b"%PDF-"):
        raise Unsupported("no header at offset 0")
    m = _STARTXREF.search(pdf, max(0, len(pdf) - 1024))
    if m is None:
        raise Unsupported("no startxref at the end")
    startxref = int(m.group(1))
    if startxref >= len(pdf):
        raise Unsupported("startxref out of range")
    head = pdf[startxref : startxref + 32]
    if head.startswith(b"xref"):
        return _Tail(startxref, xref_stream=False)
    if _XREF_OBJ.match(head):
        return _Tail(startxref, xref_stream=True)
    raise Unsupported("startxref does not point to a cross-reference section")


def _unparse_dict(obj: pikepdf.Object, replace: dict[str, bytes]) -> bytes:
    """Re-serialize a dictionary, keeping indirect references, replacing some keys.

    When no key is replaced, only added (a page without /Annots, a catalog without
    /AcroForm: the usual case), qpdf writes the dictionary in one call and the new
    entries go before its closing ``>>``.
    """
    if not any(key in obj for key in replace):
        whole = obj.unparse(resolved=True).rstrip()
        if whole.startswith(b"<<") and whole.endswith(b">>"):
            added = b"".join(key.encode() + b" " + raw + b"\n" for key, raw in replace.items())
            return whole[:-2] + added + b">>"
    parts = [b"<<"]
    for key, value in obj.items():
        if key in replace:
            continue
        parts.append(_name(key) + b" " + _unparse(value) + b"\n")
    for key, raw in replace.items():
        parts.append(pikepdf.Name(key).unparse() + b" " + raw + b"\n")
    parts.append(b">>")
    return b"".join(parts)


_REGULAR = frozenset(range(0x21, 0x7F)) - frozenset(b"#%()/<>[]{}")


def _name(key: str) -> bytes:
    """A dictionary key as a PDF name, every non-regular byte written ``#xx`` (§7.3.5).

    pikepdf gives names with bytes that are not UTF-8 (a producer wrote them raw) as
    surrogate escapes; they are written back as the same bytes, escaped, which every
    reader decodes to the original name.
    """
    raw = key.encode("utf-8", "surrogateescape")
    return b"/" + b"".join(bytes([c]) if c in _REGULAR else b"#%02X" % c for c in raw[1:])


def _unparse(value: object) -> bytes:
    """PDF syntax for a value read through pikepdf (§7.3).

    pikepdf hands direct scalars out as Python ``int``, ``bool``, ``Decimal`` or
    ``None`` (null) rather than as objects; those are written through a one-item array.
    """
    if isinstance(value, pikepdf.Object):
        return value.unparse()
    return pikepdf.Array([value]).unparse()[1:-1].strip()


def _array_plus(obj: pikepdf.Object | None, extra: list[bytes]) -> bytes:
    items = [_unparse(item) for item in obj] if obj is not None else []
    return b"[" + b" ".join(items + extra) + b"]"


def _last_page(root: pikepdf.Object) -> tuple[pikepdf.Object, dict[str, pikepdf.Object]]:
    """Walk down /Kids to the last page, collecting inherited attributes (§7.7.3.4)."""
    node = root.get("/Pages")
    inherited: dict[str, pikepdf.Object] = {}
    for _depth in range(64):
        if not isinstance(node, pikepdf.Dictionary) or not node.is_indirect:
            raise Unsupported("odd page tree")
        for key in _INHERITABLE:
            if key in node:
                inherited[key] = node[key]
        if node.get("/Type") == pikepdf.Name.Page:
            return node, inherited
        kids = node.get("/Kids")
        if not isinstance(kids, pikepdf.Array) or len(kids) == 0:
            raise Unsupported("empty page tree node")
        chosen = None
        for i in range(len(kids) - 1, -1, -1):  # from the end: no list of every kid
            kid = kids[i]
            if kid.get("/Type") == pikepdf.Name.Page or int(kid.get("/Count", 0)) > 0:
                chosen = kid
                break
        if chosen is None:
            raise Unsupported("no page")
        node = chosen
    raise Unsupported("page tree too deep")


def _box(value: pikepdf.Object | None) -> tuple[float, float, float, float]:
    if not isinstance(value, pikepdf.Array) or len(value) != 4:
        raise Unsupported("page without a usable box")
    try:
        a, b, c, d = (float(v) for v in value)
    except (TypeError, ValueError) as exc:
        raise Unsupported("page box is not four numbers") from exc
    return (min(a, c), min(b, d), max(a, c), max(b, d))


def _ref(obj: pikepdf.Object) -> Existing:
    num, gen = obj.objgen
    return Existing(num, gen)


@dataclass
class Hole:
    """An incremental update written with an empty ``/Contents``: the original
    ``pdf``, the ``update`` to append, where the hole is in the update and the digest
    over the /ByteRange (ISO 32000-1 §12.8.1), which the CMS must sign."""

    pdf: bytes
    update: bytearray
    contents_at: int  # the "<" of /Contents <...>, in ``update``
    contents_end: int  # just after its ">"
    digest: bytes


def contents_room(template: CmsTemplate, timestamper: Timestamper | None) -> int:
    """Bytes to reserve in /Contents for a CMS from ``template`` (and a time-stamp)."""
    room = template.max_size
    if timestamper is not None:
        room += timestamper.max_token_size() + TIMESTAMP_ATTR_OVERHEAD
    return room


def fill_hole(hole: Hole, cms: bytes) -> bytes:
    """Write ``cms`` (hex) into the hole; :class:`Unsupported` when it does not fit."""
    hex_cms = cms.hex().encode("ascii")
    if len(hex_cms) > hole.contents_end - hole.contents_at - 2:  # a remote TSA's token grew
        raise Unsupported("signature larger than reserved")
    hole.update[hole.contents_at + 1 : hole.contents_at + 1 + len(hex_cms)] = hex_cms
    return hole.pdf + hole.update


def seal_incremental(
    pdf: bytes, key: SealKey, request: SealRequest, timestamper: Timestamper | None = None
) -> bytes:
    """Append a signed incremental update; raise :class:`Unsupported` for odd inputs.

    With a ``timestamper`` the signature is PAdES B-T (a signature-time-stamp,
    ETSI EN 319 142-1 §6.3); ``/Contents`` is sized for the token in advance.
    """
    template = cms_template(key)
    hole = prepare_incremental(pdf, request, contents_room(template, timestamper))
    return fill_hole(hole, template.sign(hole.digest, timestamper))


def prepare_incremental(pdf: bytes, request: SealRequest, contents_len: int) -> Hole:
    """Append the update with a ``contents_len``-byte hole for the CMS, not yet signed.

    Raises :class:`Unsupported` for inputs the fast path does not handle.
    """
    tail = _tail(pdf)
    try:
        # qpdf would otherwise copy inherited attributes into every page object on
        # open (O(pages)); _last_page collects the last page's inheritance itself.
        with pikepdf.open(io.BytesIO(pdf), inherit_page_attributes=False) as doc:
            return _seal(pdf, doc, tail, request, contents_len)
    except pikepdf.PdfError as exc:
        raise Unsupported(str(exc)) from exc


def _seal(
    pdf: bytes,
    doc: pikepdf.Pdf,
    tail: _Tail,
    request: SealRequest,
    contents_len: int,
) -> Hole:
    if doc.is_encrypted:
        raise Unsupported("encrypted")
    trailer = doc.trailer
    if "/XRefStm" in trailer or "/Encrypt" in trailer:
        raise Unsupported("hybrid or encrypted file")
    root = trailer.get("/Root")
    if not isinstance(root, pikepdf.Dictionary) or not root.is_indirect:
        raise Unsupported("no catalog")
    size = int(trailer.get("/Size", 0))
    page, inherited = _last_page(root)
    box = _box(inherited.get("/CropBox") or inherited.get("/MediaBox"))
    annots = page.get("/Annots")
    acroform = root.get("/AcroForm")
    fields = acroform.get("/Fields") if isinstance(acroform, pikepdf.Dictionary) else None
    for name in _existing_names(fields):
        if name == request.field_name:
            raise Unsupported("field name already used")
    if doc.get_warnings():
        raise Unsupported("qpdf had to repair the file")

    rect = slot_rect(box, request.slot)
    page_ref = _ref(page)
    objs = ObjectSet()
    sig = objs.reserve()
    evidence = add_evidence(objs, request)
    appearance = add_appearance(objs, request.block, evidence)
    widget = objs.add(widget_dict(request, rect, page_ref, appearance, sig))

    first_new = size

    def local(ref: Ref) -> bytes:
        return b"%d 0 R" % (first_new + ref.index)

    new_annots = [local(widget)]
    changed: list[tuple[int, int, bytes]] = []  # (num, gen, body)

    # The page's /Annots (§12.5.2): update the array object, or the page dictionary.
    if isinstance(annots, pikepdf.Array) and annots.is_indirect:
        changed.append((*annots.objgen, _array_plus(annots, new_annots)))
    else:
        if annots is not None and not isinstance(annots, pikepdf.Array):
            raise Unsupported("odd /Annots")
        changed.append(
            (*page.objgen, _unparse_dict(page, {"/Annots": _array_plus(annots, new_annots)}))
        )

    # The interactive form (§12.7.2): /Fields gets the new field, /SigFlags 3.
    field_ref = local(widget)
    if acroform is None:
        form = objs.add(
            {"Fields": [Raw(field_ref)], "SigFlags": 3}  # SignaturesExist | AppendOnly
        )
        changed.append((*root.objgen, _unparse_dict(root, {"/AcroForm": local(form)})))
    else:
        if not isinstance(acroform, pikepdf.Dictionary):
            raise Unsupported("odd /AcroForm")
        if fields is not None and not isinstance(fields, pikepdf.Array):
            raise Unsupported("odd /Fields")
        sig_flags_ok = int(acroform.get("/SigFlags", 0)) == 3
        form_replace: dict[str, bytes] = {"/SigFlags": b"3"}
        if isinstance(fields, pikepdf.Array) and fields.is_indirect:
            changed.append((*fields.objgen, _array_plus(fields, [field_ref])))
            if sig_flags_ok:
                form_replace = {}
        else:
            form_replace["/Fields"] = _array_plus(fields, [field_ref])
        if form_replace:
            body = _unparse_dict(acroform, form_replace)
            if acroform.is_indirect:
                changed.append((*acroform.objgen, body))
            else:
                changed.append((*root.objgen, _unparse_dict(root, {"/AcroForm": body})))

    return _write(pdf, tail, trailer, objs, sig, changed, first_new, request, contents_len)


def _existing_names(fields: pikepdf.Object | None) -> list[str]:
    if not isinstance(fields, pikepdf.Array):
        return []
    names = []
    for f in fields:
        if isinstance(f, pikepdf.Dictionary) and "/T" in f:
            names.append(str(f["/T"]))
    return names


def _sig_dict(request: SealRequest, contents_len: int) -> tuple[bytes, int, int, int]:
    """Signature dictionary body (§12.8.1, PAdES: EN 319 142-1 §5.3) and its holes.

    Returns (body, byte_range_at, contents_at, contents_end) relative to ``body``.
    """
    head = b"<</Type/Sig/Filter/Adobe.PPKLite/SubFilter/ETSI.CAdES.detached/M " + serialize(
        pdf_date(request.block.signed_at), _no_ref
    )
    if request.reason:
        head += b"/Reason " + serialize(request.reason, _no_ref)
    if request.location:
        head += b"/Location " + serialize(request.location, _no_ref)
    head += b"/ByteRange "
    byte_range_at = len(head)
    head += b" " * _BYTE_RANGE_WIDTH + b"/Contents "
    contents_at = len(head)
    body = head + b"<" + b"0" * (2 * contents_len) + b">"
    return body + b">>", byte_range_at, contents_at, len(body)


def _no_ref(_ref: Ref) -> bytes:  # pragma: no cover - never called
    raise AssertionError


def _trailer_extras(trailer: pikepdf.Object) -> bytes:
    out = b"/Root " + trailer["/Root"].unparse()
    if "/Info" in trailer:
        out += b"/Info " + _unparse(trailer["/Info"])
    ident = trailer.get("/ID")
    if isinstance(ident, pikepdf.Array) and len(ident) == 2:
        # §14.4: the first identifier stays, the second changes with each update.
        first = bytes(ident[0])
        out += b"/ID[<%s><%s>]" % (first.hex().encode(), os.urandom(16).hex().encode())
    return out


def _write(
    pdf: bytes,
    tail: _Tail,
    trailer: pikepdf.Object,
    objs: ObjectSet,
    sig: Ref,
    changed: list[tuple[int, int, bytes]],
    first_new: int,
    request: SealRequest,
    contents_len: int,
) -> Hole:
    base = len(pdf)
    update = bytearray(b"" if pdf.endswith((b"\n", b"\r")) else b"\n")
    offsets: dict[int, tuple[int, int]] = {}

    def local(ref: Ref) -> bytes:
        return b"%d 0 R" % (first_new + ref.index)

    for num, gen, body in changed:
        offsets[num] = (base + len(update), gen)
        update += b"%d %d obj\n%s\nendobj\n" % (num, gen, body)
    byte_range_at = contents_at = contents_end = 0
    for index, obj in enumerate(objs.objects):
        num = first_new + index
        offsets[num] = (base + len(update), 0)
        update += b"%d 0 obj\n" % num
        if index == sig.index:
            body, br, ca, ce = _sig_dict(request, contents_len)
            start = len(update)
            byte_range_at, contents_at, contents_end = start + br, start + ca, start + ce
            update += body
        else:
            update += serialize(obj, local)
        update += b"\nendobj\n"
    extras = _trailer_extras(trailer)
    next_num = first_new + len(objs.objects)
    xref_at = base + len(update)
    if tail.xref_stream:
        offsets[next_num] = (xref_at, 0)
        update += _xref_stream(offsets, next_num, tail.startxref, extras)
    else:
        update += _xref_table(offsets, next_num, tail.startxref, extras)
    update += b"startxref\n%d\n%%%%EOF\n" % xref_at

    total = base + len(update)
    a = base + contents_at
    b = base + contents_end
    byte_range = b"[0 %d %d %d]" % (a, b, total - b)
    update[byte_range_at : byte_range_at + len(byte_range)] = byte_range

    view = memoryview(update)
    h = hashlib.sha256(pdf)
    h.update(view[:contents_at])
    h.update(view[contents_end:])
    del view
    return Hole(pdf, update, contents_at, contents_end, h.digest())


def _subsections(nums: list[int]) -> list[list[int]]:
    runs: list[list[int]] = []
    for n in nums:
        if runs and runs[-1][-1] + 1 == n:
            runs[-1].append(n)
        else:
            runs.append([n])
    return runs


def _xref_table(offsets: dict[int, tuple[int, int]], size: int, prev: int, extras: bytes) -> bytes:
    """A cross-reference table section (§7.5.4) and trailer (§7.5.5)."""
    out = [b"xref\n"]
    for run in _subsections(sorted(offsets)):
        out.append(b"%d %d\n" % (run[0], len(run)))
        out.extend(b"%010d %05d n\r\n" % offsets[n] for n in run)
    out.append(b"trailer\n<</Size %d/Prev %d%s>>\n" % (size, prev, extras))
    return b"".join(out)


def _xref_stream(
    offsets: dict[int, tuple[int, int]], own_num: int, prev: int, extras: bytes
) -> bytes:
    """A cross-reference stream (§7.5.8), uncompressed, with /W [1 4 2]."""
    nums = sorted(offsets)
    runs = _subsections(nums)
    index = b" ".join(b"%d %d" % (run[0], len(run)) for run in runs)
    data = b"".join(
        b"\x01" + offsets[n][0].to_bytes(4, "big") + offsets[n][1].to_bytes(2, "big") for n in nums
    )
    if max(off for off, _ in offsets.values()) >= 1 << 32:
        raise Unsupported("file too large for /W [1 4 2]")
    return (
        b"%d 0 obj\n<</Type/XRef/Size %d/Index[%s]/W[1 4 2]/Prev %d%s/Length %d>>\nstream\n"
        % (own_num, own_num + 1, index, prev, extras, len(data))
        + data
        + b"\nendstream\nendobj\n"
    )
