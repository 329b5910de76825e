"""What a clinic configures for the cabinet: its user agreement (a document of kind
``user_agreement``) and the attach-code channel priority."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.orm import Session

from medsign.audit.service import record
from medsign.cabinet.models import CabinetSettings
from medsign.cabinet.schemas import CabinetSettingsIn, CabinetSettingsOut
from medsign.documents.service import get_document
from medsign.domain.policy import DocumentKind
from medsign.errors import InvalidInput

DEFAULT_PRIORITY = "phone_first"


def settings_out(session: Session, organization_id: str) -> CabinetSettingsOut:
    """The organization's cabinet settings (defaults when never set)."""
    row = session.get(CabinetSettings, organization_id)
    if row is None:
        return CabinetSettingsOut(
            user_agreement_document_id=None, attach_channel_priority=DEFAULT_PRIORITY
        )
    return CabinetSettingsOut(
        user_agreement_document_id=row.user_agreement_document_id,
        attach_channel_priority=row.attach_channel_priority,
    )


def update_settings(
    session: Session, organization_id: str, body: CabinetSettingsIn, *, now: datetime
) -> CabinetSettingsOut:
    """Change the fields present in ``body`` (a ``null`` agreement removes it)."""
    row = session.get(CabinetSettings, organization_id, with_for_update=True)
    if row is None:
        row = CabinetSettings(
            organization_id=organization_id, attach_channel_priority=DEFAULT_PRIORITY
        )
        session.add(row)
    given = body.model_fields_set
    if "user_agreement_document_id" in given:
        document_id = body.user_agreement_document_id
        if document_id is not None:
            doc = get_document(session, organization_id, document_id)
            if doc.kind != DocumentKind.USER_AGREEMENT.value:
                raise InvalidInput(
                    f"The document {document_id} is a {doc.kind}; the user agreement must "
                    "be a document of kind user_agreement.",
                    field="user_agreement_document_id",
                )
        row.user_agreement_document_id = document_id
    if "attach_channel_priority" in given and body.attach_channel_priority is not None:
        row.attach_channel_priority = body.attach_channel_priority
    row.updated_at = now
    session.flush()
    out = settings_out(session, organization_id)
    record(
        session,
        organization_id,
        "cabinet.settings_updated",
        at=now,
        actor="api",
        data=out.model_dump(),
    )
    return out
