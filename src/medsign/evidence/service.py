"""The certificate of completion: what happened to an envelope, as JSON and as a sealed PDF.

Built once, by the ``evidence`` job that :func:`medsign.envelopes.workflow.advance`
queues when an envelope completes (so completing stays fast). It gathers, for each
signer, who (name, role, relation, masked contact), how (method, channel, when the
code was sent and entered, attempts), when, and from where (IP, user agent), the
document's SHA-256 before and after signing, and every audit event of the envelope
(action, time, actor, place in the audit log with its RFC 9162 inclusion proof against
a signed, time-stamped checkpoint; shared/DESIGN.md "Evidence").
One-time codes, link tokens and verification codes are never included.

The PDF is the same content in the patient's language (en, ru, fa; fa right-to-left),
sealed with the organization's seal and an RFC 3161 time-stamp (PAdES B-T), with the
JSON embedded as the seal's evidence file. Both are stored content-addressed and their
SHA-256 kept on the envelope; the job also builds the B-LTA archive
(:mod:`medsign.evidence.archive`).
"""

from __future__ import annotations

import json
import logging
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session

from medsign.audit.models import AuditEvent, AuditLogCheckpoint
from medsign.audit.proofs import checkpoint_view, inclusion_proof, latest_checkpoint
from medsign.audit.sequencer import sequence_pending
from medsign.audit.service import record
from medsign.clinicians.service import revocation_info
from medsign.documents.models import Document
from medsign.domain.policy import Role
from medsign.domain.states import EnvelopeStatus
from medsign.envelopes.models import Envelope, Signer
from medsign.envelopes.queries import lock_envelope_by_id
from medsign.envelopes.signing import masked_contact
from medsign.errors import NotFound
from medsign.evidence.texts import label
from medsign.i18n import LANGS, TEXTS, t
from medsign.jobs.outbox import JobCall
from medsign.organizations.models import Organization
from medsign.pdf import SealRequest, SignatureBlock, seal_pdf
from medsign.pdf.block import format_time
from medsign.pdf.ltv import build_archive
from medsign.pdf.report import ReportLine, Style, render_report
from medsign.pki import load_or_create_dev_ca
from medsign.runtime import Runtime

log = logging.getLogger(__name__)

EVIDENCE_FIELD = "medsign-evidence"
EVIDENCE_JSON_NAME = "certificate-of-completion.json"
# Audit data keys that may appear in the report: identifiers, hashes, counters. Never
# codes, tokens or challenge ids (shared/DESIGN.md "Security floor").
_SAFE_DATA_KEYS = (
    "signer_id",
    "method",
    "channel",
    "order",
    "version",
    "sha256",
    "sha256_shown",
    "attempts",
    "reminder",
    "reason",
    "role",
)


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


def patient_lang(env: Envelope, default: str) -> str:
    """The language of the envelope's patient (or representative), else ``default``."""
    for signer in env.signers:
        if signer.role in (Role.PATIENT.value, Role.REPRESENTATIVE.value) and signer.lang in LANGS:
            return signer.lang
    return default if default in LANGS else "en"


def _signer_entry(signer: Signer) -> dict[str, Any]:
    ev: dict[str, Any] = signer.evidence or {}
    person = ev.get("signer") if isinstance(ev.get("signer"), dict) else {}
    document = ev.get("document") if isinstance(ev.get("document"), dict) else {}
    assert isinstance(person, dict) and isinstance(document, dict)
    how: dict[str, Any] = {
        "method": signer.method,
        "channel": ev.get("channel"),
        "code_sent_at": ev.get("code_sent_at"),
        "code_entered_at": ev.get("code_entered_at"),
        "code_attempts": ev.get("code_attempts"),
        "requested_by": ev.get("requested_by"),
        "consent_text": ev.get("consent_text"),
        # Method device (medsign.clinicians): which enrolled device and certificate.
        "device_id": ev.get("device_id"),
        "certificate_serial": ev.get("certificate_serial"),
        # Method external: the certificate, the signature's form and times, and a
        # detached CMS itself (medsign.external.service).
        "external": ev.get("external"),
    }
    if isinstance(ev.get("webauthn"), dict):  # a device's user-verified assertion
        how["webauthn"] = ev["webauthn"]
    return {
        "id": signer.id,
        "name": signer.name,
        "role": signer.role,
        "relation": signer.relation,
        "order": signer.order,
        "contact": person.get("contact") or masked_contact(signer) or None,
        "status": signer.status,
        "how": how,
        "when": {
            "notified_at": _iso(signer.notified_at),
            "signed_at": _iso(signer.signed_at),
            "sealed_at": _iso(signer.sealed_at),
        },
        "where": {"ip": ev.get("ip"), "user_agent": ev.get("user_agent")},
        "sha256_shown": document.get("sha256_shown"),
    }


def _events(
    session: Session, env: Envelope, checkpoint: AuditLogCheckpoint | None
) -> list[dict[str, Any]]:
    """The envelope's audit events, each with its RFC 9162 inclusion proof against
    ``checkpoint`` (none for an event the log has not taken in yet)."""
    rows = session.scalars(
        select(AuditEvent)
        .where(AuditEvent.organization_id == env.organization_id)
        .where(AuditEvent.envelope_id == env.id)
        .order_by(AuditEvent.id)
    ).all()
    events = []
    for row in rows:
        proof = None
        if (
            checkpoint is not None
            and row.leaf_index is not None
            and row.leaf_index < checkpoint.tree_size
        ):
            proof = inclusion_proof(session, row, checkpoint.tree_size).view()
        events.append(
            {
                "id": row.id,
                "at": _iso(row.at),
                "action": row.action,
                "actor": row.actor,
                "data": {k: row.data[k] for k in _SAFE_DATA_KEYS if k in (row.data or {})},
                "leaf_index": row.leaf_index,
                "inclusion_proof": proof,
            }
        )
    return events


def _audit_log(rt: Runtime, checkpoint: AuditLogCheckpoint | None) -> dict[str, Any] | None:
    """The checkpoint the proofs lead to, and the key that signed it."""
    if checkpoint is None:
        return None
    return {
        "checkpoint": checkpoint_view(checkpoint),
        "verifier_key": rt.audit_log.key.verifier_key(),
        "leaf": "SHA-256(0x00 || canonical JSON of the event row), RFC 9162 §2.1.1",
    }


def build_evidence(
    rt: Runtime, session: Session, env: Envelope, org: Organization
) -> dict[str, Any]:
    """The certificate of completion as a JSON-ready dictionary, its audit events
    proven against the newest checkpoint of the audit log."""
    now = rt.clock()
    checkpoint = latest_checkpoint(session)
    doc = session.get(Document, env.document_id)
    assert doc is not None
    return {
        "type": "medsign.certificate-of-completion",
        "version": 1,
        "generated_at": now.isoformat(),
        "lang": patient_lang(env, rt.settings.default_lang),
        "organization": {"id": org.id, "name": org.name},
        "envelope": {
            "id": env.id,
            "status": env.status,
            "created_at": _iso(env.created_at),
            "completed_at": _iso(env.completed_at),
            "versions": env.version,
        },
        "document": {
            "id": doc.id,
            "title": doc.title,
            "kind": doc.kind,
            "pages": doc.pages,
            "sha256_original": doc.sha256,
            "sha256_final": env.current_sha256,
        },
        "signers": [_signer_entry(s) for s in env.signers],
        "events": _events(session, env, checkpoint),
        "audit_log": _audit_log(rt, checkpoint),
    }


def evidence_json_bytes(data: dict[str, Any]) -> bytes:
    """Stable UTF-8 JSON (sorted keys) of the certificate."""
    return json.dumps(data, ensure_ascii=False, sort_keys=True, indent=2).encode("utf-8")


def _local(value: Any, zone: ZoneInfo) -> str:
    if not isinstance(value, str) or not value:
        return "—"
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        return value
    if parsed.tzinfo is None:
        return value
    return format_time(parsed.astimezone(zone))


def _method(method: str, lang: str) -> str:
    key = f"method_{method}"
    return f"{t(key, lang)} ({method})" if key in TEXTS else method


def report_lines(data: dict[str, Any], zone: ZoneInfo) -> list[ReportLine]:
    """The certificate's content as report paragraphs in ``data["lang"]``."""
    lang = str(data.get("lang", "en"))

    def kv(key: str, value: Any) -> ReportLine:
        return ReportLine(f"{label(key, lang)}: {value if value not in (None, '') else '—'}")

    env, doc, org = data["envelope"], data["document"], data["organization"]
    lines = [
        ReportLine(label("title", lang), Style.TITLE),
        ReportLine(label("intro", lang), Style.SMALL),
        ReportLine(label("document", lang), Style.HEADING),
        kv("title_of", doc["title"]),
        kv("kind", doc["kind"]),
        ReportLine(f"ID: {doc['id']}"),
        kv("sha_original", doc["sha256_original"]),
        kv("sha_final", doc["sha256_final"]),
        ReportLine(label("envelope", lang), Style.HEADING),
        kv("organization", org["name"]),
        ReportLine(f"ID: {env['id']}"),
        kv("created", _local(env["created_at"], zone)),
        kv("completed", _local(env["completed_at"], zone)),
        ReportLine(label("signers", lang), Style.HEADING),
    ]
    for i, s in enumerate(data["signers"], start=1):
        how, when, where = s["how"], s["when"], s["where"]
        lines.append(ReportLine(f"{i}. {s['name']}", Style.HEADING))
        role = s["role"] + (f" ({s['relation']})" if s.get("relation") else "")
        lines += [
            kv("role", role),
            kv("contact", s.get("contact")),
            kv("status", s["status"]),
            kv("method", _method(str(how["method"]), lang)),
        ]
        if how.get("channel"):
            lines += [
                kv("channel", how["channel"]),
                kv("code_sent", _local(how.get("code_sent_at"), zone)),
                kv("code_entered", _local(how.get("code_entered_at"), zone)),
                kv("attempts", how.get("code_attempts")),
            ]
        requested = how.get("requested_by")
        if isinstance(requested, dict):
            who = ", ".join(str(v) for v in requested.values() if v)
            lines.append(kv("requested_by", who))
        external = how.get("external")
        cert = external.get("certificate") if isinstance(external, dict) else None
        if isinstance(cert, dict):
            lines.append(kv("certificate", f"{cert.get('subject')} ({cert.get('serial')})"))
        lines += [
            kv("signed_at", _local(when.get("signed_at"), zone)),
            kv("sealed_at", _local(when.get("sealed_at"), zone)),
        ]
        if where.get("ip") or where.get("user_agent"):
            lines += [kv("ip", where.get("ip")), kv("user_agent", where.get("user_agent"))]
        if s.get("sha256_shown"):
            lines.append(kv("shown", s["sha256_shown"]))
    lines.append(ReportLine(label("events", lang), Style.HEADING))
    lines.append(ReportLine(label("audit_note", lang), Style.SMALL))
    for event in data["events"]:
        index = event.get("leaf_index")
        lines.append(
            ReportLine(
                f"#{index if index is not None else '—'} {_local(event['at'], zone)} "
                f"{event['action']} — {event['actor']}"
            )
        )
        proof = event.get("inclusion_proof")
        if proof:
            lines.append(ReportLine(proof["leaf_hash"], Style.SMALL))
    log_info = data.get("audit_log")
    if log_info:
        cp = log_info["checkpoint"]
        lines.append(ReportLine(f"{label('checkpoint', lang)} {cp['tree_size']}", Style.SMALL))
        lines.append(ReportLine(cp["root_hash"], Style.SMALL))
    lines.append(
        ReportLine(f"{label('generated', lang)} {_local(data['generated_at'], zone)}", Style.SMALL)
    )
    return lines


def render_evidence_pdf(data: dict[str, Any], zone: ZoneInfo) -> bytes:
    """The unsealed certificate PDF (A4, the patient's language)."""
    lang = str(data.get("lang", "en"))
    return render_report(
        report_lines(data, zone), rtl=lang == "fa", title=label("title", lang), lang=lang
    )


def seal_evidence_pdf(
    rt: Runtime, pdf: bytes, evidence: bytes, org: Organization, env: Envelope, zone: ZoneInfo
) -> bytes:
    """Seal the certificate with the organization's seal (PAdES B-T) and embed the JSON."""
    request = SealRequest(
        block=SignatureBlock(
            signer_name=org.name,
            signed_at=rt.clock().astimezone(zone),
            method=t("method_seal", "en"),
            document_id=env.document_id,
            verification_code=env.id[:8].upper(),
            verify_url=None,
        ),
        evidence=evidence,
        field_name=EVIDENCE_FIELD,
        reason=f"Certificate of completion of envelope {env.id}",
    )
    key = rt.seal_keys.for_signature(org.id, org.name, 0)
    return seal_pdf(pdf, key, request, rt.seal_keys.timestamper())


def create_evidence(rt: Runtime, call: JobCall) -> None:
    """The ``evidence`` job: certificate (JSON, sealed PDF) and B-LTA archive, once."""
    envelope_id = str(call.payload["envelope_id"])
    # The envelope's events so far into the log first, so the certificate proves them all.
    sequence_pending(rt, wait=True)
    with rt.transaction() as session:
        env = lock_envelope_by_id(session, envelope_id)
        if (
            env is None
            or env.status != EnvelopeStatus.COMPLETED.value
            or env.evidence_json_sha256 is not None
        ):
            return
        org = session.get(Organization, env.organization_id)
        assert org is not None
        zone = ZoneInfo(rt.settings.time_zone)
        data = build_evidence(rt, session, env, org)
        evidence = evidence_json_bytes(data)
        sealed = seal_evidence_pdf(rt, render_evidence_pdf(data, zone), evidence, org, env, zone)
        # Revocation data must postdate the signatures' time-stamps (EN 319 102-1
        # §5.6.2.4), which the TSA dates by the real clock, as the dev CA's CRL is.
        device_crls, device_ocsps = revocation_info(
            session, rt.seal_keys.clinician_ca(), env.id, now=datetime.now(UTC)
        )
        archive = build_archive(
            rt.files.get(env.current_sha256),
            evidence,
            trust_roots=rt.seal_keys.trust_roots(),
            crls=[load_or_create_dev_ca(rt.seal_keys.keys_dir).crl(), *device_crls],
            ocsps=device_ocsps,
            timestamper=rt.seal_keys.timestamper(),
        )
        env.evidence_json_sha256 = rt.files.put(evidence)
        env.evidence_pdf_sha256 = rt.files.put(sealed)
        env.archive_sha256 = rt.files.put(archive)
        record(
            session,
            env.organization_id,
            "envelope.evidence_created",
            at=rt.clock(),
            actor="system",
            envelope_id=env.id,
            data={
                "evidence_json_sha256": env.evidence_json_sha256,
                "evidence_pdf_sha256": env.evidence_pdf_sha256,
                "archive_sha256": env.archive_sha256,
            },
        )


ARTIFACTS = {
    "evidence.json": "evidence_json_sha256",
    "evidence.pdf": "evidence_pdf_sha256",
    "archive.pdf": "archive_sha256",
}


def artifact_sha256(env: Envelope, artifact: str) -> str:
    """SHA-256 of a completion artifact; :class:`NotFound` (404) until it exists.

    Not completed (sent, declined, voided, expired): 404 with the envelope's status;
    completed but the evidence job has not run yet: 404 with ``retry_after``.
    """
    if env.status != EnvelopeStatus.COMPLETED.value:
        raise NotFound(
            f"The envelope is {env.status}: the {artifact} is produced only when every "
            "signer has signed and the envelope is completed.",
            envelope_status=env.status,
        )
    sha256: str | None = getattr(env, ARTIFACTS[artifact])
    if sha256 is None:
        raise NotFound(
            f"The {artifact} of this completed envelope is being prepared; "
            "try again in a few seconds.",
            envelope_status=env.status,
            retry_after=5,
        )
    return sha256
