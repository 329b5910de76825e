"""WebAuthn for clinician devices at the service level (SQLite and PostgreSQL): a
registration verifies once and only within its window; an approval's assertion must
carry the SHA-256 of what is approved, come from the device's credential on our origin
with user verification, and be used once, even when copies arrive at the same moment."""

from __future__ import annotations

import hashlib
import threading
import uuid
from typing import Any

import pytest
from fastapi.testclient import TestClient

from medsign.authenticators.models import AuthenticatorCredential
from medsign.authenticators.service import (
    RelyingParty,
    approval_challenge,
    check_assertion,
    credential_ids,
    register,
    registration_options,
)
from medsign.errors import AuthenticatorRejected, Conflict
from medsign.runtime import Runtime
from tests.support.api import new_org
from tests.support.authenticator import SoftAuthenticator, b64url
from tests.support.clock import FrozenClock
from tests.support.device import Device

RP = RelyingParty.of("http://testserver")
TO_SIGN = b"\x31\x4b DER of the CMS signed attributes"


def _enrolled(client: TestClient, rt: Runtime) -> tuple[str, str]:
    """An organization and an enrolled device of it."""
    org, headers = new_org(rt)
    res = client.post(
        "/api/v1/clinicians",
        headers=headers,
        json={"name": "Dr A", "licence_number": "MC-1", "email": "a@example.com"},
    )
    assert res.status_code == 201, res.text
    device = Device()
    device.enroll(client, res.json()["enrollment_token"])
    return org, device.device_id


def _register(rt: Runtime, org: str, device: str, auth: SoftAuthenticator) -> None:
    with rt.transaction() as session:
        options = registration_options(
            session, rt.keyring, RP, device_id=device, user_name="Dr A", now=rt.clock()
        )
    with rt.transaction() as session:
        register(
            session,
            rt.keyring,
            RP,
            device_id=device,
            organization_id=org,
            credential=auth.register(options),
            now=rt.clock(),
        )


def _check(rt: Runtime, device: str, challenge: bytes, assertion: Any) -> dict[str, Any] | None:
    with rt.transaction() as session:
        return check_assertion(
            session, RP, device_id=device, challenge=challenge, assertion=assertion, now=rt.clock()
        )


def test_relying_party_follows_the_public_url() -> None:
    rp = RelyingParty.of("https://sign.clinic.example:8443/base")
    assert (rp.id, rp.origin) == ("sign.clinic.example", "https://sign.clinic.example:8443")


def test_approval_challenges_bind_exactly_what_is_approved() -> None:
    one, two = b"first", b"second"
    assert approval_challenge([one], batch=False) == hashlib.sha256(one).digest()
    batch = approval_challenge([one, two], batch=True)
    assert (
        batch
        == hashlib.sha256(hashlib.sha256(one).digest() + hashlib.sha256(two).digest()).digest()
    )
    assert batch != approval_challenge([two, one], batch=True)  # order matters
    with pytest.raises(ValueError):
        approval_challenge([one, two], batch=False)


def test_registration_options_ask_for_a_user_verifying_platform_authenticator(
    client: TestClient,
    rt: Runtime,
) -> None:
    org, device = _enrolled(client, rt)
    with rt.transaction() as session:
        options = registration_options(
            session, rt.keyring, RP, device_id=device, user_name="Dr A", now=rt.clock()
        )
    assert options["rp"] == {"id": "testserver", "name": "medsign"}
    selection = options["authenticatorSelection"]
    assert selection["authenticatorAttachment"] == "platform"
    assert selection["userVerification"] == "required"
    assert options["attestation"] == "none"
    auth = SoftAuthenticator(RP.origin, RP.id)
    _register(rt, org, device, auth)
    with rt.transaction() as session:
        again = registration_options(
            session, rt.keyring, RP, device_id=device, user_name="Dr A", now=rt.clock()
        )
        assert credential_ids(session, device) == [b64url(auth.credential_id)]
    assert [c["id"] for c in again["excludeCredentials"]] == [b64url(auth.credential_id)]


def test_a_registration_is_refused_when_it_is_not_what_was_asked(
    client: TestClient, rt: Runtime, clock: FrozenClock
) -> None:
    org, device = _enrolled(client, rt)
    with rt.transaction() as session:
        options = registration_options(
            session, rt.keyring, RP, device_id=device, user_name="Dr A", now=rt.clock()
        )

    def attempt(credential: dict[str, Any], device_id: str = device) -> None:
        with rt.transaction() as session:
            register(
                session,
                rt.keyring,
                RP,
                device_id=device_id,
                organization_id=org,
                credential=credential,
                now=rt.clock(),
            )

    with pytest.raises(AuthenticatorRejected, match="not started by this device"):
        attempt(SoftAuthenticator(RP.origin, RP.id).register(options), str(uuid.uuid4()))
    with pytest.raises(AuthenticatorRejected, match="did not verify"):
        attempt(SoftAuthenticator("http://evil.example", RP.id).register(options))
    with pytest.raises(AuthenticatorRejected, match="did not verify"):
        attempt(SoftAuthenticator(RP.origin, RP.id, user_verified=False).register(options))
    with pytest.raises(AuthenticatorRejected, match=r"malformed|did not verify"):
        attempt({"id": "x", "rawId": "x", "type": "public-key", "response": {}})
    clock.advance(minutes=6)
    with pytest.raises(AuthenticatorRejected, match="too long"):
        attempt(SoftAuthenticator(RP.origin, RP.id).register(options))
    with rt.transaction() as session:
        assert credential_ids(session, device) == []


def test_the_same_authenticator_registers_once(client: TestClient, rt: Runtime) -> None:
    org, device = _enrolled(client, rt)
    auth = SoftAuthenticator(RP.origin, RP.id)
    _register(rt, org, device, auth)
    with pytest.raises(Conflict):
        _register(rt, org, device, auth)


def test_an_assertion_over_what_is_approved_goes_into_the_evidence(
    client: TestClient, rt: Runtime
) -> None:
    org, device = _enrolled(client, rt)
    assert _check(rt, device, b"x" * 32, None) is None  # no authenticator: nothing asked
    auth = SoftAuthenticator(RP.origin, RP.id)
    _register(rt, org, device, auth)
    challenge = approval_challenge([TO_SIGN], batch=False)
    evidence = _check(rt, device, challenge, auth.assert_(challenge))
    assert evidence is not None
    assert evidence["user_verified"] is True
    assert evidence["sign_count"] == 1
    assert evidence["challenge_sha256"] == challenge.hex()
    assert (evidence["rp_id"], evidence["origin"]) == ("testserver", "http://testserver")
    with rt.transaction() as session:
        row = session.query(AuthenticatorCredential).one()
        assert row.sign_count == 1 and row.last_used_at is not None


@pytest.mark.parametrize(
    "case", ["missing", "other-document", "other-origin", "other-rp", "no-uv", "stranger"]
)
def test_a_bad_assertion_is_refused(client: TestClient, rt: Runtime, case: str) -> None:
    org, device = _enrolled(client, rt)
    auth = SoftAuthenticator(RP.origin, RP.id)
    _register(rt, org, device, auth)
    challenge = approval_challenge([TO_SIGN], batch=False)
    assertion: dict[str, Any] | None
    if case == "missing":
        assertion = None
    elif case == "other-document":
        assertion = auth.assert_(approval_challenge([b"another"], batch=False))
    elif case == "other-origin":
        assertion = auth.assert_(challenge, origin="http://evil.example")
    elif case == "other-rp":
        assertion = auth.assert_(challenge, rp_id="evil.example")
    elif case == "no-uv":
        auth.user_verified = False
        assertion = auth.assert_(challenge)
    else:
        assertion = SoftAuthenticator(RP.origin, RP.id).assert_(challenge)
    with pytest.raises(AuthenticatorRejected) as refused:
        _check(rt, device, challenge, assertion)
    assert refused.value.status == 403
    with rt.transaction() as session:
        assert session.query(AuthenticatorCredential).one().sign_count == 0


def test_a_replayed_assertion_is_refused(client: TestClient, rt: Runtime) -> None:
    org, device = _enrolled(client, rt)
    auth = SoftAuthenticator(RP.origin, RP.id)
    _register(rt, org, device, auth)
    challenge = approval_challenge([TO_SIGN], batch=False)
    assertion = auth.assert_(challenge)
    assert _check(rt, device, challenge, assertion) is not None
    with pytest.raises(AuthenticatorRejected) as refused:
        _check(rt, device, challenge, assertion)
    assert refused.value.extra["reason"] == "replayed"


def test_copies_of_one_assertion_sent_at_once_are_accepted_once(
    client: TestClient, rt: Runtime, database_url: str
) -> None:
    if not database_url.startswith("postgresql"):
        pytest.skip("parallel writers are checked on PostgreSQL (SQLite serializes them)")
    org, device = _enrolled(client, rt)
    auth = SoftAuthenticator(RP.origin, RP.id)
    _register(rt, org, device, auth)
    challenge = approval_challenge([TO_SIGN], batch=False)
    assertion = auth.assert_(challenge)
    start = threading.Barrier(8)
    outcomes: list[str] = []
    lock = threading.Lock()

    def send() -> None:
        start.wait()
        try:
            _check(rt, device, challenge, assertion)
            outcome = "accepted"
        except AuthenticatorRejected as exc:
            outcome = str(exc.extra["reason"])
        with lock:
            outcomes.append(outcome)

    threads = [threading.Thread(target=send) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(outcomes) == ["accepted"] + ["replayed"] * 7


def _junk(good: dict[str, Any]) -> list[Any]:
    """Assertions broken in every place a client (or an attacker) can break them."""
    response = good["response"]
    out: list[Any] = [
        {},
        {"id": 1},
        "not an object",
        [good],
        {**good, "rawId": "%%%"},
        {**good, "type": "password"},
        {**good, "response": {}},
        {**good, "response": {**response, "clientDataJSON": b64url(b"not json")}},
        {**good, "response": {**response, "clientDataJSON": b64url(b"[1, 2]")}},
        {**good, "response": {**response, "authenticatorData": b64url(b"short")}},
        {**good, "response": {**response, "authenticatorData": "!!"}},
        {**good, "response": {**response, "signature": b64url(b"\x30\x00")}},
        {**good, "response": {**response, "signature": ""}},
        {**good, "response": {**response, "userHandle": 7}},
    ]
    return out


def test_malformed_assertions_are_refused_never_crash(client: TestClient, rt: Runtime) -> None:
    org, device = _enrolled(client, rt)
    auth = SoftAuthenticator(RP.origin, RP.id)
    _register(rt, org, device, auth)
    challenge = approval_challenge([TO_SIGN], batch=False)
    for broken in _junk(auth.assert_(challenge)):
        with pytest.raises(AuthenticatorRejected):
            _check(rt, device, challenge, broken)
    assert _check(rt, device, challenge, auth.assert_(challenge)) is not None  # still usable
