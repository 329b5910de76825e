"""Queuing a message: one row and one job in the caller's transaction, once per key."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from medsign.errors import InvalidInput
from medsign.jobs.models import Job
from medsign.notify.models import NotificationMessage
from medsign.notify.outbound import Recipient, queue_message
from medsign.runtime import Runtime
from tests.support.api import new_org


def test_a_message_is_queued_once_per_key(rt: Runtime) -> None:
    org_id, _ = new_org(rt)
    ids = []
    for _ in range(2):
        with rt.transaction() as session:
            ids.append(
                queue_message(
                    session,
                    organization_id=org_id,
                    recipient=Recipient(email="a@example.org"),
                    text="Hello",
                    idempotency_key="k1",
                    now=rt.clock(),
                )
            )
    assert ids[0] == ids[1]
    with rt.transaction() as session:
        message = session.get(NotificationMessage, ids[0])
        assert message is not None and message.channels == ["email", "sms"]
        assert session.scalar(select(func.count()).select_from(Job)) == 1


def test_a_rolled_back_caller_queues_nothing(rt: Runtime) -> None:
    org_id, _ = new_org(rt)
    with pytest.raises(RuntimeError), rt.transaction() as session:
        queue_message(
            session,
            organization_id=org_id,
            recipient=Recipient(phone="+79990000001"),
            text="Hello",
            idempotency_key="k1",
            now=rt.clock(),
        )
        raise RuntimeError("caller fails")
    with rt.transaction() as session:
        assert session.scalar(select(func.count()).select_from(NotificationMessage)) == 0
        assert session.scalar(select(func.count()).select_from(Job)) == 0


@pytest.mark.parametrize(
    ("kwargs", "detail"),
    [
        ({"channels": ["fax"]}, "unknown channel"),
        ({"channels": []}, "at least one"),
        ({"channels": ["sms", "sms"]}, "repeat"),
        ({"text": " "}, "empty"),
        ({"recipient": Recipient()}, "neither"),
        ({"idempotency_key": ""}, "idempotency_key"),
    ],
)
def test_bad_messages_are_refused(rt: Runtime, kwargs: dict[str, object], detail: str) -> None:
    org_id, _ = new_org(rt)
    args: dict[str, object] = {
        "organization_id": org_id,
        "recipient": Recipient(email="a@example.org"),
        "text": "Hello",
        "idempotency_key": "k",
        "now": rt.clock(),
    }
    args.update(kwargs)
    with pytest.raises(InvalidInput, match=detail), rt.transaction() as session:
        queue_message(session, **args)  # type: ignore[arg-type]
