"""External signatures over real HTTP against the served app, on SQLite and PostgreSQL:
uploads racing for one signer (exactly one is accepted, the others are 409 problems, and
the envelope ends with one signature from the winner, sealed once), and the SDK."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest
from fastapi.testclient import TestClient

from medsign.client import ApiError, MedsignClient
from medsign.runtime import Runtime
from medsign.settings import Settings
from medsign.web.app import create_app
from tests.support.api import new_org
from tests.support.external_flow import (
    check_independently,
    current_pdf,
    external_envelope,
    jobs_of,
    versions_and_seal_jobs,
)
from tests.support.external_pki import ExternalPki, sign_detached, sign_pdf
from tests.support.idp_flow import audited
from tests.support.threaded import serve_in_thread
from tests.support.worker import drain


@pytest.fixture(scope="module")
def pki(tmp_path_factory: pytest.TempPathFactory) -> ExternalPki:
    """The external signers' PKI (Certomancer), once per module."""
    return ExternalPki(tmp_path_factory.mktemp("race-pki"))


@pytest.fixture
def settings(settings: Settings, pki: ExternalPki, tmp_path: Path) -> Settings:
    """Trust the test PKI's root."""
    return settings.model_copy(
        update={"external_trust_roots": pki.write_root(tmp_path / "roots.pem")}
    )


@pytest.fixture
def served(rt: Runtime) -> Iterator[str]:
    """The app on ``rt`` over HTTP (uvicorn in a thread)."""
    with serve_in_thread(create_app(runtime=rt, migrate=False)) as url:
        yield url


def test_the_sdk_uploads_an_external_signature(
    client: TestClient, rt: Runtime, pki: ExternalPki, served: str, tmp_path: Path
) -> None:
    _, headers = new_org(rt)
    env, issued = external_envelope(client, headers)
    signed = tmp_path / "signed.pdf"
    signed.write_bytes(sign_pdf(issued, pki.signer()))
    token = headers["Authorization"].removeprefix("Bearer ")
    with MedsignClient(served, token) as api:
        with pytest.raises(ApiError) as err:
            api.sign_external(env["id"], env["signers"][0]["id"], ("x.sig", b"junk", "x/y"))
        assert err.value.status == 422 and err.value.problem["reason"] == "not-cms"
        done = api.sign_external(env["id"], env["signers"][0]["id"], signed)
    assert done["signers"][0]["status"] == "signed"


def _at_once(calls: list[Callable[[], httpx.Response]]) -> list[httpx.Response]:
    barrier = threading.Barrier(len(calls))
    results: list[httpx.Response | BaseException | None] = [None] * len(calls)

    def run(i: int) -> None:
        barrier.wait()
        try:
            results[i] = calls[i]()
        except BaseException as exc:  # reported below, not lost in the thread
            results[i] = exc

    threads = [threading.Thread(target=run, args=(i,)) for i in range(len(calls))]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    assert all(isinstance(r, httpx.Response) for r in results), results
    return [r for r in results if isinstance(r, httpx.Response)]


def test_racing_uploads_for_one_signer_accept_exactly_one(
    client: TestClient, rt: Runtime, pki: ExternalPki, served: str, tmp_path: Path
) -> None:
    _, headers = new_org(rt)
    env, issued = external_envelope(client, headers)
    signer_id = env["signers"][0]["id"]
    uploads = [
        sign_pdf(issued, pki.signer(), field="UKEP-1"),
        sign_pdf(issued, pki.signer(), field="UKEP-2"),
        sign_detached(issued, pki.signer()),
        sign_detached(issued, pki.signer()),
    ]
    url = f"{served}/api/v1/envelopes/{env['id']}/signers/{signer_id}/external"
    with httpx.Client(headers=headers, timeout=120) as http:

        def poster(data: bytes) -> Callable[[], httpx.Response]:
            return lambda: http.post(url, files={"file": ("f", data)})

        responses = _at_once([poster(data) for data in uploads])
    statuses = sorted(r.status_code for r in responses)
    assert statuses == [200, 409, 409, 409], [r.text for r in responses]
    assert all(
        r.headers["content-type"] == "application/problem+json"
        for r in responses
        if r.status_code == 409
    )
    assert len(audited(rt, "signer.signed")) == 1
    assert len(audited(rt, "signer.external_refused")) == 3
    assert jobs_of(rt, "seal") == 1
    versions_before_seal, _ = versions_and_seal_jobs(rt, env["id"])
    drain(rt)
    versions, _ = versions_and_seal_jobs(rt, env["id"])
    assert versions == versions_before_seal + 1
    final = current_pdf(client, headers, env["id"])
    winner_is_pdf = versions_before_seal == 2
    check_independently(rt, pki, final, tmp_path, signatures=2 if winner_is_pdf else 1)
