"""Page images of a signing request's document behind the device's bearer token (the
clinician app shows these before, and instead of, pdf.js): the layout, immutable
images, 304s, and every wrong device, page, width or revision refused."""

from __future__ import annotations

from typing import Any

from fastapi.testclient import TestClient

from medsign.runtime import Runtime
from tests.integration.test_clinician_devices import enrolled
from tests.support.api import new_org, upload
from tests.support.device import Device
from tests.support.pdfs import make_pdf
from tests.support.worker import drain


def _request_for(
    client: TestClient, rt: Runtime, headers: dict[str, str], pages: int
) -> tuple[str, Device, dict[str, Any]]:
    clinician_id, device = enrolled(client, rt, headers)
    doc = upload(client, headers, make_pdf(pages), kind="prescription", title="Prescription")
    signer = {"role": "clinician", "name": "Dr", "method": "device", "clinician_id": clinician_id}
    res = client.post(
        "/api/v1/envelopes", headers=headers, json={"document_id": doc["id"], "signers": [signer]}
    )
    assert res.status_code == 201, res.text
    drain(rt)
    [item] = device.requests(client)
    return clinician_id, device, item


def test_the_device_sees_its_request_as_page_images(client: TestClient, rt: Runtime) -> None:
    _, headers = new_org(rt)
    clinician_id, device, item = _request_for(client, rt, headers, pages=3)
    assert "sizes" not in item and "pages" not in item  # the list stays light

    res = client.get(f"/device/v1/requests/{item['id']}/pages", headers=device.headers)
    assert res.status_code == 200, res.text
    layout = res.json()
    assert layout["widths"] == [480, 960] and len(layout["sizes"]) == 3
    width, height = layout["sizes"][0]
    assert width == 480 and 670 < height < 690  # A4 at 480 px
    url = layout["image_url"].replace("{n}", "2").replace("{w}", "960")
    assert url.startswith(f"/device/v1/requests/{item['id']}/pages/2.webp?v=")

    image = client.get(url, headers=device.headers)
    assert image.status_code == 200, image.text
    assert image.headers["content-type"] == "image/webp"
    assert image.content[:4] == b"RIFF" and image.content[8:12] == b"WEBP"
    assert image.headers["cache-control"] == "private, max-age=31536000, immutable"
    again = client.get(url, headers={**device.headers, "If-None-Match": image.headers["etag"]})
    assert again.status_code == 304

    base = f"/device/v1/requests/{item['id']}/pages"
    for wrong in ("4.webp", "0.webp", "one.webp", "1.gif"):
        res = client.get(f"{base}/{wrong}", headers=device.headers)
        assert res.status_code == 404, (wrong, res.text)
    for query in ("w=700", "v=0000000000000000"):  # another width; an earlier revision
        assert client.get(f"{base}/1.webp?{query}", headers=device.headers).status_code == 404
    assert client.get(f"{base}/1.webp").status_code == 401
    assert client.get(base).status_code == 401

    # Another device (of another clinician) cannot see this request's pages.
    _, stranger = enrolled(client, rt, headers, name="Dr Other")
    for path in (base, f"{base}/1.webp", url):
        res = client.get(path, headers=stranger.headers)
        assert res.status_code == 404, res.text

    # A revoked device sees nothing any more.
    res = client.post(
        f"/api/v1/clinicians/{clinician_id}/devices/{device.device_id}/revoke",
        headers=headers,
        json={"reason": "key_compromise"},
    )
    assert res.status_code == 200, res.text
    res = client.get(url, headers=device.headers)
    assert res.status_code == 403 and res.json()["type"] == "/problems/device-revoked"
