"""Webhooks: subscriptions, signed at-least-once delivery in order, failure handling.

A real receiver on loopback (tests/support/webhook_receiver.py) checks every signature
with the reference ``standardwebhooks`` package and deduplicates on ``webhook-id``.
"""

from __future__ import annotations

import base64
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from medsign.events.models import Event
from medsign.jobs.handlers import build_handlers
from medsign.jobs.worker import LEASE, claim, run_one
from medsign.runtime import Runtime
from medsign.webhooks import delivery as delivery_module
from medsign.webhooks.models import WebhookDelivery
from tests.support.api import create_envelope, new_org, patient, upload
from tests.support.clock import FrozenClock
from tests.support.webhook_receiver import WebhookReceiver
from tests.support.worker import drain


@pytest.fixture
def receiver(rt: Runtime) -> Iterator[WebhookReceiver]:
    """A receiver on loopback; the test runtime may deliver to loopback."""
    rt.settings.webhook_allow_private = True
    rt.settings.webhook_timeout_seconds = 2.0
    with WebhookReceiver() as server:
        yield server


def subscribe(
    client: TestClient,
    headers: dict[str, str],
    receiver: WebhookReceiver,
    events: list[str] | None = None,
) -> dict[str, Any]:
    """Subscribe the receiver; it trusts the new secret."""
    res = client.post(
        "/api/v1/webhooks", headers=headers, json={"url": receiver.url, "events": events or ["*"]}
    )
    assert res.status_code == 201, res.text
    body: dict[str, Any] = res.json()
    receiver.secrets.append(body["secret"])
    return body


def pump(rt: Runtime, clock: FrozenClock, *, step_hours: float = 1.0, rounds: int = 200) -> None:
    """Run the worker, moving time on, until no delivery is pending."""
    for _ in range(rounds):
        drain(rt, limit=500)
        with rt.transaction() as session:
            pending = session.scalars(
                select(WebhookDelivery.id).where(WebhookDelivery.status == "pending")
            ).first()
        if pending is None:
            return
        clock.advance(hours=step_hours)
    raise AssertionError("deliveries still pending")


def events_in_order(rt: Runtime) -> list[tuple[str, str | None, str]]:
    """(event_id, envelope_id, type) of every event, oldest first."""
    with rt.transaction() as session:
        rows = session.execute(
            select(Event.event_id, Event.envelope_id, Event.type).order_by(Event.id)
        ).all()
    return [(r[0], r[1], r[2]) for r in rows]


def deliveries(client: TestClient, headers: dict[str, str], webhook_id: str) -> list[Any]:
    """The delivery log (newest first)."""
    res = client.get(f"/api/v1/webhooks/{webhook_id}/deliveries", headers=headers)
    assert res.status_code == 200, res.text
    items: list[Any] = res.json()["items"]
    return items


def make_events(client: TestClient, headers: dict[str, str]) -> tuple[str, str]:
    """Two envelopes and five events: A.sent, B.sent, A.signer_updated, A.voided, B.voided."""
    doc = upload(client, headers)
    env_a = create_envelope(client, headers, doc["id"], patient())
    env_b = create_envelope(client, headers, doc["id"], patient(name="Petrov Ivan"))
    signer = env_a["signers"][0]["id"]
    res = client.patch(
        f"/api/v1/envelopes/{env_a['id']}/signers/{signer}",
        headers=headers,
        json={"phone": "+79990000001"},
    )
    assert res.status_code == 200, res.text
    for env in (env_a, env_b):
        res = client.post(
            f"/api/v1/envelopes/{env['id']}/void", headers=headers, json={"reason": "test"}
        )
        assert res.status_code == 200, res.text
    return env_a["id"], env_b["id"]


# --- subscriptions --------------------------------------------------------------------


def test_create_list_read_delete(client: TestClient, rt: Runtime) -> None:
    rt.settings.webhook_allow_private = False
    _, headers = new_org(rt)
    _, other = new_org(rt, "Other clinic")
    res = client.post(
        "/api/v1/webhooks",
        headers=headers,
        json={"url": "https://93.184.215.14/hook", "events": ["envelope.completed", "*"]},
    )
    assert res.status_code == 201, res.text
    created = res.json()
    assert created["secret"].startswith("whsec_")
    assert len(base64.b64decode(created["secret"].removeprefix("whsec_"))) == 32
    assert created["status"] == "active"
    listed = client.get("/api/v1/webhooks", headers=headers).json()["items"]
    assert [w["id"] for w in listed] == [created["id"]]
    assert "secret" not in listed[0]
    one = client.get(f"/api/v1/webhooks/{created['id']}", headers=headers).json()
    assert one["events"] == ["envelope.completed", "*"] and "secret" not in one
    assert client.get(f"/api/v1/webhooks/{created['id']}", headers=other).status_code == 404
    assert client.get("/api/v1/webhooks", headers=other).json()["items"] == []
    assert client.delete(f"/api/v1/webhooks/{created['id']}", headers=other).status_code == 404
    assert client.delete(f"/api/v1/webhooks/{created['id']}", headers=headers).status_code == 204
    res = client.get(f"/api/v1/webhooks/{created['id']}", headers=headers)
    assert res.status_code == 404
    assert res.headers["content-type"] == "application/problem+json"


BAD_SUBSCRIPTIONS: list[tuple[dict[str, Any], str]] = [
    ({"url": "https://93.184.215.14/h", "events": ["*"], "extra": 1}, "extra"),
    ({"url": "https://93.184.215.14/h", "events": ["envelope.exploded"]}, "exploded"),
    ({"url": "https://93.184.215.14/h", "events": []}, "events"),
    ({"url": "ftp://93.184.215.14/h", "events": ["*"]}, "https"),
    ({"url": "http://127.0.0.1:9/h", "events": ["*"]}, "loopback"),
    ({"url": "http://localhost:9/h", "events": ["*"]}, "loopback"),
    ({"url": "http://169.254.169.254/latest", "events": ["*"]}, "link-local"),
    ({"url": "http://10.1.2.3/h", "events": ["*"]}, "private"),
    ({"url": "http://[::1]:8080/h", "events": ["*"]}, "loopback"),
    ({"url": "https://user:pw@93.184.215.14/h", "events": ["*"]}, "password"),
    ({"url": "https://93.184.215.14:99999/h", "events": ["*"]}, "malformed"),
]


def test_bad_subscriptions_are_refused_with_a_problem(client: TestClient, rt: Runtime) -> None:
    rt.settings.webhook_allow_private = False
    _, headers = new_org(rt)
    for body, fragment in BAD_SUBSCRIPTIONS:
        res = client.post("/api/v1/webhooks", headers=headers, json=body)
        assert res.status_code == 422, (body, res.text)
        assert res.headers["content-type"] == "application/problem+json"
        assert fragment in res.text, (body, res.text)
    assert client.get("/api/v1/webhooks", headers=headers).json()["items"] == []


def test_malformed_json_and_missing_token(client: TestClient, rt: Runtime) -> None:
    _, headers = new_org(rt)
    res = client.post(
        "/api/v1/webhooks",
        headers={**headers, "content-type": "application/json"},
        content=b"{not json",
    )
    assert res.status_code == 422
    assert client.get("/api/v1/webhooks").status_code == 401
    res = client.get("/api/v1/webhooks/wh_x/deliveries?limit=0", headers=headers)
    assert res.status_code == 422
    res = client.get("/api/v1/webhooks/wh_x/deliveries?cursor=zz", headers=headers)
    assert res.status_code in (404, 422)


# --- delivery -------------------------------------------------------------------------


def test_every_event_arrives_once_in_order_despite_failures_and_an_outage(
    client: TestClient, rt: Runtime, clock: FrozenClock, receiver: WebhookReceiver
) -> None:
    _, headers = new_org(rt)
    subscribe(client, headers, receiver)
    receiver.fail_next(3)
    make_events(client, headers)
    drain(rt)  # three attempts fail (500); the rest wait behind them or their retry
    receiver.stop()  # the receiver goes down ...
    clock.advance(minutes=10)
    drain(rt)  # ... attempts meanwhile get "connection refused"
    receiver.start()  # ... and comes back on the same port
    pump(rt, clock)
    emitted = events_in_order(rt)
    assert len(emitted) == 5
    got = receiver.unique
    assert sorted(r.webhook_id for r in got) == sorted(e[0] for e in emitted)
    for envelope in {e[1] for e in emitted}:
        sent_order = [e[0] for e in emitted if e[1] == envelope]
        got_order = [r.webhook_id for r in got if r.envelope_id == envelope]
        assert got_order == sent_order, "per-envelope order must be kept"
    by_id = {e[0]: e[2] for e in emitted}
    for r in got:
        assert r.type == by_id[r.webhook_id]
        assert set(r.body) == {"type", "timestamp", "data"}
        assert r.body["data"]["links"]["envelope"].endswith(r.envelope_id or "-")
        # ids and links only: no names, phones or document bytes
        text = str(r.body)
        assert "Иванова" not in text and "+7999" not in text and "Petrov" not in text


def test_worker_killed_mid_delivery_redelivers_with_the_same_webhook_id(
    client: TestClient,
    rt: Runtime,
    clock: FrozenClock,
    receiver: WebhookReceiver,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    _, headers = new_org(rt)
    hook = subscribe(client, headers, receiver, ["envelope.sent"])
    doc = upload(client, headers)
    create_envelope(client, headers, doc["id"], patient())
    handlers = build_handlers(rt)
    assert run_one(rt, handlers) and run_one(rt, handlers)  # the invitation, the fan-out
    job = claim(rt)
    assert job is not None and job.kind == "webhook"  # queued by the fan-out

    class Killed(BaseException):
        pass

    def die(*_args: object) -> None:
        raise Killed

    monkeypatch.setattr(delivery_module, "_record", die)
    with pytest.raises(Killed):  # delivered, then the worker dies before recording
        handlers[job.kind](rt, job)
    monkeypatch.undo()
    assert len(receiver.all) == 1
    drain(rt)  # other jobs run; the lease on the delivery still holds
    assert len(receiver.all) == 1
    clock.advance(seconds=LEASE.total_seconds() + 1)
    assert run_one(rt, handlers)
    assert len(receiver.all) == 2
    assert receiver.all[0].webhook_id == receiver.all[1].webhook_id
    assert len(receiver.unique) == 1
    (logged,) = deliveries(client, headers, hook["id"])
    assert logged["status"] == "succeeded" and logged["attempts"] == 1


def test_410_disables_the_subscription_and_is_reported(
    client: TestClient, rt: Runtime, clock: FrozenClock, receiver: WebhookReceiver
) -> None:
    _, headers = new_org(rt)
    hook = subscribe(client, headers, receiver)
    receiver.gone = True
    doc = upload(client, headers)
    env = create_envelope(client, headers, doc["id"], patient())
    pump(rt, clock)
    shown = client.get(f"/api/v1/webhooks/{hook['id']}", headers=headers).json()
    assert shown["status"] == "disabled" and "410" in shown["disabled_reason"]
    (logged,) = deliveries(client, headers, hook["id"])
    assert logged["status"] == "dead" and logged["response_status"] == 410
    client.post(f"/api/v1/envelopes/{env['id']}/void", headers=headers, json={"reason": "x"})
    assert len(deliveries(client, headers, hook["id"])) == 1  # nothing new for it
    res = client.post(
        f"/api/v1/webhooks/{hook['id']}/replay",
        headers=headers,
        json={"since": "2000-01-01T00:00:00Z"},
    )
    assert res.status_code == 409
    receiver.gone = False
    assert (
        client.post(f"/api/v1/webhooks/{hook['id']}/enable", headers=headers).json()["status"]
        == "active"
    )


def test_redirect_timeout_and_5xx_are_retried_then_dead_lettered_after_three_days(
    client: TestClient, rt: Runtime, clock: FrozenClock, receiver: WebhookReceiver
) -> None:
    rt.settings.webhook_timeout_seconds = 0.3
    _, headers = new_org(rt)
    hook = subscribe(client, headers, receiver)
    receiver.redirect_to = "http://127.0.0.1:9/elsewhere"
    make_events(client, headers)
    drain(rt)
    first = deliveries(client, headers, hook["id"])[-1]
    assert first["status"] == "pending" and first["response_status"] == 307
    assert "redirect" in first["last_error"] and first["next_attempt_at"]
    receiver.redirect_to = None
    receiver.hang_seconds = 1.0
    clock.advance(hours=1)
    drain(rt)
    first = deliveries(client, headers, hook["id"])[-1]
    assert first["attempts"] == 2 and "no answer" in first["last_error"]
    receiver.hang_seconds = 0
    receiver.fail_next(10_000, status=503)
    pump(rt, clock, step_hours=6)
    log = deliveries(client, headers, hook["id"])
    assert all(d["status"] == "dead" for d in log)
    first = log[-1]
    assert first["response_status"] == 503 and "gave up" in first["last_error"]
    assert 8 <= first["attempts"] <= 40
    assert receiver.unique == []


def test_ssrf_guard_applies_at_delivery_too(
    client: TestClient, rt: Runtime, clock: FrozenClock, receiver: WebhookReceiver
) -> None:
    _, headers = new_org(rt)
    hook = subscribe(client, headers, receiver)
    rt.settings.webhook_allow_private = False  # the operator changed their mind
    doc = upload(client, headers)
    create_envelope(client, headers, doc["id"], patient())
    drain(rt)
    (logged,) = deliveries(client, headers, hook["id"])
    assert logged["status"] == "pending" and "loopback" in logged["last_error"]
    assert receiver.requests == 0


def test_secret_rotation_signs_with_both_secrets_during_the_overlap(
    client: TestClient, rt: Runtime, clock: FrozenClock, receiver: WebhookReceiver
) -> None:
    _, headers = new_org(rt)
    hook = subscribe(client, headers, receiver, ["envelope.sent", "envelope.voided"])
    old = receiver.secrets.pop()
    res = client.post(
        f"/api/v1/webhooks/{hook['id']}/rotate-secret",
        headers=headers,
        json={"overlap_seconds": 3600},
    )
    assert res.status_code == 200, res.text
    new = res.json()["secret"]
    assert new != old and new.startswith("whsec_")
    receiver.secrets.append(old)  # a receiver that has not switched yet still verifies
    doc = upload(client, headers)
    env = create_envelope(client, headers, doc["id"], patient())
    drain(rt)
    (first,) = receiver.unique
    assert len(first.signatures) == 2
    receiver.secrets[:] = [new]  # after the overlap only the new secret signs
    clock.advance(hours=2)
    client.post(f"/api/v1/envelopes/{env['id']}/void", headers=headers, json={"reason": "x"})
    drain(rt)
    assert len(receiver.unique) == 2
    assert len(receiver.unique[1].signatures) == 1
    assert receiver.bad_signatures == 0
    bad = client.post(
        f"/api/v1/webhooks/{hook['id']}/rotate-secret",
        headers=headers,
        json={"overlap_seconds": -1},
    )
    assert bad.status_code == 422


def test_replay_one_and_since_and_paginated_log(
    client: TestClient, rt: Runtime, clock: FrozenClock, receiver: WebhookReceiver
) -> None:
    _, headers = new_org(rt)
    hook = subscribe(client, headers, receiver, ["envelope.sent", "envelope.voided"])
    start = clock().isoformat()
    make_events(client, headers)  # 4 matching events (signer_updated is filtered out)
    pump(rt, clock)
    assert len(receiver.all) == 4
    log = deliveries(client, headers, hook["id"])
    assert [d["event_type"] for d in log].count("envelope.sent") == 2
    res = client.post(
        f"/api/v1/webhooks/{hook['id']}/deliveries/{log[0]['id']}/replay", headers=headers
    )
    assert res.status_code == 202, res.text
    assert res.json()["replay_of"] == log[0]["id"]
    res = client.post(
        f"/api/v1/webhooks/{hook['id']}/replay", headers=headers, json={"since": start}
    )
    assert res.status_code == 202 and res.json()["replayed"] == 4
    pump(rt, clock)
    assert len(receiver.all) == 9 and len(receiver.unique) == 4
    page1 = client.get(f"/api/v1/webhooks/{hook['id']}/deliveries?limit=4", headers=headers).json()
    page2 = client.get(
        f"/api/v1/webhooks/{hook['id']}/deliveries?limit=4&cursor={page1['next_cursor']}",
        headers=headers,
    ).json()
    page3 = client.get(
        f"/api/v1/webhooks/{hook['id']}/deliveries?limit=4&cursor={page2['next_cursor']}",
        headers=headers,
    ).json()
    ids = [d["id"] for p in (page1, page2, page3) for d in p["items"]]
    assert len(ids) == len(set(ids)) == 9 and page3["next_cursor"] is None
    res = client.post(
        f"/api/v1/webhooks/{hook['id']}/replay",
        headers=headers,
        json={"since": "2026-01-01T00:00:00"},
    )
    assert res.status_code == 422  # no time zone
    res = client.post(f"/api/v1/webhooks/{hook['id']}/deliveries/dlv_nope/replay", headers=headers)
    assert res.status_code == 404
