"""The cabinet's documents in the document viewer (docs/viewer.md; issue [cabinet]
point 8) on SQLite and PostgreSQL: a clinic's document, the user agreement and an issued
copy of records show page images, served only to the account that may open the PDF."""

from __future__ import annotations

import hashlib
import re
import threading

import httpx
from fastapi.testclient import TestClient
from httpx2 import Response
from sqlalchemy import select

from medsign.cabinet.models import PatientLink
from medsign.runtime import Runtime
from medsign.web.app import create_app
from tests.integration.test_cabinet_visits import attached
from tests.support.api import create_envelope, new_org, patient, upload
from tests.support.cabinet import hidden, log_in, put_patient
from tests.support.pdfs import make_pdf
from tests.support.threaded import serve_in_thread
from tests.support.worker import drain

PHONE = "+79991234567"
IMG = re.compile(r"<img class=\"page\"[^>]*>")
IMMUTABLE = "private, max-age=31536000, immutable"


def _images(html: str) -> list[dict[str, str]]:
    tags = IMG.findall(html)
    return [
        {k: v.replace("&amp;", "&") for k, v in re.findall(r'([a-z-]+)="([^"]*)"', tag)}
        for tag in tags
    ]


def _stranger(rt: Runtime, phone: str | None = None) -> TestClient:
    """Another device: logged in as ``phone`` (another account), or not at all."""
    other = TestClient(create_app(runtime=rt, migrate=False), follow_redirects=False)
    if phone is not None:
        log_in(other, rt, phone)
    return other


def _cabinet_document(client: TestClient, rt: Runtime, pages: int = 3) -> tuple[str, str]:
    """Logged in and attached; a document of ``pages`` pages to sign in the cabinet:
    (the signer's id, the document's SHA-256)."""
    _, headers = new_org(rt, "Clinic View")
    attached(client, rt, headers, "V-1")
    doc = upload(client, headers, make_pdf(pages=pages), title="Clinic rules")
    env = create_envelope(
        client, headers, doc["id"], patient(method="cabinet", patient_mis_id="V-1", phone=PHONE)
    )
    return str(env["signers"][0]["id"]), str(doc["sha256"])


def _not_found(res: Response) -> bool:
    return res.status_code == 404 and res.headers["content-type"] == "application/problem+json"


def test_the_document_page_shows_page_images_and_keeps_the_sign_form(
    client: TestClient, rt: Runtime
) -> None:
    signer_id, _ = _cabinet_document(client, rt, pages=3)
    page = client.get(f"/cabinet/documents/{signer_id}?lang=en")
    assert page.status_code == 200, page.text
    html = page.text
    images = _images(html)
    assert [i["alt"] for i in images] == [f"Page {n} of 3" for n in (1, 2, 3)]
    base = f"/cabinet/documents/{signer_id}/pages/"
    assert all(i["src"].startswith(base) and " 960w" in i["srcset"] for i in images)
    assert images[0]["fetchpriority"] == "high" and images[1]["loading"] == "lazy"
    assert 'src="/static/viewer.js"' in html and "pdf.min.mjs" not in html
    assert f'data-pdf="/cabinet/documents/{signer_id}/document.pdf"' in html
    assert ">Sign<" in html and 'name="shown_sha256"' in html  # the form stays
    # strict CSP: no inline script or style on the page
    csp = page.headers["content-security-policy"]
    assert "'unsafe-inline'" not in csp.split("script-src")[1].split(";")[0]
    assert re.search(r"<script(?![^>]*\bsrc=)(?![^>]*application/json)", html) is None
    assert " style=" not in html and "<style" not in html
    assert page.headers["cache-control"] == "private, no-store"
    fa = client.get(f"/cabinet/documents/{signer_id}?lang=fa").text
    assert _images(fa)[1]["alt"] == "صفحه 2 از 3"


def test_page_images_go_to_the_owner_only(client: TestClient, rt: Runtime) -> None:
    signer_id, _ = _cabinet_document(client, rt, pages=2)
    src = _images(client.get(f"/cabinet/documents/{signer_id}").text)[0]["src"]
    res = client.get(src)
    assert res.status_code == 200 and res.headers["content-type"] == "image/webp"
    assert res.headers["cache-control"] == IMMUTABLE  # as the signing page's (docs/viewer.md)
    assert client.get(src, headers={"If-None-Match": res.headers["etag"]}).status_code == 304
    assert client.get(src.replace("w=480", "w=960")).status_code == 200
    for bad in ("pages/3.webp", "pages/0.webp", "pages/1.gif", "pages/1.webp?v=00000000"):
        assert _not_found(client.get(f"/cabinet/documents/{signer_id}/{bad}")), bad
    # logged out, another patient's account, a signer id that is nobody's: the same 404
    assert _not_found(_stranger(rt).get(src))
    assert _not_found(_stranger(rt, "+79990001111").get(src))
    assert _not_found(client.get(src.replace(signer_id, "0" * 36)))
    # detached from the clinic: the document and its pages are gone from the cabinet
    with rt.transaction() as session:
        link = session.scalars(select(PatientLink)).one()
    res = client.post(f"/cabinet/links/{link.id}/detach", data=hidden(client))
    assert res.status_code == 200, res.text
    assert _not_found(client.get(src))
    assert client.get(f"/cabinet/documents/{signer_id}").status_code == 404
    assert client.get(f"/cabinet/documents/{signer_id}/document.pdf").status_code == 404


def test_a_signed_document_shows_the_signed_copys_pages(client: TestClient, rt: Runtime) -> None:
    signer_id, _ = _cabinet_document(client, rt, pages=1)
    before = _images(client.get(f"/cabinet/documents/{signer_id}").text)[0]["src"]
    fields = hidden(client, f"/cabinet/documents/{signer_id}?lang=en")
    assert client.post(f"/cabinet/documents/{signer_id}/sign", data=fields).status_code == 303
    drain(rt)
    signed = client.get(f"/cabinet/documents/{signer_id}/signed.pdf")
    assert signed.status_code == 200 and signed.content.startswith(b"%PDF")
    version = hashlib.sha256(signed.content).hexdigest()[:16]
    page = client.get(f"/cabinet/documents/{signer_id}?lang=en").text
    assert "Download the signed PDF" in page
    after = _images(page)[0]["src"]
    assert f"v={version}&" in after and after != before
    assert client.get(after).status_code == 200
    assert _not_found(client.get(before))  # an earlier revision: reload


def test_a_storage_outage_leaves_the_link_to_the_pdf(client: TestClient, rt: Runtime) -> None:
    signer_id, sha256 = _cabinet_document(client, rt, pages=2)
    stored = rt.settings.data_dir / "files" / sha256[:2] / sha256
    kept = stored.read_bytes()
    stored.unlink()  # as if storage were away
    page = client.get(f"/cabinet/documents/{signer_id}?lang=en")
    assert page.status_code == 200 and _images(page.text) == []
    assert f'href="/cabinet/documents/{signer_id}/document.pdf"' in page.text
    assert ">Sign<" in page.text
    stored.write_bytes(kept)
    assert len(_images(client.get(f"/cabinet/documents/{signer_id}").text)) == 2


def test_concurrent_first_requests_for_a_page_draw_it_once(rt: Runtime) -> None:
    """Real parallel requests (uvicorn, threads) for one page image of a cabinet
    document, on each database: every one answered with the same image, drawn once."""
    app = create_app(runtime=rt, migrate=False)
    with TestClient(app, follow_redirects=False) as client:
        signer_id, sha256 = _cabinet_document(client, rt, pages=1)
        cookie = {"Cookie": f"medsign_cabinet={client.cookies['medsign_cabinet']}"}
    path = f"/cabinet/documents/{signer_id}/pages/1.webp?v={sha256[:16]}&w=960"
    results: list[httpx.Response] = []
    errors: list[BaseException] = []
    barrier = threading.Barrier(8)
    with serve_in_thread(app) as base:

        def fetch(headers: dict[str, str]) -> None:
            try:
                barrier.wait()
                results.append(httpx.get(base + path, headers=headers, timeout=30))
            except BaseException as exc:  # reported below, in the test's thread
                errors.append(exc)

        threads = [threading.Thread(target=fetch, args=(cookie,)) for _ in range(6)]
        threads += [threading.Thread(target=fetch, args=({},)) for _ in range(2)]  # no session
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(60)
    assert not errors, errors
    statuses = sorted(r.status_code for r in results)
    assert statuses == [200] * 6 + [404] * 2, statuses
    assert len({r.content for r in results if r.status_code == 200}) == 1
    assert rt.page_images.renders == 1


# -- the user agreement ---------------------------------------------------------------


def test_the_user_agreement_reads_in_the_viewer_before_accept(
    client: TestClient, rt: Runtime
) -> None:
    org_id, headers = new_org(rt, "Clinic Terms")
    terms = upload(client, headers, make_pdf(pages=2), title="Terms of the cabinet")
    res = client.put(
        "/api/v1/cabinet/settings",
        headers=headers,
        json={"user_agreement_document_id": terms["id"]},
    )
    assert res.status_code == 200, res.text
    put_patient(client, headers, "T-1", phone=PHONE)
    log_in(client, rt, PHONE)
    url = f"/cabinet/agreements/{org_id}"
    assert f'href="{url}?lang=en"' in client.get("/cabinet?lang=en").text
    page = client.get(url + "?lang=en")
    assert page.status_code == 200, page.text
    images = _images(page.text)
    assert [i["alt"] for i in images] == ["Page 1 of 2", "Page 2 of 2"]
    assert ">Clinic Terms: user agreement<" in page.text and ">Accept<" in page.text
    assert f'data-pdf="{url}/agreement.pdf"' in page.text
    src = images[0]["src"]
    assert src.startswith(f"{url}/pages/1.webp?v={terms['sha256'][:16]}&")
    res = client.get(src)
    assert res.status_code == 200 and res.headers["cache-control"] == IMMUTABLE
    assert _not_found(_stranger(rt).get(src))
    stranger = _stranger(rt, "+79990001111")
    assert _not_found(stranger.get(src))
    assert stranger.get(url).status_code == 404
    assert _not_found(client.get(src.replace(org_id, "0" * 36)))
    fields = hidden(client, url + "?lang=en")
    res = client.post(f"{url}/accept", data=fields)
    assert res.status_code == 200 and "the agreement with Clinic Terms is accepted" in res.text


# -- issued copies of records ---------------------------------------------------------


def test_an_issued_copy_reads_in_the_viewer_once_sealed(client: TestClient, rt: Runtime) -> None:
    _, headers = new_org(rt, "Clinic Records")
    attached(client, rt, headers, "R-1")
    form = client.get("/cabinet/records?lang=en").text
    link = re.findall(r'<option value="([^"]+)"', form)[0]
    fields = hidden(client, "/cabinet/records?lang=en")
    ask = {"clinic": link, "what": "Blood tests", "delivery": "cabinet"}
    assert client.post("/cabinet/records", data={**fields, **ask}).status_code == 200
    [item] = client.get("/api/v1/record-requests", headers=headers).json()["items"]
    url = f"/cabinet/records/{item['id']}"
    assert client.get(url).status_code == 404  # nothing issued yet
    issued = client.post(
        f"/api/v1/record-requests/{item['id']}/records",
        headers=headers,
        files={"files": ("records.pdf", make_pdf(pages=2), "application/pdf")},
        data={"staff_name": "Petrova A. V."},
    )
    assert issued.status_code == 200, issued.text
    waiting = client.get(url + "?lang=en")  # the seal job has not run yet
    assert waiting.status_code == 200 and _images(waiting.text) == []
    assert 'http-equiv="refresh"' in waiting.text and "being prepared" in waiting.text
    assert _not_found(client.get(f"{url}/pages/1.webp"))
    drain(rt, limit=500)
    assert f'href="{url}?lang=en"' in client.get("/cabinet/records?lang=en").text
    page = client.get(url + "?lang=en")
    images = _images(page.text)
    assert [i["alt"] for i in images] == ["Page 1 of 2", "Page 2 of 2"]
    assert ">Download the sealed copy<" in page.text and "refresh" not in page.text
    copy = client.get(f"{url}/records.pdf")
    assert copy.status_code == 200
    version = hashlib.sha256(copy.content).hexdigest()[:16]
    assert f"v={version}&" in images[0]["src"]  # the sealed copy, as downloaded
    res = client.get(images[0]["src"])
    assert res.status_code == 200 and res.headers["cache-control"] == IMMUTABLE
    assert _not_found(_stranger(rt).get(images[0]["src"]))
    stranger = _stranger(rt, "+79990001111")
    assert _not_found(stranger.get(images[0]["src"]))
    assert stranger.get(url).status_code == 404
