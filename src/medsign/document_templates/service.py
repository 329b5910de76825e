"""Creating document templates and filling them (docs/templates.md).

A template is an uploaded PDF with AcroForm text fields; its fields are declared with
types (text, date, number) and whether they are required. Filling checks every value
first (a missing, unknown or ill-typed field is one 422 that names each of them), then
draws the values and removes the form (:mod:`medsign.pdf.fill`); the result becomes a
document through the same intake as any upload.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from medsign.audit.service import record
from medsign.document_templates.models import DocumentTemplate
from medsign.document_templates.schemas import FieldType, check_value
from medsign.domain.policy import DocumentKind, parse_enum
from medsign.errors import InvalidInput, NotFound
from medsign.pdf.fill import fill_template, template_fields
from medsign.storage.ports import BlobStore


@dataclass(frozen=True)
class TemplateSource:
    """What filling needs of a template, read in a transaction and used outside it."""

    id: str
    kind: str
    title: str
    sha256: str
    fields: tuple[tuple[str, FieldType, bool], ...]


def _field_errors(problems: dict[str, str]) -> InvalidInput:
    names = ", ".join(sorted(problems))
    return InvalidInput(
        f"These fields are missing or not valid: {names}.",
        errors=[{"field": name, "message": msg} for name, msg in sorted(problems.items())],
    )


def parse_declared(raw: str) -> dict[str, tuple[FieldType, bool]]:
    """``{"name": "date", "price": {"type": "number", "required": false}}`` (JSON);
    empty -> every field is required text."""
    if not raw.strip():
        return {}
    try:
        data = json.loads(raw)
    except json.JSONDecodeError as exc:
        raise InvalidInput("`fields` must be a JSON object: field name -> type.") from exc
    if not isinstance(data, dict):
        raise InvalidInput("`fields` must be a JSON object: field name -> type.")
    out: dict[str, tuple[FieldType, bool]] = {}
    bad: dict[str, str] = {}
    allowed = ", ".join(t.value for t in FieldType)
    for name, spec in data.items():
        kind, required = (spec, True) if isinstance(spec, str) else (None, True)
        if isinstance(spec, dict):
            kind, required = spec.get("type", "text"), spec.get("required", True)
        if kind not in {t.value for t in FieldType} or not isinstance(required, bool):
            bad[str(name)] = f"declare a type ({allowed}) and optionally required: true/false"
            continue
        out[str(name)] = (FieldType(kind), required)
    if bad:
        raise _field_errors(bad)
    return out


def create_template(
    session: Session,
    files: BlobStore,
    organization_id: str,
    *,
    name: str,
    kind: str,
    title: str,
    data: bytes,
    declared: dict[str, tuple[FieldType, bool]],
    now: datetime,
    actor: str = "api",
) -> DocumentTemplate:
    """Store a template after checking its name, kind, fields and declarations."""
    name, title = name.strip(), (title.strip() or name.strip())
    if not 0 < len(name) <= 200:
        raise InvalidInput("The template name must be 1 to 200 characters.", field="name")
    doc_kind = parse_enum(DocumentKind, kind, "kind")
    in_pdf = list(dict.fromkeys(spot.name for spot in template_fields(data)))
    unknown = {n: "no text field of this name in the PDF" for n in declared if n not in in_pdf}
    if unknown:
        raise _field_errors(unknown)
    fields = [
        {
            "name": n,
            "type": declared.get(n, (FieldType.TEXT, True))[0].value,
            "required": declared.get(n, (FieldType.TEXT, True))[1],
        }
        for n in in_pdf
    ]
    sha256 = files.put(data)  # before any SQL, as documents do
    template = DocumentTemplate(
        organization_id=organization_id,
        name=name,
        kind=doc_kind.value,
        title=title[:300],
        sha256=sha256,
        fields=fields,
        created_at=now,
    )
    session.add(template)
    session.flush()
    record(
        session,
        organization_id,
        "document_template.created",
        at=now,
        actor=actor,
        data={"template_id": template.id, "sha256": sha256, "fields": len(fields)},
    )
    return template


def list_templates(session: Session, organization_id: str) -> list[DocumentTemplate]:
    """The organization's templates, by name."""
    return list(
        session.scalars(
            select(DocumentTemplate)
            .where(
                DocumentTemplate.organization_id == organization_id,
                DocumentTemplate.deleted_at.is_(None),
            )
            .order_by(DocumentTemplate.name)
            .limit(500)
        )
    )


def template_source(session: Session, organization_id: str, template_id: str) -> TemplateSource:
    """One of the organization's templates (404 for another's or a deleted one)."""
    t = session.get(DocumentTemplate, template_id)
    if t is None or t.organization_id != organization_id or t.deleted_at is not None:
        raise NotFound("No such document template.")
    return TemplateSource(
        t.id,
        t.kind,
        t.title,
        t.sha256,
        tuple((str(f["name"]), FieldType(f["type"]), bool(f["required"])) for f in t.fields),
    )


def checked_values(source: TemplateSource, values: dict[str, Any]) -> dict[str, str]:
    """The values to draw; every missing, unknown or ill-typed field is named at once."""
    problems: dict[str, str] = {}
    known = {name for name, _kind, _req in source.fields}
    for name in values:
        if name not in known:
            problems[name] = "not a field of this template"
    out: dict[str, str] = {}
    for name, kind, required in source.fields:
        raw = values.get(name)
        if raw is None or raw == "":
            if required:
                problems[name] = f"required ({kind.value})"
            continue
        text = check_value(kind, raw)
        if text is None:
            problems[name] = {
                FieldType.TEXT: "text of 1 to 500 characters",
                FieldType.DATE: "a date YYYY-MM-DD",
                FieldType.NUMBER: "a number such as 1500 or 1500.50",
            }[kind]
            continue
        out[name] = text
    if problems:
        raise _field_errors(problems)
    return out


def render(files: BlobStore, source: TemplateSource, values: dict[str, str]) -> bytes:
    """The filled, flattened PDF (CPU work: callers run it outside transactions)."""
    return fill_template(files.get(source.sha256), values)


def delete_template(
    session: Session, organization_id: str, template_id: str, *, now: datetime, actor: str
) -> None:
    """Retire a template (documents made from it stay)."""
    template_source(session, organization_id, template_id)
    t = session.get(DocumentTemplate, template_id)
    assert t is not None
    t.deleted_at = now
    record(
        session,
        organization_id,
        "document_template.deleted",
        at=now,
        actor=actor,
        data={"template_id": template_id},
    )
