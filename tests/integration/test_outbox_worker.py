"""The outbox: nothing lost across crashes, nothing sent twice per delivery id."""

from __future__ import annotations

from fastapi.testclient import TestClient
from sqlalchemy import select

from medsign.jobs.handlers import build_handlers
from medsign.jobs.models import Job
from medsign.jobs.worker import LEASE, claim, run_one
from medsign.runtime import Runtime
from tests.support.api import create_envelope, new_org, patient, upload
from tests.support.clock import FrozenClock
from tests.support.sms_gateway import SmsGateway
from tests.support.worker import drain


def _jobs(rt: Runtime, kind: str = "invite") -> list[Job]:
    with rt.transaction() as session:
        return list(session.scalars(select(Job).where(Job.kind == kind).order_by(Job.created_at)))


def test_invitation_survives_a_crash_before_delivery(
    client: TestClient, rt: Runtime, sms_gateway: SmsGateway
) -> None:
    rt.settings.sms_url = sms_gateway.url
    _, headers = new_org(rt)
    doc = upload(client, headers)
    create_envelope(client, headers, doc["id"], patient())
    # The process "dies" here: the state change committed, nothing was delivered.
    assert [j.status for j in _jobs(rt)] == ["queued"]
    assert [j.status for j in _jobs(rt, "webhook_fan_out")] == ["queued"]  # envelope.sent
    assert sms_gateway.messages == []
    fresh = Runtime.build(rt.settings, clock=rt.clock)  # a new process on the same database
    try:
        assert drain(fresh) == 2
    finally:
        fresh.close()
    assert len(sms_gateway.messages) == 1
    assert "/s/" in sms_gateway.messages[0].text
    assert [j.status for j in _jobs(rt)] == ["done"]


def test_worker_killed_mid_delivery_is_redelivered_under_the_same_id(
    client: TestClient, rt: Runtime, clock: FrozenClock, sms_gateway: SmsGateway
) -> None:
    rt.settings.sms_url = sms_gateway.url
    _, headers = new_org(rt)
    doc = upload(client, headers)
    create_envelope(client, headers, doc["id"], patient())
    handlers = build_handlers(rt)
    job = claim(rt)
    assert job is not None and job.kind == "invite"  # before the event's fan-out
    handlers[job.kind](rt, job)  # delivered, then the worker is killed before marking done
    assert run_one(rt, handlers)  # the fan-out job, the only other one
    assert claim(rt) is None  # the lease still holds: no second worker takes it
    clock.advance(seconds=LEASE.total_seconds() + 1)
    assert run_one(rt, handlers)  # taken again after the lease, delivered again ...
    assert sms_gateway.requests == 2
    assert len(sms_gateway.messages) == 1  # ... under the same id, so the gateway keeps one
    assert [j.status for j in _jobs(rt)] == ["done"]


def test_failed_delivery_is_retried_with_backoff(
    client: TestClient, rt: Runtime, clock: FrozenClock, sms_gateway: SmsGateway
) -> None:
    rt.settings.sms_url = sms_gateway.url
    _, headers = new_org(rt)
    doc = upload(client, headers)
    create_envelope(client, headers, doc["id"], patient())
    sms_gateway.fail_next(2)
    assert drain(rt) == 2  # the fan-out, and the first attempt fails; the retry is not due yet
    (job,) = _jobs(rt)
    assert job.status == "queued" and job.attempts == 1 and job.last_error
    assert job.run_after > clock()
    clock.advance(hours=1)
    drain(rt)
    clock.advance(hours=1)
    drain(rt)
    (job,) = _jobs(rt)
    assert job.status == "done" and job.attempts == 3
    assert len(sms_gateway.messages) == 1


def test_permanent_failure_is_dead_lettered(
    client: TestClient, rt: Runtime, sms_gateway: SmsGateway
) -> None:
    rt.settings.sms_url = sms_gateway.url
    _, headers = new_org(rt)
    doc = upload(client, headers)
    create_envelope(client, headers, doc["id"], patient())
    sms_gateway.fail_next(1, status=400)
    drain(rt)
    (job,) = _jobs(rt)
    assert job.status == "dead" and job.last_error
