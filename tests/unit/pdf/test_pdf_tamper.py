"""The tamper matrix: medsign's verdict, pdfsig's and pyHanko's agree on every file.

Agreement means, per signature: pdfsig's "Signature is Valid" <=> medsign's intact and
cryptographically valid; pdfsig's "Total document signed" <=> medsign's
covers_whole_document; pyHanko's bottom line <=> medsign's ``ok``. pdfsig does no
analysis of later revisions, so "only allowed changes after it" is pyHanko's call.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import io
import json
import subprocess
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest
from asn1crypto import x509 as asn1_x509
from cryptography.hazmat.primitives import serialization
from pyhanko.pdf_utils.reader import PdfFileReader
from pyhanko.sign.validation import async_validate_pdf_signature
from pyhanko_certvalidator import ValidationContext

from medsign.errors import EncryptedDocument, InvalidDocument
from medsign.pdf import SealRequest, SignatureBlock, seal_pdf_reference, validate_pdf
from medsign.pdf.incremental import seal_incremental
from medsign.pdf.timestamp import LocalTsa
from medsign.pdf.validate import ValidationReport
from medsign.pki import DevCA, SealKey, load_or_create_dev_ca
from tests.support.pdfs import encrypted_pdf
from tests.support.tamper import (
    append_page,
    flip_byte_in_signed_range,
    remove_last_signature,
    swap_content,
    truncate_to_revision,
    zero_last_signature,
)

PdfFactory = Callable[..., bytes]


@dataclass(frozen=True)
class Expect:
    """What medsign must say about a file."""

    ok: bool
    signatures: int
    reason: str | None = None  # a fragment of one of the reasons
    intact: tuple[bool, ...] | None = None
    changes_after: tuple[str, ...] | None = None
    trusted: tuple[bool, ...] | None = None


@pytest.fixture(scope="module")
def tsa(dev_ca: DevCA, tmp_path_factory: pytest.TempPathFactory) -> LocalTsa:
    return LocalTsa(dev_ca.issue_tsa(tmp_path_factory.mktemp("tsa")))


def _request(slot: int) -> SealRequest:
    name = ["Иванова Мария", "John Smith"][slot % 2]
    return SealRequest(
        block=SignatureBlock(
            signer_name=name,
            signed_at=dt.datetime.now(dt.UTC).replace(microsecond=0),
            method="SMS code",
            document_id="doc",
            verification_code="2345-6789",
            verify_url=None,
        ),
        evidence=json.dumps({"signer_name": name, "method": "sms_otp"}).encode(),
        field_name=f"medsign-{slot}",
        reason=None,
        location=None,
        slot=slot,
    )


@pytest.fixture(scope="module")
def files(
    pdf_factory: PdfFactory,
    seal_key: SealKey,
    tsa: LocalTsa,
    tmp_path_factory: pytest.TempPathFactory,
) -> dict[str, tuple[bytes, Expect]]:
    one = seal_incremental(pdf_factory(pages=2), seal_key, _request(0), tsa)
    two = seal_pdf_reference(one, seal_key, _request(1), tsa)
    two_xref = seal_incremental(
        seal_incremental(pdf_factory(pages=1, xref_stream=True), seal_key, _request(0), tsa),
        seal_key,
        _request(1),
        tsa,
    )
    rogue_dir = tmp_path_factory.mktemp("rogue")
    rogue_ca = load_or_create_dev_ca(rogue_dir)
    rogue = seal_incremental(
        pdf_factory(),
        rogue_ca.issue_seal(rogue_dir / "org", "rogue", "Rogue clinic"),
        _request(0),
        LocalTsa(rogue_ca.issue_tsa(rogue_dir / "tsa")),
    )
    later = "changed after this signature"
    return {
        "good-1": (one, Expect(True, 1, changes_after=("none",))),
        "good-2": (two, Expect(True, 2, changes_after=("allowed", "none"))),
        "good-2-xref-stream": (two_xref, Expect(True, 2, changes_after=("allowed", "none"))),
        "older-revision": (truncate_to_revision(two, 0), Expect(True, 1)),
        "byte-changed": (
            flip_byte_in_signed_range(two),
            Expect(False, 2, "signed bytes were changed", intact=(False, False)),
        ),
        "page-appended": (
            append_page(two),
            Expect(False, 2, later, changes_after=("not_allowed", "not_allowed")),
        ),
        "page-appended-xref-stream": (
            append_page(two_xref),
            Expect(False, 2, later, changes_after=("not_allowed", "not_allowed")),
        ),
        "content-swapped": (
            swap_content(two),
            Expect(False, 2, later, changes_after=("not_allowed", "not_allowed")),
        ),
        "signature-removed": (
            remove_last_signature(two),
            Expect(False, 1, "were removed", changes_after=("allowed",)),
        ),
        "signature-zeroed": (
            zero_last_signature(two),
            Expect(False, 2, "cannot be checked", intact=(True, False)),
        ),
        "unknown-ca": (
            rogue,
            Expect(False, 1, "does not chain to a trusted root", trusted=(False,)),
        ),
    }


def pyhanko_bottom_lines(data: bytes, dev_ca: DevCA) -> list[bool] | None:
    """pyHanko's bottom line per signature; None when it cannot list the signatures."""
    root = asn1_x509.Certificate.load(dev_ca.certificate.public_bytes(serialization.Encoding.DER))

    async def run() -> list[bool] | None:
        out = []
        try:
            embedded = PdfFileReader(io.BytesIO(data), strict=False).embedded_signatures
        except Exception:  # e.g. a /Contents that is not DER: the document fails as a whole
            return None
        for sig in embedded:
            ctx = ValidationContext(trust_roots=[root], allow_fetching=False)
            try:
                status = await async_validate_pdf_signature(sig, signer_validation_context=ctx)
            except Exception:  # pyHanko refuses to validate: not valid
                out.append(False)
                continue
            out.append(bool(status.bottom_line))
        return out

    return asyncio.run(run())


def pdfsig_lines(nss_db: str, data: bytes, tmp_path: Path) -> tuple[int, str]:
    path = tmp_path / "t.pdf"
    path.write_bytes(data)
    proc = subprocess.run(
        ["pdfsig", "-nssdir", nss_db, str(path)], capture_output=True, text=True, check=False
    )
    return proc.returncode, proc.stdout


def _per_signature(out: str) -> list[str]:
    return out.split("Signature #")[1:]


CASES = [
    "good-1",
    "good-2",
    "good-2-xref-stream",
    "older-revision",
    "byte-changed",
    "page-appended",
    "page-appended-xref-stream",
    "content-swapped",
    "signature-removed",
    "signature-zeroed",
    "unknown-ca",
]


@pytest.mark.parametrize("case", CASES)
def test_tamper_matrix(
    case: str,
    files: dict[str, tuple[bytes, Expect]],
    dev_ca: DevCA,
    nss_db: str,
    tmp_path: Path,
) -> None:
    data, expect = files[case]
    report: ValidationReport = validate_pdf(data, [dev_ca.certificate])
    assert len(report.signatures) == expect.signatures
    assert report.ok is expect.ok, report.reasons
    if expect.ok:
        assert report.reasons == ()
        assert all(s.timestamp_valid for s in report.signatures)
    else:
        assert expect.reason is not None
        assert any(expect.reason in r for r in report.reasons), report.reasons
    if expect.intact is not None:
        assert tuple(s.intact for s in report.signatures) == expect.intact
    if expect.changes_after is not None:
        assert tuple(s.changes_after for s in report.signatures) == expect.changes_after
    if expect.trusted is not None:
        assert tuple(s.trusted for s in report.signatures) == expect.trusted

    # pyHanko (the reference validator, used directly) agrees signature by signature,
    # or, where it refuses the whole file, on the document's verdict.
    lines = pyhanko_bottom_lines(data, dev_ca)
    if lines is None:
        assert not report.ok
    else:
        assert lines == [s.ok for s in report.signatures]

    # pdfsig (poppler + NSS) agrees on integrity, cryptography, coverage and trust.
    _code, out = pdfsig_lines(nss_db, data, tmp_path)
    blocks = _per_signature(out)
    assert len(blocks) == expect.signatures, out
    for block, sig in zip(blocks, report.signatures, strict=True):
        assert ("Signature is Valid." in block) == (sig.intact and sig.valid), (case, block)
        assert ("Total document signed" in block) == sig.covers_whole_document, (case, block)
    first = blocks[0]
    if report.signatures[0].intact and report.signatures[0].valid:
        assert ("Certificate is Trusted." in first) == report.signatures[0].trusted, first


@pytest.mark.parametrize(
    ("name", "data", "error"),
    [
        ("not-a-pdf", b"GIF89a\x01\x00 definitely not a PDF", InvalidDocument),
        ("empty", b"", InvalidDocument),
        ("header-only", b"%PDF-1.7\n" + b"\x00" * 100, InvalidDocument),
        ("encrypted", encrypted_pdf(), EncryptedDocument),
    ],
)
def test_unreadable_files_are_refused_with_a_reason(
    name: str,
    data: bytes,
    error: type[InvalidDocument],
    dev_ca: DevCA,
    nss_db: str,
    tmp_path: Path,
) -> None:
    with pytest.raises(error) as exc:
        validate_pdf(data, [dev_ca.certificate])
    assert exc.value.detail
    # Neither independent validator calls such a file validly signed.
    _code, out = pdfsig_lines(nss_db, data, tmp_path)
    assert "Signature is Valid." not in out
    try:
        lines = pyhanko_bottom_lines(data, dev_ca)
    except Exception:  # pyHanko cannot read it either
        lines = None
    assert not any(lines or [])


def test_truncated_signed_file_is_refused(
    files: dict[str, tuple[bytes, Expect]], dev_ca: DevCA
) -> None:
    data = files["good-2"][0]
    for cut in (len(data) // 3, len(data) - 40):
        try:
            report = validate_pdf(data[:cut], [dev_ca.certificate])
        except InvalidDocument:
            continue
        assert not report.ok
