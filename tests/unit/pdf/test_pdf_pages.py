"""Page images drawn by PDFium (medsign.pdf.pages): sizes, bounds, refusals."""

from __future__ import annotations

import io

import pikepdf
import pytest
from PIL import Image

from medsign.errors import NotFound
from medsign.pdf.pages import MAX_PAGE_PIXELS, PAGE_WIDTHS, PageSize, page_sizes, render_page
from tests.support.pdfs import make_pdf, make_photo_pdf, make_text_pdf


def _pdf(*boxes: tuple[float, float, int]) -> bytes:
    """Pages of the given width, height (points) and /Rotate, each with a black box."""
    pdf = pikepdf.new()
    for width, height, rotate in boxes:
        pdf.pages.append(
            pikepdf.Page(
                pikepdf.Dictionary(
                    Type=pikepdf.Name.Page,
                    MediaBox=[0, 0, width, height],
                    Rotate=rotate,
                    Contents=pdf.make_stream(b"0 g 0 0 50 50 re f"),
                )
            )
        )
    out = io.BytesIO()
    pdf.save(out)
    return out.getvalue()


def _image(data: bytes) -> Image.Image:
    image = Image.open(io.BytesIO(data))
    image.load()
    return image


def test_sizes_are_as_displayed_with_rotation() -> None:
    sizes = page_sizes(_pdf((595, 842, 0), (595, 842, 90), (200, 100, 270)))
    assert sizes == [PageSize(595, 842), PageSize(842, 595), PageSize(100, 200)]
    landscape = _image(render_page(_pdf((595, 842, 90)), 1, 480))
    assert landscape.size == PageSize(842, 595).pixels(480) == (480, 339)


@pytest.mark.parametrize("width", PAGE_WIDTHS)
def test_a_page_is_drawn_at_exactly_the_size_the_viewer_reserves(width: int) -> None:
    data = render_page(make_text_pdf(pages=1), 1, width)
    image = _image(data)
    assert image.format == "WEBP" and image.size == PageSize(595, 842).pixels(width)
    darkest, lightest = image.convert("L").getextrema()
    assert darkest == 0 or (isinstance(darkest, int) and darkest < 40)  # text is there
    assert lightest == 255  # on a white page


def test_a_very_tall_page_stays_within_the_pixel_limit() -> None:
    tall = PageSize(595, 14_400)  # the largest page PDF 32000-1 Annex C allows, 1:24
    width, height = tall.pixels(960)
    assert width * height <= MAX_PAGE_PIXELS and width < 960
    assert abs(width / height - 595 / 14_400) < 0.01  # narrower, not squashed
    image = _image(render_page(_pdf((595, 14_400, 0)), 1, 960))
    assert image.size == (width, height)


@pytest.mark.parametrize(
    ("number", "width", "fmt"),
    [(0, 480, "webp"), (3, 480, "webp"), (-1, 480, "webp"), (1, 500, "webp"), (1, 480, "gif")],
)
def test_pages_widths_and_formats_outside_the_bounds_are_not_found(
    number: int, width: int, fmt: str
) -> None:
    with pytest.raises(NotFound):
        render_page(make_pdf(pages=2), number, width, fmt)


def test_png_for_browsers_without_webp() -> None:
    image = _image(render_page(make_pdf(pages=1), 1, 480, "png"))
    assert image.format == "PNG" and image.size == (480, 679)


def test_text_is_lossless_and_a_noisy_scan_lossy() -> None:
    """WebP's RIFF chunk says which: ``VP8L`` lossless, ``VP8 `` lossy (RFC 9649)."""
    text = render_page(make_text_pdf(pages=1), 1, 960)
    scan = render_page(make_photo_pdf(), 1, 960)
    assert text[12:16] == b"VP8L" and scan[12:16] == b"VP8 "
    assert len(text) < 60_000
