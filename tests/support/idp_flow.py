"""Driving a method ``idp`` signer through the pages and a loopback provider."""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import urlsplit

import httpx
from fastapi.testclient import TestClient
from sqlalchemy import select

from medsign.audit.models import AuditEvent
from medsign.runtime import Runtime
from tests.support.api import create_envelope, upload
from tests.support.oidc_peer import OidcPeer
from tests.support.pages import form_fields, path_of


def register(
    client: TestClient, headers: dict[str, str], peer: OidcPeer, **extra: Any
) -> dict[str, Any]:
    """Register ``peer`` as an identity provider; assert 201; return the JSON."""
    body = {
        "name": "Test ID",
        "issuer": peer.issuer,
        "client_id": peer.client_id,
        "client_secret": peer.client_secret,
        "scopes": ["openid", "profile", "snils"],
        "claims": {"national_id": "snils"},
        **extra,
    }
    res = client.post("/api/v1/identity-providers", headers=headers, json=body)
    assert res.status_code == 201, res.text
    created: dict[str, Any] = res.json()
    return created


def idp_signer(provider_id: str, **extra: Any) -> dict[str, Any]:
    """A patient who signs through ``provider_id`` (Maria, matched on name and birth date)."""
    return {
        "role": "patient",
        "name": "Мария Петровна Иванова",
        "method": "idp",
        "phone": "+79991234567",
        "identity_provider_id": provider_id,
        "birth_date": "1990-04-12",
        **extra,
    }


def send(
    client: TestClient,
    headers: dict[str, str],
    provider_id: str,
    kind: str = "informed_consent",
    **signer: Any,
) -> tuple[dict[str, Any], str]:
    """Upload a document of ``kind`` and send it to one idp signer; (envelope, page path)."""
    doc = upload(client, headers, kind=kind, title="Informed consent")
    env = create_envelope(client, headers, doc["id"], idp_signer(provider_id, **signer))
    return env, path_of(env["signers"][0]["signing_url"])


def press_sign_with(client: TestClient, path: str) -> str:
    """Press "Sign with <provider>"; return where the browser is sent (the provider)."""
    page = client.get(path + "?lang=en")
    assert page.status_code == 200, page.text
    assert re.search(r">Sign with Test ID<", page.text), page.text
    res = client.post(f"{path}/idp", data={"csrf": form_fields(page.text)["csrf"], "lang": "en"})
    assert res.status_code == 303, res.text
    return res.headers["location"]


def at_provider(location: str) -> str:
    """Follow the browser to the provider, which logs in and sends it back; the path and
    query of medsign's callback."""
    res = httpx.get(location, follow_redirects=False, timeout=10)
    assert res.status_code == 302, res.text
    back = urlsplit(res.headers["location"])
    return f"{back.path}?{back.query}"


def sign_through(client: TestClient, path: str) -> Any:
    """The whole trip: button, provider, callback; the callback's response."""
    return client.get(at_provider(press_sign_with(client, path)))


def audited(rt: Runtime, action: str) -> list[dict[str, Any]]:
    """The data of every audit event ``action``."""
    with rt.transaction() as session:
        rows = session.scalars(select(AuditEvent).where(AuditEvent.action == action)).all()
        return [dict(r.data or {}) for r in rows]


def signer_status(client: TestClient, headers: dict[str, str], env_id: str) -> str:
    """The first signer's status of envelope ``env_id``."""
    res = client.get(f"/api/v1/envelopes/{env_id}", headers=headers)
    return str(res.json()["signers"][0]["status"])
