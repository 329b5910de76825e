"""Driving the signing page over HTTP (the browser path is in tests/e2e)."""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import urlsplit

from fastapi.testclient import TestClient
from httpx2 import Response
from sqlalchemy import select

from medsign.notify.models import DevMessage
from medsign.runtime import Runtime


def path_of(url: str) -> str:
    """The path of a signing URL."""
    return urlsplit(url).path


def form_fields(html: str) -> dict[str, str]:
    """Hidden inputs of the signing page (csrf, shown_sha256)."""
    return dict(re.findall(r'<input type="hidden" name="(\w+)" value="([^"]*)"', html))


def latest_code(rt: Runtime, to: str) -> str:
    """The last 6-digit code the dev outbox holds for ``to``."""
    with rt.transaction() as session:
        bodies = session.scalars(
            select(DevMessage.body).where(DevMessage.to == to).order_by(DevMessage.id.desc())
        ).all()
    for body in bodies:
        match = re.search(r"\b(\d{6})\b", body)
        if match:
            return match.group(1)
    raise AssertionError(f"no code was sent to {to}")


def request_code(client: TestClient, path: str) -> Response:
    """Press "Send code" (without JavaScript)."""
    fields = form_fields(client.get(path).text)
    return client.post(f"{path}/code", data={"csrf": fields["csrf"], "lang": "en"})


def press_sign(client: TestClient, path: str, code: str) -> Response:
    """Type ``code`` and press "Sign"."""
    fields = form_fields(client.get(path).text)
    return client.post(f"{path}/sign", data={**fields, "code": code})


def signed_envelope(client: TestClient, rt: Runtime) -> tuple[str, dict[str, str], dict[str, Any]]:
    """A new organization's envelope signed by its patient by SMS code, every job run;
    returns the organization id, its API headers and the envelope as created."""
    from tests.support.api import create_envelope, new_org, patient, upload
    from tests.support.worker import drain

    org_id, headers = new_org(rt)
    doc = upload(client, headers)
    env = create_envelope(client, headers, doc["id"], patient())
    drain(rt)
    path = path_of(env["signers"][0]["signing_url"])
    request_code(client, path)
    drain(rt)
    press_sign(client, path, latest_code(rt, "+79991234567"))
    drain(rt)
    return org_id, headers, env
