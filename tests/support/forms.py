"""PDF templates with AcroForm text fields, for document template tests."""

from __future__ import annotations

import io

import pikepdf
from pikepdf import Array, Dictionary, Name, String


def form_pdf(names: tuple[str, ...] = ("patient_name", "visit_date", "price")) -> bytes:
    """An A4 page with a label and one text field per name, one below the other."""
    pdf = pikepdf.new()
    pdf.add_blank_page(page_size=(595, 842))
    page = pdf.pages[0]
    helv = Dictionary(Type=Name.Font, Subtype=Name.Type1, BaseFont=Name.Helvetica)
    page.obj.Contents = pdf.make_stream(b"BT /F1 12 Tf 50 800 Td (Contract) Tj ET")
    page.obj.Resources = Dictionary(Font=Dictionary(F1=helv))
    fields = []
    for i, name in enumerate(names):
        top = 780 - 30 * i
        fields.append(
            pdf.make_indirect(
                Dictionary(
                    Type=Name.Annot,
                    Subtype=Name.Widget,
                    FT=Name.Tx,
                    T=String(name),
                    Rect=Array([120, top - 18, 400, top]),
                    F=4,
                    P=page.obj,
                    DA=String("/Helv 0 Tf 0 g"),
                )
            )
        )
    page.obj.Annots = Array(fields)
    pdf.Root.AcroForm = Dictionary(
        Fields=Array(fields), DA=String("/Helv 0 Tf 0 g"), DR=Dictionary(Font=Dictionary(Helv=helv))
    )
    out = io.BytesIO()
    pdf.save(out)
    return out.getvalue()
