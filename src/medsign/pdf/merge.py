"""Gluing PDFs into one, in order, with one bookmark per source file.

Pages are copied with everything they reference (qpdf's foreign object copy). Form
fields of each source are carried into the new /AcroForm (ISO 32000-1 §12.7.2) so
widget annotations stay fields; source outlines are not carried over — each source
gets one top-level outline item (ISO 32000-1 §12.3.3) titled with its file name.

Both functions write to a binary file (the caller's temporary file): qpdf's output then
never grows in memory, and the caller reads it back once the sources are closed —
pikepdf copies a source's stream data into memory when its pages are copied, and
those copies are freed only with the sources.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import BinaryIO

import pikepdf


def merge_pdfs(
    parts: Sequence[tuple[str, pikepdf.Pdf]], out_file: BinaryIO, *, bookmarks: bool = True
) -> None:
    """Write one PDF holding the pages of every ``(title, pdf)`` part in order."""
    out = pikepdf.new()
    try:
        fields = pikepdf.Array()
        form_defaults: pikepdf.Dictionary | None = None
        starts = []
        for _title, src in parts:
            starts.append(len(out.pages))
            out.pages.extend(src.pages)
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
            with out.open_outline() as outline:
                for (title, _src), start in zip(parts, starts, strict=True):
                    outline.root.append(pikepdf.OutlineItem(title or "Document", start))
        # Classic xref table, no object streams: the structure medsign's fast sealing
        # path knows (ISO 32000-1 §7.5.4); a fixed /ID so equal input gives equal output.
        out.save(
            out_file,
            object_stream_mode=pikepdf.ObjectStreamMode.disable,
            deterministic_id=True,
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
    )
