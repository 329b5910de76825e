"""The seal job: put each recorded signature into the envelope's PDF, then advance.

Each signature is a PAdES signature (ETSI EN 319 142-1) in its own incremental update
(ISO 32000-1 §7.5.6), made with the organization's seal key, carrying the signer's
evidence; earlier revisions and signatures stay byte-for-byte intact.
"""

from __future__ import annotations

import json
from zoneinfo import ZoneInfo

from medsign.audit.service import record
from medsign.domain.states import SignerStatus
from medsign.domain.tokens import verification_code
from medsign.envelopes.models import EnvelopeVersion, Signer
from medsign.envelopes.queries import lock_envelope_by_id
from medsign.envelopes.workflow import advance
from medsign.events.service import emit
from medsign.i18n import t
from medsign.jobs.outbox import JobCall
from medsign.organizations.models import Organization
from medsign.pdf import SealRequest, SignatureBlock, seal_pdf
from medsign.runtime import Runtime
from medsign.usage.service import count_signature, local_day


def field_name(signer: Signer) -> str:
    """The PDF signature field name of a signer's signature."""
    return f"medsign-{signer.id}"


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
        base = rt.settings.public_url.rstrip("/")
        zone = ZoneInfo(rt.settings.time_zone)
        for signer in pending:
            now = rt.clock()
            assert signer.signed_at is not None and signer.evidence is not None
            code = verification_code(rt.keyring, signer.id)
            request = SealRequest(
                block=SignatureBlock(
                    # external: the name in the certificate (medsign.external.service)
                    signer_name=str(signer.evidence.get("signer_name") or signer.name),
                    signed_at=signer.signed_at.astimezone(zone),
                    method=t(f"method_{signer.method}", "en"),
                    document_id=env.document_id,
                    verification_code=code,
                    verify_url=f"{base}/verify?document={env.document_id}&code={code}",
                ),
                evidence=json.dumps(signer.evidence, ensure_ascii=False, sort_keys=True).encode(),
                field_name=field_name(signer),
                reason=f"Signed by {signer.name} ({signer.method})",
                slot=env.version,  # one visible block per signature so far
            )
            # One certificate per signature slot (dev CA): see SealKeys.for_signature.
            key = rt.seal_keys.for_signature(org.id, org.name, request.slot)
            pdf = seal_pdf(pdf, key, request, rt.seal_keys.timestamper())
            sha256 = rt.files.put(pdf)
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
        advance(session, env, now=rt.clock())
