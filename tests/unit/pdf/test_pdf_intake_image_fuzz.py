"""Mutated images (JPEG, PNG, TIFF, WebP): each one is
refused with a 4xx DomainError naming the file, or becomes a PDF that qpdf reads without
a warning and that medsign can seal and pyHanko validate. Bounded in time (issue 3:
"zero 500s, zero hangs")."""

from __future__ import annotations

import io
import os
import random
import time

import pikepdf
import pytest
from PIL import Image, ImageDraw

from medsign.errors import DomainError
from medsign.pdf import seal_pdf, validate_pdf
from medsign.pdf.intake import IntakeLimits, SourceFile, normalize
from medsign.pki import DevCA, SealKey
from tests.unit.pdf import intake_samples as samples
from tests.unit.pdf.intake_checks import mutate
from tests.unit.pdf.test_pdf_seal import request as seal_request


def _drawing(mode: str) -> Image.Image:
    """Something with edges, so the encoders' data is not all runs."""
    img = Image.new(mode, (120, 90), "white")
    draw = ImageDraw.Draw(img)
    for i in range(0, 120, 12):
        draw.line((i, 0, 120 - i, 90), fill="black" if mode in ("1", "L") else (i * 2, 40, 90))
    return img


def _encoded(img: Image.Image, fmt: str, **save: object) -> bytes:
    buf = io.BytesIO()
    img.save(buf, fmt, **save)
    return buf.getvalue()


SEEDS: list[tuple[str, bytes]] = [
    ("photo.jpg", _encoded(_drawing("RGB"), "JPEG", quality=80)),
    ("gray.jpg", _encoded(_drawing("L"), "JPEG", progressive=True)),
    ("scan.png", _encoded(_drawing("RGB"), "PNG")),
    ("palette.png", _encoded(_drawing("RGB").convert("P"), "PNG")),
    ("bits.png", _encoded(_drawing("1"), "PNG")),
    ("fax.tiff", _encoded(_drawing("1"), "TIFF", compression="group4")),
    ("pages.tiff", samples.tiff_pages(2)),
    ("lzw.tiff", _encoded(_drawing("RGB"), "TIFF", compression="tiff_lzw")),
    ("photo.webp", _encoded(_drawing("RGB"), "WEBP", quality=70)),
    ("lossless.webp", _encoded(_drawing("RGB"), "WEBP", lossless=True)),
]


@pytest.mark.timeout(120)
def test_mutated_images_are_taken_soundly_or_refused(seal_key: SealKey, dev_ca: DevCA) -> None:
    rng = random.Random(int(os.environ.get("MEDSIGN_FUZZ_SEED", "20261123")))
    deadline = time.monotonic() + float(os.environ.get("MEDSIGN_FUZZ_SECONDS", "12"))
    outcomes: dict[str, int] = {}
    sealed_checked = 0
    for i in range(int(os.environ.get("MEDSIGN_FUZZ_CASES", "600"))):
        if time.monotonic() > deadline:
            break
        name, seed = SEEDS[i % len(SEEDS)]
        mutant = mutate(seed, rng, edits=4, flips=0.6, cuts=0.2, cut=64, insert=16)
        try:
            result = normalize([SourceFile(name, None, mutant)], IntakeLimits())
        except DomainError as exc:
            assert 400 <= exc.status < 500 and exc.detail, exc
            assert name in exc.detail or exc.type_slug == "limit-exceeded", exc
            outcomes[exc.type_slug] = outcomes.get(exc.type_slug, 0) + 1
            continue
        outcomes["taken"] = outcomes.get("taken", 0) + 1
        with pikepdf.open(io.BytesIO(result.data)) as pdf:
            assert len(pdf.pages) == result.pages >= 1
            assert not pdf.get_warnings(), (name, pdf.get_warnings())
        if sealed_checked < 40:  # sealing and pyHanko are the slow part: a sample
            sealed = seal_pdf(result.data, seal_key, seal_request(0))
            assert validate_pdf(sealed, [dev_ca.certificate], fast=False).valid
            sealed_checked += 1
    assert outcomes.get("taken", 0) > 0 and len(outcomes) > 1, outcomes
