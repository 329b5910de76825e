"""Signing requests for clinicians' devices: prepare, list, approve, decline.

When a ``device`` signer's turn comes, the job :func:`prepare_signer` prepares an
interrupted PAdES signature (:mod:`medsign.pdf.interrupted`) for each of the
clinician's active devices at the envelope's workplace; the device signs ``to_sign``
(the DER CMS signed attributes) and :func:`approve` completes the signature with an
RFC 3161 time-stamp (PAdES B-T) and moves the envelope on.

Every approval runs under the envelope's row lock (docs/concurrency.md), so two
approvals of one request (a replay, a double tap) produce exactly one signature; a
request prepared on a PDF that another signature has since changed is refused
(:class:`DocumentChanged`) and prepared again, never completed into a broken file.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session, lazyload

from medsign.authenticators.service import (
    RelyingParty,
    approval_challenge,
    check_assertion,
    credentials_of,
)
from medsign.clinicians.models import Clinician, ClinicianDevice, DeviceRequest, RequestStatus
from medsign.clinicians.service import (
    ACTIVE,
    Outcome,
    device_certificate,
    refuse,
)
from medsign.db.base import new_id
from medsign.db.one_flush import one_flush
from medsign.documents.models import Document
from medsign.domain.policy import Method
from medsign.domain.states import EnvelopeStatus, SignerStatus, signer_move
from medsign.domain.tokens import verification_code
from medsign.envelopes.models import Envelope, Signer
from medsign.envelopes.queries import lock_envelope_by_id, lock_envelopes_by_id
from medsign.envelopes.sealing import reprepare_devices, seal_request, store_signed_version
from medsign.envelopes.signing import Client, LinkState, LinkView, evidence_of, record_signature
from medsign.envelopes.workflow import advance, end_envelope
from medsign.errors import (
    AuthenticatorRejected,
    DocumentChanged,
    DomainError,
    InvalidInput,
    NotFound,
    RequestDecided,
    RequestExpired,
    SignatureInvalid,
    WrongWorkplace,
)
from medsign.i18n import t
from medsign.jobs.outbox import JobCall
from medsign.notify.outbound import Recipient, queue_message
from medsign.notify.subscriptions import DEVICE, Holder, count_for
from medsign.organizations.models import Organization
from medsign.pdf.interrupted import (
    PreparedSignature,
    complete_signature,
    der_ecdsa_signature,
    prepare_signature,
    signature_verifies,
)
from medsign.runtime import Runtime

PENDING = RequestStatus.PENDING
APPROVED = RequestStatus.APPROVED
DECLINED = RequestStatus.DECLINED
SUPERSEDED = RequestStatus.SUPERSEDED
CLOSED = RequestStatus.CLOSED


def _at_workplace(device: ClinicianDevice, env: Envelope) -> bool:
    """A device signs for its workplace only: its organization, and its branch when it
    was enrolled for one (an organization-wide device signs for every branch)."""
    if device.organization_id != env.organization_id:
        return False
    return device.branch_id is None or device.branch_id == env.branch_id


@dataclass(frozen=True)
class _Named:
    """The rows a device signature's evidence names besides the envelope and signer."""

    document: Document
    organization_name: str
    clinician: Clinician


def _named(session: Session, env: Envelope, device: ClinicianDevice) -> _Named:
    # One query for the three rows the evidence names; the document's sources are not
    # needed here.
    doc, org_name, clinician = session.execute(
        select(Document, Organization.name, Clinician)
        .join(Organization, Organization.id == Document.organization_id)
        .join(Clinician, Clinician.id == device.clinician_id)
        .where(Document.id == env.document_id)
        .options(lazyload(Document.sources))
    ).one()
    return _Named(doc, org_name, clinician)


def _device_evidence(
    named: _Named,
    env: Envelope,
    signer: Signer,
    device: ClinicianDevice,
    *,
    shown: str,
    client: Client,
    now: datetime,
    extra: dict[str, Any],
) -> dict[str, Any]:
    clinician = named.clinician
    return evidence_of(
        LinkView(signer, env, named.document, named.organization_name, LinkState.CAN_SIGN, ""),
        shown,
        client,
        now,
        lang=signer.lang,
        consent_text=t("consent_device", signer.lang),
        how={
            "method": Method.DEVICE.value,
            "clinician": {
                "id": clinician.id,
                "name": clinician.name,
                "licence_number": clinician.licence_number,
            },
            "device_id": device.id,
            "workplace": {"organization_id": device.organization_id, "branch_id": device.branch_id},
            "certificate_serial": device.serial,
            **extra,
        },
    )


def prepare_signer(rt: Runtime, call: JobCall) -> None:
    """The job: prepare ``signer_id``'s signature for each of their clinician's active
    devices at the envelope's workplace, on the envelope's current PDF. Requests
    prepared on an older PDF (or expired: the clinic resent the request) are superseded;
    devices that already have a current request are skipped (the job is idempotent)."""
    with rt.transaction() as session:
        signer = session.get(Signer, str(call.payload["signer_id"]))
        if signer is None:
            return
        env = lock_envelope_by_id(session, signer.envelope_id)
        assert env is not None
        now = rt.clock()
        pending = list(
            session.scalars(
                select(DeviceRequest).where(
                    DeviceRequest.signer_id == signer.id, DeviceRequest.status == PENDING
                )
            )
        )
        live = (
            env.status == EnvelopeStatus.SENT.value
            and signer.status == SignerStatus.NOTIFIED.value
            and signer.method == Method.DEVICE.value
            and signer.clinician_id is not None
        )
        devices = [] if not live else _devices_for(session, signer, env, now)
        active = {d.id for d in devices}
        have: set[str] = set()
        for req in pending:
            stale = req.base_sha256 != env.current_sha256 or req.expires_at <= now
            if stale or req.device_id not in active:
                req.status = SUPERSEDED if live else CLOSED
                req.decided_at = now
            else:
                have.add(req.device_id)
        todo = [d for d in devices if d.id not in have]
        if not todo:
            return
        pdf = rt.files.get(env.current_sha256)
        ca = rt.seal_keys.clinician_ca()
        timestamper = rt.seal_keys.timestamper()
        expires_at = min(
            now + timedelta(hours=rt.settings.device_request_ttl_hours), env.expires_at
        )
        code = verification_code(rt.keyring, signer.id)
        for device in todo:
            evidence = _device_evidence(
                _named(session, env, device),
                env,
                signer,
                device,
                shown=env.current_sha256,
                client=Client(None, None),
                now=now,
                extra={"prepared_at": now.isoformat()},
            )
            request = seal_request(rt, env, signer, signed_at=now, evidence=evidence, code=code)
            prepared = prepare_signature(
                pdf, device_certificate(device), ca.issued_chain, request, timestamper
            )
            req = DeviceRequest(
                id=new_id(),
                organization_id=env.organization_id,
                envelope_id=env.id,
                signer_id=signer.id,
                device_id=device.id,
                status=PENDING,
                base_sha256=env.current_sha256,
                base_version=env.version,
                prepared_sha256=rt.files.put(prepared.pdf),
                contents_at=prepared.contents_at,
                contents_end=prepared.contents_end,
                to_sign=prepared.signed_attributes,
                created_at=now,
                expires_at=expires_at,
            )
            session.add(req)
            _announce(rt, session, req, device, env)


def _announce(
    rt: Runtime, session: Session, req: DeviceRequest, device: ClinicianDevice, env: Envelope
) -> None:
    """Push a new request to the device's push subscriptions (Web Push, so it reaches a
    closed app; the open app hears of it from the event stream too). Push only, and only
    to a device that subscribed: there is nothing cheaper to fall back to, and the
    clinician's contact is for enrollment links. Clicking it opens the app on the
    request (``/app#request=<id>``)."""
    if not count_for(session, Holder(DEVICE, device.id)):
        return
    clinician = session.get(Clinician, device.clinician_id)
    doc = session.get(Document, env.document_id)
    org = session.get(Organization, env.organization_id)
    assert clinician is not None and doc is not None and org is not None
    lang = clinician.lang
    queue_message(
        session,
        organization_id=env.organization_id,
        recipient=Recipient(subject=(DEVICE, device.id)),
        subject=t("app_push_title", lang),
        text=t("app_push_body", lang, org=org.name, title=doc.title),
        channels=["push"],
        idempotency_key=f"device-request:{req.id}",
        now=req.created_at,
        branch_id=env.branch_id,
        event="device.request",
        link=f"{rt.settings.public_url.rstrip('/')}/app?lang={lang}#request={req.id}",
    )


def _devices_for(
    session: Session, signer: Signer, env: Envelope, now: datetime
) -> list[ClinicianDevice]:
    devices = session.scalars(
        select(ClinicianDevice)
        .where(
            ClinicianDevice.clinician_id == signer.clinician_id,
            ClinicianDevice.status == ACTIVE,
        )
        .order_by(ClinicianDevice.created_at, ClinicianDevice.id)
    ).all()
    return [d for d in devices if d.not_after > now and _at_workplace(d, env)]


@dataclass(frozen=True)
class PendingRequest:
    """One pending request as the device API lists it."""

    request: DeviceRequest
    title: str


def pending_for(
    session: Session, device: ClinicianDevice, *, now: datetime
) -> list[PendingRequest]:
    """The device's pending requests (not expired, envelope still being signed), oldest first."""
    rows = session.execute(
        select(DeviceRequest, Document.title)
        .join(Envelope, Envelope.id == DeviceRequest.envelope_id)
        .join(Document, Document.id == Envelope.document_id)
        .where(
            DeviceRequest.device_id == device.id,
            DeviceRequest.status == PENDING,
            DeviceRequest.expires_at > now,
            Envelope.status == EnvelopeStatus.SENT.value,
        )
        .order_by(DeviceRequest.created_at, DeviceRequest.id)
        .limit(500)
    ).all()
    return [PendingRequest(req, title) for req, title in rows]


def request_document(session: Session, device: ClinicianDevice, request_id: str) -> str:
    """The SHA-256 of the PDF a request was prepared on (what the clinician reads)."""
    req = session.get(DeviceRequest, request_id)
    if req is None or req.device_id != device.id:
        raise NotFound(f"No request with id {request_id} for this device.")
    return req.base_sha256


def decode_signature(value: str) -> bytes:
    """The DER ECDSA signature from its base64 (standard or url-safe alphabet)."""
    text = value.strip()
    try:
        raw = base64.b64decode(
            text.replace("-", "+").replace("_", "/") + "=" * (-len(text) % 4), validate=True
        )
    except (binascii.Error, ValueError):
        raise InvalidInput("`signature` is not base64.", field="signature") from None
    return der_ecdsa_signature(raw)


@dataclass
class _Checked:
    req: DeviceRequest
    env: Envelope
    signer: Signer


def _checked(
    session: Session,
    device: ClinicianDevice,
    request_id: str,
    action: str,
    *,
    now: datetime,
) -> _Checked | Outcome[Any]:
    """The request locked for a decision, or an audited refusal."""
    req = session.get(DeviceRequest, request_id)
    if req is None:
        raise NotFound(f"No request with id {request_id} for this device.")
    if req.device_id != device.id:
        return _judge(session, device, req, None, action, now=now)
    env = lock_envelope_by_id(session, req.envelope_id)
    assert env is not None
    session.refresh(req)  # the state after the lock: a parallel approval may have won
    return _judge(session, device, req, env, action, now=now)


def _judge(
    session: Session,
    device: ClinicianDevice,
    req: DeviceRequest,
    env: Envelope | None,
    action: str,
    *,
    now: datetime,
) -> _Checked | Outcome[Any]:
    """May ``device`` decide ``req`` now? ``env`` is the request's envelope, locked
    (None only when the request is another device's), ``req`` read after the lock."""
    actor = f"device:{device.id}"
    data: dict[str, object] = {"request_id": req.id, "device_id": device.id}

    def no(error: DomainError) -> Outcome[Any]:
        return refuse(
            session,
            req.organization_id,
            action,
            error,
            now=now,
            actor=actor,
            envelope_id=req.envelope_id,
            data=data,
        )

    if req.device_id != device.id or env is None:
        return no(
            WrongWorkplace(
                "This request is for another device or workplace; this device cannot act on it."
            )
        )
    if not _at_workplace(device, env):
        return no(WrongWorkplace("This device is not enrolled for the envelope's workplace."))
    if req.status == APPROVED:
        return no(RequestDecided("This request was already approved.", state="approved"))
    if req.status in (DECLINED, CLOSED):
        return no(RequestDecided("This request was already decided or closed.", state=req.status))
    if req.status == SUPERSEDED:
        return no(
            DocumentChanged(
                "Another signature was added to the document after this request was "
                "prepared. Fetch the requests again and approve the new one.",
            )
        )
    signer = next(s for s in env.signers if s.id == req.signer_id)
    if env.status != EnvelopeStatus.SENT.value or signer.status != SignerStatus.NOTIFIED.value:
        req.status = CLOSED
        req.decided_at = now
        return no(
            RequestExpired("This document can no longer be signed (signed, withdrawn or ended).")
        )
    if req.expires_at <= now or env.expires_at <= now:
        return no(
            RequestExpired(
                "This request has expired. The clinic can send it again "
                "(POST /api/v1/envelopes/{id}/signers/{signer_id}/resend)."
            )
        )
    if req.base_sha256 != env.current_sha256:
        # Another signature of a parallel group landed first: this to_sign covers an
        # older revision. Never complete it (the result would not be an incremental
        # update of the current PDF); prepare again on the current one.
        req.status = SUPERSEDED
        req.decided_at = now
        reprepare_devices(session, env, now=now)
        return no(
            DocumentChanged(
                "Another signature was added to the document after this request was "
                "prepared; a new request is being prepared. Fetch the requests again.",
            )
        )
    return _Checked(req, env, signer)


def approve(
    rt: Runtime,
    session: Session,
    device: ClinicianDevice,
    request_id: str,
    signature_b64: str,
    *,
    client: Client,
    webauthn: dict[str, Any] | None,
    now: datetime,
    batch: Confirmation | None = None,
) -> Outcome[DeviceRequest]:
    """Complete the request's signature with the device's ``signature`` over ``to_sign``.

    Refused (audited, nothing signed): another device's or workplace's request, a
    replay, an expired or ended one, a PDF changed since, a signature that does not
    verify against this device's certificate, and for a device with a registered
    authenticator a ``webauthn`` assertion that is missing or not over SHA-256 of
    ``to_sign`` (medsign.authenticators). ``batch``: the batch's assertion, already
    checked once by :func:`confirm_batch`."""
    signature = decode_signature(signature_b64)
    checked = _checked(session, device, request_id, "device.approval_refused", now=now)
    if isinstance(checked, Outcome):
        return checked
    named = _named(session, checked.env, device)
    with one_flush(session):
        outcome = _complete(
            rt, session, device, checked, signature, named, client, webauthn, now, batch=batch
        )
        _close_siblings(session, [checked.req] if outcome.error is None else [], now)
    return outcome


APPROVE_CHUNK = 20  # approvals of a batch per transaction (docs/clinician-devices.md)
_BLOB_WRITERS = ThreadPoolExecutor(max_workers=8, thread_name_prefix="medsign-blob-write")


def approve_many(
    rt: Runtime,
    session: Session,
    device: ClinicianDevice,
    items: list[tuple[str, str]],
    *,
    client: Client,
    batch: Confirmation,
    now: datetime,
) -> list[Outcome[DeviceRequest]]:
    """:func:`approve` for several ``(request_id, signature)`` of one device in the
    caller's transaction, one result per item in the given order.

    What a batch shares is read once: the envelopes are locked together in id order
    (docs/concurrency.md), then the requests, documents, organization and clinician
    are loaded with one query each, and every row the approvals write is written with
    one flush and one INSERT per table at the end. Each item is still judged, verified,
    time-stamped, stored, audited, emitted, metered and moved on by itself; a refused
    item writes only its audit record (and an item whose signature is not even base64,
    or that is unknown, writes nothing), as :func:`approve` does."""
    results: list[Outcome[DeviceRequest] | None] = [None] * len(items)
    signatures: dict[int, bytes] = {}
    for n, (_, value) in enumerate(items):
        try:
            signatures[n] = decode_signature(value)
        except DomainError as exc:
            results[n] = Outcome(error=exc)
    wanted = {items[n][0] for n in signatures}
    envelope_ids = set(
        session.scalars(
            select(DeviceRequest.envelope_id).where(
                DeviceRequest.id.in_(wanted), DeviceRequest.device_id == device.id
            )
        )
    )
    envelopes = {e.id: e for e in lock_envelopes_by_id(session, sorted(envelope_ids))}
    # Read after the locks: a parallel approval may have decided some of them.
    requests = {
        r.id: r
        for r in session.scalars(
            select(DeviceRequest)
            .where(DeviceRequest.id.in_(wanted))
            .execution_options(populate_existing=True)
        )
    }
    named = _named_all(session, device, list(envelopes.values()))
    approved: list[DeviceRequest] = []
    writes: list[Future[str]] = []

    def put(pdf: bytes) -> str:
        # Stored files are written (and fsynced) side by side while the next items are
        # signed; all of them are on disk before the block's flush and the commit.
        writes.append(_BLOB_WRITERS.submit(rt.files.put, pdf))
        return hashlib.sha256(pdf).hexdigest()

    with one_flush(session):
        for n, signature in signatures.items():
            req = requests.get(items[n][0])
            if req is None:
                unknown = NotFound(f"No request with id {items[n][0]} for this device.")
                results[n] = Outcome(error=unknown)
                continue
            env = envelopes.get(req.envelope_id) if req.device_id == device.id else None
            checked = _judge(session, device, req, env, "device.approval_refused", now=now)
            if isinstance(checked, Outcome):
                results[n] = checked
                continue
            try:
                outcome = _complete(
                    rt,
                    session,
                    device,
                    checked,
                    signature,
                    named[checked.env.document_id],
                    client,
                    None,
                    now,
                    put=put,
                    batch=batch,
                )
            except DomainError as exc:  # raised before this item changed anything
                results[n] = Outcome(error=exc)
                continue
            results[n] = outcome
            if outcome.error is None:
                approved.append(req)
        _close_siblings(session, approved, now)
        for write in writes:
            write.result()  # an error here rolls the whole transaction back
    return [r for r in results if r is not None]


def _named_all(
    session: Session, device: ClinicianDevice, envelopes: list[Envelope]
) -> dict[str, _Named]:
    """:func:`_named` for several envelopes of the device's organization, by document id."""
    org_name = session.scalar(
        select(Organization.name).where(Organization.id == device.organization_id)
    )
    clinician = session.get(Clinician, device.clinician_id)
    assert clinician is not None
    docs = session.scalars(
        select(Document)
        .where(Document.id.in_({e.document_id for e in envelopes}))
        .options(lazyload(Document.sources))
    )
    return {d.id: _Named(d, str(org_name), clinician) for d in docs}


def _complete(
    rt: Runtime,
    session: Session,
    device: ClinicianDevice,
    checked: _Checked,
    signature: bytes,
    named: _Named,
    client: Client,
    webauthn: dict[str, Any] | None,
    now: datetime,
    *,
    put: Callable[[bytes], str] | None = None,
    batch: Confirmation | None = None,
) -> Outcome[DeviceRequest]:
    """Verify, complete (PAdES B-T), store (``put``: how the signed file is stored;
    default the blob store, at once) and move the envelope on, inside the
    caller's :func:`~medsign.db.one_flush.one_flush`. A DomainError raised here is
    raised before anything was changed (the checks and the signature come first).
    ``batch``: the batch's assertion, checked once by :func:`confirm_batch`; else the
    item's own ``webauthn`` assertion is checked here."""
    req, env, signer = checked.req, checked.env, checked.signer
    cert = device_certificate(device)
    if not signature_verifies(cert, req.to_sign, signature):
        return refuse(
            session,
            req.organization_id,
            "device.approval_refused",
            SignatureInvalid(
                "The signature does not verify against this device's certificate over "
                "`to_sign`. Sign exactly the bytes of `to_sign` with ECDSA P-256 and SHA-256."
            ),
            now=now,
            actor=f"device:{device.id}",
            envelope_id=env.id,
            data={"request_id": req.id, "device_id": device.id},
        )
    if batch is not None:
        confirmed = batch.evidence
    else:
        try:
            confirmed = check_assertion(
                session,
                RelyingParty.of(rt.settings.public_url),
                device_id=device.id,
                challenge=approval_challenge([req.to_sign], batch=False),
                assertion=webauthn,
                now=now,
            )
        except AuthenticatorRejected as exc:
            return refuse(
                session,
                req.organization_id,
                "device.approval_refused",
                exc,
                now=now,
                actor=f"device:{device.id}",
                envelope_id=env.id,
                data={"request_id": req.id, "device_id": device.id, **exc.extra},
            )
    prepared = PreparedSignature(
        pdf=rt.files.get(req.prepared_sha256),
        contents_at=req.contents_at,
        contents_end=req.contents_end,
        signed_attributes=req.to_sign,
    )
    ca = rt.seal_keys.clinician_ca()
    pdf = complete_signature(prepared, cert, ca.issued_chain, signature, rt.seal_keys.timestamper())
    how: dict[str, Any] = {
        "prepared_at": req.created_at.isoformat(),
        "to_sign_sha256": hashlib.sha256(req.to_sign).hexdigest(),
        "signature": base64.b64encode(signature).decode(),
    }
    if confirmed is not None:  # the verified assertion (WebAuthn L2 §7.2)
        how["webauthn"] = confirmed
    evidence = _device_evidence(
        named, env, signer, device, shown=req.base_sha256, client=client, now=now, extra=how
    )
    record_signature(
        session,
        env,
        signer,
        evidence,
        {"method": signer.method, "device_id": device.id, "request_id": req.id},
        now=now,
        seal=False,
    )
    store_signed_version(
        rt,
        session,
        env,
        signer,
        pdf,
        code=verification_code(rt.keyring, signer.id),
        now=now,
        stored=put(pdf) if put is not None else None,
    )
    req.status = APPROVED
    req.decided_at = now
    reprepare_devices(session, env, now=now)  # other clinicians of a parallel group
    advance(session, env, now=now, document=named.document)
    return Outcome(req)


@dataclass(frozen=True)
class Confirmation:
    """A batch's WebAuthn assertion, checked once for all its items; ``evidence`` is
    None for a device without a registered authenticator."""

    evidence: dict[str, Any] | None


def confirm_batch(
    rt: Runtime,
    session: Session,
    device: ClinicianDevice,
    request_ids: list[str],
    webauthn: dict[str, Any] | None,
    *,
    now: datetime,
) -> Outcome[Confirmation]:
    """Check a batch's one assertion: its challenge is SHA-256 over the SHA-256 of each
    item's ``to_sign`` in the order of ``request_ids``. Refused (audited): an assertion
    that is missing, over another list, or replayed; or an item that is not one of
    this device's requests, since its ``to_sign`` cannot be part of the challenge."""
    if not credentials_of(session, device.id):
        return Outcome(Confirmation(None))  # no authenticator: each item decides alone
    rows = {
        r.id: r
        for r in session.scalars(
            select(DeviceRequest).where(
                DeviceRequest.id.in_(request_ids), DeviceRequest.device_id == device.id
            )
        )
    }
    rp = RelyingParty.of(rt.settings.public_url)
    try:
        if any(i not in rows for i in request_ids):
            raise AuthenticatorRejected(
                "The batch names requests that are not this device's; the assertion "
                "cannot cover them. Fetch the requests again.",
                reason="unknown-items",
            )
        challenge = approval_challenge([rows[i].to_sign for i in request_ids], batch=True)
        evidence = check_assertion(
            session, rp, device_id=device.id, challenge=challenge, assertion=webauthn, now=now
        )
    except AuthenticatorRejected as exc:
        return refuse(
            session,
            device.organization_id,
            "device.approval_refused",
            exc,
            now=now,
            actor=f"device:{device.id}",
            data={"request_ids": request_ids, "device_id": device.id, **exc.extra},
        )
    return Outcome(Confirmation(evidence))


def _close_siblings(session: Session, approved: list[DeviceRequest], now: datetime) -> None:
    """The signers' requests to their other devices close with these approvals."""
    if not approved:
        return
    with session.no_autoflush:  # the WHERE names the approved ones: nothing to flush first
        session.execute(
            update(DeviceRequest)
            .where(
                DeviceRequest.signer_id.in_({r.signer_id for r in approved}),
                DeviceRequest.status == PENDING,
                DeviceRequest.id.not_in([r.id for r in approved]),
            )
            .values(status=CLOSED, decided_at=now)
            .execution_options(synchronize_session=False)  # no loaded sibling is used after
        )


def decline(
    session: Session,
    device: ClinicianDevice,
    request_id: str,
    reason: str,
    *,
    client: Client,
    now: datetime,
) -> Outcome[DeviceRequest]:
    """The clinician refuses: the envelope ends as declined (as a patient's refusal does)."""
    checked = _checked(session, device, request_id, "device.decline_refused", now=now)
    if isinstance(checked, Outcome):
        return checked
    req, env, signer = checked.req, checked.env, checked.signer
    reason = reason.strip()[:1000] or "No reason given"
    signer.status = signer_move(SignerStatus(signer.status), SignerStatus.DECLINED)
    signer.declined_at = now
    signer.decline_reason = reason
    req.status = DECLINED
    req.decided_at = now
    req.decline_reason = reason
    _close_siblings(session, [req], now)
    end_envelope(
        session,
        env,
        EnvelopeStatus.DECLINED,
        now=now,
        actor=f"device:{device.id}",
        data={"signer_id": signer.id, "reason": reason, "ip": client.ip},
    )
    return Outcome(req)
