"""Patients sign through an OpenID Connect provider (shared/API.md "Identity providers"):
registration, the login bound to the document, identity matching, evidence, and every
way a login can go wrong ending on a clear page and an audit event, never a signature."""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from medsign.identity.models import IdentityProvider, PatientIdentity
from medsign.identity.protocol import nonce_for
from medsign.runtime import Runtime
from medsign.settings import Settings
from tests.support.api import create_envelope, new_org, patient, upload
from tests.support.clock import FrozenClock
from tests.support.idp_flow import at_provider, idp_signer, press_sign_with, register, send
from tests.support.idp_flow import audited as _audit
from tests.support.idp_flow import signer_status as _status
from tests.support.oidc_peer import OidcPeer
from tests.support.worker import drain


@pytest.fixture
def settings(settings: Settings) -> Settings:
    """http:// issuers on loopback, and a short provider timeout."""
    return settings.model_copy(update={"idp_allow_http": True, "idp_timeout_seconds": 1.0})


@pytest.fixture
def peer(clock: FrozenClock) -> Iterator[OidcPeer]:
    """A provider on loopback that issues tokens on the test's clock."""
    with OidcPeer(clock) as provider:
        yield provider


def test_registration_discovers_and_encrypts_the_secret(
    client: TestClient, rt: Runtime, peer: OidcPeer
) -> None:
    _, headers = new_org(rt)
    created = register(client, headers, peer)
    assert created["redirect_uri"] == f"http://testserver/idp/callback/{created['id']}"
    with rt.transaction() as session:
        row = session.get(IdentityProvider, created["id"])
        assert row is not None
        assert peer.client_secret not in row.client_secret_enc
        assert row.discovery["token_endpoint"] == f"{peer.issuer}/token"
    listed = client.get("/api/v1/identity-providers", headers=headers).json()["items"]
    assert [p["id"] for p in listed] == [created["id"]]
    assert "client_secret" not in listed[0]
    _, other = new_org(rt, "Clinic Two")
    res = client.get(f"/api/v1/identity-providers/{created['id']}", headers=other)
    assert res.status_code == 404


def test_registration_refuses_bad_issuers(
    client: TestClient, rt: Runtime, peer: OidcPeer, settings: Settings
) -> None:
    _, headers = new_org(rt)
    base = {"name": "X", "client_id": "c", "client_secret": "s"}
    for issuer in ("http://id.example.org", "ftp://127.0.0.1/", peer.issuer + "/nothing-here"):
        res = client.post(
            "/api/v1/identity-providers", headers=headers, json={**base, "issuer": issuer}
        )
        assert res.status_code == 422, (issuer, res.text)
        assert res.headers["content-type"] == "application/problem+json"
    peer.down = True
    res = client.post(
        "/api/v1/identity-providers", headers=headers, json={**base, "issuer": peer.issuer}
    )
    assert res.status_code == 422 and "discovery" in res.json()["detail"]
    res = client.post("/api/v1/identity-providers", json={**base, "issuer": peer.issuer})
    assert res.status_code == 401


def test_matching_patient_signs_and_evidence_rechecks(
    client: TestClient, rt: Runtime, peer: OidcPeer
) -> None:
    _, headers = new_org(rt)
    provider = register(client, headers, peer)
    env, path = send(client, headers, provider["id"], patient_mis_id="P-1")
    location = press_sign_with(client, path)
    query = peer.last_authorize or {}
    assert not query  # nothing reached the provider yet
    back = at_provider(location)
    sent = peer.last_authorize
    assert sent["prompt"] == "login" and sent["max_age"] == "0"
    assert sent["code_challenge_method"] == "S256" and len(sent["state"]) >= 32
    res = client.get(back)
    assert res.status_code == 303, res.text
    assert "Signed" in client.get(path + "?lang=en").text
    assert _status(client, headers, env["id"]) == "signed"
    drain(rt)
    assert client.get(f"/api/v1/envelopes/{env['id']}", headers=headers).json()["status"] == (
        "completed"
    )
    pdf = client.get(f"/api/v1/envelopes/{env['id']}/pdf", headers=headers).content
    verified = client.post("/api/v1/verify", files={"file": ("s.pdf", pdf, "application/pdf")})
    sig = verified.json()["signatures"][0]
    assert verified.json()["valid"] and sig["method"] == "idp"
    assert sig["identity_issuer"] == peer.issuer and sig["identity_subject"] == "sub-maria"
    page = client.post("/verify?lang=en", files={"file": ("s.pdf", pdf, "application/pdf")})
    assert peer.issuer in page.text and "sub-maria" in page.text
    # The evidence alone re-checks the login: the nonce recomputed from the document hash,
    # the signer and the salt is the one in the ID token, signed by a key of the JWKS.
    from joserfc import jwt
    from joserfc.jwk import KeySet

    with rt.transaction() as session:
        from medsign.envelopes.models import Signer

        signer = session.scalars(select(Signer).where(Signer.envelope_id == env["id"])).one()
        evidence = dict(signer.evidence or {})
    idp = evidence["idp"]
    token = jwt.decode(idp["id_token"], KeySet.import_key_set(idp["jwks"]), algorithms=["ES256"])
    nonce = nonce_for(
        evidence["document"]["sha256_shown"], evidence["signer"]["id"], idp["nonce_salt"]
    )
    assert token.claims["nonce"] == nonce and token.claims["sub"] == "sub-maria"
    assert idp["claims"]["birthdate"] == "1990-04-12"  # taken from userinfo
    with rt.transaction() as session:
        ident = session.scalars(select(PatientIdentity)).one()
        assert (ident.issuer, ident.subject) == (peer.issuer, "sub-maria")
    assert _audit(rt, "signer.signed")[0]["issuer"] == peer.issuer


def test_national_id_decides_when_both_have_one(
    client: TestClient, rt: Runtime, peer: OidcPeer
) -> None:
    _, headers = new_org(rt)
    provider = register(client, headers, peer)
    # A different spelling of the name, but the SNILS agrees: signed.
    env, path = send(client, headers, provider["id"], name="Ivanova M.", national_id="11223344595")
    assert client.get(at_provider(press_sign_with(client, path))).status_code == 303
    assert _status(client, headers, env["id"]) == "signed"
    # The right name and birth date, but another SNILS: refused.
    env, path = send(client, headers, provider["id"], national_id="000-000-000 00")
    res = client.get(at_provider(press_sign_with(client, path)))
    assert res.status_code == 403 and "different person" in res.text
    assert _status(client, headers, env["id"]) == "notified"


def test_another_person_is_refused_and_audited(
    client: TestClient, rt: Runtime, peer: OidcPeer
) -> None:
    _, headers = new_org(rt)
    provider = register(client, headers, peer)
    env, path = send(client, headers, provider["id"])
    peer.account = "other"
    res = client.get(at_provider(press_sign_with(client, path)))
    assert res.status_code == 403
    assert "This document is for another person" in res.text
    assert _status(client, headers, env["id"]) == "notified"
    failed = _audit(rt, "signer.idp_failed")
    assert failed[-1]["reason"] == "mismatch" and failed[-1]["outcome"] == "name_differs"
    assert drain(rt) >= 0 and _status(client, headers, env["id"]) == "notified"


def test_missing_claims_sign_nothing(client: TestClient, rt: Runtime, peer: OidcPeer) -> None:
    _, headers = new_org(rt)
    provider = register(client, headers, peer)
    env, path = send(client, headers, provider["id"])
    peer.account = "nameless"
    res = client.get(at_provider(press_sign_with(client, path)))
    assert res.status_code == 403 and "did not tell us enough" in res.text
    assert _audit(rt, "signer.idp_failed")[-1]["reason"] == "claims-missing"
    assert _status(client, headers, env["id"]) == "notified"


@pytest.mark.parametrize(
    ("mode", "check"),
    [
        ("expired", "expired"),
        ("tampered", "signature"),
        ("bad_key", "signature"),
        ("wrong_aud", "audience"),
        ("other_iss", "issuer"),
        ("no_nonce", "nonce"),
    ],
)
def test_untrustworthy_id_tokens_sign_nothing(
    client: TestClient, rt: Runtime, peer: OidcPeer, mode: str, check: str
) -> None:
    _, headers = new_org(rt)
    provider = register(client, headers, peer)
    env, path = send(client, headers, provider["id"])
    peer.token_mode = mode
    res = client.get(at_provider(press_sign_with(client, path)))
    assert res.status_code == 403, res.text
    assert "could not be trusted" in res.text
    assert f'href="{path}?lang=en"' in res.text  # a way back to try again
    failed = _audit(rt, "signer.idp_failed")[-1]
    assert (failed["reason"], failed["check"]) == ("id-token-invalid", check)
    assert _status(client, headers, env["id"]) == "notified"


def test_cancel_at_provider(client: TestClient, rt: Runtime, peer: OidcPeer) -> None:
    _, headers = new_org(rt)
    provider = register(client, headers, peer)
    env, path = send(client, headers, provider["id"])
    peer.cancel = True
    res = client.get(at_provider(press_sign_with(client, path)))
    assert res.status_code == 403 and "cancelled" in res.text
    assert _audit(rt, "signer.idp_failed")[-1]["reason"] == "cancelled"
    peer.cancel = False  # and the patient can try again
    assert client.get(at_provider(press_sign_with(client, path))).status_code == 303
    assert _status(client, headers, env["id"]) == "signed"


def test_provider_down_or_slow(client: TestClient, rt: Runtime, peer: OidcPeer) -> None:
    _, headers = new_org(rt)
    provider = register(client, headers, peer)
    env, path = send(client, headers, provider["id"])
    back = at_provider(press_sign_with(client, path))
    peer.down = True
    res = client.get(back)
    assert res.status_code == 503 and res.headers["retry-after"]
    assert "not answering" in res.text
    peer.down = False
    back = at_provider(press_sign_with(client, path))
    peer.delay = 1.5  # beyond MEDSIGN_IDP_TIMEOUT_SECONDS=1
    res = client.get(back)
    peer.delay = 0
    assert res.status_code == 503 and "Try again" in res.text
    steps = [e.get("step") for e in _audit(rt, "signer.idp_failed")]
    assert steps == ["token", "token"]
    assert _status(client, headers, env["id"]) == "notified"


def test_state_mismatch_and_replay(client: TestClient, rt: Runtime, peer: OidcPeer) -> None:
    _, headers = new_org(rt)
    provider = register(client, headers, peer)
    _env, path = send(client, headers, provider["id"])
    back = at_provider(press_sign_with(client, path))
    forged = back.replace("state=", "state=x")
    res = client.get(forged)
    assert res.status_code == 403 and "does not belong" in res.text
    assert _audit(rt, "signer.idp_failed")[-1]["reason"] == "state-mismatch"
    # A stranger's browser (no cookie) with a real answer gets nothing either.
    stranger = TestClient(client.app, follow_redirects=False)
    assert stranger.get(back).status_code == 403
    back = at_provider(press_sign_with(client, path))
    cookie = client.cookies.get("medsign_idp_state")
    assert client.get(back).status_code == 303
    client.cookies.set("medsign_idp_state", cookie or "", path="/idp/")
    res = client.get(back)  # the same answer again
    assert res.status_code == 403 and "already used" in res.text
    assert _audit(rt, "signer.idp_failed")[-1]["reason"] == "replayed"
    assert len(_audit(rt, "signer.signed")) == 1


def test_replayed_code_in_a_new_login(client: TestClient, rt: Runtime, peer: OidcPeer) -> None:
    _, headers = new_org(rt)
    provider = register(client, headers, peer)
    env, path = send(client, headers, provider["id"])
    first = at_provider(press_sign_with(client, path))
    code = first.split("code=")[1].split("&")[0]
    client.get(first)  # signs (and uses the code)
    env, path = send(client, headers, provider["id"])
    second = at_provider(press_sign_with(client, path))
    replayed = second.split("code=")[0] + "code=" + code + "&" + second.split("&", 1)[1]
    res = client.get(replayed)
    assert res.status_code == 403 and "used already" in res.text
    assert _audit(rt, "signer.idp_failed")[-1]["reason"] == "code-rejected"
    assert _status(client, headers, env["id"]) == "notified"


def test_answer_for_another_provider(client: TestClient, rt: Runtime, peer: OidcPeer) -> None:
    _, headers = new_org(rt)
    provider = register(client, headers, peer)
    second = register(client, headers, peer, name="Second ID")
    env, path = send(client, headers, provider["id"])
    back = at_provider(press_sign_with(client, path))
    res = client.get(back.replace(provider["id"], second["id"]))
    assert res.status_code == 403 and "another identity provider" in res.text
    assert _audit(rt, "signer.idp_failed")[-1]["reason"] == "wrong-provider"
    assert _status(client, headers, env["id"]) == "notified"


def test_voided_while_away(client: TestClient, rt: Runtime, peer: OidcPeer) -> None:
    _, headers = new_org(rt)
    provider = register(client, headers, peer)
    env, path = send(client, headers, provider["id"])
    back = at_provider(press_sign_with(client, path))
    res = client.post(
        f"/api/v1/envelopes/{env['id']}/void", headers=headers, json={"reason": "wrong patient"}
    )
    assert res.status_code == 200
    res = client.get(back)
    assert res.status_code == 410 and "can no longer be signed" in res.text
    assert _audit(rt, "signer.idp_failed")[-1]["reason"] == "envelope-closed"
    assert not _audit(rt, "signer.signed")


def test_login_is_fresh_and_bound_to_the_document(
    client: TestClient, rt: Runtime, peer: OidcPeer, clock: FrozenClock
) -> None:
    _, headers = new_org(rt)
    provider = register(client, headers, peer)
    _env, path = send(client, headers, provider["id"])
    location = press_sign_with(client, path)
    # The provider answers with a login older than the trip (a remembered session).
    clock.advance(minutes=-10)
    back = at_provider(location)
    clock.advance(minutes=10)
    res = client.get(back)
    assert res.status_code == 403
    assert _audit(rt, "signer.idp_failed")[-1]["check"] == "not a fresh login"
    nonce = peer.last_authorize["nonce"]
    assert len(base64.urlsafe_b64decode(nonce + "=")) == 32
    assert json.dumps(nonce) not in json.dumps(_audit(rt, "signer.idp_started"))


def test_signer_validation(client: TestClient, rt: Runtime, peer: OidcPeer) -> None:
    _, headers = new_org(rt)
    provider = register(client, headers, peer)
    doc = upload(client, headers, kind="informed_consent")
    _, other = new_org(rt, "Clinic Two")
    foreign = register(client, other, peer)
    bad = [
        idp_signer(provider["id"], birth_date=None),
        idp_signer(foreign["id"]),
        {**idp_signer(provider["id"]), "identity_provider_id": None},
        idp_signer(provider["id"], national_id="abc", birth_date=None),
        patient(identity_provider_id=provider["id"]),
    ]
    for signer in bad:
        res = client.post(
            "/api/v1/envelopes",
            headers=headers,
            json={"document_id": doc["id"], "signers": [signer]},
        )
        assert res.status_code == 422, (signer, res.text)
    # Informed consent by SMS code is still refused; by idp it is accepted.
    res = client.post(
        "/api/v1/envelopes",
        headers=headers,
        json={"document_id": doc["id"], "signers": [patient()]},
    )
    assert res.status_code == 422
    assert create_envelope(client, headers, doc["id"], idp_signer(provider["id"]))["id"]


def test_edo_agreement_by_idp_opens_contracts_to_codes(
    client: TestClient, rt: Runtime, peer: OidcPeer
) -> None:
    _, headers = new_org(rt)
    provider = register(client, headers, peer)
    contract = upload(client, headers, kind="contract", title="Contract")
    body = {"document_id": contract["id"], "signers": [patient(patient_mis_id="P-7")]}
    res = client.post("/api/v1/envelopes", headers=headers, json=body)
    assert res.status_code == 422 and "edo-agreement-required" in res.json()["type"]
    env, path = send(client, headers, provider["id"], kind="edo_agreement", patient_mis_id="P-7")
    assert client.get(at_provider(press_sign_with(client, path))).status_code == 303
    drain(rt)
    state = client.get(f"/api/v1/envelopes/{env['id']}", headers=headers).json()
    assert state["status"] == "completed"
    res = client.post("/api/v1/envelopes", headers=headers, json=body)
    assert res.status_code == 201, res.text
