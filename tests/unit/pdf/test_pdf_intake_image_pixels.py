"""MEDSIGN_MAX_IMAGE_PIXELS inside uploaded PDFs: inline images (BI ... ID ... EI) in
every kind of content stream, and image XObjects reached only through an annotation's
appearance stream, are judged from their declared size before anything is decoded."""

from __future__ import annotations

import io
import re
import shutil
import subprocess
import zlib
from pathlib import Path

import pikepdf
import pytest

from medsign import errors
from medsign.pdf.intake import (
    IntakeLimits,
    NormalizedPdf,
    SourceFile,
    normalize,
    set_pdf_parser_limits,
)
from tests.support.pdfs import make_pdf
from tests.unit.pdf import intake_samples as samples

BIG = (20_000, 19_200)  # 384 megapixels, a few bytes compressed


def intake(data: bytes, max_pixels: int = 100_000_000, **limits: int) -> NormalizedPdf:
    return normalize(
        [SourceFile("scan.pdf", None, data)],
        IntakeLimits(max_image_pixels=max_pixels, **limits),  # type: ignore[arg-type]
    )


def refused(data: bytes, max_pixels: int = 100_000_000) -> errors.LimitExceeded:
    with pytest.raises(errors.LimitExceeded) as exc:
        intake(data, max_pixels)
    assert exc.value.status == 413 and exc.value.extra["limit"] == "max_image_pixels"
    return exc.value


WHERE = ["page", "form", "annotation", "pattern", "type3"]


@pytest.mark.parametrize("where", WHERE)
def test_inline_image_over_the_limit_is_refused(where: str) -> None:
    exc = refused(samples.inline_image_pdf(*BIG, where=where))
    assert "inline image of 20000 × 19200 pixels" in exc.detail and "scan.pdf" in exc.detail


@pytest.mark.parametrize("where", WHERE)
def test_inline_image_within_the_limit_is_kept(where: str, tmp_path: Path) -> None:
    """The same files with a 300 × 200 image are sound and kept byte for byte, and the
    image is really there where poppler's pdfimages looks (page content, form XObjects,
    annotation appearances), so the refusal above is not of a file no viewer draws."""
    data = samples.inline_image_pdf(300, 200, where=where)
    result = intake(data)
    assert result.kept_as_is and result.data == data
    refused(data, max_pixels=300 * 200 - 1)  # the limit is the setting
    if where in ("pattern", "type3"):
        return  # pdfimages lists no images of patterns or Type 3 glyphs
    pdfimages = shutil.which("pdfimages")
    if pdfimages is None:
        pytest.skip("pdfimages is not installed (poppler-utils)")
    path = tmp_path / "in.pdf"
    path.write_bytes(data)
    listing = subprocess.run([pdfimages, "-list", str(path)], capture_output=True, text=True)
    assert re.search(r" 300 +200 .*\[inline\]", listing.stdout), listing.stdout


@pytest.mark.parametrize(("keys", "size"), [("Width Height", BIG), ("W H", (20_000.0, 19_200.5))])
def test_inline_image_keys_in_full_and_sizes_as_reals(keys: str, size: tuple[float, float]) -> None:
    """Table 93 allows /Width for /W; poppler and pdf.js read a real size as an integer."""
    data = samples.inline_image_pdf(size[0], size[1], keys=keys)  # type: ignore[arg-type]
    assert "20000 × 19200" in refused(data).detail


def test_inline_image_qpdf_cannot_close_is_still_judged() -> None:
    """No EI at the end of the stream: qpdf's parser drops the image (with a warning),
    viewers may still draw it; the plain search finds its dictionary."""
    pdf = pikepdf.open(io.BytesIO(make_pdf()))
    pdf.pages[0].obj.Contents = pdf.make_stream(
        b"q 100 0 0 100 72 600 cm BI /W 20000 /H 19200 /CS /G /BPC 8 /F /Fl ID "
        + zlib.compress(b"\x80" * 64)
    )
    out = io.BytesIO()
    pdf.save(out)
    assert "20000 × 19200" in refused(out.getvalue()).detail


def test_bi_inside_a_text_string_is_not_an_image() -> None:
    """'BI' in a string shown as text is no operator: qpdf's parser tells them apart."""
    pdf = pikepdf.open(io.BytesIO(make_pdf()))
    pdf.pages[0].obj.Contents = pdf.make_stream(
        b"BT /F1 12 Tf 72 700 Td (BI stands for Bureau of Investigation) Tj ET"
    )
    out = io.BytesIO()
    pdf.save(out)
    assert intake(out.getvalue(), max_pixels=1).kept_as_is


def test_image_xobject_reached_only_through_an_annotation_is_refused() -> None:
    data = samples.annotation_image_pdf(*BIG)
    assert "an image of 20000 × 19200 pixels" in refused(data).detail
    assert intake(samples.annotation_image_pdf(300, 200)).kept_as_is


def test_image_xobject_with_a_real_size_is_refused() -> None:
    """/Width 20000.0: poppler and pdf.js draw it as 20000 wide; it is judged so."""
    pdf = pikepdf.open(io.BytesIO(samples.annotation_image_pdf(*BIG)))
    for obj in pdf.objects:
        if isinstance(obj, pikepdf.Stream) and obj.get("/Subtype") == pikepdf.Name.Image:
            obj.Width = pikepdf.Object.parse(b"20000.0")
    out = io.BytesIO()
    pdf.save(out)
    assert "20000 × 19200" in refused(out.getvalue()).detail


def test_content_stream_bomb_in_a_sound_file_is_a_named_limit() -> None:
    """Content streams are decoded to find inline images: one that inflates past
    MEDSIGN_MAX_PDF_STREAM_BYTES is refused with that limit named."""
    pdf = pikepdf.open(io.BytesIO(make_pdf()))
    pdf.pages[0].obj.Contents = pdf.make_stream(
        zlib.compress(b"0 0 m\n" * 400_000), Filter=pikepdf.Name.FlateDecode
    )
    out = io.BytesIO()
    pdf.save(out, compress_streams=False)
    try:
        with pytest.raises(errors.LimitExceeded) as exc:
            intake(out.getvalue(), max_pdf_stream_bytes=1_000_000)
        assert exc.value.extra["limit"] == "max_pdf_stream_bytes"
    finally:  # qpdf's limits are process-wide
        set_pdf_parser_limits(IntakeLimits().max_pdf_nesting, IntakeLimits().max_pdf_stream_bytes)
