"""Web Push wired to the patient cabinet and the clinician app, over HTTP on SQLite and
PostgreSQL, with a loopback push service that checks VAPID and decrypts each message
with the subscriber's keys (issues [notify] point 1, [clinician] point 3).

The cabinet subscribes through its session (CSRF token) and the organization's order
``push, email, sms`` then reaches the patient by push: an attach confirmation, a
document to sign; the receipt the service worker posts back marks it delivered, and
nothing goes by SMS. Another patient's messages never reach that browser; turning
notifications off (or logging out) sends the next message by SMS again. A device
subscribes with its bearer token and its new signing requests are pushed with a link
to the request. Bad input is a 4xx problem.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient
from httpx2 import Response
from sqlalchemy import func, select

from medsign.notify.models import NotificationMessage, PushSubscription
from medsign.notify.webpush import application_server_key, load_or_create_vapid
from medsign.runtime import Runtime
from medsign.web.app import create_app
from tests.integration.test_clinician_devices import enrolled, prescription
from tests.support.api import new_org, upload
from tests.support.cabinet import (
    attach_code,
    hidden,
    log_in,
    messages_to,
    press_attach,
    put_patient,
)
from tests.support.push_service import PushReceived, PushService
from tests.support.threaded import serve_in_thread
from tests.support.worker import drain

ORDER = ["push", "email", "sms"]


@pytest.fixture
def push() -> Iterator[PushService]:
    with PushService() as service:
        yield service


def _order(client: TestClient, headers: dict[str, str]) -> None:
    res = client.put("/api/v1/notification-channels", headers=headers, json={"channels": ORDER})
    assert res.status_code == 200, res.text


def _subscribe(client: TestClient, sub: dict[str, Any], csrf: str | None) -> Response:
    headers = {"X-CSRF-Token": csrf} if csrf is not None else {}
    return client.post("/cabinet/push-subscriptions", json=sub, headers=headers)


def _invite(client: TestClient, headers: dict[str, str], mis_id: str, title: str) -> str:
    """A user agreement for the patient to sign in the cabinet; the signer's id."""
    doc = upload(client, headers, title=title)
    res = client.post(
        "/api/v1/envelopes",
        headers=headers,
        json={
            "document_id": doc["id"],
            "signers": [
                {"role": "patient", "name": "P", "method": "cabinet", "patient_mis_id": mis_id}
            ],
        },
    )
    assert res.status_code == 201, res.text
    signer_id: str = res.json()["signers"][0]["id"]
    return signer_id


def _status(rt: Runtime, event: str, count: int) -> list[str]:
    with rt.transaction() as session:
        rows = session.scalars(
            select(NotificationMessage.status)
            .where(NotificationMessage.event == event)
            .order_by(NotificationMessage.created_at, NotificationMessage.id)
        ).all()
    assert len(rows) == count, rows
    return list(rows)


def _receipt(client: TestClient, got: PushReceived) -> None:
    res = client.post("/api/v1/notifications/receipts/push", json=got.payload["receipt"])
    assert res.status_code == 204, res.text


def test_the_cabinet_is_reached_by_push_first(
    rt: Runtime, client: TestClient, push: PushService
) -> None:
    _, headers = new_org(rt)
    _order(client, headers)
    put_patient(client, headers, "A-1", phone="+79990000011")
    code = attach_code(client, headers, "A-1")
    log_in(client, rt, "+79990000011")
    csrf = hidden(client)["csrf"]
    sub = push.subscribe()
    assert _subscribe(client, sub, csrf).status_code == 201
    assert _subscribe(client, sub, csrf).status_code == 201  # again: the same one
    assert press_attach(client, code).status_code == 200
    drain(rt)
    (confirmation,) = push.received
    assert confirmation.payload["body"] == "You are attached to Clinic One."
    assert confirmation.payload["url"].endswith("/cabinet")
    assert confirmation.vapid_key == application_server_key(
        load_or_create_vapid(rt.settings.data_dir / "keys")
    )

    signer_id = _invite(client, headers, "A-1", "Contract 7")
    drain(rt)
    assert len(push.received) == 2 and push.errors == []
    got = push.received[1]
    assert got.payload["title"] == "Документ на подпись: Contract 7"  # the signer's language
    assert got.payload["url"].endswith(f"/cabinet/documents/{signer_id}?lang=ru")
    assert _status(rt, "envelope.invite", 1) == ["sent"]  # waits for the receipt
    _receipt(client, got)
    assert _status(rt, "envelope.invite", 1) == ["delivered"]
    assert not any("Contract 7" in m for m in messages_to(rt, "+79990000011"))  # no SMS

    # Notifications off: the next document goes by SMS (push skipped, no email).
    res = client.request(
        "DELETE",
        "/cabinet/push-subscriptions",
        json={"endpoint": sub["endpoint"]},
        headers={"X-CSRF-Token": csrf},
    )
    assert res.status_code == 204, res.text
    _invite(client, headers, "A-1", "Contract 8")
    drain(rt)
    assert len(push.received) == 2
    assert any("Contract 8" in m for m in messages_to(rt, "+79990000011"))


def test_pushes_reach_only_their_own_cabinet(
    rt: Runtime, client: TestClient, push: PushService
) -> None:
    _, headers = new_org(rt)
    other_org, other_headers = new_org(rt, "Clinic Two")
    _order(client, headers)
    _order(client, other_headers)
    put_patient(client, headers, "B-1", phone="+79990000021")
    put_patient(client, headers, "B-2", phone="+79990000022")
    put_patient(client, other_headers, "B-1", phone="+79990000023")
    first, second = client, TestClient(client.app, follow_redirects=False)
    log_in(first, rt, "+79990000021")
    assert press_attach(first, attach_code(first, headers, "B-1")).status_code == 200
    log_in(second, rt, "+79990000022")
    assert press_attach(second, attach_code(second, headers, "B-2")).status_code == 200
    mine = push.subscribe()
    assert _subscribe(first, mine, hidden(first)["csrf"]).status_code == 201
    # The second patient cannot take the first one's endpoint without its keys.
    stolen = {**push.subscribe(), "endpoint": mine["endpoint"]}
    taken = _subscribe(second, stolen, hidden(second)["csrf"])
    assert taken.status_code == 409, taken.text
    assert taken.headers["content-type"] == "application/problem+json"
    # The second patient's document, and the other clinic's patient with the same
    # MIS id, never reach the first patient's browser.
    _invite(client, headers, "B-2", "For B-2")
    _invite(client, other_headers, "B-1", "Other clinic")
    drain(rt)
    assert push.received == []
    assert any("For B-2" in m for m in messages_to(rt, "+79990000022"))
    # Detached: the clinic's pushes stop.
    links = hidden(first)
    page = first.get("/cabinet?lang=en").text
    link_id = page.split("/cabinet/links/")[1].split("/detach")[0]
    assert first.post(f"/cabinet/links/{link_id}/detach", data=links).status_code == 200
    _invite(client, headers, "B-1", "After detach")
    drain(rt)
    assert push.received == []
    # Logging out forgets the device's subscription.
    assert _subscribe(second, push.subscribe(), hidden(second)["csrf"]).status_code == 201
    second.post("/cabinet/logout", data=hidden(second))
    with rt.transaction() as session:
        kinds = session.scalars(select(PushSubscription.subject_kind)).all()
    assert kinds == ["cabinet"]  # the first patient's only
    assert other_org


def test_bad_cabinet_subscriptions_are_4xx(
    rt: Runtime, client: TestClient, push: PushService
) -> None:
    _, headers = new_org(rt)
    sub = push.subscribe()
    stranger = TestClient(client.app, follow_redirects=False)
    assert _subscribe(stranger, sub, "x").status_code == 401  # no session
    log_in(client, rt, "+79990000031")
    csrf = hidden(client)["csrf"]
    assert _subscribe(client, sub, None).status_code == 403  # no CSRF token
    wrong = csrf[:-1] + ("1" if csrf[-1] != "1" else "2")
    assert _subscribe(client, sub, wrong).status_code == 403
    bad_keys = {**sub, "keys": {"p256dh": "short", "auth": sub["keys"]["auth"]}}
    assert _subscribe(client, bad_keys, csrf).status_code == 422
    plain = {**sub, "endpoint": "http://push.example.com/x/1"}
    res = _subscribe(client, plain, csrf)
    assert res.status_code == 422 and "https" in res.json()["detail"]
    assert _subscribe(client, {"endpoint": sub["endpoint"]}, csrf).status_code == 422
    gone = client.request(
        "DELETE",
        "/cabinet/push-subscriptions",
        json={"endpoint": sub["endpoint"]},
        headers={"X-CSRF-Token": csrf},
    )
    assert gone.status_code == 404
    with rt.transaction() as session:
        assert session.scalar(select(func.count()).select_from(PushSubscription)) == 0
    assert headers


def test_a_new_request_is_pushed_to_its_device(
    rt: Runtime, client: TestClient, push: PushService
) -> None:
    _, headers = new_org(rt)
    clinician_id, device = enrolled(client, rt, headers)
    other_id, other = enrolled(client, rt, headers, name="Dr. Other")
    key = client.get("/device/v1/push/vapid-public-key", headers=device.headers)
    assert key.json()["public_key"] == application_server_key(
        load_or_create_vapid(rt.settings.data_dir / "keys")
    )
    sub, other_sub = push.subscribe(), push.subscribe()
    for dev, s in ((device, sub), (other, other_sub)):
        res = client.post("/device/v1/push-subscriptions", json=s, headers=dev.headers)
        assert res.status_code == 201, res.text
    drain(rt)  # the enrollment emails
    prescription(client, headers, clinician_id)
    drain(rt)
    (request,) = client.get("/device/v1/requests", headers=device.headers).json()
    (got,) = push.received  # the other clinician's device heard nothing
    assert got.subscription == sub["endpoint"].rsplit("/", 1)[-1]
    assert got.payload["title"] == "Запрос на подпись"  # the clinician's language
    assert got.payload["body"] == "Clinic One просит подписать «Prescription»."
    assert got.payload["url"].endswith(f"/app?lang=ru#request={request['id']}")
    _receipt(client, got)
    assert _status(rt, "device.request", 1) == ["delivered"]
    # Off: the next request is announced by the event stream only.
    res = client.request(
        "DELETE",
        "/device/v1/push-subscriptions",
        json={"endpoint": sub["endpoint"]},
        headers=device.headers,
    )
    assert res.status_code == 204
    prescription(client, headers, clinician_id)
    drain(rt)
    assert len(push.received) == 1
    assert other_id


def test_bad_device_subscriptions_are_4xx(
    rt: Runtime, client: TestClient, push: PushService
) -> None:
    _, headers = new_org(rt)
    _, device = enrolled(client, rt, headers)
    sub = push.subscribe()
    assert client.post("/device/v1/push-subscriptions", json=sub).status_code == 401
    assert client.get("/device/v1/push/vapid-public-key").status_code == 401
    bad = {**sub, "keys": {"p256dh": sub["keys"]["p256dh"], "auth": "!"}}
    res = client.post("/device/v1/push-subscriptions", json=bad, headers=device.headers)
    assert res.status_code == 422
    assert res.headers["content-type"] == "application/problem+json"
    res = client.request(
        "DELETE",
        "/device/v1/push-subscriptions",
        json={"endpoint": sub["endpoint"]},
        headers=device.headers,
    )
    assert res.status_code == 404


def test_parallel_subscriptions_store_one_row(
    rt: Runtime, push: PushService, database_url: str
) -> None:
    if not database_url.startswith("postgresql"):
        pytest.skip("SQLite serializes writers by design (BEGIN IMMEDIATE)")
    _, headers = new_org(rt)
    app = create_app(runtime=rt, migrate=False)
    with TestClient(app) as setup:
        _, device = enrolled(setup, rt, headers)
    sub = push.subscribe()
    barrier = threading.Barrier(8)
    codes: list[int] = []
    with serve_in_thread(app) as url:

        def post() -> None:
            with httpx.Client(base_url=url, timeout=30) as http:
                barrier.wait()
                res = http.post("/device/v1/push-subscriptions", json=sub, headers=device.headers)
                codes.append(res.status_code)

        threads = [threading.Thread(target=post) for _ in range(8)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    assert codes == [201] * 8
    with rt.transaction() as session:
        assert session.scalar(select(func.count()).select_from(PushSubscription)) == 1
