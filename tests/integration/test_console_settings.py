"""The console's settings pages over HTTP (issue [console] point 6): identity providers,
webhooks with their delivery log and replay, API tokens, branches, policy overrides, the
seal certificate upload and usage. Admins only; a branch's admin sees their branch;
every form needs its CSRF token; bad input stays on the form with a message and writes
nothing; every change is audited as ``staff:<id>``. SQLite and PostgreSQL."""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from medsign.audit.models import AuditEvent
from medsign.branches.models import Branch
from medsign.branches.service import create_branch
from medsign.identity.models import IdentityProvider
from medsign.organizations.models import ApiToken, Organization
from medsign.pdf.validate import validate_pdf
from medsign.reminders.models import NotificationRule, NotificationTemplate
from medsign.runtime import Runtime
from medsign.settings import Settings
from medsign.usage.service import set_limits
from medsign.webhooks.models import WebhookDelivery, WebhookSubscription
from tests.support.api import create_envelope, new_org, patient, upload
from tests.support.clock import FrozenClock
from tests.support.console import csrf_of, new_staff
from tests.support.oidc_peer import OidcPeer
from tests.support.seal_pki import PASSWORD, SealPki
from tests.support.webhook_receiver import WebhookReceiver
from tests.support.worker import drain

PAGES = (
    "/console/settings",
    "/console/settings/identity-providers",
    "/console/settings/webhooks",
    "/console/settings/tokens",
    "/console/settings/branches",
    "/console/settings/policy",
    "/console/settings/notifications",
    "/console/settings/seal",
    "/console/settings/usage",
)
CLINIC = {"role": "clinic", "name": "Clinic", "method": "seal"}


@pytest.fixture
def settings(settings: Settings) -> Settings:
    """Loopback webhooks and identity providers; a failed delivery is dead at once."""
    return settings.model_copy(
        update={
            "webhook_allow_private": True,
            "webhook_retry_hours": 0.0,
            "webhook_timeout_seconds": 2.0,
            "idp_allow_http": True,
            "idp_timeout_seconds": 1.0,
        }
    )


@pytest.fixture
def receiver() -> Iterator[WebhookReceiver]:
    """A webhook endpoint on loopback."""
    with WebhookReceiver() as endpoint:
        yield endpoint


def login(
    client: TestClient, rt: Runtime, org_id: str, role: str = "admin", branch: str | None = None
) -> str:
    """Log a new staff member of ``role`` in on ``client``; return their staff id."""
    staff_id, email, password = new_staff(
        rt, org_id, role, branch_id=branch, email=f"{role}-{branch or 'org'}-{org_id[:6]}@c.example"
    )
    form = client.get("/console/login")
    res = client.post(
        "/console/login",
        data={"email": email, "password": password, "csrf": csrf_of(form.text)},
    )
    assert res.status_code == 303 and res.headers["location"] == "/console", res.text
    return staff_id


def csrf(client: TestClient, path: str = "/console/settings") -> str:
    res = client.get(path)
    assert res.status_code == 200, res.text
    return csrf_of(res.text)


def audited(rt: Runtime, org_id: str, action: str) -> list[AuditEvent]:
    with rt.transaction() as session:
        return list(
            session.scalars(
                select(AuditEvent).where(
                    AuditEvent.organization_id == org_id, AuditEvent.action == action
                )
            )
        )


def count(rt: Runtime, model: Any, org_id: str) -> int:
    with rt.transaction() as session:
        return int(
            session.scalar(
                select(func.count()).select_from(model).where(model.organization_id == org_id)
            )
            or 0
        )


def error_of(html: str) -> str:
    match = re.search(r'<p id="settings-error" class="error" role="alert">([^<]*)</p>', html)
    assert match, "no error message on the form"
    return match.group(1)


def test_every_settings_page_in_three_languages_for_admins_only(
    client: TestClient, rt: Runtime
) -> None:
    org_id, _headers = new_org(rt)
    for role in ("viewer", "operator", "clinician"):
        other = TestClient(client.app, follow_redirects=False)
        login(other, rt, org_id, role)
        token = csrf_of(other.get("/console/account").text)
        for path in PAGES:
            assert other.get(path).status_code == 403, (role, path)
        res = other.post("/console/settings/tokens", data={"name": "x", "csrf": token})
        assert res.status_code == 403
        res = other.post("/console/settings/branches", data={"name": "x", "csrf": token})
        assert res.status_code == 403
    assert count(rt, ApiToken, org_id) == 1 and count(rt, Branch, org_id) == 0
    anonymous = TestClient(client.app, follow_redirects=False)
    assert anonymous.get("/console/settings/tokens").headers["location"] == "/console/login"
    login(client, rt, org_id)
    for lang, word in (("en", "API tokens"), ("ru", "API-токены"), ("fa", "توکن‌های API")):
        for path in PAGES:
            res = client.get(f"{path}?lang={lang}")
            assert res.status_code == 200, (path, lang, res.text[:300])
            assert word in res.text  # the section navigation
            assert res.headers["cache-control"] == "private, no-store"
    assert 'dir="rtl"' in client.get("/console/settings/policy?lang=fa").text


def test_every_settings_form_needs_its_csrf_token(client: TestClient, rt: Runtime) -> None:
    org_id, _headers = new_org(rt)
    login(client, rt, org_id)
    with rt.transaction() as session:
        branch = create_branch(session, org_id, "North", now=rt.clock()).id
        token_id = session.scalars(select(ApiToken.id)).first()
    pki = SealPki(rt.clock())
    forms: list[tuple[str, dict[str, Any], dict[str, Any] | None]] = [
        ("/console/settings/tokens", {"name": "MIS"}, None),
        (f"/console/settings/tokens/{token_id}/revoke", {}, None),
        ("/console/settings/branches", {"name": "South"}, None),
        (f"/console/settings/branches/{branch}/rename", {"name": "Renamed"}, None),
        ("/console/settings/policy", {"m_user_agreement": "idp"}, None),
        ("/console/settings/webhooks", {"url": "http://127.0.0.1:9/h", "events": "*"}, None),
        (
            "/console/settings/identity-providers",
            {"name": "X", "issuer": "http://127.0.0.1:9", "client_id": "c", "client_secret": "s"},
            None,
        ),
        ("/console/settings/seal", {"password": PASSWORD}, {"pkcs12": pki.seal().pkcs12()}),
        (
            "/console/settings/notifications/rules",
            {"event": "appointment.before", "offset_minutes": "60", "channel_1": "sms"},
            None,
        ),
        (
            "/console/settings/notifications/templates",
            {"event": "appointment.before", "lang": "en", "text": "Hi"},
            None,
        ),
        ("/console/settings/notifications/settings", {"time_zone": "Asia/Tehran"}, None),
    ]
    before = {a: len(audited(rt, org_id, a)) for a in ("api_token.created", "branch.created")}
    for path, data, files in forms:
        for token in ("", "0" * 32):
            if files:
                res = client.post(path, data={**data, "csrf": token}, files=files)
            else:
                res = client.post(path, data={**data, "csrf": token})
            assert res.status_code == 403, (path, res.status_code)
    with rt.transaction() as session:
        assert session.scalar(select(func.count()).select_from(ApiToken)) == 1
        assert session.scalars(select(ApiToken.revoked_at)).one() is None
        assert session.scalars(select(Branch.name)).all() == ["North"]
        org = session.get(Organization, org_id)
        assert org is not None and not org.policy_overrides
        assert session.scalar(select(func.count()).select_from(WebhookSubscription)) == 0
        assert session.scalar(select(func.count()).select_from(IdentityProvider)) == 0
        assert session.scalar(select(func.count()).select_from(NotificationRule)) == 0
        assert session.scalar(select(func.count()).select_from(NotificationTemplate)) == 0
        assert org.time_zone is None
    assert not (rt.seal_keys.organization_dir(org_id) / "uploaded-seal.pem").exists()
    assert {a: len(audited(rt, org_id, a)) for a in before} == before


def test_api_tokens_shown_once_scoped_revoked_and_audited(client: TestClient, rt: Runtime) -> None:
    org_id, headers = new_org(rt)
    staff_id = login(client, rt, org_id)
    with rt.transaction() as session:
        branch = create_branch(session, org_id, "North", now=rt.clock()).id
    token = csrf(client, "/console/settings/tokens")
    res = client.post("/console/settings/tokens", data={"name": "Archimed sync", "csrf": token})
    assert res.status_code == 200
    value = re.search(r'<code dir="ltr" class="break" id="new-token">([^<]+)</code>', res.text)
    assert value
    made = value.group(1)
    assert (
        client.get("/api/v1/envelopes", headers={"Authorization": f"Bearer {made}"}).status_code
        == 200
    )
    assert made not in client.get("/console/settings/tokens").text  # shown once
    res = client.post(
        "/console/settings/tokens", data={"name": "Branch MIS", "branch": branch, "csrf": token}
    )
    branch_token = re.search(r'id="new-token">([^<]+)<', res.text)
    assert branch_token
    res = client.get(
        "/api/v1/branches", headers={"Authorization": f"Bearer {branch_token.group(1)}"}
    )
    assert res.status_code == 403  # a branch token
    # Bad input stays on the form with a message; nothing is written.
    for data, status in (({"name": "   "}, 422), ({"name": "x", "branch": "no-such"}, 404)):
        res = client.post("/console/settings/tokens", data={**data, "csrf": token})
        assert res.status_code == status
        assert error_of(res.text) and 'name="name"' in res.text
    assert count(rt, ApiToken, org_id) == 3
    with rt.transaction() as session:
        made_id = session.scalars(select(ApiToken.id).where(ApiToken.name == "Archimed sync")).one()
        first_id = session.scalars(select(ApiToken.id).where(ApiToken.name == "default")).one()
    res = client.post(f"/console/settings/tokens/{made_id}/revoke", data={"csrf": token})
    assert res.status_code == 303
    assert (
        client.get("/api/v1/envelopes", headers={"Authorization": f"Bearer {made}"}).status_code
        == 401
    )
    res = client.post(f"/console/settings/tokens/{first_id}/revoke", data={"csrf": token})
    assert res.status_code == 409 and "last active token" in error_of(res.text)
    assert client.get("/api/v1/envelopes", headers=headers).status_code == 200
    created = audited(rt, org_id, "api_token.created")
    assert [e.actor for e in created][-2:] == [f"staff:{staff_id}"] * 2
    assert [e.actor for e in audited(rt, org_id, "api_token.revoked")] == [f"staff:{staff_id}"]
    # Another organization's token is not found.
    other_org, _ = new_org(rt, "Clinic Two")
    with rt.transaction() as session:
        foreign = session.scalars(
            select(ApiToken.id).where(ApiToken.organization_id == other_org)
        ).one()
    res = client.post(f"/console/settings/tokens/{foreign}/revoke", data={"csrf": token})
    assert res.status_code == 404
    with rt.transaction() as session:
        assert session.get(ApiToken, foreign).revoked_at is None  # type: ignore[union-attr]


def test_branches_added_and_renamed(client: TestClient, rt: Runtime) -> None:
    org_id, _headers = new_org(rt)
    staff_id = login(client, rt, org_id)
    token = csrf(client, "/console/settings/branches")
    assert (
        client.post("/console/settings/branches", data={"name": "North", "csrf": token}).status_code
        == 303
    )
    assert (
        client.post("/console/settings/branches", data={"name": "South", "csrf": token}).status_code
        == 303
    )
    for name, status in (("North", 409), ("  ", 422), ("x" * 250, 422)):
        res = client.post("/console/settings/branches", data={"name": name, "csrf": token})
        assert res.status_code == status, res.text[:200]
        assert error_of(res.text)
    with rt.transaction() as session:
        north = session.scalars(select(Branch.id).where(Branch.name == "North")).one()
    res = client.post(
        f"/console/settings/branches/{north}/rename", data={"name": "South", "csrf": token}
    )
    assert res.status_code == 409 and "South" in error_of(res.text)
    res = client.post(
        f"/console/settings/branches/{north}/rename", data={"name": "North-East", "csrf": token}
    )
    assert res.status_code == 303
    with rt.transaction() as session:
        assert sorted(session.scalars(select(Branch.name))) == ["North-East", "South"]
    assert "North-East" in client.get("/console/settings/branches").text
    renamed = audited(rt, org_id, "branch.renamed")
    assert [(e.actor, e.data["previous_name"]) for e in renamed] == [(f"staff:{staff_id}", "North")]
    assert {e.actor for e in audited(rt, org_id, "branch.created")} == {f"staff:{staff_id}"}


def test_policy_is_tightened_per_kind_and_never_loosened(client: TestClient, rt: Runtime) -> None:
    org_id, headers = new_org(rt)
    staff_id = login(client, rt, org_id)
    page = client.get("/console/settings/policy?lang=en")
    assert "1051n" in page.text and "63-FZ" in page.text  # the law behind the defaults
    token = csrf_of(page.text)
    # Untick the SMS code for user agreements; every other kind keeps its defaults.
    form = [("csrf", token), ("m_user_agreement", "email_otp"), ("m_user_agreement", "cabinet")]
    form += [("m_user_agreement", "idp")]
    for kind, methods in client.get("/api/v1/policy", headers=headers).json()["effective"].items():
        if kind != "user_agreement":
            form += [(f"m_{kind}", m) for m in methods["with_edo"]]
    res = client.post(
        "/console/settings/policy",
        content="&".join(f"{k}={v}" for k, v in form),
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )
    assert res.status_code == 303, res.text[:300]
    assert client.get("/api/v1/policy", headers=headers).json()["overrides"] == {
        "user_agreement": ["cabinet", "email_otp", "idp"]
    }
    doc = upload(client, headers)
    refused = client.post(
        "/api/v1/envelopes",
        headers=headers,
        json={"document_id": doc["id"], "signers": [patient()]},
    )
    assert refused.status_code == 422 and refused.json()["rule"] == "organization-override"
    # A crafted form that adds a method the law does not allow is refused; nothing changes.
    res = client.post(
        "/console/settings/policy",
        data={"csrf": token, "m_informed_consent": ["idp", "sms_otp"]},
    )
    assert res.status_code == 422 and "only tighten" in error_of(res.text)
    assert client.get("/api/v1/policy", headers=headers).json()["overrides"] == {
        "user_agreement": ["cabinet", "email_otp", "idp"]
    }
    assert [e.actor for e in audited(rt, org_id, "policy.updated")] == [f"staff:{staff_id}"]


def test_webhooks_secret_once_delivery_log_and_replay(
    client: TestClient, rt: Runtime, receiver: WebhookReceiver
) -> None:
    org_id, headers = new_org(rt)
    staff_id = login(client, rt, org_id)
    token = csrf(client, "/console/settings/webhooks")
    for data in (
        {"url": "ftp://127.0.0.1/x", "events": "*"},
        {"url": receiver.url, "events": "envelope.nothing"},
        {"url": receiver.url},
    ):
        res = client.post("/console/settings/webhooks", data={**data, "csrf": token})
        assert res.status_code == 422, (data, res.status_code)
        assert error_of(res.text)
    assert count(rt, WebhookSubscription, org_id) == 0
    res = client.post(
        "/console/settings/webhooks",
        data={"url": receiver.url, "events": ["envelope.sent", "envelope.voided"], "csrf": token},
    )
    assert res.status_code == 200
    secret = re.search(r'id="webhook-secret">(whsec_[^<]+)<', res.text)
    assert secret
    receiver.secrets.append(secret.group(1))
    assert secret.group(1) not in client.get("/console/settings/webhooks").text
    with rt.transaction() as session:
        hook_id = session.scalars(select(WebhookSubscription.id)).one()
    receiver.fail_next(1)
    doc = upload(client, headers)
    create_envelope(client, headers, doc["id"], patient())
    drain(rt)
    log = client.get(f"/console/settings/webhooks/{hook_id}?lang=en")
    assert log.status_code == 200
    assert "envelope.sent" in log.text and "Failed" in log.text and "HTTP 500" in log.text
    with rt.transaction() as session:
        dead = session.scalars(select(WebhookDelivery)).one()
        assert dead.status == "dead" and dead.attempts == 1 and dead.last_error
    res = client.post(
        f"/console/settings/webhooks/{hook_id}/deliveries/{dead.delivery_id}/replay",
        data={"csrf": token},
    )
    assert res.status_code == 200 and "Queued again" in res.text
    drain(rt)
    assert [r.type for r in receiver.wait_for(1)] == ["envelope.sent"]
    assert receiver.unique[0].webhook_id == dead.event_id  # the same webhook-id
    res = client.post(
        f"/console/settings/webhooks/{hook_id}/deliveries/no-such/replay", data={"csrf": token}
    )
    assert res.status_code == 404 and error_of(res.text)
    assert (
        client.post(
            f"/console/settings/webhooks/{hook_id}/delete", data={"csrf": token}
        ).status_code
        == 303
    )
    assert client.get("/api/v1/webhooks", headers=headers).json()["items"] == []
    assert client.get(f"/console/settings/webhooks/{hook_id}").status_code == 404
    for action in ("webhook.created", "webhook.replayed", "webhook.deleted"):
        assert [e.actor for e in audited(rt, org_id, action)] == [f"staff:{staff_id}"], action


def test_identity_providers_added_with_redirect_uri_and_disabled(
    client: TestClient, rt: Runtime, clock: FrozenClock
) -> None:
    org_id, _headers = new_org(rt)
    staff_id = login(client, rt, org_id)
    token = csrf(client, "/console/settings/identity-providers")
    with OidcPeer(clock) as peer:
        base = {"name": "Gosuslugi test", "client_id": peer.client_id, "csrf": token}
        for issuer in ("http://id.example.org", peer.issuer + "/nothing-here"):
            res = client.post(
                "/console/settings/identity-providers",
                data={**base, "issuer": issuer, "client_secret": peer.client_secret},
            )
            assert res.status_code == 422, res.text[:300]
            assert error_of(res.text) and f'value="{issuer}"' in res.text
        res = client.post(
            "/console/settings/identity-providers", data={**base, "issuer": peer.issuer}
        )
        assert res.status_code == 422 and "client_secret" in error_of(res.text)
        assert count(rt, IdentityProvider, org_id) == 0
        res = client.post(
            "/console/settings/identity-providers",
            data={
                **base,
                "issuer": peer.issuer,
                "client_secret": peer.client_secret,
                "scopes": "openid profile snils",
                "claim_national_id": "snils",
            },
        )
        assert res.status_code == 303, res.text[:300]
    with rt.transaction() as session:
        provider = session.scalars(select(IdentityProvider)).one()
        assert provider.claims["national_id"] == "snils"
        assert peer.client_secret not in provider.client_secret_enc
    page = client.get("/console/settings/identity-providers")
    assert f"http://testserver/idp/callback/{provider.id}" in page.text
    assert peer.client_secret not in page.text
    res = client.post(
        f"/console/settings/identity-providers/{provider.id}/disable", data={"csrf": token}
    )
    assert res.status_code == 303
    with rt.transaction() as session:
        assert session.get(IdentityProvider, provider.id).disabled_at is not None  # type: ignore[union-attr]
    assert [e.actor for e in audited(rt, org_id, "identity_provider.created")] == [
        f"staff:{staff_id}"
    ]
    assert [e.actor for e in audited(rt, org_id, "identity_provider.disabled")] == [
        f"staff:{staff_id}"
    ]


def _upload(client: TestClient, token: str, **files: bytes) -> Any:
    return client.post(
        "/console/settings/seal",
        data={"csrf": token, "password": PASSWORD},
        files={
            name: (f"{name}.bin", data, "application/octet-stream") for name, data in files.items()
        },
    )


def test_seal_upload_is_checked_and_seals_the_next_signature(
    client: TestClient, rt: Runtime
) -> None:
    org_id, headers = new_org(rt)
    staff_id = login(client, rt, org_id)
    token = csrf(client, "/console/settings/seal?lang=en")
    assert "development certificate" in client.get("/console/settings/seal?lang=en").text
    pki = SealPki(rt.clock())
    good = pki.seal()
    stranger = pki.seal()
    refusals = {
        "password": _upload(client, token, pkcs12=good.pkcs12("wrong password")),
        "usage": _upload(client, token, pkcs12=pki.seal(non_repudiation=False).pkcs12()),
        "expired": _upload(client, token, pkcs12=pki.seal(days_before=800, days_after=-1).pkcs12()),
        "future": _upload(client, token, pkcs12=pki.seal(days_before=-3).pkcs12()),
        "mismatch": _upload(client, token, key=stranger.key_pem(), certificate=good.chain_pem()),
        "not pem": _upload(client, token, key=b"hello", certificate=good.chain_pem()),
        "nothing": _upload(client, token),
        "half": _upload(client, token, key=good.key_pem()),
    }
    expected = {
        "password": "password",
        "usage": "nonRepudiation",
        "expired": "expired",
        "future": "valid only from",
        "mismatch": "does not belong",
        "not pem": "PEM private key",
        "nothing": "PKCS#12",
        "half": "PKCS#12",
    }
    for case, res in refusals.items():
        assert res.status_code == 422, (case, res.status_code)
        assert expected[case] in error_of(res.text), (case, error_of(res.text))
    assert not (rt.seal_keys.organization_dir(org_id) / "uploaded-seal.pem").exists()
    assert audited(rt, org_id, "seal.uploaded") == []
    res = _upload(client, token, key=good.key_pem(), certificate=good.chain_pem())
    assert res.status_code == 303
    page = client.get("/console/settings/seal?lang=en")
    assert "uploaded certificate" in page.text and "Test Clinic seal" in page.text
    events = audited(rt, org_id, "seal.uploaded")
    assert [e.actor for e in events] == [f"staff:{staff_id}"]
    # The next signature is made with the uploaded key, valid under its own root.
    doc = upload(client, headers)
    env = create_envelope(client, headers, doc["id"], CLINIC)
    res = client.post(
        f"/api/v1/envelopes/{env['id']}/signers/{env['signers'][0]['id']}/seal",
        headers=headers,
        json={"staff_name": "Registrar"},
    )
    assert res.status_code == 200, res.text
    drain(rt)
    pdf = client.get(f"/api/v1/envelopes/{env['id']}/pdf", headers=headers).content
    report = validate_pdf(pdf, [good.root, *rt.seal_keys.trust_roots()], fast=False)
    assert report.ok, report.reasons
    assert [s.issuer for s in report.signatures] and "Test Seal Root" in str(
        report.signatures[0].issuer
    )
    # PKCS#12 replaces it the same way.
    newer = pki.seal(cn="Test Clinic seal 2")
    assert _upload(client, token, pkcs12=newer.pkcs12()).status_code == 303
    assert "Test Clinic seal 2" in client.get("/console/settings/seal").text


def test_usage_of_the_month_per_branch_csv_and_limits(client: TestClient, rt: Runtime) -> None:
    org_id, headers = new_org(rt)
    login(client, rt, org_id)
    doc = upload(client, headers)
    env = create_envelope(client, headers, doc["id"], CLINIC)
    res = client.post(
        f"/api/v1/envelopes/{env['id']}/signers/{env['signers'][0]['id']}/seal",
        headers=headers,
        json={"staff_name": "Registrar"},
    )
    assert res.status_code == 200, res.text
    drain(rt)
    with rt.transaction() as session:
        set_limits(session, org_id, {"signatures": 10})
    page = client.get("/console/settings/usage?lang=en")
    assert page.status_code == 200
    assert "Signatures: Organization seal" in page.text
    assert "Signatures this month: 1 / 10" in page.text
    res = client.get("/console/settings/usage.csv?month=2026-11")
    assert res.status_code == 200 and res.headers["content-type"].startswith("text/csv")
    rows = list(csv.reader(io.StringIO(res.text)))
    assert rows[0] == ["day", "branch_id", "metric", "amount"]
    assert ["2026-11-23", "", "signatures.seal", "1"] in rows
    empty = client.get("/console/settings/usage.csv?month=2026-10")
    assert list(csv.reader(io.StringIO(empty.text))) == [["day", "branch_id", "metric", "amount"]]
    res = client.get("/console/settings/usage?month=November")
    assert res.status_code == 422 and "YYYY-MM" in res.text


def test_a_branch_admin_sees_their_branch_and_cannot_change_the_organization(
    client: TestClient, rt: Runtime
) -> None:
    org_id, headers = new_org(rt)
    with rt.transaction() as session:
        north = create_branch(session, org_id, "North", now=rt.clock()).id
        south = create_branch(session, org_id, "South", now=rt.clock()).id
    res = client.post(
        "/api/v1/tokens", headers=headers, json={"name": "South MIS", "branch_id": south}
    )
    assert res.status_code == 201
    login(client, rt, org_id, "admin", branch=north)
    page = client.get("/console/settings/tokens")
    assert page.status_code == 200 and "South MIS" not in page.text and ">default<" not in page.text
    token = csrf_of(page.text)
    res = client.post("/console/settings/tokens", data={"name": "North MIS", "csrf": token})
    assert res.status_code == 200
    with rt.transaction() as session:
        made = session.scalars(select(ApiToken).where(ApiToken.name == "North MIS")).one()
        assert made.branch_id == north
        south_token = session.scalars(select(ApiToken.id).where(ApiToken.name == "South MIS")).one()
    res = client.post(
        "/console/settings/tokens", data={"name": "Sneaky", "branch": south, "csrf": token}
    )
    assert res.status_code == 404
    res = client.post(f"/console/settings/tokens/{south_token}/revoke", data={"csrf": token})
    assert res.status_code == 404
    assert "South" not in client.get("/console/settings/branches").text
    pki = SealPki(rt.clock())
    for path, data in (
        ("/console/settings/branches", {"name": "West"}),
        (f"/console/settings/branches/{north}/rename", {"name": "Mine"}),
        ("/console/settings/policy", {"m_user_agreement": "idp"}),
        ("/console/settings/notifications/settings", {"time_zone": "Asia/Tehran"}),
        (
            "/console/settings/identity-providers",
            {"name": "X", "issuer": "http://127.0.0.1:9", "client_id": "c", "client_secret": "s"},
        ),
    ):
        res = client.post(path, data={**data, "csrf": token})
        assert res.status_code == 403, (path, res.status_code)
    res = _upload(client, token, pkcs12=pki.seal().pkcs12())
    assert res.status_code == 403
    with rt.transaction() as session:
        assert sorted(session.scalars(select(Branch.name))) == ["North", "South"]
        org = session.get(Organization, org_id)
        assert org is not None and not org.policy_overrides
    assert not (rt.seal_keys.organization_dir(org_id) / "uploaded-seal.pem").exists()
    for path in PAGES:
        assert client.get(path).status_code == 200, path


def test_notification_rules_templates_and_quiet_hours(client: TestClient, rt: Runtime) -> None:
    org_id, headers = new_org(rt)
    staff_id = login(client, rt, org_id)
    token = csrf(client, "/console/settings/notifications")
    base = "/console/settings/notifications"
    for data in (
        {"event": "appointment.before", "offset_minutes": "0", "channel_1": "sms"},
        {"event": "appointment.before", "offset_minutes": "sixty", "channel_1": "sms"},
        {"event": "appointment.before", "offset_minutes": "60", "channel_1": "pigeon"},
        {"event": "appointment.after_service", "offset_minutes": "60", "channel_1": "sms"},
    ):
        res = client.post(f"{base}/rules", data={**data, "csrf": token})
        assert res.status_code == 422, (data, res.status_code)
        assert error_of(res.text)
    assert count(rt, NotificationRule, org_id) == 0
    res = client.post(
        f"{base}/rules",
        data={
            "event": "appointment.before",
            "offset_minutes": "1440",
            "channel_1": "sms",
            "channel_2": "email",
            "csrf": token,
        },
    )
    assert res.status_code == 303, res.text[:300]
    rules = client.get("/api/v1/notification-rules", headers=headers).json()["items"]
    assert [(r["offset_minutes"], r["channels"]) for r in rules] == [(1440, ["sms", "email"])]
    res = client.post(
        f"{base}/templates",
        data={"event": "appointment.before", "lang": "en", "text": "{{ nope }}", "csrf": token},
    )
    assert res.status_code == 422 and error_of(res.text)
    assert count(rt, NotificationTemplate, org_id) == 0
    for text in ("See you, {{ patient_name }}.", "See you soon, {{ patient_name }}."):
        res = client.post(
            f"{base}/templates",
            data={"event": "appointment.before", "lang": "en", "text": text, "csrf": token},
        )
        assert res.status_code == 303, res.text[:300]
    listed = client.get("/api/v1/notification-templates", headers=headers).json()["items"]
    assert [t["text"] for t in listed] == ["See you soon, {{ patient_name }}."]  # replaced
    for data in (
        {"time_zone": "Mars/Olympus"},
        {"time_zone": "Europe/Moscow", "quiet_start": "21:00", "quiet_end": "21:00"},
    ):
        res = client.post(f"{base}/settings", data={**data, "csrf": token})
        assert res.status_code == 422 and error_of(res.text)
    res = client.post(
        f"{base}/settings",
        data={
            "time_zone": "Asia/Tehran",
            "quiet_start": "21:00",
            "quiet_end": "09:00",
            "notification_lang": "fa",
            "csrf": token,
        },
    )
    assert res.status_code == 303
    assert client.get("/api/v1/organization/settings", headers=headers).json() == {
        "time_zone": "Asia/Tehran",
        "quiet_hours": {"start": "21:00", "end": "09:00"},
        "notification_lang": "fa",
    }
    assert (
        client.post(f"{base}/rules/{rules[0]['id']}/delete", data={"csrf": token}).status_code
        == 303
    )
    assert (
        client.post(f"{base}/templates/{listed[0]['id']}/delete", data={"csrf": token}).status_code
        == 303
    )
    assert client.get("/api/v1/notification-rules", headers=headers).json()["items"] == []
    for action in (
        "notification_rule.created",
        "notification_rule.deleted",
        "notification_template.deleted",
        "organization.settings_changed",
    ):
        assert [e.actor for e in audited(rt, org_id, action)] == [f"staff:{staff_id}"], action
    assert {e.actor for e in audited(rt, org_id, "notification_template.saved")} == {
        f"staff:{staff_id}"
    }
