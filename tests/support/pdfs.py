"""Small PDFs made in the test (pikepdf), so no fixture files are needed."""

from __future__ import annotations

import io

import pikepdf
from PIL import Image


def make_pdf(pages: int = 1, text: str = "Informed consent") -> bytes:
    """A valid PDF with ``pages`` A4 pages, each showing ``text`` and its page number."""
    pdf = pikepdf.new()
    font = pdf.make_indirect(
        pikepdf.Dictionary(
            Type=pikepdf.Name.Font, Subtype=pikepdf.Name.Type1, BaseFont=pikepdf.Name.Helvetica
        )
    )
    for n in range(1, pages + 1):
        content = f"BT /F1 18 Tf 72 770 Td ({text} - page {n}) Tj ET".encode()
        page = pikepdf.Page(
            pikepdf.Dictionary(
                Type=pikepdf.Name.Page,
                MediaBox=[0, 0, 595, 842],
                Resources=pikepdf.Dictionary(Font=pikepdf.Dictionary(F1=font)),
                Contents=pdf.make_stream(content),
            )
        )
        pdf.pages.append(page)
    out = io.BytesIO()
    pdf.save(out)
    return out.getvalue()


def encrypted_pdf() -> bytes:
    """A PDF that needs a user password to open."""
    src = pikepdf.open(io.BytesIO(make_pdf()))
    out = io.BytesIO()
    src.save(out, encryption=pikepdf.Encryption(user="secret", owner="owner"))
    return out.getvalue()


def make_text_pdf(pages: int = 2, lines: int = 58) -> bytes:
    """A PDF whose A4 pages are full of varied 10 pt text, like a real consent form (the
    page images of such pages weigh what real ones do; one short line would not)."""
    words = [
        "patient",
        "consents",
        "procedure",
        "risks",
        "explained",
        "clinic",
        "anaesthesia",
        "recovery",
        "data",
        "processing",
        "treatment",
        "plan",
        "signature",
        "physician",
        "informed",
        "voluntary",
        "agreement",
        "complications",
        "alternatives",
        "questions",
        "answered",
        "copy",
        "received",
    ]
    pdf = pikepdf.new()
    font = pdf.make_indirect(
        pikepdf.Dictionary(
            Type=pikepdf.Name.Font, Subtype=pikepdf.Name.Type1, BaseFont=pikepdf.Name.Helvetica
        )
    )
    for n in range(1, pages + 1):
        rows = []
        for i in range(lines):
            text = " ".join(words[(i * 7 + j * (n + 3)) % len(words)] for j in range(10))
            rows.append(f"BT /F1 10 Tf 50 {800 - i * 13} Td ({n}.{i + 1} {text}) Tj ET")
        page = pikepdf.Page(
            pikepdf.Dictionary(
                Type=pikepdf.Name.Page,
                MediaBox=[0, 0, 595, 842],
                Resources=pikepdf.Dictionary(Font=pikepdf.Dictionary(F1=font)),
                Contents=pdf.make_stream("\n".join(rows).encode()),
            )
        )
        pdf.pages.append(page)
    out = io.BytesIO()
    pdf.save(out)
    return out.getvalue()


def make_photo_pdf() -> bytes:
    """One A4 page filled by a noisy grey image, like a poor scan (the worst case for an
    image encoder: it hardly compresses)."""
    noise = Image.effect_noise((1200, 1700), 60).convert("RGB")
    jpeg = io.BytesIO()
    noise.save(jpeg, "JPEG", quality=85)
    pdf = pikepdf.new()
    image = pikepdf.Stream(pdf, jpeg.getvalue())
    image.Type, image.Subtype = pikepdf.Name.XObject, pikepdf.Name.Image
    image.Width, image.Height, image.BitsPerComponent = 1200, 1700, 8
    image.ColorSpace, image.Filter = pikepdf.Name.DeviceRGB, pikepdf.Name.DCTDecode
    page = pikepdf.Dictionary(
        Type=pikepdf.Name.Page,
        MediaBox=[0, 0, 595, 842],
        Resources=pikepdf.Dictionary(XObject=pikepdf.Dictionary(Im0=image)),
        Contents=pdf.make_stream(b"q 595 0 0 842 0 0 cm /Im0 Do Q"),
    )
    pdf.pages.append(pikepdf.Page(page))
    out = io.BytesIO()
    pdf.save(out)
    return out.getvalue()
