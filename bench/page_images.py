"""Document viewer benchmark: drawing page images and serving them from the cache.

Run ``.venv/bin/python bench/page_images.py`` (``--quick`` for a short run). For a text
page (tests/support/pdfs.make_text_pdf) and an image-heavy page, at each width the
viewer uses: median milliseconds to draw and encode a page (PDFium + WebP), the size of
the image and the median milliseconds to serve it again from the disk cache; then the
layout (every page's size) of a 2,000-page document. docs/viewer.md.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from medsign.documents.page_images import PageImages
from medsign.pdf.pages import PAGE_WIDTHS, render_page
from medsign.storage.files import FileStore
from tests.support.pdfs import make_pdf, make_photo_pdf, make_text_pdf


def median_ms(times: list[float]) -> float:
    """The median of ``times`` (seconds) in milliseconds."""
    return statistics.median(times) * 1000


def main() -> None:
    """Run the benchmark and print its table."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true", help="3 runs per case instead of 11")
    runs = 3 if parser.parse_args().quick else 11
    render_page(make_pdf(), 1, PAGE_WIDTHS[0])  # PDFium loads its fonts once per process
    with tempfile.TemporaryDirectory() as tmp:
        files = FileStore(Path(tmp) / "files")
        for label, pdf in (("text page", make_text_pdf(pages=1)), ("photo page", make_photo_pdf())):
            sha256 = files.put(pdf)
            for width in PAGE_WIDTHS:
                draws = []
                for _ in range(runs):
                    start = time.perf_counter()
                    data = render_page(pdf, 1, width)
                    draws.append(time.perf_counter() - start)
                cache = PageImages(files, Path(tmp) / "cache")
                cache.image(sha256, 1, width)
                hits = []
                for _ in range(runs):
                    start = time.perf_counter()
                    cache.image(sha256, 1, width)
                    hits.append(time.perf_counter() - start)
                print(
                    f"{label:10} {width:4} px  draw {median_ms(draws):7.1f} ms  "
                    f"{len(data) / 1024:6.1f} KB  from cache {median_ms(hits):6.2f} ms"
                )
        long = make_pdf(pages=2000)
        sha256 = files.put(long)
        start = time.perf_counter()
        pages = len(PageImages(files, Path(tmp) / "cache2").layout(sha256))
        took = (time.perf_counter() - start) * 1000
        print(f"layout of a {pages}-page document: {took:.0f} ms (once; then read from disk)")


if __name__ == "__main__":
    main()
