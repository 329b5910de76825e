"""Fixtures for the PDF tests: a development CA and seal, test documents, validators."""

from __future__ import annotations

import io
import shutil
import subprocess
from collections.abc import Callable
from pathlib import Path

import pikepdf
import pytest
from cryptography.hazmat.primitives import serialization

from medsign.pki import DevCA, SealKey, load_or_create_dev_ca


@pytest.fixture(scope="session")
def dev_ca(tmp_path_factory: pytest.TempPathFactory) -> DevCA:
    return load_or_create_dev_ca(tmp_path_factory.mktemp("pki"))


@pytest.fixture(scope="session")
def seal_key(dev_ca: DevCA, tmp_path_factory: pytest.TempPathFactory) -> SealKey:
    return dev_ca.issue_seal(tmp_path_factory.mktemp("org"), "org-42", "Клиника «Здоровье»")


def make_pdf(
    pages: int = 1,
    *,
    xref_stream: bool = False,
    acroform: bool = False,
    size: tuple[float, float] = (595, 842),
) -> bytes:
    """A simple PDF with text on every page, saved by qpdf."""
    pdf = pikepdf.new()
    font = pdf.make_indirect(
        pikepdf.Dictionary(
            Type=pikepdf.Name.Font, Subtype=pikepdf.Name.Type1, BaseFont=pikepdf.Name.Helvetica
        )
    )
    for i in range(pages):
        page = pdf.add_blank_page(page_size=size)
        page.obj.Contents = pdf.make_stream(b"BT /F1 18 Tf 72 720 Td (Page %d) Tj ET" % (i + 1))
        page.obj.Resources = pikepdf.Dictionary(Font=pikepdf.Dictionary(F1=font))
    if acroform:
        text_field = pdf.make_indirect(
            pikepdf.Dictionary(
                Type=pikepdf.Name.Annot,
                Subtype=pikepdf.Name.Widget,
                FT=pikepdf.Name.Tx,
                T=pikepdf.String("patient_name"),
                V=pikepdf.String("Smith"),
                Rect=[72, 600, 300, 620],
                P=pdf.pages[0].obj,
            )
        )
        pdf.pages[0].obj.Annots = pdf.make_indirect(pikepdf.Array([text_field]))
        pdf.Root.AcroForm = pdf.make_indirect(
            pikepdf.Dictionary(
                Fields=pikepdf.Array([text_field]), DA=pikepdf.String("/Helv 0 Tf 0 g")
            )
        )
    out = io.BytesIO()
    mode = pikepdf.ObjectStreamMode.generate if xref_stream else pikepdf.ObjectStreamMode.disable
    pdf.save(out, object_stream_mode=mode)
    return out.getvalue()


def _need(binary: str) -> str:
    path = shutil.which(binary)
    if path is None:
        pytest.skip(f"{binary} is not installed (apt-get install poppler-utils qpdf libnss3-tools)")
    return path


@pytest.fixture(scope="session")
def nss_db(dev_ca: DevCA, tmp_path_factory: pytest.TempPathFactory) -> str:
    """An NSS database trusting the development CA, for pdfsig."""
    certutil = _need("certutil")
    directory = tmp_path_factory.mktemp("nss")
    ca_pem = directory / "ca.pem"
    ca_pem.write_bytes(dev_ca.certificate.public_bytes(serialization.Encoding.PEM))
    db = f"sql:{directory}"
    subprocess.run([certutil, "-N", "--empty-password", "-d", db], check=True)
    # Trusted CA for SSL, e-mail and object signing: pdfsig checks the e-mail usage.
    subprocess.run(
        [certutil, "-A", "-n", "ca", "-t", "C,C,C", "-i", str(ca_pem), "-d", db], check=True
    )
    return db


PdfsigRunner = Callable[[bytes], str]
PdfFactory = Callable[..., bytes]


@pytest.fixture(scope="session")
def pdf_factory() -> PdfFactory:
    """:func:`make_pdf`, for tests (test modules cannot import conftest)."""
    return make_pdf


@pytest.fixture
def pdfsig(nss_db: str, tmp_path: Path) -> PdfsigRunner:
    binary = _need("pdfsig")

    def run(data: bytes) -> str:
        path = tmp_path / "signed.pdf"
        path.write_bytes(data)
        proc = subprocess.run(
            [binary, "-nssdir", nss_db, str(path)], capture_output=True, text=True, check=False
        )
        return proc.stdout

    return run


@pytest.fixture
def qpdf_check(tmp_path: Path) -> Callable[[bytes], None]:
    binary = _need("qpdf")

    def run(data: bytes) -> None:
        path = tmp_path / "check.pdf"
        path.write_bytes(data)
        proc = subprocess.run([binary, "--check", str(path)], capture_output=True, text=True)
        assert proc.returncode == 0, proc.stdout + proc.stderr

    return run
