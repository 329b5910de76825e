"""Idempotency-Key on every POST (draft-ietf-httpapi-idempotency-key-header)."""

from __future__ import annotations

from datetime import timedelta

from fastapi.testclient import TestClient
from sqlalchemy import func, select

from medsign.documents.models import Document
from medsign.idempotency.models import IdempotencyRecord
from medsign.runtime import Runtime
from medsign.web.idempotency import fingerprint
from tests.support.api import create_envelope, new_org, patient, upload
from tests.support.clock import FrozenClock
from tests.support.pdfs import make_pdf


def _count_documents(rt: Runtime) -> int:
    with rt.transaction() as session:
        return int(session.scalar(select(func.count()).select_from(Document)) or 0)


def test_multipart_upload_retried_with_the_same_key_creates_one_document(
    client: TestClient, rt: Runtime
) -> None:
    _, headers = new_org(rt)
    pdf = make_pdf()
    keyed = {**headers, "Idempotency-Key": "upload-1"}

    def send(title: str) -> object:
        # every call builds a new multipart body with a new random boundary
        return client.post(
            "/api/v1/documents",
            headers=keyed,
            files={"files": ("a.pdf", pdf, "application/pdf")},
            data={"title": title, "kind": "user_agreement"},
        )

    first, second = send("Agreement"), send("Agreement")
    assert first.status_code == second.status_code == 201  # type: ignore[attr-defined]
    assert first.json() == second.json()  # type: ignore[attr-defined]
    assert second.headers["idempotent-replayed"] == "true"  # type: ignore[attr-defined]
    assert _count_documents(rt) == 1
    other = send("Another title")
    assert other.status_code == 422  # type: ignore[attr-defined]
    assert "idempotency-key-reused" in other.json()["type"]  # type: ignore[attr-defined]


def test_json_posts_replay_the_first_answer(client: TestClient, rt: Runtime) -> None:
    rt.settings.webhook_allow_private = True
    _, headers = new_org(rt)
    keyed = {**headers, "Idempotency-Key": "hook-1"}
    body = {"url": "http://127.0.0.1:9/h", "events": ["*"]}
    first = client.post("/api/v1/webhooks", headers=keyed, json=body)
    # the same JSON written differently is the same request
    second = client.post(
        "/api/v1/webhooks",
        headers={**keyed, "content-type": "application/json"},
        content=b'{ "events": ["*"],   "url": "http://127.0.0.1:9/h" }',
    )
    assert first.status_code == second.status_code == 201
    assert first.json() == second.json()
    assert len(client.get("/api/v1/webhooks", headers=headers).json()["items"]) == 1
    changed = client.post(
        "/api/v1/webhooks", headers=keyed, json={**body, "events": ["envelope.sent"]}
    )
    assert changed.status_code == 422
    # the same key on another path is another request too
    assert client.post("/api/v1/tokens", headers=keyed, json={"name": "x"}).status_code == 422


def test_void_retry_gets_the_first_answer_not_a_conflict(client: TestClient, rt: Runtime) -> None:
    _, headers = new_org(rt)
    doc = upload(client, headers)
    env = create_envelope(client, headers, doc["id"], patient())
    keyed = {**headers, "Idempotency-Key": "void-1"}
    url = f"/api/v1/envelopes/{env['id']}/void"
    first = client.post(url, headers=keyed, json={"reason": "duplicate"})
    second = client.post(url, headers=keyed, json={"reason": "duplicate"})
    assert first.status_code == second.status_code == 200
    assert first.json() == second.json()
    unkeyed = client.post(url, headers=headers, json={"reason": "duplicate"})
    assert unkeyed.status_code == 409


def test_failures_are_not_kept_and_tokens_are_not_stored_in_clear(
    client: TestClient, rt: Runtime
) -> None:
    _, headers = new_org(rt)
    keyed = {**headers, "Idempotency-Key": "tok-1"}
    bad = client.post("/api/v1/tokens", headers=keyed, json={"name": ""})
    assert bad.status_code == 422
    first = client.post("/api/v1/tokens", headers=keyed, json={"name": "sync"})
    assert first.status_code == 201 and first.json()["token"]
    replay = client.post("/api/v1/tokens", headers=keyed, json={"name": "sync"})
    assert replay.status_code == 201
    assert replay.json()["id"] == first.json()["id"] and replay.json()["token"] is None
    with rt.transaction() as session:
        stored = session.scalars(select(IdempotencyRecord.response)).all()
    assert first.json()["token"] not in str(stored)


def test_concurrent_and_malformed_keys(client: TestClient, rt: Runtime, clock: FrozenClock) -> None:
    org_id, headers = new_org(rt)
    with rt.transaction() as session:  # a request with this key is in flight
        session.add(
            IdempotencyRecord(
                organization_id=org_id,
                key="busy",
                request_hash="0" * 64,
                status_code=0,
                response={},
                created_at=clock(),
            )
        )
    busy = client.post(
        "/api/v1/tokens", headers={**headers, "Idempotency-Key": "busy"}, json={"name": "a"}
    )
    assert busy.status_code == 422  # different request under the same key
    with rt.transaction() as session:
        row = session.scalars(select(IdempotencyRecord)).one()
        row.request_hash = fingerprint(
            "POST", "/api/v1/tokens", "application/json", b'{"name":"a"}'
        )
    busy = client.post(
        "/api/v1/tokens", headers={**headers, "Idempotency-Key": "busy"}, json={"name": "a"}
    )
    assert busy.status_code == 409
    clock.advance(seconds=timedelta(minutes=6).total_seconds())  # its process died
    taken = client.post(
        "/api/v1/tokens", headers={**headers, "Idempotency-Key": "busy"}, json={"name": "a"}
    )
    assert taken.status_code == 201
    long_key = client.post(
        "/api/v1/tokens", headers={**headers, "Idempotency-Key": "k" * 256}, json={"name": "a"}
    )
    assert long_key.status_code == 422
    assert long_key.headers["content-type"] == "application/problem+json"
    nobody = client.post("/api/v1/tokens", headers={"Idempotency-Key": "x"}, json={"name": "a"})
    assert nobody.status_code == 401
