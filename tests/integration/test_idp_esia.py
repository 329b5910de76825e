"""Patients sign through ESIA (docs/identity-providers.md "ESIA"): the requests signed
with the clinic's GOST key and checked by an ESIA-shaped peer, GOST-signed ID tokens
checked by medsign, the person read from /rs/prns, and the same pages and audit events
as the OpenID Connect path when something is wrong."""

from __future__ import annotations

import base64
import re
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from medsign.envelopes.models import Signer
from medsign.identity import gost
from medsign.identity.models import IdentityProvider, PatientIdentity
from medsign.runtime import Runtime
from medsign.settings import Settings
from tests.support.api import new_org
from tests.support.clock import FrozenClock
from tests.support.esia_peer import EsiaPeer
from tests.support.idp_flow import at_provider, press_sign_with, send
from tests.support.idp_flow import audited as _audit
from tests.support.idp_flow import signer_status as _status
from tests.support.tls import make_loopback_tls

STAMP = re.compile(r"^\d{4}\.\d{2}\.\d{2} \d{2}:\d{2}:\d{2} \+0000$")


@pytest.fixture
def settings(settings: Settings) -> Settings:
    """http:// base URLs on loopback, and a short provider timeout."""
    return settings.model_copy(update={"idp_allow_http": True, "idp_timeout_seconds": 2.0})


@pytest.fixture(scope="module")
def clinic_key() -> gost.Credential:
    """The clinic's information system credential, registered at ESIA and at medsign."""
    return gost.new_credential("medsign test clinic")


@pytest.fixture
def peer(clock: FrozenClock, clinic_key: gost.Credential) -> Iterator[EsiaPeer]:
    """ESIA on loopback, knowing the clinic's certificate."""
    with EsiaPeer(clock, clinic_key) as provider:
        yield provider


def register(
    client: TestClient,
    headers: dict[str, str],
    peer: EsiaPeer,
    credential: gost.Credential,
    **extra: Any,
) -> dict[str, Any]:
    """Register ``peer`` as a provider of kind esia; assert 201; return the JSON."""
    body = _body(peer, credential) | extra
    res = client.post("/api/v1/identity-providers", headers=headers, json=body)
    assert res.status_code == 201, res.text
    created: dict[str, Any] = res.json()
    return created


def _body(peer: EsiaPeer, credential: gost.Credential) -> dict[str, Any]:
    return {
        "kind": "esia",
        "name": "Test ID",
        "issuer": peer.url,
        "client_id": peer.client_id,
        "esia": {
            "client_certificate": credential.certificate_pem,
            "client_private_key": credential.private_key_pem,
            "provider_certificate": peer.signing.certificate_pem,
        },
    }


def test_registration_checks_the_gost_credentials(
    client: TestClient, rt: Runtime, peer: EsiaPeer, clinic_key: gost.Credential
) -> None:
    _, headers = new_org(rt)
    created = register(client, headers, peer, clinic_key)
    listed = client.get("/api/v1/identity-providers", headers=headers).json()["items"]
    assert [(p["id"], p["kind"]) for p in listed] == [(created["id"], "esia")]
    assert listed[0]["scopes"] == ["openid", "fullname", "birthdate", "snils"]
    assert listed[0]["claims"]["national_id"] == "snils"
    with rt.transaction() as session:
        row = session.get(IdentityProvider, created["id"])
        assert row is not None and row.client_key_enc
        assert "PRIVATE KEY" not in row.client_key_enc
        assert row.discovery["token_endpoint"] == f"{peer.url}/aas/oauth2/v3/te"
    other = gost.new_credential("another system")
    ec_cert = make_loopback_tls().cert_pem.decode()  # a valid certificate, but not GOST
    body = _body(peer, clinic_key)
    bad = [
        ({**body["esia"], "client_private_key": other.private_key_pem}, "client_private_key"),
        ({**body["esia"], "client_certificate": ec_cert}, "client_certificate"),
        ({**body["esia"], "provider_certificate": "not a certificate"}, "provider_certificate"),
        ({**body["esia"], "client_private_key": "-----BEGIN PRIVATE KEY-----\nAAAA"}, "key"),
    ]
    for esia, what in bad:
        wrong = {**body, "esia": esia}
        res = client.post("/api/v1/identity-providers", headers=headers, json=wrong)
        assert res.status_code == 422, (what, res.text)
        assert what in res.json()["detail"] or what in res.text
    no_block = {k: v for k, v in body.items() if k != "esia"}
    res = client.post("/api/v1/identity-providers", headers=headers, json=no_block)
    assert res.status_code == 422 and "esia" in res.text
    # An OpenID Connect provider still needs its client secret.
    res = client.post(
        "/api/v1/identity-providers",
        headers=headers,
        json={"name": "X", "issuer": peer.url, "client_id": "c"},
    )
    assert res.status_code == 422 and "client_secret" in res.text
    assert len(client.get("/api/v1/identity-providers", headers=headers).json()["items"]) == 1


def test_matching_patient_signs_with_gost_checked_both_ways(
    client: TestClient, rt: Runtime, peer: EsiaPeer, clinic_key: gost.Credential
) -> None:
    _, headers = new_org(rt)
    provider = register(client, headers, peer, clinic_key)
    env, path = send(client, headers, provider["id"], patient_mis_id="P-1")
    res = client.get(at_provider(press_sign_with(client, path)))
    assert res.status_code == 303, res.text
    assert peer.verified == ["authorize", "token"] and not peer.refused
    sent = peer.last_authorize
    assert STAMP.match(sent["timestamp"]) and uuid.UUID(sent["state"]).version == 4
    assert sent["access_type"] == "online" and sent["response_type"] == "code"
    assert sent["scope"] == "openid fullname birthdate snils"
    assert _status(client, headers, env["id"]) == "signed"
    with rt.transaction() as session:
        signer = session.scalars(select(Signer).where(Signer.envelope_id == env["id"])).one()
        evidence = dict(signer.evidence or {})
        ident = session.scalars(select(PatientIdentity)).one()
        assert (ident.issuer, ident.subject) == (peer.url, "1000299353")
    idp = evidence["idp"]
    assert idp["subject"] == "1000299353" and idp["id_token_header"]["alg"] == "GOST3410_2012_256"
    assert idp["claims"]["birthdate"] == "1990-04-12"  # from /rs/prns, dd.MM.yyyy
    # The evidence alone re-checks the token: its GOST signature with ESIA's certificate.
    head, body, sig = idp["id_token"].split(".")
    raw = base64.urlsafe_b64decode(sig + "=" * (-len(sig) % 4))
    certificate = idp["jwks"]["esia_certificate"]
    assert gost.verify_raw(certificate, f"{head}.{body}".encode(), raw)
    assert not gost.verify_raw(certificate, f"{head}.{body}x".encode(), raw)
    assert _audit(rt, "signer.signed")[0]["issuer"] == peer.url


def test_another_person_is_refused(
    client: TestClient, rt: Runtime, peer: EsiaPeer, clinic_key: gost.Credential
) -> None:
    _, headers = new_org(rt)
    provider = register(client, headers, peer, clinic_key)
    env, path = send(client, headers, provider["id"], national_id="112-233-445 95")
    peer.account = "other"
    res = client.get(at_provider(press_sign_with(client, path)))
    assert res.status_code == 403 and "This document is for another person" in res.text
    failed = _audit(rt, "signer.idp_failed")[-1]
    assert failed["reason"] == "mismatch" and failed["outcome"] == "national_id_differs"
    assert _status(client, headers, env["id"]) == "notified"


def test_unconfirmed_account_signs_nothing(
    client: TestClient, rt: Runtime, peer: EsiaPeer, clinic_key: gost.Credential
) -> None:
    _, headers = new_org(rt)
    provider = register(client, headers, peer, clinic_key)
    env, path = send(client, headers, provider["id"])
    peer.account = "unconfirmed"
    res = client.get(at_provider(press_sign_with(client, path)))
    assert res.status_code == 403 and "not confirmed" in res.text
    assert _audit(rt, "signer.idp_failed")[-1]["reason"] == "account-unconfirmed"
    assert _status(client, headers, env["id"]) == "notified"


def test_esia_refuses_a_bad_client_signature(
    client: TestClient, rt: Runtime, peer: EsiaPeer, clinic_key: gost.Credential
) -> None:
    _, headers = new_org(rt)
    # A valid GOST pair, but not the certificate registered at ESIA.
    provider = register(client, headers, peer, gost.new_credential("impostor"))
    env, path = send(client, headers, provider["id"])
    res = client.get(at_provider(press_sign_with(client, path)))
    assert peer.refused == ["authorize: client_secret signature"]
    assert res.status_code == 403 and "cancelled or refused" in res.text
    failed = _audit(rt, "signer.idp_failed")[-1]
    assert (failed["reason"], failed["error"]) == ("cancelled", "invalid_client")
    # The right certificate, but the token endpoint refuses the signature.
    provider = register(client, headers, peer, clinic_key)
    env, path = send(client, headers, provider["id"])
    peer.refuse_token_signature = True
    res = client.get(at_provider(press_sign_with(client, path)))
    assert res.status_code == 403 and "ESIA refused medsign" in res.text
    failed = _audit(rt, "signer.idp_failed")[-1]
    assert (failed["reason"], failed["error"]) == ("code-rejected", "invalid_client")
    assert _status(client, headers, env["id"]) == "notified"


def test_gost_cms_signature_rejects_any_change(clinic_key: gost.Credential) -> None:
    text = b"openid2026.12.04 09:30:00 +0000MEDSIGN" + str(uuid.uuid4()).encode()
    der = gost.sign_detached_cms(clinic_key, text)
    assert gost.verify_detached_cms(der, text, clinic_key.certificate_pem)
    assert not gost.verify_detached_cms(der, text + b"x", clinic_key.certificate_pem)
    flipped = der[:-5] + bytes([der[-5] ^ 1]) + der[-4:]  # inside the signature value
    assert not gost.verify_detached_cms(flipped, text, clinic_key.certificate_pem)


@pytest.mark.parametrize(
    ("mode", "check"),
    [
        ("expired", "expired"),
        ("tampered", "signature"),
        ("bad_key", "signature"),
        ("alg_none", "algorithm"),
        ("wrong_aud", "audience"),
    ],
)
def test_untrustworthy_id_tokens_sign_nothing(
    client: TestClient,
    rt: Runtime,
    peer: EsiaPeer,
    clinic_key: gost.Credential,
    mode: str,
    check: str,
) -> None:
    _, headers = new_org(rt)
    provider = register(client, headers, peer, clinic_key)
    env, path = send(client, headers, provider["id"])
    peer.token_mode = mode
    res = client.get(at_provider(press_sign_with(client, path)))
    assert res.status_code == 403, res.text
    assert "could not be trusted" in res.text
    assert f'href="{path}?lang=en"' in res.text
    failed = _audit(rt, "signer.idp_failed")[-1]
    assert (failed["reason"], failed["check"]) == ("id-token-invalid", check)
    assert _status(client, headers, env["id"]) == "notified"
    assert not _audit(rt, "signer.signed")


def test_state_is_single_use(
    client: TestClient, rt: Runtime, peer: EsiaPeer, clinic_key: gost.Credential
) -> None:
    _, headers = new_org(rt)
    provider = register(client, headers, peer, clinic_key)
    _env, path = send(client, headers, provider["id"])
    back = at_provider(press_sign_with(client, path))
    cookie = client.cookies.get("medsign_idp_state")
    assert client.get(back).status_code == 303
    client.cookies.set("medsign_idp_state", cookie or "", path="/idp/")
    res = client.get(back)
    assert res.status_code == 403 and "already used" in res.text
    assert len(_audit(rt, "signer.signed")) == 1
