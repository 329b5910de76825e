"""The document viewer shared by every page that shows a document (docs/viewer.md).

A page that shows a document builds a :class:`Viewer` with :func:`viewer_for` and
renders the ``document_viewer`` macro of ``_viewer.html``; its own route for page
images (behind its own authorization: a signing link, a cabinet session, ...) answers
with :func:`medsign.web.page_images.page_image_response`.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass

from medsign.errors import InvalidDocument
from medsign.pdf.pages import PAGE_WIDTHS
from medsign.runtime import Runtime
from medsign.storage.ports import StorageError
from medsign.web.page_images import VERSION_CHARS

# Pages written into the HTML; viewer.js adds the rest from ``Viewer.more``, so a
# 2,000-page record does not make the page weigh 800 KB before the document.
PAGES_IN_HTML = 20


@dataclass(frozen=True)
class ViewerPage:
    """One page as the template lays it out (width and height reserve its box)."""

    number: int
    width: int
    height: int
    src: str
    srcset: str


@dataclass(frozen=True)
class Viewer:
    """Everything the ``document_viewer`` macro needs."""

    title: str
    pdf_url: str
    pages: list[ViewerPage]  # the first PAGES_IN_HTML
    total: int
    src_pattern: str  # a page's URL up to the width, with ``{n}`` for its number
    more: str  # sizes of the pages after ``pages``: runs "480x679*12,480x339*1"


def viewer_for(rt: Runtime, sha256: str, *, base: str, title: str, pdf_url: str) -> Viewer:
    """The viewer of document ``sha256`` whose page images are served under ``base``."""
    version = sha256[:VERSION_CHARS]
    small, large = PAGE_WIDTHS
    pattern = f"{base}/pages/{{n}}.webp?v={version}&w="
    try:
        sizes = [size.pixels(small) for size in rt.page_images.layout(sha256)]
    except (StorageError, InvalidDocument):
        # Storage is away (or PDFium cannot read the file): the page still works, with
        # the link to the PDF, which answers for itself (a 503 that says to retry).
        return Viewer(title=title, pdf_url=pdf_url, pages=[], total=0, src_pattern="", more="")
    pages = []
    for number, (width, height) in enumerate(sizes[:PAGES_IN_HTML], start=1):
        url = pattern.replace("{n}", str(number))
        srcset = f"{url}{small} {small}w, {url}{large} {large}w"
        pages.append(ViewerPage(number, width, height, src=f"{url}{small}", srcset=srcset))
    rt.page_images.warm(sha256)  # the first page is wanted next, at one of the widths
    return Viewer(
        title=title,
        pdf_url=pdf_url,
        pages=pages,
        total=len(sizes),
        src_pattern=pattern,
        more=_runs(sizes[PAGES_IN_HTML:]),
    )


def _runs(sizes: list[tuple[int, int]]) -> str:
    """``480x679*3,480x339*1`` for three portrait pages and then a landscape one."""
    return ",".join(f"{w}x{h}*{sum(1 for _ in run)}" for (w, h), run in itertools.groupby(sizes))
