"""Every state change is audited in one hash chain per organization."""

from __future__ import annotations

from fastapi.testclient import TestClient
from sqlalchemy import select, update

from medsign.audit.models import AuditEvent
from medsign.audit.service import verify_chain
from medsign.runtime import Runtime
from tests.support.api import create_envelope, new_org, patient, upload
from tests.support.pages import latest_code, path_of, press_sign, request_code
from tests.support.worker import drain


def test_flow_is_audited_and_chain_detects_edits(client: TestClient, rt: Runtime) -> None:
    org_id, headers = new_org(rt)
    doc = upload(client, headers)
    env = create_envelope(client, headers, doc["id"], patient())
    drain(rt)
    path = path_of(env["signers"][0]["signing_url"])
    request_code(client, path)
    drain(rt)
    press_sign(client, path, latest_code(rt, "+79991234567"))
    drain(rt)
    with rt.transaction() as session:
        actions = session.scalars(
            select(AuditEvent.action)
            .where(AuditEvent.organization_id == org_id)
            .order_by(AuditEvent.seq)
        ).all()
        assert actions == [
            "organization.created",
            "document.created",
            "envelope.sent",
            "signer.invited",
            "signer.code_sent",
            "signer.signed",
            "signature.applied",
            "envelope.completed",
            "envelope.evidence_created",  # certificate of completion and archive
        ]
        report = verify_chain(session, org_id)
        assert report.intact and report.events == len(actions)
        session.execute(
            update(AuditEvent)
            .where(AuditEvent.organization_id == org_id, AuditEvent.seq == 4)
            .values(actor="someone-else")
        )
        broken = verify_chain(session, org_id)
        assert broken.first_broken_seq == 4


def test_chains_are_per_organization(client: TestClient, rt: Runtime) -> None:
    a, _ = new_org(rt, "A")
    b, _ = new_org(rt, "B")
    with rt.transaction() as session:
        seqs = session.execute(
            select(AuditEvent.organization_id, AuditEvent.seq, AuditEvent.prev_hash)
        ).all()
    assert {(org, seq) for org, seq, _ in seqs} == {(a, 1), (b, 1)}
    assert all(prev == "0" * 64 for *_, prev in seqs)
