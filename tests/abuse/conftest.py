"""Fixtures for the abuse tests: a genuine medsign-sealed PDF to build attacks from."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from medsign.runtime import Runtime
from tests.support.api import create_envelope, new_org, upload
from tests.support.pages import latest_code, path_of, press_sign, request_code
from tests.support.worker import drain


@pytest.fixture
def sealed_pdf(client: TestClient, rt: Runtime) -> bytes:
    """A PDF medsign issued: one patient signed with an SMS code, sealed by the worker."""
    _, headers = new_org(rt)
    doc = upload(client, headers)
    env = create_envelope(client, headers, doc["id"])
    path = path_of(env["signers"][0]["signing_url"])
    request_code(client, path)
    drain(rt)
    press_sign(client, path, latest_code(rt, "+79991234567"))
    drain(rt)
    res = client.get(f"/api/v1/envelopes/{env['id']}/pdf", headers=headers)
    assert res.status_code == 200
    return res.content
