"""The envelope list (filters, search, keyset pages), one envelope's page (signers,
timeline, downloads) and what staff do to it: resend, change contact, void."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from typing import Annotated
from urllib.parse import urlencode

from fastapi import APIRouter, Form, Request
from fastapi.responses import RedirectResponse, Response
from sqlalchemy import select

from medsign.branches.models import Branch
from medsign.console.service import document_titles, timeline
from medsign.domain.contacts import mask_email, mask_phone
from medsign.domain.policy import DocumentKind
from medsign.domain.states import EnvelopeStatus, SignerStatus
from medsign.envelopes.models import Envelope, Signer
from medsign.envelopes.queries import load_envelope
from medsign.envelopes.schemas import SignerPatch
from medsign.envelopes.service import void_envelope
from medsign.envelopes.signer_actions import resend_link, update_signer
from medsign.errors import InvalidInput
from medsign.evidence.service import artifact_sha256
from medsign.i18n import TEXTS, t
from medsign.listing.service import list_envelopes
from medsign.staff.schemas import Action, allows
from medsign.web.api.documents import pdf_response
from medsign.web.deps import runtime
from medsign.web.pages.console.layout import page
from medsign.web.pages.console.session import (
    PATH,
    answer,
    check_csrf,
    lang_of,
    session_token,
    staff_transaction,
)

router = APIRouter(prefix=PATH, include_in_schema=False)
PAGE_SIZE = 50
PATIENT_ROLES = ("patient", "representative")


def patient_of(env: Envelope) -> Signer | None:
    """The signer the list names: the first patient or representative, else the first
    signer who is not the clinic."""
    for signer in env.signers:
        if signer.role in PATIENT_ROLES:
            return signer
    return next((s for s in env.signers if s.role != "clinic"), None)


def masked(signer: Signer) -> str:
    """The signer's contact, masked (the page shows no more than the evidence does)."""
    if signer.phone:
        return mask_phone(signer.phone)
    return mask_email(signer.email) if signer.email else ""


def event_label(action: str, lang: str) -> str:
    """An audit action in words (the action's code where no words exist for it)."""
    key = "event_" + action.replace(".", "_")
    return t(key, lang) if key in TEXTS else action


def _day(value: str, field: str) -> date | None:
    if not value:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise InvalidInput(f"“{value}” is not a date (YYYY-MM-DD).", field=field) from None


def _choice(value: str, allowed: list[str]) -> str | None:
    return value if value in allowed else None


@router.get("")
def envelope_list(request: Request) -> Response:
    """The organization's (or branch's) envelopes, newest change first, with filters:
    status, kind, patient name (prefix), date range of the last change, branch."""
    q = request.query_params

    def run() -> Response:
        with staff_transaction(request, write=False) as (session, actor):
            since, until = _day(q.get("from", ""), "from"), _day(q.get("to", ""), "to")
            branches = (
                []
                if actor.branch_id is not None
                else session.execute(
                    select(Branch.id, Branch.name)
                    .where(Branch.organization_id == actor.organization_id)
                    .order_by(Branch.name)
                    .limit(200)
                ).all()
            )
            branch = q.get("branch", "") if actor.branch_id is None else ""
            result = list_envelopes(
                session,
                actor.organization_id,
                limit=PAGE_SIZE,
                cursor=q.get("cursor") or None,
                status=_choice(q.get("status", ""), [s.value for s in EnvelopeStatus]),
                kind=_choice(q.get("kind", ""), [k.value for k in DocumentKind]),
                updated_since=datetime.combine(since, time(), UTC) if since else None,
                updated_before=(
                    datetime.combine(until + timedelta(days=1), time(), UTC) if until else None
                ),
                branch_id=branch or None,
                newest_first=True,
                signer_name_prefix=q.get("q", "").strip()[:200] or None,
            )
            titles = document_titles(session, {env.document_id for env, _ in result.items})
            rows = [
                {
                    "id": env.id,
                    "patient": (p.name if (p := patient_of(env)) else ""),
                    "title": titles.get(env.document_id, ""),
                    "kind": kind,
                    "status": env.status,
                    "updated_at": env.updated_at,
                }
                for env, kind in result.items
            ]
        filters = {k: q.get(k, "") for k in ("status", "kind", "q", "from", "to", "branch")}
        return page(
            request,
            "console/list.html",
            actor,
            rows=rows,
            next_cursor=result.next_cursor,
            filters=filters,
            statuses=[s.value for s in EnvelopeStatus],
            kinds=[k.value for k in DocumentKind],
            branches=branches,
            more_query=urlencode({k: v for k, v in filters.items() if v}),
        )

    return answer(request, run)


@router.get("/envelopes/{envelope_id}")
def envelope_page(request: Request, envelope_id: str) -> Response:
    """One envelope: its signers and what can be done for each, the downloads, the
    timeline of its audit events."""

    def run() -> Response:
        with staff_transaction(request, write=False) as (session, actor):
            env = load_envelope(session, actor.organization_id, envelope_id)
            titles = document_titles(session, {env.document_id})
            signers = [
                {
                    "id": s.id,
                    "name": s.name,
                    "role": s.role,
                    "method": s.method,
                    "status": s.status,
                    "contact": masked(s),
                    "can_resend": env.status == EnvelopeStatus.SENT.value
                    and s.status == SignerStatus.NOTIFIED.value
                    and s.method != "seal",
                    "can_change": env.status == EnvelopeStatus.SENT.value
                    and s.status in (SignerStatus.WAITING.value, SignerStatus.NOTIFIED.value)
                    and s.method != "seal",
                }
                for s in env.signers
            ]
            lang = lang_of(request)
            events = [
                {"at": e.at, "label": event_label(e.action, lang), "actor": e.actor}
                for e in timeline(session, actor.organization_id, env.id)
            ]
            artifacts = {
                name: env.status == EnvelopeStatus.COMPLETED.value
                and getattr(env, column) is not None
                for name, column in (
                    ("evidence.pdf", "evidence_pdf_sha256"),
                    ("evidence.json", "evidence_json_sha256"),
                    ("archive.pdf", "archive_sha256"),
                )
            }
            view = {
                "id": env.id,
                "title": titles.get(env.document_id, ""),
                "kind": env.kind,
                "status": env.status,
                "created_at": env.created_at,
                "expires_at": env.expires_at,
                "void_reason": env.void_reason,
                "live": env.status == EnvelopeStatus.SENT.value,
            }
        return page(
            request,
            "console/envelope.html",
            actor,
            env=view,
            signers=signers,
            events=events,
            artifacts=artifacts,
            can_manage=allows(actor.role, Action.MANAGE_ENVELOPES),
            notice=request.query_params.get("done", ""),
        )

    return answer(request, run)


def _act(request: Request, envelope_id: str, csrf: str, work: str, **kw: str) -> Response:
    """Run one action on an envelope for a staff member whose role may manage them."""
    rt = runtime(request)

    def run() -> Response:
        check_csrf(rt, session_token(request), csrf)
        with staff_transaction(request, action=Action.MANAGE_ENVELOPES) as (session, actor):
            now, org = rt.clock(), actor.organization_id
            if work == "void":
                reason = kw["reason"].strip()
                if not reason:
                    raise InvalidInput("Say why the envelope is voided.", field="reason")
                void_envelope(session, org, envelope_id, reason, now=now, actor=actor.audit_name)
            elif work == "resend":
                resend_link(
                    session,
                    org,
                    envelope_id,
                    kw["signer_id"],
                    now=now,
                    rules=rt.otp_rules,
                    actor=actor.audit_name,
                )
            else:
                contact = kw["contact"].strip()
                if not contact:
                    raise InvalidInput("Type the new phone or email.", field="contact")
                is_email = "@" in contact
                patch = SignerPatch(
                    email=contact if is_email else None,
                    phone=None if is_email else contact,
                    method="email_otp" if is_email else "sms_otp",
                )
                update_signer(
                    session,
                    rt.keyring,
                    org,
                    envelope_id,
                    kw["signer_id"],
                    patch,
                    now=now,
                    actor=actor.audit_name,
                )
        return RedirectResponse(f"{PATH}/envelopes/{envelope_id}?done={work}", status_code=303)

    return answer(request, run)


@router.post("/envelopes/{envelope_id}/void")
def void(
    request: Request,
    envelope_id: str,
    reason: Annotated[str, Form(max_length=1000)] = "",
    csrf: Annotated[str, Form(max_length=64)] = "",
) -> Response:
    """Void the envelope: its links stop working."""
    return _act(request, envelope_id, csrf, "void", reason=reason)


@router.post("/envelopes/{envelope_id}/signers/{signer_id}/resend")
def resend(
    request: Request,
    envelope_id: str,
    signer_id: str,
    csrf: Annotated[str, Form(max_length=64)] = "",
) -> Response:
    """Send the signer their link again (a reminder)."""
    return _act(request, envelope_id, csrf, "resend", signer_id=signer_id)


@router.post("/envelopes/{envelope_id}/signers/{signer_id}/contact")
def change_contact(
    request: Request,
    envelope_id: str,
    signer_id: str,
    contact: Annotated[str, Form(max_length=254)] = "",
    csrf: Annotated[str, Form(max_length=64)] = "",
) -> Response:
    """Change the signer's phone or email (the old link dies, a new one is sent)."""
    return _act(request, envelope_id, csrf, "contact", signer_id=signer_id, contact=contact)


@router.get("/envelopes/{envelope_id}/{artifact}")
def download(request: Request, envelope_id: str, artifact: str) -> Response:
    """The PDF signed so far (``document.pdf``) or a completion artifact."""
    rt = runtime(request)

    def run() -> Response:
        with staff_transaction(request, write=False) as (session, actor):
            env = load_envelope(session, actor.organization_id, envelope_id)
            if artifact == "document.pdf":
                sha256 = env.current_sha256
            elif artifact in ("evidence.pdf", "evidence.json", "archive.pdf"):
                sha256 = artifact_sha256(env, artifact)
            else:
                raise InvalidInput(f"No download named {artifact}.")
        data = rt.files.get(sha256)
        if artifact == "evidence.json":
            return Response(
                data,
                media_type="application/json",
                headers={"Content-Disposition": f'attachment; filename="{envelope_id}.json"'},
            )
        return pdf_response(data, f"{envelope_id}-{artifact}")

    return answer(request, run)
