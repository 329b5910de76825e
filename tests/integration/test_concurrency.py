"""Two "Sign" presses at the same moment (two tabs) sign once, on every backend."""

from __future__ import annotations

import threading

from fastapi.testclient import TestClient
from sqlalchemy import func, select

from medsign.audit.models import AuditEvent
from medsign.audit.sequencer import sequence_pending
from medsign.envelopes.signing import Client, SignOutcome, sign
from medsign.errors import DomainError
from medsign.jobs.models import Job
from medsign.runtime import Runtime
from tests.support.api import create_envelope, new_org, patient, upload
from tests.support.audit import verify
from tests.support.pages import latest_code, path_of, request_code
from tests.support.worker import drain


def test_two_tabs_press_sign_at_once(client: TestClient, rt: Runtime) -> None:
    _, headers = new_org(rt)
    doc = upload(client, headers)
    env = create_envelope(client, headers, doc["id"], patient())
    drain(rt)
    path = path_of(env["signers"][0]["signing_url"])
    request_code(client, path)
    drain(rt)
    code = latest_code(rt, "+79991234567")
    token = path.rsplit("/", 1)[1]
    barrier = threading.Barrier(4)
    results: list[SignOutcome | DomainError] = []

    def press() -> None:
        barrier.wait()
        try:
            with rt.transaction() as session:
                outcome = sign(
                    session,
                    rt.keyring,
                    rt.otp_rules,
                    token,
                    code,
                    shown_sha256=None,
                    client=Client("127.0.0.1", "test"),
                    now=rt.clock(),
                )
            results.append(outcome)
        except DomainError as exc:
            results.append(exc)

    threads = [threading.Thread(target=press) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    successes = [r for r in results if isinstance(r, SignOutcome) and r.error is None]
    refusals = [r for r in results if isinstance(r, DomainError)]
    assert len(successes) == 1
    assert len(refusals) == 3 and all(r.status == 409 for r in refusals)
    with rt.transaction() as session:
        signed_events = session.scalar(
            select(func.count()).select_from(AuditEvent).where(AuditEvent.action == "signer.signed")
        )
        seal_jobs = session.scalar(select(func.count()).select_from(Job).where(Job.kind == "seal"))
        assert signed_events == 1 and seal_jobs == 1
    sequence_pending(rt)
    assert verify(rt).intact
