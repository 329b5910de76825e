"""On PostgreSQL, with real concurrency: two workers never send one message twice (even
with two jobs for each message), parallel replays queue a message once, parallel
hand-overs with one idempotency key make one message."""

from __future__ import annotations

import threading
import time
from collections import Counter
from typing import Any

import pytest
from sqlalchemy import func, select

from medsign.jobs.handlers import build_handlers
from medsign.jobs.models import Job
from medsign.jobs.outbox import JobKind, enqueue
from medsign.jobs.worker import Worker
from medsign.notify.models import NotificationDelivery, NotificationMessage
from medsign.notify.outbound import Recipient, queue_message
from medsign.runtime import Runtime
from tests.integration.notify.test_channels_end_to_end import make_app  # noqa: F401 - fixture
from tests.support.api import new_org
from tests.support.sms_gateway import SmsGateway
from tests.support.worker import drain

MESSAGES = 40


@pytest.fixture(autouse=True)
def _postgresql_only(rt: Runtime) -> None:
    if rt.engine.dialect.name != "postgresql":
        pytest.skip("SQLite serializes writers by design (BEGIN IMMEDIATE)")


def _queue_many(rt: Runtime, org_id: str) -> list[str]:
    ids = []
    with rt.transaction() as session:
        for i in range(MESSAGES):
            message_id = queue_message(
                session,
                organization_id=org_id,
                recipient=Recipient(phone=f"+7999000{i:04d}"),
                text=f"Напоминание {i}",
                channels=["sms"],
                idempotency_key=f"k{i}",
                now=rt.clock(),
            )
            # a second job for the same message (a re-claimed or repeated job)
            enqueue(session, JobKind.NOTIFY, {"message_id": message_id}, now=rt.clock())
            ids.append(message_id)
    return ids


def test_two_workers_never_send_one_message_twice(make_app: Any) -> None:  # noqa: F811
    with SmsGateway() as gateway:
        gateway.delay = 0.02  # both workers are mid-send at once
        rt, _ = make_app(sms_url=gateway.url, notify_deadline_sms_seconds=0)
        org_id, _ = new_org(rt)
        ids = _queue_many(rt, org_id)
        workers = [Worker(rt, build_handlers(rt), concurrency=4) for _ in range(2)]
        for worker in workers:
            worker.start()
        deadline = time.monotonic() + 60
        try:
            while time.monotonic() < deadline:
                with rt.transaction() as session:
                    left = session.scalar(
                        select(func.count()).select_from(Job).where(Job.status != "done")
                    )
                if left == 0:
                    break
                time.sleep(0.1)
        finally:
            for worker in workers:
                worker.stop()
        assert left == 0
        assert gateway.requests == MESSAGES and gateway.duplicates == 0
        assert len({m.id for m in gateway.messages}) == MESSAGES
        with rt.transaction() as session:
            sent = Counter(
                session.scalars(
                    select(NotificationDelivery.message_id).where(
                        NotificationDelivery.status == "sent"
                    )
                )
            )
            statuses = set(session.scalars(select(NotificationMessage.status)))
        assert sent == Counter({i: 1 for i in ids})
        assert statuses == {"delivered"}


def test_parallel_replays_queue_a_dead_message_once(make_app: Any) -> None:  # noqa: F811
    rt, client = make_app()  # SMS to the dev outbox; the message has no address: dead
    org_id, headers = new_org(rt)
    with rt.transaction() as session:
        message_id = queue_message(
            session,
            organization_id=org_id,
            recipient=Recipient(email="a@example.org"),
            text="Текст",
            channels=["sms"],
            idempotency_key="k",
            now=rt.clock(),
        )
    drain(rt)
    assert client.get(f"/api/v1/notifications/{message_id}", headers=headers).json()["status"] == (
        "dead"
    )
    barrier = threading.Barrier(6)
    codes: list[int] = []

    def replay() -> None:
        barrier.wait()
        res = client.post(f"/api/v1/notifications/{message_id}/replay", headers=headers)
        codes.append(res.status_code)

    threads = [threading.Thread(target=replay) for _ in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(codes) == [202] + [409] * 5
    with rt.transaction() as session:
        replays = session.scalar(
            select(func.count())
            .select_from(NotificationDelivery)
            .where(NotificationDelivery.status == "replayed")
        )
        jobs = session.scalar(select(func.count()).select_from(Job).where(Job.status == "queued"))
    assert replays == 1 and jobs == 1


def test_parallel_hand_overs_with_one_key_make_one_message(rt: Runtime) -> None:
    org_id, _ = new_org(rt)
    barrier = threading.Barrier(8)
    ids: list[str] = []

    def hand_over() -> None:
        with rt.transaction() as session:
            barrier.wait()
            ids.append(
                queue_message(
                    session,
                    organization_id=org_id,
                    recipient=Recipient(phone="+79990000001"),
                    text="Один раз",
                    idempotency_key="same",
                    now=rt.clock(),
                )
            )

    threads = [threading.Thread(target=hand_over) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(ids) == 8 and len(set(ids)) == 1
    with rt.transaction() as session:
        assert session.scalar(select(func.count()).select_from(NotificationMessage)) == 1
        assert session.scalar(select(func.count()).select_from(Job)) == 1
