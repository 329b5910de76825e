"""Verify: PDFs sealed with an organization's uploaded seal are a "registered seal" of it.

Only the exact certificate an organization registered is vouched for (docs/verification.md
"Three kinds of trust"): not its root, not another leaf of that root, and not after the
organization replaced it; PDFs sealed before a replacement keep the status.
"""

from __future__ import annotations

import shutil
import threading
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from cryptography.hazmat.primitives import serialization
from fastapi.testclient import TestClient
from sqlalchemy import select

from medsign.organizations.models import RegisteredSeal
from medsign.pdf import SealRequest, SignatureBlock, seal_pdf
from medsign.pki.keys import SealKey
from medsign.runtime import Runtime
from medsign.settings import Settings
from tests.e2e.pdf_checks import nss_db_trusting, pdfsig
from tests.support import seal_pki
from tests.support.api import create_envelope, new_org, upload
from tests.support.clock import FrozenClock
from tests.support.console import csrf_of, new_staff
from tests.support.pdfs import make_pdf
from tests.support.seal_pki import PASSWORD, SealPki
from tests.support.tamper import flip_byte_in_signed_range
from tests.support.threaded import serve_in_thread
from tests.support.worker import drain

CLINIC = {"role": "clinic", "name": "Clinic", "method": "seal"}
ORG_NAME = "Northside Clinic"


@pytest.fixture
def settings(settings: Settings, tmp_path: Path) -> Settings:
    """An external trust list that starts empty (a directory a test may add a root to)."""
    roots = tmp_path / "external-roots"
    roots.mkdir()
    return settings.model_copy(update={"external_trust_roots": roots})


def _login(client: TestClient, rt: Runtime, org_id: str, n: int = 0) -> str:
    _id, email, password = new_staff(rt, org_id, "admin", email=f"a{n}-{org_id[:6]}@c.example")
    form = client.get("/console/login")
    res = client.post(
        "/console/login", data={"email": email, "password": password, "csrf": csrf_of(form.text)}
    )
    assert res.status_code == 303, res.text
    return csrf_of(client.get("/console/settings/seal").text)


def _register(client: TestClient, token: str, seal: seal_pki.TestSeal) -> None:
    res = client.post(
        "/console/settings/seal",
        data={"csrf": token, "password": PASSWORD},
        files={"pkcs12": ("seal.p12", seal.pkcs12(), "application/x-pkcs12")},
    )
    assert res.status_code == 303, res.text


def _sealed_by_medsign(client: TestClient, rt: Runtime, headers: dict[str, str]) -> bytes:
    doc = upload(client, headers)
    env = create_envelope(client, headers, doc["id"], CLINIC)
    res = client.post(
        f"/api/v1/envelopes/{env['id']}/signers/{env['signers'][0]['id']}/seal",
        headers=headers,
        json={"staff_name": "Registrar"},
    )
    assert res.status_code == 200, res.text
    drain(rt)
    pdf: bytes = client.get(f"/api/v1/envelopes/{env['id']}/pdf", headers=headers).content
    return pdf


def _sealed_outside(rt: Runtime, seal: seal_pki.TestSeal) -> bytes:
    """A PDF sealed with ``seal`` by hand (not through medsign), time-stamped by medsign's TSA."""
    req = SealRequest(
        block=SignatureBlock(
            signer_name="Outside",
            signed_at=datetime.now(UTC).replace(microsecond=0),
            method="Seal",
            document_id="00000000-0000-4000-8000-000000000000",
            verification_code="2345-6789",
            verify_url=None,
        ),
        evidence=b'{"signer_name": "Outside", "method": "seal"}',
        field_name="outside-seal",
        reason=None,
        location=None,
        slot=0,
    )
    key = SealKey(seal.key, seal.certificate, (seal.root,))
    return seal_pdf(make_pdf(), key, req, rt.seal_keys.timestamper())


def _verify(client: Any, data: bytes) -> dict[str, Any]:
    res = client.post("/api/v1/verify", files={"file": ("signed.pdf", data, "application/pdf")})
    assert res.status_code == 200, res.text
    body: dict[str, Any] = res.json()
    return body


def _only(body: dict[str, Any]) -> dict[str, Any]:
    sigs: list[dict[str, Any]] = body["signatures"]
    assert len(sigs) == 1, sigs
    return sigs[0]


def test_registered_seal_verifies_as_the_organizations_and_nothing_wider(
    client: TestClient, rt: Runtime
) -> None:
    org_id, headers = new_org(rt, ORG_NAME)
    pki = SealPki(rt.clock())
    seal, sibling, unregistered = pki.seal(), pki.seal(cn="Sibling"), pki.seal(cn="Nobody")
    # Before the upload the same certificate is untrusted, as it always was.
    before = _verify(client, _sealed_outside(rt, seal))
    assert before["valid"] is False and _only(before)["trusted"] is False
    assert "trust" not in _only(before) or _only(before)["trust"] is None
    _register(client, _login(client, rt, org_id), seal)
    body = _verify(client, _sealed_by_medsign(client, rt, headers))
    sig = _only(body)
    assert body["valid"] is True, body["reasons"]
    assert sig["valid"] and sig["trusted"] and sig["cryptographically_valid"]
    assert sig["trust"] == "registered-seal" and sig["registered_by"] == ORG_NAME
    assert sig["registered_from"] and sig["registered_until"] is None
    assert sig["method"] == "seal" and sig["intact"] is True
    # The registered leaf, sealed anywhere, is the organization's.
    assert _only(_verify(client, _sealed_outside(rt, seal)))["trust"] == "registered-seal"
    # Another leaf of the same uploaded root, and a certificate nobody registered: untrusted.
    for other in (sibling, unregistered):
        res = _verify(client, _sealed_outside(rt, other))
        assert res["valid"] is False
        out = _only(res)
        assert out["cryptographically_valid"] is True and out["trusted"] is False
        assert out["trust"] is None and out["registered_by"] is None
        assert any("chain to a trusted root" in r for r in out["reasons"])
    # Tampered: invalid, whatever the registration.
    tampered = _verify(client, flip_byte_in_signed_range(_sealed_outside(rt, seal)))
    assert tampered["valid"] is False and _only(tampered)["valid"] is False
    assert _only(tampered)["trust"] is None


def test_medsign_ca_seal_keeps_its_status_and_pdfsig_agrees(
    client: TestClient, rt: Runtime, tmp_path: Path
) -> None:
    """Nothing changes for PDFs sealed by medsign's CA; and pdfsig, which knows nothing of
    registrations, still calls the registered seal's signature valid but not trusted."""
    if shutil.which("pdfsig") is None or shutil.which("certutil") is None:
        pytest.skip("pdfsig/certutil are not installed (poppler-utils, libnss3-tools)")
    org_id, headers = new_org(rt, ORG_NAME)
    ca_pdf = _sealed_by_medsign(client, rt, headers)
    sig = _only(_verify(client, ca_pdf))
    assert sig["valid"] and sig["trust"] == "medsign-ca" and sig["registered_by"] is None
    roots = []
    for i, root in enumerate(rt.seal_keys.trust_roots()):
        roots.append(tmp_path / f"root{i}.pem")
        roots[-1].write_bytes(root.public_bytes(serialization.Encoding.PEM))
    nss = nss_db_trusting(roots[0], tmp_path / "nss", *roots[1:])
    (tmp_path / "ca.pdf").write_bytes(ca_pdf)
    _out, found = pdfsig(tmp_path / "ca.pdf", nss)
    assert [(p.valid, p.trusted) for p in found] == [(True, True)], _out
    _register(client, _login(client, rt, org_id), SealPki(rt.clock()).seal())
    (tmp_path / "registered.pdf").write_bytes(_sealed_by_medsign(client, rt, headers))
    _out, found = pdfsig(tmp_path / "registered.pdf", nss)
    assert [(p.valid, p.trusted) for p in found] == [(True, False)], _out


def test_replaced_seal_keeps_earlier_pdfs_registered(
    client: TestClient, rt: Runtime, clock: FrozenClock
) -> None:
    # The built-in TSA keeps real time; the test clock follows it here so that the
    # registration periods and the time-stamps are on one time line.
    clock.now = datetime.now(UTC) - timedelta(minutes=5)
    org_id, headers = new_org(rt, ORG_NAME)
    pki = SealPki(rt.clock())
    first, second = pki.seal(cn="First seal"), pki.seal(cn="Second seal")
    token = _login(client, rt, org_id)
    _register(client, token, first)
    old_pdf = _sealed_by_medsign(client, rt, headers)
    clock.now = datetime.now(UTC)
    _register(client, token, second)
    old = _only(_verify(client, old_pdf))
    assert old["valid"] and old["trust"] == "registered-seal" and old["registered_by"] == ORG_NAME
    assert old["registered_until"] is not None
    new = _only(_verify(client, _sealed_by_medsign(client, rt, headers)))
    assert new["valid"] and new["trust"] == "registered-seal" and new["registered_until"] is None
    # The replaced key signing after the replacement (by medsign's time-stamp): refused.
    time.sleep(1.1)  # time-stamps count whole seconds
    late = _verify(client, _sealed_outside(rt, first))
    out = _only(late)
    assert late["valid"] is False and out["trusted"] is False and out["trust"] is None
    assert any("replaced" in r for r in out["reasons"])
    # The earlier PDF still verifies; the database kept both certificates.
    assert _only(_verify(client, old_pdf))["trust"] == "registered-seal"
    with rt.transaction() as session:
        rows = session.scalars(
            select(RegisteredSeal).where(RegisteredSeal.organization_id == org_id)
        ).all()
    assert sorted(r.replaced_at is None for r in rows) == [False, True]


def test_an_external_root_is_the_stronger_status(
    client: TestClient, rt: Runtime, settings: Settings
) -> None:
    org_id, headers = new_org(rt, ORG_NAME)
    seal = SealPki(rt.clock()).seal()
    _register(client, _login(client, rt, org_id), seal)
    pdf = _sealed_by_medsign(client, rt, headers)
    assert _only(_verify(client, pdf))["trust"] == "registered-seal"
    assert settings.external_trust_roots is not None
    (settings.external_trust_roots / "root.pem").write_bytes(
        seal.root.public_bytes(serialization.Encoding.PEM)
    )
    sig = _only(_verify(client, pdf))
    assert sig["valid"] and sig["trust"] == "trust-root" and sig["registered_by"] is None


@pytest.mark.parametrize("lang", ["en", "ru", "fa"])
def test_page_names_the_registered_seal(client: TestClient, rt: Runtime, lang: str) -> None:
    org_id, headers = new_org(rt, ORG_NAME)
    seal = SealPki(rt.clock()).seal()
    _register(client, _login(client, rt, org_id), seal)
    pdf = _sealed_by_medsign(client, rt, headers)
    page = client.post(
        f"/verify?lang={lang}", files={"file": ("signed.pdf", pdf, "application/pdf")}
    )
    assert page.status_code == 200
    assert ORG_NAME in page.text
    assert 'class="trust-registered-seal"' in page.text


def test_parallel_verify_and_uploads(client: TestClient, rt: Runtime, clock: FrozenClock) -> None:
    """Verifications of a registered-seal PDF at once all agree; uploads at once leave
    exactly one seal in force."""
    clock.now = datetime.now(UTC) - timedelta(minutes=5)  # one time line with the TSA
    org_id, headers = new_org(rt, ORG_NAME)
    pki = SealPki(rt.clock())
    _register(client, _login(client, rt, org_id), pki.seal())
    pdf = _sealed_by_medsign(client, rt, headers)
    clock.now = datetime.now(UTC) + timedelta(minutes=5)
    app = client.app
    n = 4
    with serve_in_thread(app) as base:  # type: ignore[arg-type]
        admins = []
        for k in range(n):
            c = httpx.Client(base_url=base, timeout=60.0)
            admins.append((c, _login(c, rt, org_id, k + 1)))  # type: ignore[arg-type]
        go = threading.Barrier(2 * n)
        results: list[Any] = []

        def check() -> None:
            with httpx.Client(base_url=base, timeout=60.0) as c:
                go.wait()
                results.append(_verify(c, pdf))

        def replace(c: httpx.Client, token: str) -> None:
            go.wait()
            res = c.post(
                "/console/settings/seal",
                data={"csrf": token, "password": PASSWORD},
                files={"pkcs12": ("seal.p12", pki.seal().pkcs12(), "application/x-pkcs12")},
            )
            results.append(res.status_code)

        threads = [threading.Thread(target=check) for _ in range(n)]
        threads += [threading.Thread(target=replace, args=a) for a in admins]
        for t in threads:
            t.start()
        for t in threads:
            t.join(120)
        for c, _token in admins:
            c.close()
    assert sorted(r for r in results if isinstance(r, int)) == [303] * n
    verdicts = [r for r in results if isinstance(r, dict)]
    assert len(verdicts) == n
    for v in verdicts:
        assert v["valid"] is True and _only(v)["trust"] == "registered-seal", v
    with rt.transaction() as session:
        rows = session.scalars(
            select(RegisteredSeal).where(RegisteredSeal.organization_id == org_id)
        ).all()
    assert len(rows) == n + 1
    assert sum(1 for r in rows if r.replaced_at is None) == 1
