"""The block's cached pieces: base font, per-document font, QR code — per document.

Caches shared between documents must never leak one document's text into another:
each sealed file shows (and extracts as text) its own name, code and URL.
"""

from __future__ import annotations

import datetime as dt
import io
import shutil
import string
import subprocess
from collections.abc import Callable
from pathlib import Path

import pikepdf
import pytest
import zxingcpp
from PIL import Image

from medsign.pdf import SealRequest, SignatureBlock, seal_pdf, validate_pdf
from medsign.pdf.incremental import seal_incremental
from medsign.pdf.textfont import base_font
from medsign.pki import DevCA, SealKey

PdfFactory = Callable[..., bytes]
MSK = dt.timezone(dt.timedelta(hours=3))


def _request(name: str, code: str, method: str = "SMS code") -> SealRequest:
    document_id = f"3f2a4b6c-1111-4222-8333-{abs(hash(code)) % 10**12:012d}"
    block = SignatureBlock(
        signer_name=name,
        signed_at=dt.datetime.now(MSK).replace(microsecond=0),
        method=method,
        document_id=document_id,
        verification_code=code,
        verify_url=f"https://clinic.example.org/verify?document={document_id}&code={code}",
    )
    return SealRequest(block=block, evidence=b"{}", field_name="medsign-sig-0")


def _text(data: bytes, tmp_path: Path) -> str:
    pdftotext = shutil.which("pdftotext")
    if pdftotext is None:
        pytest.skip("pdftotext is not installed (apt-get install poppler-utils)")
    path = tmp_path / "t.pdf"
    path.write_bytes(data)
    out = subprocess.run([pdftotext, "-raw", str(path), "-"], capture_output=True, check=True)
    return out.stdout.decode()


def _qr_text(data: bytes, tmp_path: Path) -> str:
    """Render the page at 300 dpi with poppler and decode its one QR code."""
    pdftoppm = shutil.which("pdftoppm")
    if pdftoppm is None:
        pytest.skip("pdftoppm is not installed (apt-get install poppler-utils)")
    path = tmp_path / "q.pdf"
    path.write_bytes(data)
    subprocess.run([pdftoppm, "-r", "300", "-gray", str(path), str(tmp_path / "q")], check=True)
    image = Image.open(next(tmp_path.glob("q*.pgm")))
    found = zxingcpp.read_barcodes(image)
    assert len(found) == 1
    return found[0].text


def _fonts(data: bytes) -> dict[str, str]:
    """Resource name -> /BaseFont of the block's fonts."""
    with pikepdf.open(io.BytesIO(data)) as pdf:
        field = pdf.Root.AcroForm.Fields[-1]
        fonts = field.AP.N.Resources.Font
        return {str(k): str(v.BaseFont) for k, v in fonts.items()}


NAMES = [
    ("Иванова Мария Петровна", "7KQ4-M2XD"),
    ("Петров Сергей Юрьевич", "A1B2-C3D4"),
    ("John Smith", "ZZ99-QQ00"),
    ("Sofia Griffin", "FFFF-1111"),  # "fi" and "ff" may shape to ligature glyphs
    ("زهرا حسینی‌نژاد", "PP55-RR66"),
]


def test_documents_sealed_one_after_another_show_their_own_text(
    pdf_factory: PdfFactory,
    seal_key: SealKey,
    dev_ca: DevCA,
    pdfsig: Callable[[bytes], str],
    tmp_path: Path,
) -> None:
    sealed = [seal_pdf(pdf_factory(), seal_key, _request(n, c)) for n, c in NAMES]
    # The same names again, in another order: the per-glyph-set font cache is hit now.
    again = [seal_pdf(pdf_factory(), seal_key, _request(n, c)) for n, c in reversed(NAMES)]
    pairs = [*zip(sealed, NAMES, strict=True), *zip(again, reversed(NAMES), strict=True)]
    for data, (name, code) in pairs:
        out = pdfsig(data)
        assert "Signature Validation: Signature is Valid." in out, out
        assert validate_pdf(data, [dev_ca.certificate]).valid
        text = _text(data, tmp_path)
        if not any("\u0600" <= ch <= "\u06ff" for ch in name):  # pdftotext reorders RTL
            assert name in text, text
        assert code in text, text
        for other_name, other_code in NAMES:
            if other_code != code:
                assert other_code not in text
                assert other_name not in text


def test_each_document_gets_its_own_qr_code(
    pdf_factory: PdfFactory, seal_key: SealKey, tmp_path: Path
) -> None:
    for i, (name, code) in enumerate(NAMES[:2]):
        req = _request(name, code)
        data = seal_incremental(pdf_factory(), seal_key, req)
        (tmp_path / str(i)).mkdir()
        assert _qr_text(data, tmp_path / str(i)) == req.block.verify_url


def test_ascii_lines_share_the_base_font_and_names_get_a_second_one(
    pdf_factory: PdfFactory, seal_key: SealKey
) -> None:
    ascii_only = _fonts(seal_incremental(pdf_factory(), seal_key, _request("John Smith", "A")))
    assert list(ascii_only) == ["/F1"]
    cyrillic = _fonts(seal_incremental(pdf_factory(), seal_key, _request(*NAMES[0])))
    assert list(cyrillic) == ["/F1", "/F2"]
    assert cyrillic["/F1"] == ascii_only["/F1"]  # the same prepared subset
    assert cyrillic["/F2"] != cyrillic["/F1"]  # subsets of one font carry distinct tags
    other = _fonts(seal_incremental(pdf_factory(), seal_key, _request(*NAMES[1])))
    assert other["/F2"] != cyrillic["/F2"]  # another glyph set, another subset


def test_every_base_character_extracts_as_itself(
    pdf_factory: PdfFactory, seal_key: SealKey, tmp_path: Path
) -> None:
    """The base font's prepared /ToUnicode maps each glyph to its character."""
    punctuation = "".join(c for c in string.punctuation if c not in "`'\"")
    for method in (string.ascii_letters, string.digits + punctuation, "`'\" · —"):
        req = _request("John Smith", "CODE-1", method=method[:40])
        text = _text(seal_incremental(pdf_factory(), seal_key, req), tmp_path)
        assert f"Method: {method[:40]}" in text, (method, text)


def test_base_font_covers_printable_ascii() -> None:
    base = base_font()
    assert set(base.characters.values()) >= set(string.printable[:95])
