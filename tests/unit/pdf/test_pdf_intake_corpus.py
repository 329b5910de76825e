"""Real third-party PDFs found on this machine, and mutations of them: every one is either
taken (and then a seal over it validates in pyHanko) or refused with a 4xx DomainError."""

from __future__ import annotations

import random
import sys
import time
from pathlib import Path

import pytest

from medsign.errors import DomainError
from medsign.pdf import seal_pdf, validate_pdf
from medsign.pdf.intake import IntakeLimits, SourceFile, normalize
from medsign.pki import DevCA, SealKey
from tests.unit.pdf.test_pdf_seal import request as seal_request

# PDFs that packages install: Debian documentation, LibreOffice, Python distributions.
SEARCH = [Path("/usr/share/doc"), Path("/usr/lib/libreoffice/share"), Path(sys.prefix) / "lib"]
MAX_SIZE = 5_000_000


def corpus() -> list[Path]:
    found: list[Path] = []
    for root in SEARCH:
        if root.is_dir():
            found += [p for p in root.rglob("*.pdf") if p.is_file() and p.stat().st_size < MAX_SIZE]
    return sorted(found)[:40]


CORPUS = corpus()


def check(data: bytes, name: str, key: SealKey, ca: DevCA) -> str:
    """'taken' (and sealed + validated) or the refusal's slug."""
    try:
        result = normalize([SourceFile(name, None, data)], IntakeLimits())
    except DomainError as exc:
        assert 400 <= exc.status < 500 and exc.detail
        return exc.type_slug
    sealed = seal_pdf(result.data, key, seal_request(0))
    report = validate_pdf(sealed, [ca.certificate])
    assert report.valid, (name, report)
    return "taken"


@pytest.mark.skipif(not CORPUS, reason="no PDF files from packages found on this machine")
@pytest.mark.parametrize("path", CORPUS, ids=[p.name for p in CORPUS])
def test_real_pdfs(path: Path, seal_key: SealKey, dev_ca: DevCA) -> None:
    check(path.read_bytes(), path.name, seal_key, dev_ca)


@pytest.mark.skipif(not CORPUS, reason="no PDF files from packages found on this machine")
def test_mutated_real_pdfs_bounded(seal_key: SealKey, dev_ca: DevCA) -> None:
    """Byte flips, cuts and insertions; at most ~15 s in all."""
    rng = random.Random(20261123)
    seeds = [p.read_bytes() for p in CORPUS[:4]]
    deadline = time.monotonic() + 15
    outcomes: dict[str, int] = {}
    for i in range(200):
        if time.monotonic() > deadline:
            break
        data = bytearray(seeds[i % len(seeds)])
        for _ in range(rng.randint(1, 6)):
            at = rng.randrange(len(data))
            choice = rng.random()
            if choice < 0.5:
                data[at] = rng.randrange(256)
            elif choice < 0.8:
                del data[at : at + rng.randint(1, 4096)]
            else:
                data[at:at] = rng.randbytes(rng.randint(1, 64))
        slug = check(bytes(data), f"mutant{i}.pdf", seal_key, dev_ca)
        outcomes[slug] = outcomes.get(slug, 0) + 1
    assert outcomes
