"""What the console's send and bulk-send forms carry, and the progress they show."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from medsign.documents.service import Upload


@dataclass(frozen=True)
class SendRequest:
    """One document to one patient, as typed on the send page."""

    title: str
    kind: str
    patient_name: str
    contact: str  # a phone (E.164) or an email address
    method: str = ""  # "": SMS code for a phone, email code for an email
    seal_first: bool = False  # the clinic's seal (order 1), then the patient (order 2)
    uploads: list[Upload] = field(default_factory=list)


@dataclass(frozen=True)
class PolicyRow:
    """One document kind and the methods a patient may use for it, for the send page."""

    kind: str
    methods: list[str]
    reason_key: str  # i18n key of the sentence that says why


@dataclass(frozen=True)
class BulkProgress:
    """How far a bulk send has come."""

    bulk_id: str
    total: int
    sent: int
    failed: int
    finished: bool

    @property
    def done(self) -> int:
        """Rows handled, either way."""
        return self.sent + self.failed


@dataclass(frozen=True)
class TimelineEntry:
    """One audit event of an envelope, as the timeline shows it."""

    at: datetime
    action: str
    actor: str
