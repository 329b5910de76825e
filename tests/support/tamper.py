"""Tampering with signed PDFs the way an attacker would, for the verification tests.

Each helper returns new bytes; the incremental ones append a real update (ISO 32000-1
§7.5.6) with a cross-reference section of the file's own kind, so readers accept the
file and only signature validation can tell what happened.
"""

from __future__ import annotations

import io
import re

import pikepdf

from medsign.pdf.incremental import _tail, _trailer_extras, _xref_stream, _xref_table


def _signature_ranges(data: bytes) -> list[tuple[int, int, int, int]]:
    return [
        tuple(int(x) for x in m.groups())  # type: ignore[misc]
        for m in re.finditer(rb"/ByteRange\s*\[\s*(\d+)\s+(\d+)\s+(\d+)\s+(\d+)\s*\]", data)
    ]


def flip_byte_in_signed_range(data: bytes) -> bytes:
    """Change one digit of the first page's /MediaBox: inside every signed range."""
    m = re.search(rb"/MediaBox\s*\[\s*0\s+0\s+(\d+)", data)
    assert m is not None
    at = m.end(1) - 1
    out = bytearray(data)
    out[at] = ord("7") if out[at] != ord("7") else ord("8")
    return bytes(out)


def zero_last_signature(data: bytes) -> bytes:
    """Overwrite the last signature's CMS (the /Contents hole) with zeros."""
    _, a, b, _ = _signature_ranges(data)[-1]
    out = bytearray(data)
    out[a + 1 : b - 1] = b"0" * (b - a - 2)
    return bytes(out)


def _update(data: bytes, changed: dict[tuple[int, int], bytes], new: list[bytes]) -> bytes:
    """Append an incremental update: ``changed`` objects rewritten, ``new`` ones added."""
    tail = _tail(data)
    with pikepdf.open(io.BytesIO(data)) as pdf:
        size = int(pdf.trailer["/Size"])
        extras = _trailer_extras(pdf.trailer)
    update = bytearray(b"" if data.endswith(b"\n") else b"\n")
    offsets: dict[int, tuple[int, int]] = {}
    for (num, gen), body in changed.items():
        offsets[num] = (len(data) + len(update), gen)
        update += b"%d %d obj\n%s\nendobj\n" % (num, gen, body)
    for i, body in enumerate(new):
        offsets[size + i] = (len(data) + len(update), 0)
        update += b"%d 0 obj\n%s\nendobj\n" % (size + i, body)
    next_num = size + len(new)
    xref_at = len(data) + len(update)
    if tail.xref_stream:
        offsets[next_num] = (xref_at, 0)
        update += _xref_stream(offsets, next_num, tail.startxref, extras)
    else:
        update += _xref_table(offsets, next_num, tail.startxref, extras)
    update += b"startxref\n%d\n%%%%EOF\n" % xref_at
    return data + bytes(update)


def _raw(value: object) -> bytes:
    """PDF syntax of a value as pikepdf hands it out (ints come back as Python ints)."""
    raw: bytes = pikepdf.Array([value]).unparse()
    return raw[1:-1].strip()


def _unparse(obj: pikepdf.Object, replace: dict[str, bytes]) -> bytes:
    parts = [b"<<"]
    for key, value in obj.items():
        if key not in replace:
            parts.append(pikepdf.Name(key).unparse() + b" " + _raw(value) + b"\n")
    for key, raw in replace.items():
        if raw:
            parts.append(pikepdf.Name(key).unparse() + b" " + raw + b"\n")
    return b"".join(parts) + b">>"


def _stream(content: bytes) -> bytes:
    return b"<</Length %d>>\nstream\n%s\nendstream" % (len(content), content)


def append_page(data: bytes) -> bytes:
    """An incremental update that appends a page saying something new."""
    with pikepdf.open(io.BytesIO(data)) as pdf:
        pages = pdf.Root.Pages
        num = int(pdf.trailer["/Size"])
        kids = [_raw(k) for k in pages.Kids] + [b"%d 0 R" % num]
        pages_body = _unparse(
            pages,
            {"/Kids": b"[" + b" ".join(kids) + b"]", "/Count": b"%d" % (len(pages.Kids) + 1)},
        )
        changed = {pages.objgen: pages_body}
        parent = pages.objgen[0]
    page = b"<</Type/Page/Parent %d 0 R/MediaBox[0 0 595 842]/Contents %d 0 R>>" % (parent, num + 1)
    content = _stream(b"BT /F1 24 Tf 72 700 Td (I also agree to pay 1000000) Tj ET")
    return _update(data, changed, [page, content])


def swap_content(data: bytes) -> bytes:
    """An incremental update that replaces the first page's content stream."""
    with pikepdf.open(io.BytesIO(data)) as pdf:
        page = pdf.pages[0].obj
        contents = page.Contents
        forged = _stream(b"BT /F1 18 Tf 72 720 Td (Forged text) Tj ET")
        if contents.is_indirect and isinstance(contents, pikepdf.Stream):
            changed = {contents.objgen: forged}
            return _update(data, changed, [])
        num = int(pdf.trailer["/Size"])
        changed = {page.objgen: _unparse(page, {"/Contents": b"%d 0 R" % num})}
    return _update(data, changed, [forged])


def remove_last_signature(data: bytes) -> bytes:
    """An incremental update that drops the last signature field from the form and page."""
    with pikepdf.open(io.BytesIO(data)) as pdf:
        form = pdf.Root.AcroForm
        fields = list(form.Fields)
        last = fields[-1]
        keep = [_raw(f) for f in fields[:-1]]
        changed: dict[tuple[int, int], bytes] = {}
        fields_raw = b"[" + b" ".join(keep) + b"]"
        if form.Fields.is_indirect:
            changed[form.Fields.objgen] = fields_raw
        elif form.is_indirect:
            changed[form.objgen] = _unparse(form, {"/Fields": fields_raw})
        else:
            changed[pdf.Root.objgen] = _unparse(
                pdf.Root, {"/AcroForm": _unparse(form, {"/Fields": fields_raw})}
            )
        for page in pdf.pages:
            annots = page.obj.get("/Annots")
            if annots is None:
                continue
            items = [a for a in annots if a.objgen != last.objgen]
            if len(items) == len(annots):
                continue
            raw = b"[" + b" ".join(_raw(a) for a in items) + b"]"
            if annots.is_indirect:
                changed[annots.objgen] = raw
            else:
                changed[page.obj.objgen] = _unparse(page.obj, {"/Annots": raw})
    return _update(data, changed, [])


def truncate_to_revision(data: bytes, index: int) -> bytes:
    """The file as it was right after signature ``index`` (an older, genuine version)."""
    _, _, c, d = _signature_ranges(data)[index]
    return data[: c + d]


def duplicate_signature_fields(data: bytes, count: int, *, distinct: bool = False) -> bytes:
    """An incremental update adding ``count`` signature fields that reuse the file's first
    signature (the verification denial-of-service of [harden]).

    By default every new field's /V points at the one real signature dictionary; with
    ``distinct`` each field gets its own copy of that dictionary (same /Contents and
    /ByteRange), so no deduplication by reference helps: the worst case under the cap.
    Each field is a hidden widget on the first page (ISO 32000-1 §12.7.4.5, §12.5.6.19).
    """
    with pikepdf.open(io.BytesIO(data)) as pdf:
        form = pdf.Root.AcroForm
        fields = list(form.Fields)
        real = next(f for f in fields if f.get("/FT") == pikepdf.Name.Sig and "/V" in f)
        page = pdf.pages[0].obj
        size = int(pdf.trailer["/Size"])
        new: list[bytes] = []
        field_nums: list[int] = []
        for i in range(count):
            if distinct:
                new.append(_unparse(real.V, {}))
                value = b"%d 0 R" % (size + len(new) - 1)
            else:
                value = b"%d %d R" % real.V.objgen
            new.append(
                b"<</Type/Annot/Subtype/Widget/FT/Sig/F 2/T(dup-%d)/Rect[0 0 0 0]/P %d %d R/V %s>>"
                % (i, page.objgen[0], page.objgen[1], value)
            )
            field_nums.append(size + len(new) - 1)
        refs = [b"%d 0 R" % n for n in field_nums]
        all_fields = b"[" + b" ".join([_raw(f) for f in fields] + refs) + b"]"
        changed: dict[tuple[int, int], bytes] = {}
        if form.Fields.is_indirect:
            changed[form.Fields.objgen] = all_fields
        elif form.is_indirect:
            changed[form.objgen] = _unparse(form, {"/Fields": all_fields})
        else:
            changed[pdf.Root.objgen] = _unparse(
                pdf.Root, {"/AcroForm": _unparse(form, {"/Fields": all_fields})}
            )
        annots = page.get("/Annots")
        old = [_raw(a) for a in annots] if annots is not None else []
        annots_raw = b"[" + b" ".join(old + refs) + b"]"
        if annots is not None and annots.is_indirect:
            changed[annots.objgen] = annots_raw
        else:
            changed[page.objgen] = _unparse(page, {"/Annots": annots_raw})
    return _update(data, changed, new)
