"""Uploading documents: good input stored, bad input refused with nothing stored."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from medsign.documents.models import Document
from medsign.runtime import Runtime
from tests.support.api import new_org, upload
from tests.support.pdfs import encrypted_pdf, make_pdf


def _count(rt: Runtime) -> int:
    with rt.transaction() as session:
        return session.scalar(select(func.count()).select_from(Document)) or 0


def test_upload_returns_contract_fields_and_pdf(client: TestClient, rt: Runtime) -> None:
    _, headers = new_org(rt)
    data = make_pdf(pages=3)
    doc = upload(client, headers, data, kind="user_agreement", title="Agreement")
    assert set(doc) >= {"id", "sha256", "pages", "kind", "title"}
    assert doc["pages"] == 3 and doc["kind"] == "user_agreement"
    res = client.get(f"/api/v1/documents/{doc['id']}/pdf", headers=headers)
    assert res.status_code == 200
    assert res.content == data  # a sound PDF is kept byte for byte
    assert res.headers["content-type"] == "application/pdf"


@pytest.mark.parametrize(
    ("data", "slug", "status"),
    [
        (b"", "empty-file", 422),
        (b"hello, this is not a pdf", "unsupported-file-type", 415),
        (b"%PDF-1.7\n garbage without objects", "damaged-document", 422),
        (make_pdf()[:200], "damaged-document", 422),
        (encrypted_pdf(), "encrypted-document", 422),
    ],
    ids=["empty", "text", "garbage-pdf", "truncated", "encrypted"],
)
def test_bad_files_are_refused(
    client: TestClient, rt: Runtime, data: bytes, slug: str, status: int
) -> None:
    _, headers = new_org(rt)
    res = client.post(
        "/api/v1/documents",
        headers=headers,
        files={"files": ("doc.pdf", data, "application/pdf")},
        data={"title": "x", "kind": "user_agreement"},
    )
    assert res.status_code == status, res.text
    assert res.headers["content-type"].startswith("application/problem+json")
    body = res.json()
    assert body["type"] == f"/problems/{slug}"
    assert body["status"] == status and body["detail"]
    assert _count(rt) == 0


def test_unknown_kind_and_missing_fields(client: TestClient, rt: Runtime) -> None:
    _, headers = new_org(rt)
    res = client.post(
        "/api/v1/documents",
        headers=headers,
        files={"files": ("doc.pdf", make_pdf(), "application/pdf")},
        data={"title": "x", "kind": "poem"},
    )
    assert res.status_code == 422 and "user_agreement" in res.json()["detail"]
    res = client.post("/api/v1/documents", headers=headers, data={"title": "x"})
    assert res.status_code == 422 and res.json()["type"] == "/problems/invalid-request"
    assert _count(rt) == 0


def test_over_size_limit_is_413(client: TestClient, rt: Runtime) -> None:
    _, headers = new_org(rt)
    rt.settings.max_upload_bytes = 1000
    res = client.post(
        "/api/v1/documents",
        headers=headers,
        files={"files": ("doc.pdf", make_pdf(pages=5), "application/pdf")},
        data={"title": "x", "kind": "user_agreement"},
    )
    assert res.status_code == 413
    assert res.json()["type"] == "/problems/limit-exceeded"
    assert _count(rt) == 0


@pytest.mark.parametrize("auth", [None, "Bearer nope", "Basic abc", "Bearer "])
def test_bad_tokens_get_401(client: TestClient, rt: Runtime, auth: str | None) -> None:
    new_org(rt)
    headers = {"Authorization": auth} if auth else {}
    res = client.post(
        "/api/v1/documents",
        headers=headers,
        files={"files": ("doc.pdf", make_pdf(), "application/pdf")},
        data={"title": "x", "kind": "user_agreement"},
    )
    assert res.status_code == 401
    assert res.json()["type"] == "/problems/unauthorized"
    assert _count(rt) == 0


def test_other_organizations_documents_are_invisible(client: TestClient, rt: Runtime) -> None:
    _, a = new_org(rt, "A")
    _, b = new_org(rt, "B")
    doc = upload(client, a)
    for path in (f"/api/v1/documents/{doc['id']}", f"/api/v1/documents/{doc['id']}/pdf"):
        assert client.get(path, headers=b).status_code == 404
        assert client.get(path, headers=a).status_code == 200
