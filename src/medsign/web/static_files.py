"""Static files, gzip-compressed once at start-up (never per request on the event loop).

The signing page must weigh little on a slow phone network (DESIGN.md "Patient
pages"): pdf.js shrinks from about 500 KB to 145 KB with gzip (RFC 9110 §8.4).
"""

from __future__ import annotations

import functools
import gzip
import hashlib
import mimetypes
from dataclasses import dataclass
from pathlib import Path

from fastapi import APIRouter, Request
from fastapi.responses import Response

COMPRESSIBLE = {".js", ".mjs", ".css", ".svg", ".html", ".txt", ".json", ".map"}


@dataclass(frozen=True)
class Asset:
    """One file's bytes, its gzip form and validators."""

    raw: bytes
    gz: bytes | None
    media_type: str
    etag: str


@functools.cache
def load_assets(root: Path) -> dict[str, Asset]:
    """Read every file under ``root`` and gzip the text ones (once per process)."""
    assets: dict[str, Asset] = {}
    for path in sorted(p for p in root.rglob("*") if p.is_file()):
        raw = path.read_bytes()
        media_type = mimetypes.guess_type(path.name)[0] or "application/octet-stream"
        if path.suffix == ".mjs":
            media_type = "text/javascript"
        gz = gzip.compress(raw, 6, mtime=0) if path.suffix in COMPRESSIBLE else None
        etag = '"' + hashlib.sha256(raw).hexdigest()[:20] + '"'
        assets[path.relative_to(root).as_posix()] = Asset(raw, gz, media_type, etag)
    return assets


def static_router(root: Path) -> APIRouter:
    """``GET /static/{path}`` from memory, gzip when the client accepts it."""
    assets = load_assets(root)
    router = APIRouter(include_in_schema=False)

    @router.get("/static/{path:path}")
    def static(path: str, request: Request) -> Response:
        asset = assets.get(path)
        if asset is None:
            return Response("Not found", status_code=404, media_type="text/plain")
        headers = {
            "ETag": asset.etag,
            "Cache-Control": "public, max-age=86400",
            "Vary": "Accept-Encoding",
        }
        if request.headers.get("if-none-match") == asset.etag:
            return Response(status_code=304, headers=headers)
        if asset.gz is not None and "gzip" in request.headers.get("accept-encoding", ""):
            headers["Content-Encoding"] = "gzip"
            return Response(asset.gz, media_type=asset.media_type, headers=headers)
        return Response(asset.raw, media_type=asset.media_type, headers=headers)

    return router
