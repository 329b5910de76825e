"""WebAuthn through the device API (SQLite and PostgreSQL): a device registers its
authenticator; from then on each approval needs a user-verified assertion over SHA-256
of its ``to_sign`` (a batch: over the ordered list of those hashes); a missing, wrong or
replayed one is a 403 problem, audited, and signs nothing; a good one lands in the
evidence embedded in the PDF. Parallel copies against a served app on PostgreSQL are
accepted once."""

from __future__ import annotations

import base64
import hashlib
import threading
from dataclasses import replace
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from medsign.audit.models import AuditEvent
from medsign.runtime import Runtime
from tests.support.api import new_org
from tests.support.authenticator import SoftAuthenticator
from tests.support.databases import postgres_url
from tests.support.device import Device, Http
from tests.support.pdfs import make_pdf
from tests.support.served import serve_with_peers
from tests.support.worker import drain


def _invite(http: Http, headers: dict[str, str]) -> dict[str, Any]:
    res = http.post(
        "/api/v1/clinicians",
        headers=headers,
        json={"name": "Dr. Sara Ahmadi", "licence_number": "MC-1", "email": "s@example.com"},
    )
    assert res.status_code == 201, res.text
    body: dict[str, Any] = res.json()
    return body


def _prescriptions(http: Http, headers: dict[str, str], clinician_id: str, n: int) -> list[str]:
    ids = []
    for i in range(n):
        res = http.post(
            "/api/v1/documents",
            headers=headers,
            files={"files": ("p.pdf", make_pdf(1), "application/pdf")},
            data={"title": f"Prescription {i}", "kind": "prescription"},
        )
        assert res.status_code == 201, res.text
        signer = {
            "role": "clinician",
            "name": "Dr",
            "method": "device",
            "clinician_id": clinician_id,
        }
        res = http.post(
            "/api/v1/envelopes",
            headers=headers,
            json={"document_id": res.json()["id"], "signers": [signer]},
        )
        assert res.status_code == 201, res.text
        ids.append(res.json()["id"])
    return ids


def _register(http: Http, device: Device, auth: SoftAuthenticator) -> dict[str, Any]:
    res = http.post("/device/v1/webauthn/registration/options", headers=device.headers, json={})
    assert res.status_code == 200, res.text
    res = http.post(
        "/device/v1/webauthn/registration",
        headers=device.headers,
        json={"credential": auth.register(res.json())},
    )
    assert res.status_code == 201, res.text
    body: dict[str, Any] = res.json()
    return body


def _challenge(*items: dict[str, Any]) -> bytes:
    digests = [hashlib.sha256(base64.b64decode(i["to_sign"])).digest() for i in items]
    return digests[0] if len(items) == 1 else hashlib.sha256(b"".join(digests)).digest()


def _audited(rt: Runtime, action: str, problem: str) -> int:
    with rt.transaction() as session:
        rows = session.scalars(select(AuditEvent).where(AuditEvent.action == action)).all()
        return sum(1 for r in rows if r.data.get("problem") == problem)


def _find(value: Any, key: str) -> Any:
    """The first value under ``key`` anywhere in nested dicts and lists."""
    if isinstance(value, dict) and key in value:
        return value[key]
    inner = value.values() if isinstance(value, dict) else value if isinstance(value, list) else []
    for item in inner:
        found = _find(item, key)
        if found is not None:
            return found
    return None


@pytest.fixture
def setup(client: TestClient, rt: Runtime) -> tuple[dict[str, str], str, Device, SoftAuthenticator]:
    """An organization, a clinician, an enrolled device with a registered authenticator."""
    _, headers = new_org(rt)
    invited = _invite(client, headers)
    device = Device(raw=True)
    device.enroll(client, invited["enrollment_token"])
    auth = SoftAuthenticator("http://testserver", "testserver")
    registered = _register(client, device, auth)
    listed = client.get("/device/v1/webauthn", headers=device.headers).json()
    assert listed == {"rp_id": "testserver", "credentials": [registered["credential_id"]]}
    assert _audited(rt, "device.authenticator_registered", "") == 0  # no problem on it
    return headers, invited["id"], device, auth


def test_approvals_need_an_assertion_over_what_is_approved(
    client: TestClient, rt: Runtime, setup: tuple[dict[str, str], str, Device, SoftAuthenticator]
) -> None:
    headers, clinician_id, device, auth = setup
    _prescriptions(client, headers, clinician_id, 2)
    drain(rt, limit=200)
    first, second = device.requests(client)
    before = _audited(rt, "device.approval_refused", "authenticator-rejected")

    refused = [
        device.approve(client, first),  # none
        device.approve(client, first, webauthn=auth.assert_(_challenge(second))),  # other
        device.approve(client, first, webauthn={"id": "x", "response": {}}),  # malformed
        device.approve(
            client,
            first,
            webauthn=SoftAuthenticator("http://testserver", "testserver").assert_(
                _challenge(first)
            ),
        ),  # a stranger's authenticator
    ]
    for res in refused:
        assert res.status_code == 403, res.text
        assert res.json()["type"] == "/problems/authenticator-rejected"
    assert _audited(rt, "device.approval_refused", "authenticator-rejected") == before + 4
    assert len(device.requests(client)) == 2  # nothing signed

    good = auth.assert_(_challenge(first))
    res = device.approve(client, first, webauthn=good)
    assert res.status_code == 200, res.text
    drain(rt, limit=200)
    # The PDF's embedded evidence is prepared before the approval; the evidence record
    # (certificate of completion) carries what the approval brought.
    res = client.get(f"/api/v1/envelopes/{first['envelope_id']}/evidence.json", headers=headers)
    assert res.status_code == 200, res.text
    evidence = _find(res.json(), "webauthn")
    assert evidence is not None, res.json()
    assert evidence["challenge_sha256"] == _challenge(first).hex()
    assert evidence["user_verified"] is True and evidence["origin"] == "http://testserver"

    # the same assertion again, for the other request: refused (another challenge)
    res = device.approve(client, second, webauthn=good)
    assert res.status_code == 403, res.text


def test_a_batch_needs_one_assertion_over_its_ordered_list(
    client: TestClient, rt: Runtime, setup: tuple[dict[str, str], str, Device, SoftAuthenticator]
) -> None:
    headers, clinician_id, device, auth = setup
    env_ids = _prescriptions(client, headers, clinician_id, 3)
    drain(rt, limit=300)
    items = device.requests(client)
    payload = [{"id": i["id"], "signature": device.sign(i["to_sign"])} for i in items]

    def batch(webauthn: Any) -> Any:
        return client.post(
            "/device/v1/requests/approve",
            headers=device.headers,
            json={"items": payload, "webauthn": webauthn},
        )

    for wrong in (
        None,
        auth.assert_(_challenge(*reversed(items))),
        auth.assert_(_challenge(items[0])),
    ):
        res = batch(wrong)
        assert res.status_code == 403, res.text
        assert res.json()["type"] == "/problems/authenticator-rejected"
    assert len(device.requests(client)) == 3

    assertion = auth.assert_(_challenge(*items))
    res = batch(assertion)
    assert res.status_code == 200, res.text
    assert [r["status"] for r in res.json()["items"]] == ["approved"] * 3
    assert batch(assertion).status_code == 403  # replayed
    drain(rt, limit=300)
    for env_id in env_ids:
        state = client.get(f"/api/v1/envelopes/{env_id}", headers=headers).json()
        assert state["status"] == "completed"


def test_a_bad_registration_is_refused_and_audited(
    client: TestClient, rt: Runtime, setup: tuple[dict[str, str], str, Device, SoftAuthenticator]
) -> None:
    _, _, device, _ = setup
    options = client.post(
        "/device/v1/webauthn/registration/options", headers=device.headers, json={}
    ).json()
    elsewhere = SoftAuthenticator("http://evil.example", "testserver").register(options)
    res = client.post(
        "/device/v1/webauthn/registration",
        headers=device.headers,
        json={"credential": elsewhere},
    )
    assert res.status_code == 403, res.text
    assert _audited(rt, "device.authenticator_refused", "authenticator-rejected") == 1
    assert client.post("/device/v1/webauthn/registration/options", json={}).status_code == 401
    res = client.post(
        "/device/v1/webauthn/registration", headers=device.headers, json={"credential": "x"}
    )
    assert res.status_code == 422


def _options_challenge(http: Http, device: Device) -> tuple[dict[str, Any], bytes]:
    res = http.post("/device/v1/webauthn/registration/options", headers=device.headers, json={})
    assert res.status_code == 200, res.text
    options: dict[str, Any] = res.json()
    text = options["challenge"]
    return options, base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def test_another_authenticator_needs_an_assertion_of_one_the_device_has(
    client: TestClient, rt: Runtime, setup: tuple[dict[str, str], str, Device, SoftAuthenticator]
) -> None:
    headers, clinician_id, device, first = setup
    second = SoftAuthenticator("http://testserver", "testserver")
    options, challenge = _options_challenge(client, device)
    new = second.register(options)

    def attempt(assertion: Any) -> Any:
        return client.post(
            "/device/v1/webauthn/registration",
            headers=device.headers,
            json={"credential": new, "assertion": assertion},
        )

    for wrong in (
        None,  # no confirmation at all
        first.assert_(b"another challenge".ljust(32, b".")),  # over something else
        second.assert_(challenge),  # the newcomer vouching for itself
        first.assert_(challenge, origin="http://evil.example"),  # another origin
        replace(first, user_verified=False).assert_(challenge),  # no user verification
    ):
        res = attempt(wrong)
        assert res.status_code == 403, res.text
        assert res.json()["type"] == "/problems/authenticator-rejected"
    assert _audited(rt, "device.authenticator_refused", "authenticator-rejected") == 5
    listed = client.get("/device/v1/webauthn", headers=device.headers).json()
    assert len(listed["credentials"]) == 1

    confirmation = first.assert_(challenge)
    res = attempt(confirmation)
    assert res.status_code == 201, res.text
    listed = client.get("/device/v1/webauthn", headers=device.headers).json()
    assert len(listed["credentials"]) == 2
    with rt.transaction() as session:
        event = session.scalars(
            select(AuditEvent)
            .where(AuditEvent.action == "device.authenticator_registered")
            .order_by(AuditEvent.id.desc())
        ).first()
    assert event is not None and event.data["credential_id"] == res.json()["credential_id"]
    assert event.data["confirmed_by"] == listed["credentials"][0]
    # The confirmation is spent: a third authenticator cannot reuse it.
    third = SoftAuthenticator("http://testserver", "testserver").register(options)
    res = client.post(
        "/device/v1/webauthn/registration",
        headers=device.headers,
        json={"credential": third, "assertion": confirmation},
    )
    assert res.status_code == 403, res.text

    # The new authenticator approves.
    _prescriptions(client, headers, clinician_id, 1)
    drain(rt, limit=200)
    [item] = device.requests(client)
    res = device.approve(client, item, webauthn=second.assert_(_challenge(item)))
    assert res.status_code == 200, res.text


@pytest.mark.skipif(postgres_url() is None, reason="parallel requests are checked on PostgreSQL")
def test_parallel_copies_of_one_approval_sign_once(tmp_path: Path) -> None:
    with serve_with_peers(tmp_path, "postgresql") as stack:
        app = stack.app
        http = app.http
        invited = _invite(http, app.headers)
        device = Device(raw=True)
        device.enroll(http, invited["enrollment_token"])
        origin = app.url
        auth = SoftAuthenticator(origin, "127.0.0.1")
        _register(http, device, auth)
        env_ids = _prescriptions(http, app.headers, invited["id"], 3)
        for _ in range(100):
            items = device.requests(http)
            if len(items) == 3:
                break
            threading.Event().wait(0.2)
        assert len(items) == 3
        one, rest = items[0], items[1:]
        single = {
            "signature": device.sign(one["to_sign"]),
            "webauthn": auth.assert_(_challenge(one)),
        }
        approved = _send_copies(app.url, f"/device/v1/requests/{one['id']}/approve", device, single)
        assert approved == 1
        batch = {
            "items": [{"id": i["id"], "signature": device.sign(i["to_sign"])} for i in rest],
            "webauthn": auth.assert_(_challenge(*rest)),
        }
        assert _send_copies(app.url, "/device/v1/requests/approve", device, batch) == 1
        for env_id in env_ids:
            app.wait_for_envelope(env_id, "completed", timeout=60)


def _send_copies(base_url: str, path: str, device: Device, body: dict[str, Any]) -> int:
    """Send ``body`` six times at the same moment; no 5xx; return how many were approved
    (a batch counts when all its items were)."""
    start = threading.Barrier(6)
    codes: list[int] = []
    approved: list[bool] = []
    lock = threading.Lock()

    def send() -> None:
        with httpx.Client(base_url=base_url, timeout=60) as own:
            start.wait()
            res = own.post(path, headers=device.headers, json=body)
        ok = res.status_code == 200 and all(
            r["status"] == "approved" for r in res.json().get("items", [{"status": "approved"}])
        )
        with lock:
            codes.append(res.status_code)
            approved.append(ok)

    threads = [threading.Thread(target=send) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(120)
    assert len(codes) == 6 and all(code < 500 for code in codes), codes
    return sum(approved)


@pytest.mark.skipif(postgres_url() is None, reason="parallel requests are checked on PostgreSQL")
def test_one_confirmation_adds_one_authenticator_under_parallel_requests(tmp_path: Path) -> None:
    with serve_with_peers(tmp_path, "postgresql") as stack:
        app = stack.app
        invited = _invite(app.http, app.headers)
        device = Device(raw=True)
        device.enroll(app.http, invited["enrollment_token"])
        first = SoftAuthenticator(app.url, "127.0.0.1")
        _register(app.http, device, first)
        options, challenge = _options_challenge(app.http, device)
        confirmation = first.assert_(challenge)
        newcomers = [SoftAuthenticator(app.url, "127.0.0.1").register(options) for _ in range(6)]
        start = threading.Barrier(6)
        codes: list[int] = []
        lock = threading.Lock()

        def send(credential: dict[str, Any]) -> None:
            with httpx.Client(base_url=app.url, timeout=60) as own:
                start.wait()
                res = own.post(
                    "/device/v1/webauthn/registration",
                    headers=device.headers,
                    json={"credential": credential, "assertion": confirmation},
                )
            with lock:
                codes.append(res.status_code)

        threads = [threading.Thread(target=send, args=(c,)) for c in newcomers]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(120)
        assert sorted(codes) == [201] + [403] * 5, codes
        listed = app.http.get("/device/v1/webauthn", headers=device.headers).json()
        assert len(listed["credentials"]) == 2
