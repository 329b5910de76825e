"""Kavenegar from the queued message to the delivery report: the callback names a
message, the status lookup decides (a forged ``status`` changes nothing), unknown ids
are not looked up, and parallel callbacks for one message deliver it once."""

from __future__ import annotations

import threading
from typing import Any

from pydantic import SecretStr
from sqlalchemy import select

from medsign.notify.models import NotificationDelivery
from tests.integration.notify.test_channels_end_to_end import (  # noqa: F401 - fixture
    _queue,
    _status,
    make_app,
)
from tests.support.api import new_org
from tests.support.sms_providers import KavenegarPeer
from tests.support.worker import drain

PATH = "/api/v1/notifications/callbacks/kavenegar"


def _app(make_app: Any, peer: KavenegarPeer) -> tuple[Any, Any]:  # noqa: F811
    rt, client = make_app(sms_url=peer.sms_url, sms_token=SecretStr(peer.api_key))
    return rt, client


def test_callbacks_drive_the_message_by_the_status_lookup(make_app: Any) -> None:  # noqa: F811
    with KavenegarPeer() as kavenegar:
        rt, client = _app(make_app, kavenegar)
        org_id, headers = new_org(rt)
        first = _queue(rt, org_id, ["sms"], "k1")
        second = _queue(rt, org_id, ["sms"], "k2")
        drain(rt)
        refs = [m.ref for m in kavenegar.accepted]
        assert len(refs) == 2 and all(m.to == "0079990000001" for m in kavenegar.accepted)
        assert {_status(client, headers, m) for m in (first, second)} == {"sent"}
        # A callback claiming delivery while Kavenegar still has it queued: nothing changes.
        forged = kavenegar.callback(PATH, refs[0], 10)
        assert client.post(PATH, content=forged.body, headers=forged.headers).status_code == 204
        assert _status(client, headers, first) == "sent" and kavenegar.lookups == 1
        kavenegar.statuses[refs[0]] = 10
        kavenegar.statuses[refs[1]] = 11
        for ref in refs:
            cb = kavenegar.callback(PATH, ref, 10)  # the status it carries is not believed
            assert client.post(PATH, content=cb.body, headers=cb.headers).status_code == 204
        assert _status(client, headers, first) == "delivered"
        assert _status(client, headers, second) == "dead"
        # An id medsign never sent is not looked up; a malformed callback is a 422.
        lookups = kavenegar.lookups
        unknown = kavenegar.callback(PATH, "123456789", 10)
        assert client.post(PATH, content=unknown.body, headers=unknown.headers).status_code == 204
        assert kavenegar.lookups == lookups
        bad = client.post(PATH, data={"messageid": "x'--"})
        assert bad.status_code == 422
        assert bad.headers["content-type"] == "application/problem+json"
        assert client.post(PATH, data={}).status_code == 422
        # Also as a query string, as some panels are set up.
        assert client.post(f"{PATH}?messageid={refs[0]}&status=10").status_code == 204


def test_a_lookup_that_fails_is_a_503_and_changes_nothing(make_app: Any) -> None:  # noqa: F811
    with KavenegarPeer() as kavenegar:
        rt, client = _app(make_app, kavenegar)
        org_id, headers = new_org(rt)
        message_id = _queue(rt, org_id, ["sms"])
        drain(rt)
        ref = kavenegar.accepted[0].ref
        kavenegar.statuses[ref] = 10
        kavenegar.fail_next.append((409, {"return": {"status": 409, "message": "busy"}}))
        cb = kavenegar.callback(PATH, ref, 10)
        res = client.post(PATH, content=cb.body, headers=cb.headers)
        assert res.status_code == 503 and res.headers["retry-after"]
        assert res.headers["content-type"] == "application/problem+json"
        assert kavenegar.api_key not in res.text
        assert _status(client, headers, message_id) == "sent"
        assert client.post(PATH, content=cb.body, headers=cb.headers).status_code == 204
        assert _status(client, headers, message_id) == "delivered"


def test_other_providers_do_not_take_kavenegar_callbacks(make_app: Any) -> None:  # noqa: F811
    _, client = make_app()
    assert client.post(PATH, data={"messageid": "1"}).status_code == 404


def test_parallel_callbacks_deliver_a_message_once(make_app: Any) -> None:  # noqa: F811
    with KavenegarPeer() as kavenegar:
        rt, client = _app(make_app, kavenegar)
        org_id, headers = new_org(rt)
        message_id = _queue(rt, org_id, ["sms"])
        drain(rt)
        ref = kavenegar.accepted[0].ref
        kavenegar.statuses[ref] = 10
        cb = kavenegar.callback(PATH, ref, 10)
        barrier = threading.Barrier(6)
        codes: list[int] = []

        def post() -> None:
            barrier.wait()
            codes.append(client.post(PATH, content=cb.body, headers=cb.headers).status_code)

        threads = [threading.Thread(target=post) for _ in range(6)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(30)
        assert codes == [204] * 6
        assert _status(client, headers, message_id) == "delivered"
        with rt.transaction() as session:
            entries = session.scalars(
                select(NotificationDelivery).where(
                    NotificationDelivery.message_id == message_id,
                    NotificationDelivery.status == "delivered",
                )
            ).all()
        current = [e for e in entries if not (e.detail or "").startswith("late report")]
        assert len(current) == 1 and len(entries) == 6
