"""Delivery with fallback, decided by delivery reports: push -> email -> SMS; the
delivery log, the dead-letter list and replay; authenticated callbacks; usage of what
was actually sent; organization isolation (issue [notify] points 1 and 4)."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from sqlalchemy import select

from medsign.jobs.models import Job
from medsign.notify.outbound import Recipient, queue_message
from medsign.patients.models import Patient
from medsign.usage.models import UsageRecord
from tests.integration.notify.conftest import Wired
from tests.support.api import new_org
from tests.support.clock import FrozenClock
from tests.support.worker import drain

PHONE = "+79990000001"
EMAIL = "anna@example.org"


def _patient(w: Wired, org_id: str, *, email: str | None = EMAIL, phone: str | None = PHONE) -> str:
    with w.rt.transaction() as session:
        patient = Patient(
            organization_id=org_id, mis_id="p-1", name="Анна", email=email, phone=phone
        )
        session.add(patient)
        session.flush()
        return patient.id


def _queue(w: Wired, org_id: str, patient_id: str, key: str = "k1", **kw: Any) -> str:
    with w.rt.transaction() as session:
        return queue_message(
            session,
            organization_id=org_id,
            recipient=Recipient(patient_id=patient_id),
            subject="Клиника",
            text="Ваш документ готов к подписи",
            texts={"sms": "Документ готов"},
            idempotency_key=key,
            now=w.rt.clock(),
            **kw,
        )


def _get(w: Wired, headers: dict[str, str], message_id: str) -> dict[str, Any]:
    res = w.client.get(f"/api/v1/notifications/{message_id}", headers=headers)
    assert res.status_code == 200, res.text
    body: dict[str, Any] = res.json()
    return body


def _trail(body: dict[str, Any]) -> list[tuple[str | None, str]]:
    return [(e["channel"], e["status"]) for e in body["log"]]


def _subscribe(w: Wired, headers: dict[str, str], patient_id: str) -> dict[str, Any]:
    sub = w.push.subscribe()
    res = w.client.post(
        "/api/v1/push-subscriptions",
        headers=headers,
        json={"subject_kind": "patient", "subject_id": patient_id, **sub},
    )
    assert res.status_code == 201, res.text
    return sub


def _usage(w: Wired, org_id: str) -> dict[str, int]:
    with w.rt.transaction() as session:
        rows = session.scalars(select(UsageRecord).where(UsageRecord.organization_id == org_id))
        totals: dict[str, int] = {}
        for r in rows:
            totals[r.metric] = totals.get(r.metric, 0) + r.amount
        return totals


def _post_callback(w: Wired, cb: Any) -> int:
    res = w.client.post(urlsplit(cb.url).path, content=cb.body, headers=cb.headers)
    return res.status_code


def test_push_first_and_its_receipt_decides(wired: Wired) -> None:
    w = wired
    org_id, headers = new_org(w.rt)
    res = w.client.put(
        "/api/v1/notification-channels",
        headers=headers,
        json={"channels": ["push", "email", "sms"]},
    )
    assert res.status_code == 200 and res.json() == {"channels": ["push", "email", "sms"]}
    patient_id = _patient(w, org_id)
    _subscribe(w, headers, patient_id)
    message_id = _queue(w, org_id, patient_id)
    drain(w.rt)
    (got,) = w.push.received
    assert got.payload["body"] == "Ваш документ готов к подписи"
    assert _get(w, headers, message_id)["status"] == "sent"
    receipt = got.payload["receipt"]
    bad = w.client.post(
        "/api/v1/notifications/receipts/push", json={"ref": receipt["ref"], "token": "0" * 64}
    )
    assert bad.status_code == 403
    assert _get(w, headers, message_id)["status"] == "sent"
    ok = w.client.post("/api/v1/notifications/receipts/push", json=receipt)
    assert ok.status_code == 204
    body = _get(w, headers, message_id)
    assert body["status"] == "delivered" and body["channel"] == "push"
    assert _trail(body) == [(None, "queued"), ("push", "sent"), ("push", "delivered")]
    w.rt.clock.advance(hours=1)  # type: ignore[attr-defined]
    drain(w.rt)  # the deadline check finds it delivered: nothing else goes out
    assert w.smtp.messages == [] and w.twilio.accepted == []
    assert _usage(w, org_id) == {}  # push costs nothing and is not metered


def test_no_push_receipt_before_the_deadline_falls_back_to_email(
    wired: Wired, clock: FrozenClock
) -> None:
    w = wired
    org_id, headers = new_org(w.rt)
    patient_id = _patient(w, org_id)
    _subscribe(w, headers, patient_id)
    message_id = _queue(w, org_id, patient_id, channels=["push", "email", "sms"])
    drain(w.rt)
    assert len(w.push.received) == 1 and w.smtp.messages == []
    clock.advance(seconds=w.rt.settings.notify_deadline_push_seconds - 1)
    drain(w.rt)
    assert w.smtp.messages == []  # not yet
    clock.advance(seconds=2)
    drain(w.rt)
    mail = w.smtp.wait_for()
    assert mail.to == EMAIL and mail.text.strip() == "Ваш документ готов к подписи"
    body = _get(w, headers, message_id)
    assert body["status"] == "delivered" and body["channel"] == "email"
    assert _trail(body)[1:] == [
        ("push", "sent"),
        ("push", "failed"),
        ("email", "sent"),
        ("email", "delivered"),
    ]
    assert "deadline" in body["log"][2]["detail"]
    # a late receipt is logged but changes nothing
    late = w.client.post(
        "/api/v1/notifications/receipts/push", json=w.push.received[0].payload["receipt"]
    )
    assert late.status_code == 204
    assert _get(w, headers, message_id)["status"] == "delivered"
    assert w.twilio.accepted == []
    assert _usage(w, org_id) == {"emails": 1}


def test_sms_failure_report_dead_letters_and_replay_delivers(wired: Wired) -> None:
    w = wired
    org_id, headers = new_org(w.rt)
    patient_id = _patient(w, org_id, email=None)
    message_id = _queue(w, org_id, patient_id, channels=["push", "email", "sms"])
    drain(w.rt)
    (sms,) = w.twilio.accepted
    assert sms.to == PHONE and sms.text == "Документ готов"  # the SMS text of the message
    body = _get(w, headers, message_id)
    assert _trail(body)[1:] == [("push", "skipped"), ("email", "skipped"), ("sms", "sent")]
    # a forged report is refused and changes nothing
    forged = w.twilio.status_callback(sms.ref, "undelivered", "30003")
    forged.headers["X-Twilio-Signature"] = "AAAA" + forged.headers["X-Twilio-Signature"][4:]
    assert _post_callback(w, forged) == 403
    assert _get(w, headers, message_id)["status"] == "sent"
    assert _post_callback(w, w.twilio.status_callback(sms.ref, "sent")) == 204  # interim
    assert _post_callback(w, w.twilio.status_callback(sms.ref, "undelivered", "30003")) == 204
    body = _get(w, headers, message_id)
    assert body["status"] == "dead" and "30003" in body["last_error"]
    dead = w.client.get("/api/v1/notifications", headers=headers, params={"status": "dead"})
    assert [m["id"] for m in dead.json()["items"]] == [message_id]
    # replay: only from the dead-letter list, once
    res = w.client.post(f"/api/v1/notifications/{message_id}/replay", headers=headers)
    assert res.status_code == 202 and res.json()["status"] == "queued"
    again = w.client.post(f"/api/v1/notifications/{message_id}/replay", headers=headers)
    assert again.status_code == 409 and again.headers["content-type"] == "application/problem+json"
    drain(w.rt)
    assert len(w.twilio.accepted) == 2
    second = w.twilio.accepted[1].ref
    assert _post_callback(w, w.twilio.status_callback(second, "delivered")) == 204
    body = _get(w, headers, message_id)
    assert body["status"] == "delivered"
    assert _trail(body)[-2:] == [("sms", "sent"), ("sms", "delivered")]
    assert ("push", "replayed") not in _trail(body) and (None, "replayed") in _trail(body)
    assert _usage(w, org_id) == {"sms.messages": 2, "sms.segments": 2}
    assert (
        w.client.get("/api/v1/notifications", headers=headers, params={"status": "dead"}).json()[
            "items"
        ]
        == []
    )


def test_retryable_failures_use_the_worker_backoff_then_fall_back(
    wired: Wired, clock: FrozenClock
) -> None:
    w = wired
    org_id, headers = new_org(w.rt)
    patient_id = _patient(w, org_id)
    message_id = _queue(w, org_id, patient_id, channels=["sms", "email"])
    attempts = w.rt.settings.notify_channel_attempts
    w.twilio.fail_next.extend([(503, {"code": 20503, "status": 503})] * attempts)
    for _ in range(attempts):
        assert drain(w.rt) >= 1  # the last failure queues email, which runs at once
        with w.rt.transaction() as session:
            job = session.scalars(select(Job).where(Job.status == "queued")).first()
        if job is not None:
            assert job.run_after > clock()  # backed off, not due yet
            clock.now = job.run_after
    drain(w.rt)
    body = _get(w, headers, message_id)
    statuses = _trail(body)
    assert statuses.count(("sms", "retry")) == attempts - 1
    assert ("sms", "failed") in statuses
    assert body["status"] == "delivered" and body["channel"] == "email"
    assert w.twilio.requests == attempts and w.twilio.accepted == []
    assert _usage(w, org_id) == {"emails": 1}  # failed SMS are not counted


def test_other_organizations_see_nothing(wired: Wired) -> None:
    w = wired
    org_id, headers = new_org(w.rt)
    _, other = new_org(w.rt, "Other clinic")
    message_id = _queue(w, org_id, _patient(w, org_id), channels=["sms"])
    drain(w.rt)
    assert w.client.get(f"/api/v1/notifications/{message_id}", headers=other).status_code == 404
    assert (
        w.client.post(f"/api/v1/notifications/{message_id}/replay", headers=other).status_code
        == 404
    )
    assert w.client.get("/api/v1/notifications", headers=other).json()["items"] == []
    assert w.client.get("/api/v1/notifications").status_code == 401
    listed = w.client.get("/api/v1/notifications", headers=headers).json()["items"]
    assert [m["id"] for m in listed] == [message_id]
    assert "text" not in listed[0] and "phone" not in listed[0]


def test_bad_requests_are_problems(wired: Wired) -> None:
    w = wired
    _, headers = new_org(w.rt)
    cases = [
        w.client.put("/api/v1/notification-channels", headers=headers, json={"channels": []}),
        w.client.put("/api/v1/notification-channels", headers=headers, json={"channels": ["fax"]}),
        w.client.put(
            "/api/v1/notification-channels", headers=headers, json={"channels": ["sms", "sms"]}
        ),
        w.client.get("/api/v1/notifications", headers=headers, params={"status": "lost"}),
        w.client.get("/api/v1/notifications", headers=headers, params={"cursor": "!!"}),
        w.client.post(
            "/api/v1/push-subscriptions",
            headers=headers,
            json={
                "subject_kind": "patient",
                "subject_id": "x",
                "endpoint": "ftp://x/y/z/w",
                "keys": {},
            },
        ),
    ]
    for res in cases:
        assert res.status_code == 422, res.text
        assert res.headers["content-type"] == "application/problem+json"
    assert w.client.post("/api/v1/notifications/callbacks/sms", content=b"{}").status_code == 404
    assert (
        w.client.post("/api/v1/notifications/callbacks/smsru", data={"hash": "x"}).status_code
        == 404
    )
    twilio = w.client.post("/api/v1/notifications/callbacks/twilio", data={"MessageSid": "SM1"})
    assert twilio.status_code == 403


def test_vapid_key_is_stable(wired: Wired) -> None:
    _, headers = new_org(wired.rt)
    _, other = new_org(wired.rt, "Other clinic")
    assert wired.client.get("/api/v1/push/vapid-public-key").status_code == 401
    first = wired.client.get("/api/v1/push/vapid-public-key", headers=headers)
    assert first.status_code == 200
    assert wired.client.get("/api/v1/push/vapid-public-key", headers=other).json() == first.json()
    assert len(first.json()["public_key"]) == 87
