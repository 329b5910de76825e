"""The facts the signature policy needs about one signer, read from the database."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.orm import Session

from medsign.domain.policy import PolicyContext
from medsign.organizations.models import Organization
from medsign.patients.service import active_agreement


def policy_context(
    session: Session, organization_id: str, patient_id: str | None, now: datetime
) -> PolicyContext:
    """EDO agreement of the patient (if any) and the organization's policy overrides."""
    org = session.get(Organization, organization_id)
    assert org is not None
    has_edo = bool(patient_id) and (
        active_agreement(session, organization_id, patient_id or "", now) is not None
    )
    return PolicyContext(has_edo_agreement=has_edo, overrides=org.policy_overrides or None)
