"""The seal job: put each recorded signature into the envelope's PDF, then advance.

Each signature is a PAdES signature (ETSI EN 319 142-1) in its own incremental update
(ISO 32000-1 §7.5.6), made with the organization's seal key, carrying the signer's
evidence; earlier revisions and signatures stay byte-for-byte intact.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy.orm import Session, object_session

from medsign.audit.service import record
from medsign.branding.outbound import base_url, block_logo
from medsign.domain.policy import Method
from medsign.domain.states import SignerStatus
from medsign.domain.tokens import verification_code
from medsign.envelopes.models import Envelope, EnvelopeVersion, Signer
from medsign.envelopes.queries import lock_envelope_by_id
from medsign.envelopes.workflow import advance
from medsign.events.service import emit
from medsign.i18n import t
from medsign.jobs.outbox import JobCall, JobKind, enqueue
from medsign.organizations.models import Organization
from medsign.pdf import BlockLogo, SealRequest, SignatureBlock, seal_pdf
from medsign.runtime import Runtime
from medsign.usage.service import count_signature, local_day


def field_name(signer: Signer) -> str:
    """The PDF signature field name of a signer's signature."""
    return f"medsign-{signer.id}"


def seal_request(
    rt: Runtime,
    env: Envelope,
    signer: Signer,
    *,
    signed_at: datetime,
    evidence: dict[str, Any],
    code: str,
) -> SealRequest:
    """What ``signer``'s signature adds to the PDF: the visible block (time in the
    deployment's zone, method, document id, verification code and link), the evidence
    and the field; one block slot per signature so far."""
    session = object_session(env)
    base, issuer, logo = rt.settings.public_url.rstrip("/"), "", None
    if session is not None:  # the organization's brand (docs/branding.md)
        base = base_url(session, env.organization_id, rt.settings.public_url)
        org = session.get(Organization, env.organization_id)
        issuer = org.name if org is not None else ""
        found = block_logo(session, env.organization_id)
        logo = BlockLogo(*found) if found else None
    return SealRequest(
        block=SignatureBlock(
            # external: the name in the certificate (medsign.external.service)
            signer_name=str(evidence.get("signer_name") or signer.name),
            signed_at=signed_at.astimezone(ZoneInfo(rt.settings.time_zone)),
            method=t(f"method_{signer.method}", "en"),
            document_id=env.document_id,
            verification_code=code,
            verify_url=f"{base}/verify?document={env.document_id}&code={code}",
            issuer=issuer,
            logo=logo,
        ),
        evidence=json.dumps(evidence, ensure_ascii=False, sort_keys=True).encode(),
        field_name=field_name(signer),
        reason=f"Signed by {signer.name} ({signer.method})",
        slot=env.version,  # one visible block per signature so far
    )


def seal_envelope(rt: Runtime, call: JobCall) -> None:
    """Apply every signed-but-not-sealed signature of the job's envelope, in signing order."""
    envelope_id = str(call.payload["envelope_id"])
    with rt.transaction() as session:
        env = lock_envelope_by_id(session, envelope_id)
        if env is None:
            return
        org = session.get(Organization, env.organization_id)
        assert org is not None
        pending = sorted(
            (
                s
                for s in env.signers
                if s.status == SignerStatus.SIGNED.value and s.sealed_at is None
            ),
            key=lambda s: (s.signed_at, s.position),
        )
        if not pending:
            advance(session, env, now=rt.clock())
            return
        pdf = rt.files.get(env.current_sha256)
        for signer in pending:
            now = rt.clock()
            assert signer.signed_at is not None and signer.evidence is not None
            code = verification_code(rt.keyring, signer.id)
            request = seal_request(
                rt, env, signer, signed_at=signer.signed_at, evidence=signer.evidence, code=code
            )
            # One certificate per signature slot (dev CA): see SealKeys.for_signature.
            key = rt.seal_keys.for_signature(org.id, org.name, request.slot)
            pdf = seal_pdf(pdf, key, request, rt.seal_keys.timestamper())
            store_signed_version(rt, session, env, signer, pdf, code=code, now=now)
        reprepare_devices(session, env, now=rt.clock())
        advance(session, env, now=rt.clock())


def store_signed_version(
    rt: Runtime,
    session: Session,
    env: Envelope,
    signer: Signer,
    pdf: bytes,
    *,
    code: str,
    now: datetime,
    stored: str | None = None,
) -> str:
    """Keep ``pdf`` (with ``signer``'s signature in it) as the envelope's next version:
    the signer is sealed, the signature metered, audited and emitted (``envelope.signed``).
    ``stored``: the caller is storing ``pdf`` itself under this SHA-256 (and makes sure
    it is written before the transaction commits). The caller holds the envelope's lock;
    returns the new version's SHA-256."""
    sha256 = stored if stored is not None else rt.files.put(pdf)
    env.version += 1
    env.current_sha256 = sha256
    env.updated_at = now
    session.add(
        EnvelopeVersion(
            envelope_id=env.id,
            version=env.version,
            sha256=sha256,
            size=len(pdf),
            signer_id=signer.id,
            created_at=now,
        )
    )
    signer.sealed_at = now
    signer.verification_code = code
    assert signer.signed_at is not None
    # Metered in this transaction: the signature counts if and only if it is in
    # the PDF; keyed by the signer, so a re-run seal cannot count it twice.
    count_signature(
        session,
        organization_id=env.organization_id,
        branch_id=env.branch_id,
        signer_id=signer.id,
        method=signer.method,
        day=local_day(signer.signed_at, rt.settings.time_zone),
        now=now,
    )
    record(
        session,
        env.organization_id,
        "signature.applied",
        at=now,
        actor="system",
        envelope_id=env.id,
        data={"signer_id": signer.id, "sha256": sha256, "version": env.version},
    )
    emit(
        session,
        env.organization_id,
        "envelope.signed",
        at=now,
        envelope_id=env.id,
        data={"signer_id": signer.id, "role": signer.role, "method": signer.method},
    )
    return sha256


def reprepare_devices(session: Session, env: Envelope, *, now: datetime) -> None:
    """The envelope's PDF changed: clinicians still to approve (a parallel order group)
    get their signatures prepared again on the new PDF (medsign.clinicians.requests);
    the requests prepared on the old one are refused from now on."""
    for other in env.signers:
        if other.method == Method.DEVICE.value and other.status == SignerStatus.NOTIFIED.value:
            enqueue(session, JobKind.DEVICE_PREPARE, {"signer_id": other.id}, now=now)
