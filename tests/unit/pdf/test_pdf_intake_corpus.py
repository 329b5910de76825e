"""Real third-party PDFs, and mutations of them: every one is either taken — and then a
seal over it validates in pyHanko *and* pdfsig — or refused with a 4xx DomainError.

The corpus (issue 3): PDF manuals from Debian documentation packages
(scripts/install-system.sh installs asymptote-doc, gnuplot-doc, python-reportlab-doc)
and the test files shipped in the pikepdf and pypdf source distributions
(scripts/fetch-test-corpus.py, pinned by SHA-256, into .cache/test-corpus).
"""

from __future__ import annotations

import os
import random
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from medsign.errors import DomainError
from medsign.pdf import seal_pdf, validate_pdf
from medsign.pdf.intake import IntakeLimits, NormalizedPdf, SourceFile, normalize
from medsign.pki import DevCA, SealKey
from tests.unit.pdf.intake_checks import mutate
from tests.unit.pdf.test_pdf_seal import request as seal_request

ROOT = Path(__file__).resolve().parents[3]
FETCHED = ROOT / ".cache" / "test-corpus"
SEARCH = [
    Path("/usr/share/doc"),
    Path("/usr/lib/libreoffice/share"),
    Path(sys.prefix) / "lib",
    FETCHED,
]
MAX_SIZE = 5_000_000
# What CI must find: the two sdists hold 133 PDFs and the doc packages 8.
CI_MINIMUM = 120
# pypdf's encryption samples (its tests/test_encryption.py): `qpdf --encrypt asdfzxcv ""`
# for the *-user-password files, `qpdf --encrypt foo bar` for r6-both-passwords.
PYPDF_PASSWORDS = {"r6-both-passwords.pdf": "foo"}
PYPDF_PASSWORD = "asdfzxcv"


def corpus() -> list[Path]:
    """Every PDF under SEARCH smaller than MAX_SIZE, in a stable order."""
    found: set[Path] = set()
    for root in SEARCH:
        if root.is_dir():
            found |= {
                p.resolve()
                for p in root.rglob("*.pdf")
                if p.is_file() and 0 < p.stat().st_size < MAX_SIZE
            }
    return sorted(found)


CORPUS = corpus()
Pdfsig = Callable[[bytes], str]


def test_corpus_is_there() -> None:
    """Under CI the corpus must be complete; locally a missing one is said, not hidden."""
    if len(CORPUS) < CI_MINIMUM:
        message = (
            f"only {len(CORPUS)} third-party PDFs found; run `bash scripts/install-system.sh`"
            " and `python3 scripts/fetch-test-corpus.py`"
        )
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)


def intake(data: bytes, name: str, password: str | None = None) -> NormalizedPdf | str:
    """The normalized PDF, or the refusal's slug (after checking it is a clear 4xx)."""
    try:
        return normalize([SourceFile(name, None, data)], IntakeLimits(), password=password)
    except DomainError as exc:
        assert 400 <= exc.status < 500, (name, exc)
        assert (exc.detail and name in exc.detail) or exc.type_slug == "limit-exceeded", exc
        return exc.type_slug


def seal_and_check(result: NormalizedPdf, key: SealKey, ca: DevCA, pdfsig: Pdfsig | None) -> None:
    """Seal the normalized PDF; pyHanko (and pdfsig when given) call it valid and trusted."""
    sealed = seal_pdf(result.data, key, seal_request(0))
    report = validate_pdf(sealed, [ca.certificate], fast=False)
    assert report.valid, report
    if pdfsig is not None:
        out = pdfsig(sealed)
        last = out.split("Signature #")[-1]
        assert "Signature Validation: Signature is Valid." in last, out
        assert "Certificate Validation: Certificate is Trusted." in last, out
        assert "Total document signed" in last, out
    if result.kept_as_is:
        assert sealed.startswith(result.data)


@pytest.mark.parametrize("path", CORPUS, ids=[p.name for p in CORPUS])
def test_real_pdf(path: Path, seal_key: SealKey, dev_ca: DevCA, pdfsig: Pdfsig) -> None:
    data = path.read_bytes()
    outcome = intake(data, path.name)
    if isinstance(outcome, str):
        if "user-password" in path.name or "both-passwords" in path.name:
            assert outcome == "encrypted-document"
            assert intake(data, path.name, password="not-it") == "wrong-password"
            password = PYPDF_PASSWORDS.get(path.name.split("__")[-1], PYPDF_PASSWORD)
            outcome = intake(data, path.name, password=password)
            assert not isinstance(outcome, str), outcome
            assert not outcome.kept_as_is  # stored decrypted
        else:
            return
    if path.name.endswith("-owner-password.pdf"):
        assert not outcome.kept_as_is  # permissions-only encryption is removed
    seal_and_check(outcome, seal_key, dev_ca, pdfsig)


KNOWN_TAKEN = [
    "asymptote.pdf",
    "gnuplot.pdf",
    "reportlab-userguide.pdf",
    "tests__resources__outlines.pdf",
    "resources__libreoffice-form.pdf",
    "resources__crazyones.pdf",
    "tests__resources__pdfa__tagged.pdf",
]


@pytest.mark.parametrize("name", KNOWN_TAKEN)
def test_ordinary_manuals_are_kept_byte_for_byte(name: str) -> None:
    """Well-formed files by pdfTeX, ReportLab, LibreOffice, ... are stored unchanged."""
    paths = [p for p in CORPUS if p.name == name]
    if not paths:
        test_corpus_is_there()
        pytest.skip(f"{name} is not on this machine")
    outcome = intake(paths[0].read_bytes(), name)
    assert not isinstance(outcome, str), outcome
    assert outcome.kept_as_is
    assert outcome.data == paths[0].read_bytes()


def test_mutated_real_pdfs_bounded(seal_key: SealKey, dev_ca: DevCA) -> None:
    """Byte flips, cuts and insertions of real files; at most ~20 s in all."""
    seeds = [p.read_bytes() for p in CORPUS if p.stat().st_size < 400_000][:12]
    if not seeds:
        test_corpus_is_there()
        pytest.skip("no corpus")
    rng = random.Random(int(os.environ.get("MEDSIGN_FUZZ_SEED", "20261123")))
    deadline = time.monotonic() + float(os.environ.get("MEDSIGN_FUZZ_SECONDS", "20"))
    outcomes: dict[str, int] = {}
    for i in range(int(os.environ.get("MEDSIGN_FUZZ_CASES", "400"))):
        if time.monotonic() > deadline:
            break
        outcome = intake(mutate(seeds[i % len(seeds)], rng), f"mutant{i}.pdf")
        if isinstance(outcome, str):
            outcomes[outcome] = outcomes.get(outcome, 0) + 1
        else:
            seal_and_check(outcome, seal_key, dev_ca, None)
            outcomes["taken"] = outcomes.get("taken", 0) + 1
    # Both answers occur: most mutants are still readable, some are refused.
    assert outcomes.get("taken", 0) > 0 and sum(outcomes.values()) > outcomes["taken"], outcomes
