"""Batches of device approvals on SQLite and PostgreSQL: items across several
transactions (chunks) are each judged, signed, audited, emitted, metered and moved on;
refusals in the middle stay refusals; two batches racing over the same requests sign
each once; and the statements per approval stay few (the figure bench/device.py
measures depends on it)."""

from __future__ import annotations

import threading
from collections import Counter
from typing import Any

import httpx
from fastapi.testclient import TestClient
from sqlalchemy import event, func, select

from medsign.audit.models import AuditEvent
from medsign.audit.sequencer import sequence_pending
from medsign.clinicians.requests import APPROVE_CHUNK
from medsign.envelopes.models import EnvelopeVersion
from medsign.events.models import Event
from medsign.jobs.models import Job
from medsign.runtime import Runtime
from medsign.usage.models import UsageRecord
from medsign.web.app import create_app
from tests.integration.test_clinician_devices import enrolled, prescription
from tests.support.api import new_org, validated_pdf
from tests.support.audit import verify
from tests.support.device import Device
from tests.support.threaded import serve_in_thread
from tests.support.worker import drain


def _prepared(
    client: TestClient, rt: Runtime, count: int
) -> tuple[dict[str, str], str, Device, list[dict[str, Any]]]:
    _, headers = new_org(rt)
    cid, device = enrolled(client, rt, headers)
    for _ in range(count):
        prescription(client, headers, cid)
    drain(rt, limit=10 * count)
    items = device.requests(client)
    assert len(items) == count
    return headers, cid, device, items


def _count(rt: Runtime, model: Any, *where: Any) -> int:
    with rt.transaction(write=False) as session:
        return int(session.scalar(select(func.count()).select_from(model).where(*where)) or 0)


def _audited(rt: Runtime) -> Counter[str]:
    with rt.transaction(write=False) as session:
        return Counter(session.scalars(select(AuditEvent.action)))


def test_a_batch_across_chunks_judges_each_item(client: TestClient, rt: Runtime) -> None:
    count = 2 * APPROVE_CHUNK + 5  # three transactions
    headers, _, device, items = _prepared(client, rt, count)
    _, other = enrolled(client, rt, headers, name="Dr. Other")
    body = [{"id": i["id"], "signature": device.sign(i["to_sign"])} for i in items]
    body[3]["signature"] = device.sign("eA==")  # a valid signature over other bytes
    body[APPROVE_CHUNK + 1]["signature"] = "!!not base64!!"
    body.append({"id": "no-such-request", "signature": body[0]["signature"]})
    body.append(dict(body[0]))  # the same approval twice in one batch: a replay
    wrong = client.post(
        "/device/v1/requests/approve",
        headers=other.headers,
        json={"items": [body[5]]},  # another device's request
    )
    assert wrong.json()["items"][0]["problem"]["type"] == "/problems/wrong-workplace"
    res = client.post("/device/v1/requests/approve", headers=device.headers, json={"items": body})
    assert res.status_code == 200, res.text
    results = res.json()["items"]
    assert [r["id"] for r in results] == [b["id"] for b in body]  # the given order
    kinds = {n: r["problem"]["type"] for n, r in enumerate(results) if r["status"] != "approved"}
    assert kinds == {
        3: "/problems/signature-invalid",
        APPROVE_CHUNK + 1: "/problems/invalid-input",
        count: "/problems/not-found",
        count + 1: "/problems/request-decided",
    }
    approved = count - 2
    audited = _audited(rt)
    assert audited["signer.signed"] == audited["signature.applied"] == approved
    assert audited["envelope.completed"] == approved
    # the bad signature, the replay and the other device: audited; bad base64 and an
    # unknown id wrote nothing
    assert audited["device.approval_refused"] == 3
    assert _count(rt, Event, Event.type == "envelope.signed") == approved
    assert _count(rt, Event, Event.type == "envelope.completed") == approved
    assert _count(rt, UsageRecord, UsageRecord.metric == "signatures.device") == approved
    assert _count(rt, EnvelopeVersion, EnvelopeVersion.signer_id.is_not(None)) == approved
    assert _count(rt, Job, Job.kind == "evidence") == approved
    # The fan-out jobs name their event by its key; running them fans every event out.
    drain(rt, limit=20 * count)
    assert _count(rt, Event, Event.fanned_out_at.is_(None)) == 0
    assert _count(rt, Job, Job.status != "done") == 0
    for result in results[:2] + results[-3:-2]:
        assert validated_pdf(client, rt, headers, result["envelope_id"]).valid
    # the refused ones are still pending and approve on their own
    retry = [
        {"id": items[n]["id"], "signature": device.sign(items[n]["to_sign"])}
        for n in (3, APPROVE_CHUNK + 1)
    ]
    again = client.post(
        "/device/v1/requests/approve", headers=device.headers, json={"items": retry}
    )
    assert [r["status"] for r in again.json()["items"]] == ["approved", "approved"]
    sequence_pending(rt)
    assert verify(rt).intact  # the audit log takes rows written in one INSERT


def test_two_batches_race_over_the_same_requests(client: TestClient, rt: Runtime) -> None:
    count = APPROVE_CHUNK + 10
    _, _, device, items = _prepared(client, rt, count)
    body = [{"id": i["id"], "signature": device.sign(i["to_sign"])} for i in items]
    orders = [body, body[::-1], body[7:] + body[:7]]
    barrier = threading.Barrier(len(orders))
    answers: list[httpx.Response] = []
    with serve_in_thread(create_app(runtime=rt, migrate=False)) as base:

        def post(order: list[dict[str, str]]) -> None:
            with httpx.Client(base_url=base, timeout=120) as http:
                barrier.wait()
                answers.append(
                    http.post(
                        "/device/v1/requests/approve",
                        headers=device.headers,
                        json={"items": order},
                    )
                )

        threads = [threading.Thread(target=post, args=(o,)) for o in orders]
        for t in threads:
            t.start()
        for t in threads:
            t.join(180)
    assert [a.status_code for a in answers] == [200] * len(orders), [a.text for a in answers]
    outcomes: dict[str, list[str]] = {}
    for answer in answers:
        for r in answer.json()["items"]:
            outcomes.setdefault(r["id"], []).append(
                r["status"] if r["status"] == "approved" else r["problem"]["type"]
            )
    for request_id, seen in outcomes.items():  # each request signed exactly once
        assert sorted(seen) == ["/problems/request-decided"] * 2 + ["approved"], request_id
    audited = _audited(rt)
    assert audited["signer.signed"] == audited["signature.applied"] == count
    assert _count(rt, EnvelopeVersion, EnvelopeVersion.signer_id.is_not(None)) == count
    assert _count(rt, Event, Event.type == "envelope.signed") == count


def test_statements_per_approval_stay_few(client: TestClient, rt: Runtime) -> None:
    _, _, device, items = _prepared(client, rt, APPROVE_CHUNK + 1)
    body = [{"id": i["id"], "signature": device.sign(i["to_sign"])} for i in items]
    statements: list[str] = []

    def seen(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        statements.append(statement)

    event.listen(rt.engine, "before_cursor_execute", seen)
    try:
        one = client.post(
            f"/device/v1/requests/{items[0]['id']}/approve",
            headers=device.headers,
            json={"signature": body[0]["signature"]},
        )
        single = len(statements)
        statements.clear()
        batch = client.post(
            "/device/v1/requests/approve", headers=device.headers, json={"items": body[1:]}
        )
    finally:
        event.remove(rt.engine, "before_cursor_execute", seen)
    assert one.status_code == 200 and batch.status_code == 200
    assert [r["status"] for r in batch.json()["items"]] == ["approved"] * APPROVE_CHUNK
    # One approval alone: the token, the request, the lock and signers, the evidence's
    # rows, one flush, one INSERT per bookkeeping table (before: 28 statements).
    assert single <= 20, statements
    # A chunk of 20 shares its reads and INSERTs (before: 28 per approval).
    assert len(statements) <= 3 * APPROVE_CHUNK, Counter(s.split()[0] for s in statements)
