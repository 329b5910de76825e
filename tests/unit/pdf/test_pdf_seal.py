"""Sealing: fast path and pyHanko path, checked by pdfsig, qpdf and pyHanko."""

from __future__ import annotations

import asyncio
import datetime as dt
import io
import json
import re
import shutil
import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest
from asn1crypto import cms
from pyhanko.pdf_utils.reader import PdfFileReader
from pyhanko.sign.diff_analysis import ModificationLevel
from pyhanko.sign.validation import SignatureCoverageLevel, async_validate_pdf_signature
from pyhanko.sign.validation.status import PdfSignatureStatus
from pyhanko_certvalidator import ValidationContext

from medsign.errors import InvalidDocument
from medsign.pdf import (
    SealRequest,
    SignatureBlock,
    inspect_pdf,
    read_evidence,
    seal_pdf,
    seal_pdf_reference,
    validate_pdf,
)
from medsign.pdf.incremental import Unsupported, seal_incremental
from medsign.pki import DevCA, SealKey

Sealer = Callable[[bytes, SealKey, SealRequest], bytes]
PdfsigRunner = Callable[[bytes], str]
PdfFactory = Callable[..., bytes]
MSK = dt.timezone(dt.timedelta(hours=3))
NAMES = ["Иванова Мария Петровна", "John Smith", "محمد رضایی"]


def request(slot: int, *, name: str | None = None, url: bool = True) -> SealRequest:
    signer = name or NAMES[slot % len(NAMES)]
    block = SignatureBlock(
        signer_name=signer,
        signed_at=dt.datetime.now(MSK).replace(microsecond=0),
        method="SMS code",
        document_id="3f2a4b6c-1111-4222-8333-444455556666",
        verification_code="7KQ4-M2XD",
        verify_url="https://medsign.example.org/v/7KQ4-M2XD" if url else None,
    )
    evidence = json.dumps({"signer_name": signer, "method": "sms_otp", "slot": slot}).encode()
    return SealRequest(
        block=block,
        evidence=evidence,
        field_name=f"medsign-sig-{slot}",
        reason="Patient signature",
        location="Moscow",
        slot=slot,
    )


def pyhanko_statuses(data: bytes, dev_ca: DevCA) -> list[PdfSignatureStatus]:
    from asn1crypto import x509 as asn1_x509
    from cryptography.hazmat.primitives import serialization

    root = asn1_x509.Certificate.load(dev_ca.certificate.public_bytes(serialization.Encoding.DER))

    async def run() -> list[PdfSignatureStatus]:
        reader = PdfFileReader(io.BytesIO(data))
        out = []
        for sig in reader.embedded_signatures:
            ctx = ValidationContext(trust_roots=[root], allow_fetching=False)
            out.append(await async_validate_pdf_signature(sig, signer_validation_context=ctx))
        return out

    return asyncio.run(run())


def check_all(
    data: bytes,
    count: int,
    dev_ca: DevCA,
    pdfsig: PdfsigRunner,
    qpdf_check: Callable[[bytes], None],
) -> None:
    """Every validator accepts every one of ``count`` signatures."""
    out = pdfsig(data)
    assert out.count("Signature Validation: Signature is Valid.") == count, out
    assert out.count("Certificate Validation: Certificate is Trusted.") == count, out
    qpdf_check(data)

    statuses = pyhanko_statuses(data, dev_ca)
    assert len(statuses) == count
    for i, status in enumerate(statuses):
        assert status.intact and status.valid and status.trusted, status.summary()
        coverage = status.coverage
        if i < count - 1:  # covers its own revision; later ones only filled in fields
            assert (
                coverage == SignatureCoverageLevel.ENTIRE_REVISION
            )  # later revisions only filled in (signature) form fields
            level = status.modification_level
            assert level is not None and level <= ModificationLevel.FORM_FILLING
            assert status.docmdp_ok
        else:
            assert coverage == SignatureCoverageLevel.ENTIRE_FILE

    report = validate_pdf(data, [dev_ca.certificate])
    assert report.valid
    assert [s.field_name for s in report.signatures] == [f"medsign-sig-{i}" for i in range(count)]
    assert all(s.intact and s.valid and s.trusted for s in report.signatures)
    assert [s.signer for s in report.signatures] == [NAMES[i % 3] for i in range(count)]
    assert all(s.method == "sms_otp" for s in report.signatures)

    evidence = read_evidence(data)
    assert set(evidence) == {f"medsign-sig-{i}" for i in range(count)}
    for i in range(count):
        assert evidence[f"medsign-sig-{i}"]["slot"] == i


def fast_only(pdf: bytes, key: SealKey, req: SealRequest) -> bytes:
    """The fast path, refusing the fallback, so the test proves which path ran."""
    return seal_incremental(pdf, key, req)


CASES: dict[str, tuple[Sealer, dict[str, object]]] = {
    "fast-1-page-table": (fast_only, dict(pages=1)),
    "fast-5-pages-xref-stream": (fast_only, dict(pages=5, xref_stream=True)),
    "fast-acroform": (fast_only, dict(pages=2, acroform=True)),
    "fast-acroform-xref-stream": (fast_only, dict(pages=1, acroform=True, xref_stream=True)),
    "fast-letter-narrow": (fast_only, dict(pages=1, size=(300, 400))),
    "reference-1-page": (seal_pdf_reference, dict(pages=1)),
    "reference-3-pages-xref-stream": (seal_pdf_reference, dict(pages=3, xref_stream=True)),
    "seal_pdf-mixed": (seal_pdf, dict(pages=2)),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_three_signatures_in_a_row(
    pdf_factory: PdfFactory,
    case: str,
    seal_key: SealKey,
    dev_ca: DevCA,
    pdfsig: PdfsigRunner,
    qpdf_check: Callable[[bytes], None],
) -> None:
    sealer, kwargs = CASES[case]
    data = pdf_factory(**kwargs)
    for slot in range(3):
        before = data
        data = sealer(before, seal_key, request(slot))
        assert data.startswith(before)  # an incremental update (ISO 32000-1 §7.5.6)
        check_all(data, slot + 1, dev_ca, pdfsig, qpdf_check)
    info = inspect_pdf(data)
    assert info.has_signatures


def test_fast_and_reference_interleave(
    pdf_factory: PdfFactory,
    seal_key: SealKey,
    dev_ca: DevCA,
    pdfsig: PdfsigRunner,
    qpdf_check: Callable[[bytes], None],
) -> None:
    data = pdf_factory(pages=2)
    data = seal_pdf_reference(data, seal_key, request(0))
    data = seal_incremental(data, seal_key, request(1))
    data = seal_pdf_reference(data, seal_key, request(2))
    check_all(data, 3, dev_ca, pdfsig, qpdf_check)


def _cms_of(data: bytes, index: int = 0) -> cms.SignedData:
    reader = PdfFileReader(io.BytesIO(data))
    signed: cms.SignedData = reader.embedded_signatures[index].signed_data
    return signed


@pytest.mark.parametrize("sealer", [fast_only, seal_pdf_reference])
def test_pades_baseline_b_structure(
    pdf_factory: PdfFactory, sealer: Sealer, seal_key: SealKey
) -> None:
    req = request(0)
    data = sealer(pdf_factory(), seal_key, req)
    sd = _cms_of(data)
    signer = sd["signer_infos"][0]
    attrs = [a["type"].native for a in signer["signed_attrs"]]
    assert sorted(attrs) == ["content_type", "message_digest", "signing_certificate_v2"]
    assert "signing_time" not in attrs  # EN 319 142-1 §5.2.1
    assert signer["digest_algorithm"]["algorithm"].native == "sha256"
    assert sd["encap_content_info"]["content"].native is None  # detached
    subjects = {c.chosen.subject.native["common_name"] for c in sd["certificates"]}
    assert subjects == {"Клиника «Здоровье» seal", "medsign development CA"}
    assert b"/SubFilter /ETSI.CAdES.detached" in data or b"/SubFilter/ETSI.CAdES.detached" in data
    reader = PdfFileReader(io.BytesIO(data))
    sig = reader.embedded_signatures[0]
    assert sig.sig_object["/Type"] == "/Sig"
    assert sig.self_reported_timestamp is not None
    field = sig.sig_field
    assert "/AP" in field and "/N" in field["/AP"]
    rect = [float(v) for v in field["/Rect"]]
    assert rect[2] - rect[0] == pytest.approx(180) and rect[3] - rect[1] == pytest.approx(62)
    # On the last page; the catalog has an AcroForm with SigFlags 3.
    assert reader.root["/AcroForm"]["/SigFlags"] == 3


def test_fast_path_time_in_m_matches_block(pdf_factory: PdfFactory, seal_key: SealKey) -> None:
    req = request(0)
    data = seal_incremental(pdf_factory(), seal_key, req)
    sig = PdfFileReader(io.BytesIO(data)).embedded_signatures[0]
    assert sig.self_reported_timestamp == req.block.signed_at


@pytest.mark.parametrize("sealer", [fast_only, seal_pdf_reference])
def test_names_are_real_text(
    pdf_factory: PdfFactory, sealer: Sealer, seal_key: SealKey, tmp_path: Path
) -> None:
    pdftotext = shutil.which("pdftotext")
    if pdftotext is None:
        pytest.skip("pdftotext is not installed (apt-get install poppler-utils)")
    data = pdf_factory(pages=2)
    for slot in range(2):
        data = sealer(data, seal_key, request(slot))
    path = tmp_path / "s.pdf"
    path.write_bytes(data)
    text = subprocess.run(
        [pdftotext, "-f", "2", "-l", "2", str(path), "-"], capture_output=True, check=True
    ).stdout.decode()
    assert "Иванова Мария Петровна" in text
    assert "John Smith" in text
    assert "7KQ4-M2XD" in text
    assert "3f2a4b6c-1111-4222-8333-444455556666" in text
    assert re.search(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d \+03:00", text)


def test_blocks_render_without_overlap(
    pdf_factory: PdfFactory, seal_key: SealKey, tmp_path: Path
) -> None:
    pdftoppm = shutil.which("pdftoppm")
    if pdftoppm is None:
        pytest.skip("pdftoppm is not installed (apt-get install poppler-utils)")
    from PIL import Image

    data = pdf_factory(pages=1)
    for slot in range(9):
        data = seal_pdf(data, seal_key, request(slot))
    path = tmp_path / "s.pdf"
    path.write_bytes(data)
    subprocess.run([pdftoppm, "-r", "50", "-png", str(path), str(tmp_path / "p")], check=True)
    image = Image.open(next(tmp_path.glob("p*.png"))).convert("L")
    scale = 50 / 72
    height = image.height
    rects = PdfFileReader(io.BytesIO(data)).embedded_signatures
    boxes = [[float(v) for v in s.sig_field["/Rect"]] for s in rects]
    for i, a in enumerate(boxes):
        for b in boxes[i + 1 :]:
            assert a[2] <= b[0] or b[2] <= a[0] or a[3] <= b[1] or b[3] <= a[1]
        x0, y0, x1, y1 = (round(v * scale) for v in a)
        crop = image.crop((x0 + 2, height - y1 + 2, x1 - 2, height - y0 - 2))
        extrema = crop.getextrema()
        assert isinstance(extrema[0], int) and extrema[0] < 100  # dark ink: text and QR
        histogram = crop.histogram()
        assert sum(histogram[:128]) > 0.05 * crop.width * crop.height


def test_persian_and_long_names_do_not_crash(pdf_factory: PdfFactory, seal_key: SealKey) -> None:
    data = pdf_factory()
    long_name = "Александра Константиновна Преображенская-Воскресенская " * 3
    data = seal_incremental(data, seal_key, request(0, name="زهرا حسینی‌نژاد"))
    data = seal_incremental(data, seal_key, request(1, name=long_name, url=False))
    report = validate_pdf(data)
    assert report.valid
    assert not any(s.trusted for s in report.signatures)  # no trust roots given


def test_fast_path_refuses_duplicate_field_and_seal_pdf_reports(
    pdf_factory: PdfFactory, seal_key: SealKey
) -> None:
    data = seal_incremental(pdf_factory(), seal_key, request(0))
    with pytest.raises(Unsupported):
        seal_incremental(data, seal_key, request(0))


@pytest.mark.parametrize(
    "mangle",
    [
        pytest.param(lambda d: d + b"\n% trailing garbage after EOF\n", id="junk-after-eof"),
        pytest.param(
            lambda d: d.replace(b"startxref", b"startxref ", 1)[:-6] + b"%%EOF\n", id="odd-tail"
        ),
    ],
)
def test_seal_pdf_falls_back_for_unusual_files(
    pdf_factory: PdfFactory, mangle: Callable[[bytes], bytes], seal_key: SealKey, dev_ca: DevCA
) -> None:
    data = mangle(pdf_factory(pages=2))
    out = seal_pdf(data, seal_key, request(0))
    report = validate_pdf(out, [dev_ca.certificate])
    assert report.valid and report.signatures[0].trusted
    assert read_evidence(out)["medsign-sig-0"]["slot"] == 0


def test_seal_pdf_rejects_garbage(pdf_factory: PdfFactory, seal_key: SealKey) -> None:
    with pytest.raises(InvalidDocument):
        seal_pdf(b"not a pdf at all", seal_key, request(0))
    with pytest.raises(InvalidDocument):  # neither path signs a file with bytes before %PDF
        seal_pdf(b"\n\n" + pdf_factory(), seal_key, request(0))


def test_validate_garbage_and_unsigned(pdf_factory: PdfFactory, dev_ca: DevCA) -> None:
    for junk in (b"", b"hello", b"%PDF-1.7\n" + b"\x00" * 50, pdf_factory()[:200]):
        with pytest.raises(InvalidDocument):
            validate_pdf(junk, [dev_ca.certificate])
    report = validate_pdf(pdf_factory())
    assert report.signatures == ()
    assert not report.valid


def test_validate_detects_tampering(
    pdf_factory: PdfFactory, seal_key: SealKey, dev_ca: DevCA
) -> None:
    data = bytearray(seal_incremental(pdf_factory(), seal_key, request(0)))
    at = data.index(b"595")  # the first page's original /MediaBox
    data[at : at + 3] = b"594"
    report = validate_pdf(bytes(data), [dev_ca.certificate])
    assert not report.valid
    assert not report.signatures[0].intact


def test_validate_inside_running_loop(
    pdf_factory: PdfFactory, seal_key: SealKey, dev_ca: DevCA
) -> None:
    data = seal_pdf(pdf_factory(), seal_key, request(0))

    async def inside() -> bool:
        return validate_pdf(data, [dev_ca.certificate]).valid

    assert asyncio.run(inside())


def test_seal_reference_inside_running_loop(pdf_factory: PdfFactory, seal_key: SealKey) -> None:
    async def inside() -> bytes:
        return seal_pdf_reference(pdf_factory(), seal_key, request(0))

    assert validate_pdf(asyncio.run(inside())).valid


def test_fast_path_keeps_scalar_entries_and_raw_names(
    seal_key: SealKey, dev_ca: DevCA, pdfsig: PdfsigRunner
) -> None:
    """The page dictionary the fast path rewrites keeps numbers, booleans and odd names.

    pikepdf hands direct scalars out as Python values (``/Rotate 0``, ``/StructParents
    3``) and non-UTF-8 names as surrogate escapes; both once crashed the fast path.
    """
    import pikepdf

    pdf = pikepdf.new()
    page = pdf.add_blank_page(page_size=(595, 842))
    page.obj.Rotate = 0
    page.obj.StructParents = 3
    page.obj.UserUnit = 1.0
    page.obj.Hidden = False
    out = io.BytesIO()
    pdf.save(out, object_stream_mode=pikepdf.ObjectStreamMode.disable)
    # a key written with a raw byte (ISO 32000-1 wants #xx), as some producers do
    data = out.getvalue().replace(b"/Hidden", b"/Hi\xe9den")  # same length: offsets hold
    sealed = seal_incremental(data, seal_key, request(0))
    with pikepdf.open(io.BytesIO(sealed)) as doc:
        page_dict = doc.pages[0].obj
        assert int(page_dict.Rotate) == 0 and int(page_dict.StructParents) == 3
        assert len(page_dict.Annots) == 1
    # the raw byte comes back escaped; §7.3.5 allows either case of hex digit
    assert re.search(rb"/Hi#[eE]9den false", sealed[len(data) :])
    assert validate_pdf(sealed, [dev_ca.certificate], fast=False).valid
    assert "Signature Validation: Signature is Valid." in pdfsig(sealed)
