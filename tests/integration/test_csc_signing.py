"""Remote qualified signing through the Cloud Signature Consortium API, against
``certomancer-csc-dummy`` on loopback with the Certomancer test PKI: registration (the
secret encrypted), signing with a PIN under OAuth 2.0 client credentials, and every
failure a clear problem with nothing signed."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from medsign.external.models import CscService
from medsign.runtime import Runtime
from medsign.settings import Settings
from tests.support.api import new_org
from tests.support.csc_server import CscTestServer
from tests.support.external_flow import (
    check_independently,
    current_pdf,
    external_envelope,
    versions_and_seal_jobs,
)
from tests.support.external_pki import ARCH, OTHER_ARCH, SIGNER_NAME, SNILS, ExternalPki
from tests.support.idp_flow import audited
from tests.support.worker import drain

CLIENT_ID, CLIENT_SECRET, PIN = "medsign-test", "csc-client-secret-0123", "4321"


@pytest.fixture(scope="module")
def pki(tmp_path_factory: pytest.TempPathFactory) -> ExternalPki:
    """The trust service provider's PKI (Certomancer), once per module."""
    return ExternalPki(tmp_path_factory.mktemp("csc-pki"))


@pytest.fixture
def csc(pki: ExternalPki) -> Iterator[CscTestServer]:
    """The CSC service, behind OAuth client credentials and a PIN."""
    with CscTestServer(
        pki.config, client_id=CLIENT_ID, client_secret=CLIENT_SECRET, pin=PIN
    ) as server:
        yield server


@pytest.fixture
def settings(settings: Settings, pki: ExternalPki, tmp_path: Path) -> Settings:
    """Trust the provider's root; allow http:// services on loopback (a private address
    the SSRF guard would refuse without ``csc_allow_private``); short timeouts."""
    roots = pki.write_root(tmp_path / "roots.pem")
    return settings.model_copy(
        update={
            "external_trust_roots": roots,
            "csc_allow_http": True,
            "csc_allow_private": True,
            "csc_timeout_seconds": 5,
        }
    )


def _register(
    client: TestClient,
    headers: dict[str, str],
    csc: CscTestServer,
    version: str = "v1",
    auth: str = "oauth2",
) -> dict[str, Any]:
    access: dict[str, Any] = {"client_id": CLIENT_ID, "secret": CLIENT_SECRET}
    if auth == "bearer":
        access = {"secret": csc.token}  # a token the provider issued out of band
    res = client.post(
        "/api/v1/csc-services",
        headers=headers,
        json={
            "name": "Test TSP",
            "base_url": csc.base_url,
            "api_version": version,
            "auth": auth,
            **access,
        },
    )
    assert res.status_code == 201, res.text
    body: dict[str, Any] = res.json()
    return body


def _sign(
    client: TestClient,
    headers: dict[str, str],
    env: dict[str, Any],
    service_id: str,
    credential: str = f"{ARCH}/signer",
    pin: str | None = PIN,
) -> Any:
    return client.post(
        f"/api/v1/envelopes/{env['id']}/signers/{env['signers'][0]['id']}/external/csc",
        headers=headers,
        json={"service_id": service_id, "credential_id": credential, "pin": pin},
    )


def test_registration_checks_the_service_and_encrypts_the_secret(
    client: TestClient, rt: Runtime, csc: CscTestServer
) -> None:
    _, headers = new_org(rt)
    created = _register(client, headers, csc)
    assert created["service_name"] == "Certomancer CSC test server"
    assert "secret" not in created
    with rt.transaction() as session:
        row = session.get(CscService, created["id"])
        assert row is not None and row.secret_enc and CLIENT_SECRET not in row.secret_enc
    listed = client.get("/api/v1/csc-services", headers=headers).json()["items"]
    assert [s["id"] for s in listed] == [created["id"]]
    _, other = new_org(rt, "Clinic Two")
    assert client.get("/api/v1/csc-services", headers=other).json()["items"] == []
    bad = {"name": "X", "api_version": "v1", "auth": "none"}
    for url in ("http://csc.example.org", "ftp://127.0.0.1/", csc.base_url + "/nothing"):
        res = client.post("/api/v1/csc-services", headers=headers, json={**bad, "base_url": url})
        assert res.status_code == 422, (url, res.text)
    res = client.post(
        "/api/v1/csc-services",
        headers=headers,
        json={**bad, "base_url": csc.base_url, "auth": "oauth2"},
    )
    assert res.status_code == 422 and res.json()["field"] == "secret"


@pytest.mark.parametrize(("version", "auth"), [("v1", "oauth2"), ("v2", "bearer")])
def test_remote_signature_is_validated_and_completes_the_envelope(
    client: TestClient,
    rt: Runtime,
    pki: ExternalPki,
    csc: CscTestServer,
    tmp_path: Path,
    version: str,
    auth: str,
) -> None:
    _, headers = new_org(rt)
    service = _register(client, headers, csc, version, auth)
    env, issued = external_envelope(client, headers)
    res = _sign(client, headers, env, service["id"])
    assert res.status_code == 200, res.text
    steps = ["info", "credentials/info", "credentials/authorize", "signatures/signHash"]
    if auth == "oauth2":
        steps.insert(1, "oauth2/token")
    assert csc.paths() == [f"/csc/{version}/{step}" for step in steps]
    [(_, authorize)] = [c for c in csc.calls if c[0].endswith("credentials/authorize")]
    assert authorize["PIN"] == PIN and len(authorize["hash"]) == 1  # hash pinning (SCAL 2)
    [(_, sign_hash)] = [c for c in csc.calls if c[0].endswith("signatures/signHash")]
    if version == "v2":  # CSC API v2.0 §11.7, §11.9 names beside pyHanko's v1 ones
        assert authorize["hashes"] == authorize["hash"] == sign_hash["hashes"]
        assert authorize["hashAlgorithmOID"] == "2.16.840.1.101.3.4.2.1"
    drain(rt)
    final = current_pdf(client, headers, env["id"])
    assert final.startswith(issued)
    check_independently(rt, pki, final, tmp_path, signatures=2)
    body = client.post("/api/v1/verify", files={"file": ("f.pdf", final, "application/pdf")})
    assert body.json()["valid"], body.json()
    assert [s["method"] for s in body.json()["signatures"]] == ["external", "external"]
    [signed] = audited(rt, "signer.signed")
    assert signed["channel"] == "csc"
    env_now = client.get(f"/api/v1/envelopes/{env['id']}", headers=headers).json()
    assert env_now["status"] == "completed"
    from medsign.pdf import read_evidence

    [evidence] = read_evidence(final).values()
    assert evidence["external"]["certificate"]["snils"] == SNILS
    assert evidence["signer_name"] == SIGNER_NAME
    assert evidence["requested_by"]["credential_id"] == f"{ARCH}/signer"
    certificate = client.get(f"/api/v1/envelopes/{env['id']}/evidence.json", headers=headers)
    [entry] = certificate.json()["signers"]
    assert entry["how"]["external"]["certificate"]["snils"] == SNILS


@pytest.mark.parametrize(
    ("case", "status", "reason"),
    [
        ("wrong PIN", 422, "csc-authorization-refused"),
        ("unknown credential", 422, "csc-unknown-credential"),
        ("credential of an untrusted CA", 422, "untrusted-certificate"),
        ("expired credential", 422, "certificate-expired"),
        ("service down", 502, "signing-service-failed"),
        ("wrong client secret", 502, "signing-service-failed"),
    ],
)
def test_failures_sign_nothing(
    client: TestClient, rt: Runtime, csc: CscTestServer, case: str, status: int, reason: str
) -> None:
    _, headers = new_org(rt)
    service = _register(client, headers, csc)
    env, issued = external_envelope(client, headers)
    before = versions_and_seal_jobs(rt, env["id"])
    credential, pin = f"{ARCH}/signer", PIN
    if case == "wrong PIN":
        pin = "0000"
    elif case == "unknown credential":
        credential = f"{ARCH}/nobody"
    elif case == "credential of an untrusted CA":
        credential = f"{OTHER_ARCH}/signer"
    elif case == "expired credential":
        credential = f"{ARCH}/expired"
    elif case == "service down":
        csc.down = True
    elif case == "wrong client secret":
        csc.client_secret = "rotated"
    res = _sign(client, headers, env, service["id"], credential, pin)
    assert res.status_code == status, res.text
    assert res.headers["content-type"] == "application/problem+json"
    problem = res.json()
    assert problem.get("reason", problem["type"].rsplit("/", 1)[-1]) == reason, problem
    assert versions_and_seal_jobs(rt, env["id"]) == before
    assert current_pdf(client, headers, env["id"]) == issued
    [event] = audited(rt, "signer.external_refused")
    assert event["channel"] == "csc" and event["status"] == status


def test_another_organizations_service_is_not_found(
    client: TestClient, rt: Runtime, csc: CscTestServer
) -> None:
    _, headers = new_org(rt)
    service = _register(client, headers, csc)
    _, other = new_org(rt, "Clinic Two")
    env, _ = external_envelope(client, other)
    res = _sign(client, other, env, service["id"])
    assert res.status_code == 404 and not csc.paths()[1:]  # only the registration's info


@pytest.mark.parametrize(
    "url",
    [
        "https://10.1.2.3/",  # RFC 1918
        "https://192.168.10.1:8443",
        "https://127.0.0.1/",  # loopback
        "https://169.254.169.254/",  # link-local (cloud metadata)
        "https://[fd12:3456::1]/",  # IPv6 unique local (RFC 4193)
        "http://localhost:{port}",  # a name resolving to 127.0.0.1: the live test service
        "{base_url}",
    ],
)
def test_registration_refuses_private_addresses(
    client: TestClient, rt: Runtime, csc: CscTestServer, url: str
) -> None:
    rt.settings.csc_allow_private = False
    _, headers = new_org(rt)
    base_url = url.format(port=csc.port, base_url=csc.base_url)
    res = client.post(
        "/api/v1/csc-services",
        headers=headers,
        json={"name": "X", "api_version": "v1", "auth": "none", "base_url": base_url},
    )
    assert res.status_code == 422, res.text
    problem = res.json()
    assert problem["field"] == "base_url"
    assert "MEDSIGN_CSC_ALLOW_PRIVATE" in problem["detail"], problem
    assert csc.paths() == []  # the service was never called
    with rt.transaction() as session:
        assert session.query(CscService).count() == 0


def test_a_name_resolving_to_loopback_is_allowed_with_the_setting(
    client: TestClient, rt: Runtime, csc: CscTestServer
) -> None:
    _, headers = new_org(rt)
    res = client.post(
        "/api/v1/csc-services",
        headers=headers,
        json={
            "name": "On premises",
            "api_version": "v1",
            "auth": "none",
            "base_url": f"http://localhost:{csc.port}",
        },
    )
    assert res.status_code == 201, res.text
    assert csc.paths() == ["/csc/v1/info"]


@pytest.mark.parametrize("by", ["address", "name"])
def test_every_call_checks_the_address_again(
    client: TestClient, rt: Runtime, csc: CscTestServer, by: str
) -> None:
    # registered while allowed; the operator then forbids private targets (the same
    # as a public name whose DNS now answers a private address): nothing is sent.
    _, headers = new_org(rt)
    if by == "name":
        csc.base_url = f"http://localhost:{csc.port}"
    service = _register(client, headers, csc)
    env, issued = external_envelope(client, headers)
    before = versions_and_seal_jobs(rt, env["id"])
    rt.settings.csc_allow_private = False
    res = _sign(client, headers, env, service["id"])
    assert res.status_code == 502, res.text
    problem = res.json()
    assert problem["reason"] == "private-address", problem
    assert "MEDSIGN_CSC_ALLOW_PRIVATE" in problem["detail"]
    assert csc.paths() == ["/csc/v1/info"]  # only the registration's call
    assert versions_and_seal_jobs(rt, env["id"]) == before
    assert current_pdf(client, headers, env["id"]) == issued
