"""The fast verifier agrees with pyHanko (medsign.pdf.validate's reference path) on every
good and tampered file of the tamper matrix, and takes over the files it should."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from medsign.pdf import seal_pdf_reference, validate_pdf
from medsign.pdf.fastverify import clear_cache, fast_validate
from medsign.pdf.incremental import seal_incremental
from medsign.pdf.timestamp import LocalTsa
from medsign.pdf.validate import ValidationReport
from medsign.pki import DevCA, SealKey
from tests.support.tamper import flip_byte_in_signed_range, zero_last_signature
from tests.unit.pdf.test_pdf_tamper import CASES, _request, files, tsa  # noqa: F401

PdfFactory = Callable[..., bytes]


def verdict(report: ValidationReport) -> tuple[Any, ...]:
    """Everything a report says, for comparison."""
    return (
        report.ok,
        report.valid,
        report.removed_signatures,
        report.reasons,
        tuple(
            (
                s.field_name,
                s.signer,
                s.method,
                s.signed_at,
                s.intact,
                s.valid,
                s.trusted,
                s.ok,
                s.covers_whole_document,
                s.changes_after,
                s.timestamp_valid,
                s.timestamp_at,
                s.issuer,
                s.reasons,
                s.evidence,
            )
            for s in report.signatures
        ),
    )


@pytest.fixture(scope="module")
def single_files(
    pdf_factory: PdfFactory,
    seal_key: SealKey,
    tsa: LocalTsa,  # noqa: F811
) -> dict[str, bytes]:
    one = seal_incremental(pdf_factory(pages=1), seal_key, _request(0), tsa)
    return {
        "single": one,
        "single-byte-changed": flip_byte_in_signed_range(one),
        "single-zeroed": zero_last_signature(one),
        "single-pyhanko": seal_pdf_reference(pdf_factory(pages=1), seal_key, _request(0), tsa),
        "single-no-timestamp": seal_incremental(pdf_factory(), seal_key, _request(0), None),
    }


def _compare(data: bytes, dev_ca: DevCA, issued: bool) -> bool:
    """Assert agreement; return whether the fast path answered (not a fallback)."""
    reference = validate_pdf(data, [dev_ca.certificate], fast=False)
    clear_cache()  # once with a cold chain cache, once warm
    for _ in range(2):
        fast = fast_validate(data, [dev_ca.certificate], issued=issued)
        if fast is None:
            return False
        assert verdict(fast) == verdict(reference)
    assert verdict(validate_pdf(data, [dev_ca.certificate], issued=issued)) == verdict(reference)
    return True


@pytest.mark.parametrize("case", CASES)
def test_fast_verifier_agrees_on_the_tamper_matrix(
    case: str,
    files: dict[str, tuple[bytes, Any]],  # noqa: F811
    dev_ca: DevCA,
) -> None:
    data, _expect = files[case]
    answered = _compare(data, dev_ca, issued=False)
    # Single-signature files are the fast path's own; several signatures need either
    # pyHanko's difference analysis or the caller's word that medsign issued the file.
    assert answered == (case in ("good-1", "older-revision", "unknown-ca")), case
    if case.startswith("good"):
        assert _compare(data, dev_ca, issued=True)


@pytest.mark.parametrize(
    "case",
    ["single", "single-byte-changed", "single-zeroed", "single-pyhanko", "single-no-timestamp"],
)
def test_fast_verifier_agrees_on_single_signature_files(
    case: str, single_files: dict[str, bytes], dev_ca: DevCA
) -> None:
    answered = _compare(single_files[case], dev_ca, issued=False)
    if case in ("single", "single-byte-changed", "single-no-timestamp"):
        assert answered, case
    if case == "single-zeroed":
        assert not answered  # unreadable CMS: pyHanko's verdict


def test_fast_verifier_declines_what_is_not_a_medsign_pdf(dev_ca: DevCA) -> None:
    for data in (b"", b"GIF89a", b"%PDF-1.7\n" + b"\x00" * 100):
        assert fast_validate(data, [dev_ca.certificate]) is None
