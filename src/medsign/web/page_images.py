"""Page images of a document as HTTP responses, for every route that serves them
(the signing link's, the API's, a cabinet's), each behind its own authorization.

Images are named ``.../pages/{n}.webp?w=&v=`` (or ``.png``): ``v`` is the start of the
document's SHA-256, so a URL always names the same bytes and may be cached as immutable
(RFC 8246); a ``v`` that is not the document's current one is a 404 (the page was drawn
from an earlier revision). docs/viewer.md.
"""

from __future__ import annotations

import re

from fastapi import Request
from fastapi.responses import Response

from medsign.errors import NotFound
from medsign.pdf.pages import PAGE_WIDTHS
from medsign.runtime import Runtime

VERSION_CHARS = 16  # of the SHA-256 hex in ``v``: 64 bits name a revision well enough
IMMUTABLE = "private, max-age=31536000, immutable"  # RFC 9111 §5.2.2.7, RFC 8246
_NAME = re.compile(r"([1-9][0-9]{0,5})\.(webp|png)")
_WIDTH = re.compile(r"[0-9]{1,5}")


def page_image_response(request: Request, rt: Runtime, sha256: str, name: str) -> Response:
    """The page image ``name`` (``<n>.webp`` or ``<n>.png``) of document ``sha256``.

    Query: ``w`` (one of :data:`~medsign.pdf.pages.PAGE_WIDTHS`, default the smallest)
    and ``v`` (the version the URL was made for). NotFound for any other name, width
    or version; 304 when the client already holds it (RFC 9110 §13.1.2).
    """
    match = _NAME.fullmatch(name)
    width_text = request.query_params.get("w", str(PAGE_WIDTHS[0]))
    if match is None or _WIDTH.fullmatch(width_text) is None:
        raise NotFound("No such page image: pages are named <number>.webp or <number>.png.")
    version = request.query_params.get("v")
    if version is not None and version != sha256[:VERSION_CHARS]:
        raise NotFound("This page image is of an earlier revision; reload the page.")
    image = rt.page_images.image(sha256, int(match[1]), int(width_text), match[2])
    headers = {
        "ETag": image.etag,
        # Without ``v`` the same URL shows a later revision once another party signs.
        "Cache-Control": IMMUTABLE if version is not None else "private, no-cache",
    }
    if image.etag in request.headers.get("if-none-match", ""):
        return Response(status_code=304, headers=headers)
    return Response(image.data, media_type=image.media_type, headers=headers)
