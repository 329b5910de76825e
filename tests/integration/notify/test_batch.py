"""Batched delivery (many messages per ``notify`` job): every per-message guarantee
holds. A failing recipient is retried alone, with the worker's backoff, while the rest
of the batch goes out once; two workers holding overlapping batches never send a
message twice; usage is metered per message and per organization."""

from __future__ import annotations

import time
from collections import Counter
from typing import Any

import pytest
from sqlalchemy import func, select

from medsign.jobs.handlers import build_handlers
from medsign.jobs.models import Job
from medsign.jobs.outbox import JobKind, enqueue_many
from medsign.jobs.worker import Worker
from medsign.notify.models import NotificationDelivery, NotificationMessage
from medsign.notify.outbound import Outgoing, Recipient, queue_messages
from medsign.runtime import Runtime
from medsign.usage.models import UsageRecord
from medsign.usage.service import SMS_MESSAGES
from tests.integration.notify.test_channels_end_to_end import make_app  # noqa: F401 - fixture
from tests.support.api import new_org
from tests.support.clock import FrozenClock
from tests.support.sms_gateway import SmsGateway
from tests.support.worker import drain


def _queue(rt: Runtime, org_id: str, phones: list[str], prefix: str) -> list[str]:
    with rt.transaction() as session:
        return queue_messages(
            session,
            [
                Outgoing(
                    organization_id=org_id,
                    recipient=Recipient(phone=phone),
                    text=f"Напоминание {i}",
                    channels=["sms"],
                    idempotency_key=f"{prefix}{i}",
                )
                for i, phone in enumerate(phones)
            ],
            now=rt.clock(),
        )


def _sent(rt: Runtime) -> Counter[str]:
    with rt.transaction() as session:
        return Counter(
            session.scalars(
                select(NotificationDelivery.message_id).where(NotificationDelivery.status == "sent")
            )
        )


def _sms_used(rt: Runtime, org_id: str) -> int:
    with rt.transaction() as session:
        return int(
            session.scalar(
                select(func.coalesce(func.sum(UsageRecord.amount), 0)).where(
                    UsageRecord.organization_id == org_id, UsageRecord.metric == SMS_MESSAGES
                )
            )
            or 0
        )


def test_one_failing_recipient_is_retried_alone_and_the_others_go_once(
    make_app: Any,  # noqa: F811
    clock: FrozenClock,
) -> None:
    with SmsGateway() as gateway:
        rt, _ = make_app(sms_url=gateway.url, notify_deadline_sms_seconds=0)
        org_id, _ = new_org(rt)
        phones = [f"+7999100{i:04d}" for i in range(6)]
        gateway.fail_to(phones[2], 2)  # two 503s for this one, then it goes through
        ids = _queue(rt, org_id, phones, "k")
        with rt.transaction() as session:
            payloads = session.scalars(select(Job.payload).where(Job.kind == "notify")).all()
        assert payloads == [{"message_ids": ids}]  # one job carries the batch
        drain(rt)
        assert sorted(m.to for m in gateway.messages) == sorted(phones[:2] + phones[3:])
        for retried in (1, 2):
            with rt.transaction() as session:
                job = session.scalars(select(Job).where(Job.status == "queued")).one()
            assert job.payload == {"message_ids": [ids[2]], "retried": retried}
            assert job.run_after > clock()  # backed off, not due yet
            clock.now = job.run_after
            drain(rt)
        assert gateway.requests == 6 + 2 and gateway.duplicates == 0
        assert sorted(m.to for m in gateway.messages) == sorted(phones)
        assert _sent(rt) == Counter({i: 1 for i in ids})
        with rt.transaction() as session:
            statuses = set(session.scalars(select(NotificationMessage.status)))
            retries = session.scalars(
                select(NotificationDelivery.message_id).where(
                    NotificationDelivery.status == "retry"
                )
            ).all()
            left = session.scalar(select(func.count()).select_from(Job).where(Job.status != "done"))
        assert statuses == {"delivered"} and retries == [ids[2], ids[2]] and left == 0
        assert _sms_used(rt, org_id) == 6  # each message metered once, failures not at all


def test_two_workers_with_overlapping_batches_send_each_message_once(
    make_app: Any,  # noqa: F811
) -> None:
    with SmsGateway() as gateway:
        gateway.delay = 0.01  # both workers are mid-send at once
        rt, _ = make_app(sms_url=gateway.url, notify_deadline_sms_seconds=0)
        if rt.engine.dialect.name != "postgresql":
            pytest.skip("SQLite serializes writers by design (BEGIN IMMEDIATE)")
        org_a, _ = new_org(rt, "Clinic A")
        org_b, _ = new_org(rt, "Clinic B")
        ids_a = _queue(rt, org_a, [f"+7999200{i:04d}" for i in range(30)], "a")
        ids_b = _queue(rt, org_b, [f"+7999300{i:04d}" for i in range(30)], "b")
        mixed = [i for pair in zip(ids_a, ids_b, strict=True) for i in pair]
        with rt.transaction() as session:  # more jobs over the same messages, across orgs
            for size in (7, 11):
                batches = [{"message_ids": mixed[i : i + size]} for i in range(0, 60, size)]
                enqueue_many(session, JobKind.NOTIFY, batches, now=rt.clock())
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
        assert gateway.requests == 60 and gateway.duplicates == 0
        assert _sent(rt) == Counter({i: 1 for i in mixed})
        with rt.transaction() as session:
            assert set(session.scalars(select(NotificationMessage.status))) == {"delivered"}
        assert _sms_used(rt, org_a) == 30 and _sms_used(rt, org_b) == 30
