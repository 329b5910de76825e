"""Accepting an external signature for a signer, and registering CSC services.

The expensive checks (pyHanko, the remote service) run outside any transaction; the
acceptance then locks the envelope, checks again that the signer may sign and that the
envelope's PDF is still the one that was checked, and records the signature in one
transaction (docs/external-signatures.md). A refusal is audited in its own
transaction and changes nothing else.
"""

from __future__ import annotations

import base64
import json
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from medsign.audit.service import record
from medsign.documents.models import Document
from medsign.domain.policy import DocumentKind, Method, Role, check_method
from medsign.domain.states import EnvelopeStatus, SignerStatus
from medsign.domain.tokens import Keyring
from medsign.envelopes.models import Envelope, EnvelopeVersion, Signer
from medsign.envelopes.policy_context import policy_context
from medsign.envelopes.queries import load_envelope
from medsign.envelopes.sealing import field_name
from medsign.envelopes.signing import record_signature
from medsign.errors import (
    Conflict,
    DomainError,
    ExternalSignatureRejected,
    InvalidInput,
    NotFound,
)
from medsign.external.csc import RULE, CscEndpoint, client_credentials_token, service_info
from medsign.external.models import CscService
from medsign.external.schemas import CscServiceIn, CscServiceOut
from medsign.identity.protocol import check_url
from medsign.identity.secretbox import open_secret, seal_secret
from medsign.net import ssrf
from medsign.pdf.external import ExternalSignature
from medsign.storage.ports import BlobStore


@dataclass(frozen=True)
class Issued:
    """The version an external signer signs: the envelope's current PDF."""

    envelope_id: str
    signer_id: str
    sha256: str


@dataclass(frozen=True)
class Requester:
    """Who asked medsign to accept the signature (evidence)."""

    channel: str  # "api" (an upload) or "csc" (medsign called the service)
    ip: str | None
    user_agent: str | None
    service: dict[str, str] | None = None  # the CSC service and credential


def _signer_may_sign(session: Session, env: Envelope, signer_id: str, now: datetime) -> Signer:
    signer = next((s for s in env.signers if s.id == signer_id), None)
    if signer is None:
        raise NotFound(f"No signer {signer_id} in envelope {env.id}.")
    if signer.method != Method.EXTERNAL.value:
        raise Conflict(
            f"This signer signs with {signer.method}; only a signer with method external "
            "takes an uploaded or remote qualified signature.",
            state=signer.status,
        )
    if signer.status == SignerStatus.SIGNED.value:
        raise Conflict("This signer has already signed.", state="signed")
    if env.status != EnvelopeStatus.SENT.value or env.expires_at <= now:
        status = env.status if env.status != EnvelopeStatus.SENT.value else "expired"
        raise Conflict(f"The envelope is {status}; it can no longer be signed.", state=status)
    if signer.status == SignerStatus.WAITING.value:
        raise Conflict(
            "It is not this signer's turn yet: earlier order groups must sign first.",
            state="waiting",
        )
    if signer.status != SignerStatus.NOTIFIED.value:
        raise Conflict(f"This signer has {signer.status}.", state=signer.status)
    doc = session.get(Document, env.document_id)
    assert doc is not None
    check_method(
        DocumentKind(doc.kind),
        Method.EXTERNAL,
        Role(signer.role),
        policy_context(session, env.organization_id, signer.patient_id, now),
    )
    return signer


def issued_version(
    session: Session, organization_id: str, envelope_id: str, signer_id: str, *, now: datetime
) -> Issued:
    """What ``signer_id`` must sign; Conflict/NotFound when they may not sign now."""
    env = load_envelope(session, organization_id, envelope_id)
    signer = _signer_may_sign(session, env, signer_id, now)
    return Issued(env.id, signer.id, env.current_sha256)


def accept(
    session: Session,
    files: BlobStore,
    organization_id: str,
    issued: Issued,
    checked: ExternalSignature,
    upload: bytes,
    requester: Requester,
    *,
    now: datetime,
) -> Envelope:
    """Record a checked external signature (the caller validated ``upload`` against
    ``issued``): a signed PDF becomes the envelope's current version; a detached CMS is
    kept beside it. The seal job then adds medsign's block with the evidence."""
    env = load_envelope(session, organization_id, issued.envelope_id, lock=True)
    signer = _signer_may_sign(session, env, issued.signer_id, now)
    if env.current_sha256 != issued.sha256:
        raise Conflict(
            "The envelope's PDF changed while the signature was checked (another signature "
            "was added); download the current PDF and sign it again.",
            state="changed",
        )
    if checked.field_name == field_name(signer):
        raise ExternalSignatureRejected(
            f"The signature field name {checked.field_name} is reserved for medsign's own "
            "block; sign in a field with another name.",
            reason="reserved-field-name",
        )
    stored = files.put(upload)
    external = checked.as_json()
    if checked.form == "pdf":
        env.version += 1
        env.current_sha256 = stored
        session.add(
            EnvelopeVersion(
                envelope_id=env.id,
                version=env.version,
                sha256=stored,
                size=len(upload),
                signer_id=signer.id,
                created_at=now,
            )
        )
        external["pdf_sha256"] = stored
    else:
        # The detached CMS travels in the evidence: embedded in medsign's next signed
        # revision, in the completion certificate and the archive.
        external["cms_sha256"] = stored
        external["cms"] = base64.b64encode(upload).decode()
    cert = checked.certificate
    evidence = _evidence(session, env, signer, issued, external, requester, now)
    evidence["signer_name"] = cert.common_name or signer.name
    record_signature(
        session,
        env,
        signer,
        evidence,
        {
            "method": Method.EXTERNAL.value,
            "form": checked.form,
            "channel": requester.channel,
            "certificate_sha256": cert.sha256,
            "sha256_signed": issued.sha256,
        },
        now=now,
    )
    return env


def _evidence(
    session: Session,
    env: Envelope,
    signer: Signer,
    issued: Issued,
    external: dict[str, Any],
    requester: Requester,
    now: datetime,
) -> dict[str, Any]:
    doc = session.get(Document, env.document_id)
    assert doc is not None
    return {
        "version": 1,
        "envelope_id": env.id,
        "document": {
            "id": doc.id,
            "title": doc.title,
            "kind": doc.kind,
            "sha256_original": doc.sha256,
            "sha256_shown": issued.sha256,
        },
        "signer": {
            "id": signer.id,
            "name": signer.name,
            "role": signer.role,
            "patient_mis_id": signer.patient_mis_id,
        },
        "method": Method.EXTERNAL.value,
        "external": external,
        "requested_by": {"channel": requester.channel, **(requester.service or {})},
        "signed_at": now.isoformat(),
        "ip": requester.ip,
        "user_agent": (requester.user_agent or "")[:300],
    }


def audit_refusal(
    session: Session,
    organization_id: str,
    envelope_id: str,
    signer_id: str,
    error: DomainError,
    channel: str,
    *,
    now: datetime,
) -> None:
    """Audit a refused external signature (the reason, never the file)."""
    env = session.get(Envelope, envelope_id)
    if env is None or env.organization_id != organization_id:
        return
    record(
        session,
        organization_id,
        "signer.external_refused",
        at=now,
        actor="api",
        envelope_id=envelope_id,
        data={
            "signer_id": signer_id,
            "channel": channel,
            "status": error.status,
            "reason": str(error.extra.get("reason") or error.slug),
        },
    )


# --- CSC services --------------------------------------------------------------------


def _box(service_id: str) -> str:
    return f"csc:{service_id}"


def check_service(
    body: CscServiceIn, *, allow_http: bool, allow_private: bool, timeout: float
) -> dict[str, Any]:
    """Check the registration (URL, credentials) by asking the service; its info.

    The base URL must not be, or resolve to, a loopback, private or link-local address
    unless ``allow_private`` (``MEDSIGN_CSC_ALLOW_PRIVATE``): the SSRF guard webhooks
    obey, checked again at every call."""
    check_url(body.base_url, allow_http=allow_http, field="base_url")
    try:
        ssrf.check(body.base_url, allow_private=allow_private, require_resolution=False, rule=RULE)
    except ssrf.UnsafeUrl as exc:
        raise _bad(str(exc), "base_url") from exc
    if body.auth != "none" and not body.secret:
        raise _bad("`secret` is required for auth " + body.auth, "secret")
    if body.auth == "oauth2" and not body.client_id:
        raise _bad("`client_id` is required for auth oauth2", "client_id")
    endpoint = CscEndpoint(
        body.base_url, body.api_version, timeout=timeout, allow_private=allow_private
    )
    try:
        return service_info(endpoint)
    except DomainError as exc:
        raise _bad(
            f"The service at {body.base_url} did not answer {endpoint.url('info')} "
            "as a CSC service does.",
            "base_url",
        ) from exc


def _bad(detail: str, field: str) -> DomainError:
    return InvalidInput(detail, field=field)


def register_service(
    session: Session,
    keyring: Keyring,
    organization_id: str,
    body: CscServiceIn,
    info: dict[str, Any],
    *,
    now: datetime,
) -> CscService:
    """Store a CSC service with its secret encrypted; audited."""
    row = CscService(
        organization_id=organization_id,
        name=body.name,
        base_url=body.base_url.rstrip("/"),
        api_version=body.api_version,
        auth=body.auth,
        client_id=body.client_id,
        info=json.dumps(info)[:20000],
        created_at=now,
    )
    session.add(row)
    session.flush()
    if body.secret:
        row.secret_enc = seal_secret(keyring, _box(row.id), body.secret)
    record(
        session,
        organization_id,
        "csc_service.registered",
        at=now,
        actor="api",
        data={"service_id": row.id, "base_url": row.base_url, "auth": row.auth},
    )
    return row


def get_service(session: Session, organization_id: str, service_id: str) -> CscService:
    """The organization's service, or NotFound."""
    row = session.get(CscService, service_id)
    if row is None or row.organization_id != organization_id:
        raise NotFound(f"No CSC service {service_id}.")
    return row


def list_services(session: Session, organization_id: str) -> list[CscService]:
    """Every CSC service of the organization, oldest first."""
    return list(
        session.scalars(
            select(CscService)
            .where(CscService.organization_id == organization_id)
            .order_by(CscService.created_at, CscService.id)
        )
    )


def service_out(row: CscService) -> CscServiceOut:
    """The public shape (no secret)."""
    try:
        name = json.loads(row.info).get("name")
    except (ValueError, AttributeError):
        name = None
    return CscServiceOut(
        id=row.id,
        name=row.name,
        base_url=row.base_url,
        api_version=row.api_version,
        auth=row.auth,
        service_name=name if isinstance(name, str) else None,
        created_at=row.created_at,
    )


@dataclass(frozen=True)
class ServiceAccess:
    """What is needed to call a service, read in a transaction and used outside it."""

    base_url: str
    api_version: str
    auth: str
    client_id: str | None
    secret: str | None


def service_access(keyring: Keyring, row: CscService) -> ServiceAccess:
    """Decrypt what calling ``row`` needs."""
    secret = open_secret(keyring, _box(row.id), row.secret_enc) if row.secret_enc else None
    return ServiceAccess(row.base_url, row.api_version, row.auth, row.client_id, secret)


def endpoint_for(access: ServiceAccess, *, timeout: float, allow_private: bool) -> CscEndpoint:
    """The endpoint with a usable access token (fetched for oauth2); every call to it
    obeys the SSRF guard unless ``allow_private``."""
    endpoint = CscEndpoint(
        access.base_url, access.api_version, timeout=timeout, allow_private=allow_private
    )
    if access.auth == "bearer":
        return replace(endpoint, token=access.secret)
    if access.auth == "oauth2":
        assert access.client_id is not None and access.secret is not None
        token = client_credentials_token(endpoint, access.client_id, access.secret)
        return replace(endpoint, token=token)
    return endpoint
