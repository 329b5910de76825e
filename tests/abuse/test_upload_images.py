"""[harden] point 7: images inside an uploaded PDF obey MEDSIGN_MAX_IMAGE_PIXELS (a
384-megapixel image was accepted; a phone rendering it could run out of memory)."""

from __future__ import annotations

import io
import zlib

import pikepdf
from fastapi.testclient import TestClient

from medsign.runtime import Runtime
from tests.support.api import new_org


def _pdf_with_image(width: int, height: int) -> bytes:
    """A one-page PDF drawing one grey image XObject of ``width`` × ``height`` (the
    samples are not all there: the limit is judged from the dictionary, before decoding)."""
    pdf = pikepdf.new()
    page = pdf.add_blank_page(page_size=(595, 842))
    image = pdf.make_stream(
        zlib.compress(b"\x80" * 4096),
        Type=pikepdf.Name.XObject,
        Subtype=pikepdf.Name.Image,
        Width=width,
        Height=height,
        ColorSpace=pikepdf.Name.DeviceGray,
        BitsPerComponent=8,
        Filter=pikepdf.Name.FlateDecode,
    )
    page.obj.Resources = pikepdf.Dictionary(XObject=pikepdf.Dictionary(Im0=image))
    page.obj.Contents = pdf.make_stream(b"q 500 0 0 700 50 70 cm /Im0 Do Q")
    out = io.BytesIO()
    pdf.save(out)
    return out.getvalue()


def _post(client: TestClient, headers: dict[str, str], data: bytes) -> tuple[int, dict[str, str]]:
    res = client.post(
        "/api/v1/documents",
        headers=headers,
        files={"files": ("scan.pdf", data, "application/pdf")},
        data={"title": "Scan", "kind": "user_agreement"},
    )
    return res.status_code, res.json()


def test_a_384_megapixel_image_inside_a_pdf_is_refused(client: TestClient, rt: Runtime) -> None:
    _, headers = new_org(rt)
    status, body = _post(client, headers, _pdf_with_image(20_000, 19_200))
    assert status == 413, body
    assert body["limit"] == "max_image_pixels" and "20000 × 19200" in body["detail"]


def test_the_limit_is_the_setting(client: TestClient, rt: Runtime) -> None:
    _, headers = new_org(rt)
    data = _pdf_with_image(2000, 1000)  # 2 megapixels
    rt.settings.max_image_pixels = 1_000_000
    assert _post(client, headers, data)[0] == 413
    rt.settings.max_image_pixels = 3_000_000
    assert _post(client, headers, data)[0] == 201
