"""Checks shared by the intake tests of each image format."""

from __future__ import annotations

import random
from collections.abc import Callable

from medsign.pdf import seal_pdf, validate_pdf
from medsign.pdf.intake import IntakeLimits, NormalizedPdf, SourceFile, normalize
from medsign.pki import DevCA, SealKey
from tests.support.pdfs import make_pdf
from tests.unit.pdf.test_pdf_seal import request as seal_request


def sealed_alone_and_glued(
    name: str,
    data: bytes,
    qpdf_check: Callable[[bytes], None],
    seal_key: SealKey,
    dev_ca: DevCA,
) -> NormalizedPdf:
    """``data`` alone, then after a 2-page PDF: both results pass ``qpdf --check`` and a
    seal over each validates. Returns the glued result for format-specific checks."""
    alone = normalize([SourceFile(name, None, data)], IntakeLimits())
    glued = normalize(
        [SourceFile("consent.pdf", None, make_pdf(pages=2)), SourceFile(name, None, data)],
        IntakeLimits(),
    )
    assert glued.pages == 2 + alone.pages
    for slot, result in enumerate((alone, glued)):
        qpdf_check(result.data)
        sealed = seal_pdf(result.data, seal_key, seal_request(slot))
        assert validate_pdf(sealed, [dev_ca.certificate]).valid
    return glued


def mutate(
    data: bytes,
    rng: random.Random,
    *,
    edits: int = 6,
    flips: float = 0.5,
    cuts: float = 0.3,
    cut: int = 4096,
    insert: int = 64,
) -> bytes:
    """``data`` with 1 to ``edits`` random edits: a byte flipped (probability ``flips``),
    up to ``cut`` bytes cut out (``cuts``), or up to ``insert`` random bytes inserted."""
    out = bytearray(data)
    for _ in range(rng.randint(1, edits)):
        if not out:
            break
        at = rng.randrange(len(out))
        choice = rng.random()
        if choice < flips:
            out[at] = rng.randrange(256)
        elif choice < flips + cuts:
            del out[at : at + rng.randint(1, cut)]
        else:
            out[at:at] = rng.randbytes(rng.randint(1, insert))
    return bytes(out)
