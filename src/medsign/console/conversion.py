"""Console sends converted by a job (issue [console] point 2): the page stores the files
and answers at once; the ``convert`` job normalizes them (LibreOffice for office files,
seconds each) and sends; the page polls the status: queued, converting, ready (with the
envelope) or failed (with the reason, e.g. what intake refused).

The uploaded files wait in the conversion's own scratch store (medsign.storage.scratch),
never in the shared document store, and are removed once the conversion has finished
for good: ready (the normalized PDF is then a document, kept in the document store),
failed (refused), or given up after the worker's last attempt. A job that will be
retried keeps them: the retry needs its input. Conversions queued before this scheme
kept their files in the document store; those are read from there and left alone.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta

from sqlalchemy.orm import Session

from medsign.audit.service import record
from medsign.branches.scope import branch_scope
from medsign.console.models import Conversion
from medsign.console.service import get_template, patient_signer, send_prepared, template_copies
from medsign.db.base import new_id
from medsign.documents.service import Upload, intake_limits, prepare_document
from medsign.errors import DomainError, NotFound
from medsign.jobs.outbox import JobCall, JobKind, enqueue
from medsign.jobs.worker import MAX_ATTEMPTS
from medsign.runtime import Runtime
from medsign.settings import Settings
from medsign.staff.models import StaffMember
from medsign.staff.schemas import Actor
from medsign.storage.ports import BlobStore
from medsign.storage.scratch import ScratchStore, open_scratch
from medsign.usage.service import local_day

# Files LibreOffice converts (docs/intake.md): seconds each, so never inside a request.
OFFICE_SUFFIXES = (".doc", ".docx", ".odt", ".rtf")
AREA = "conversions"  # the scratch area of the files waiting for conversion
SCRATCH = "scratch"  # ``source["store"]`` of a file in the conversion's scratch store
GAVE_UP = "The files could not be converted (the converter kept failing); send them again."


def needs_job(uploads: Sequence[Upload], limit: int) -> bool:
    """Whether a send's files are converted by a job: office files, or more than
    ``limit`` bytes in all."""
    if any(u.filename.lower().endswith(OFFICE_SUFFIXES) for u in uploads):
        return True
    return sum(len(u.data) for u in uploads) > limit


def scratch_of(settings: Settings, conversion_id: str) -> ScratchStore:
    """Where the files of conversion ``conversion_id`` wait until it has finished."""
    return open_scratch(settings, AREA, conversion_id)


def start_conversion(
    session: Session,
    settings: Settings,
    actor: Actor,
    form: dict[str, str],
    uploads: Sequence[Upload],
    *,
    now: datetime,
) -> Conversion:
    """Store the files in the conversion's scratch store and queue the job in this
    transaction; the caller checked the form's fields (patient, contact, kind) already."""
    conversion_id = new_id()
    files = scratch_of(settings, conversion_id)
    sources = [
        {
            "sha256": files.put(u.data),
            "filename": u.filename,
            "content_type": u.content_type or "",
            "store": SCRATCH,
        }
        for u in uploads
    ]
    conversion = Conversion(
        id=conversion_id,
        organization_id=actor.organization_id,
        branch_id=actor.branch_id,
        staff_id=actor.staff_id,
        status="queued",
        form=form,
        sources=sources,
        created_at=now,
        updated_at=now,
    )
    session.add(conversion)
    session.flush()
    enqueue(session, JobKind.CONVERT, {"conversion_id": conversion.id}, now=now)
    record(
        session,
        actor.organization_id,
        "conversion.queued",
        at=now,
        actor=actor.audit_name,
        data={"conversion_id": conversion.id, "files": len(sources)},
    )
    return conversion


def conversion_of(session: Session, actor: Actor, conversion_id: str) -> Conversion:
    """The actor's organization's (and branch's) conversion; 404 otherwise."""
    row = session.get(Conversion, conversion_id)
    if (
        row is None
        or row.organization_id != actor.organization_id
        or (actor.branch_id is not None and row.branch_id != actor.branch_id)
    ):
        raise NotFound("No such conversion.")
    return row


def _finish(rt: Runtime, conversion_id: str, status: str, reason: str | None) -> None:
    with rt.transaction() as session:
        row = session.get(Conversion, conversion_id, with_for_update=True)
        if row is not None and row.status not in ("ready", "failed"):
            row.status, row.reason, row.updated_at = status, reason, rt.clock()


def _store_of(rt: Runtime, conversion_id: str, source: dict[str, str]) -> BlobStore:
    if source.get("store") == SCRATCH:
        return scratch_of(rt.settings, conversion_id)
    return rt.files  # queued before scratch stores: shared bytes, never deleted


def discard_sources(rt: Runtime, conversion_id: str, sources: list[dict[str, str]]) -> None:
    """Remove a finished conversion's uploaded files (idempotent: a retried job, or a
    second run after a crash between the commit and this, removes what is left)."""
    files = scratch_of(rt.settings, conversion_id)
    for source in sources:
        if source.get("store") == SCRATCH:
            files.delete(source["sha256"])


def run_conversion(rt: Runtime, call: JobCall) -> None:
    """The job: mark it converting, normalize the files outside any transaction, then
    send in one transaction (the row locked: a retried job never sends twice). A refusal
    (intake, policy, plan limit) is the conversion's reason, not a job failure."""
    conversion_id = str(call.payload["conversion_id"])
    with rt.transaction() as session:
        row = session.get(Conversion, conversion_id, with_for_update=True)
        if row is None:
            return
        form, sources = dict(row.form), list(row.sources)
        finished = row.status in ("ready", "failed")
        if not finished:
            row.status, row.updated_at = "converting", rt.clock()
    if finished:
        discard_sources(rt, conversion_id, sources)
        return
    try:
        _convert_and_send(rt, conversion_id, form, sources)
    except DomainError as exc:
        _finish(rt, conversion_id, "failed", exc.detail[:1000])
    except Exception:
        if call.attempt >= MAX_ATTEMPTS:  # the worker gives up on this job: dead
            _finish(rt, conversion_id, "failed", GAVE_UP)
            discard_sources(rt, conversion_id, sources)
        raise  # retried by the worker with backoff: the files stay for the retry
    discard_sources(rt, conversion_id, sources)


def _convert_and_send(
    rt: Runtime, conversion_id: str, form: dict[str, str], sources: list[dict[str, str]]
) -> None:
    uploads = [
        Upload(
            s["filename"],
            s["content_type"] or None,
            _store_of(rt, conversion_id, s).get(s["sha256"]),
        )
        for s in sources
    ]
    prepared = prepare_document(
        title=form["title"],
        kind=form["kind"],
        uploads=uploads,
        limits=intake_limits(rt.settings),
    )
    now = rt.clock()
    with rt.transaction() as session:
        row = session.get(Conversion, conversion_id, with_for_update=True)
        if row is None or row.status in ("ready", "failed"):
            return
        staff = session.get(StaffMember, row.staff_id)
        if staff is None or staff.deactivated_at is not None:
            raise NotFound("The staff account that sent this was deactivated.")
        actor = Actor(staff.id, row.organization_id, row.branch_id, staff.role, "", "")
        with branch_scope(row.branch_id):
            template_id = form.get("template", "")
            chosen = get_template(session, actor, template_id) if template_id else None
            env = send_prepared(
                session,
                rt.keyring,
                rt.files,
                actor,
                prepared,
                patient_signer(form["patient_name"], form["contact"], form.get("method", "")),
                seal_first=form.get("seal_first") == "1" or bool(chosen and chosen.seal_first),
                copies=template_copies(chosen) if chosen else (),
                now=now,
                today=local_day(now, rt.settings.time_zone),
                default_ttl=timedelta(days=rt.settings.envelope_ttl_days),
                default_lang=rt.settings.default_lang,
            )
        row.status, row.envelope_id, row.updated_at = "ready", env.id, now
