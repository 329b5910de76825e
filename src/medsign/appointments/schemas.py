"""Request and response shapes of ``/api/v1/appointments``, and the statuses."""

from __future__ import annotations

from datetime import UTC, datetime
from enum import StrEnum

from pydantic import BaseModel, ConfigDict, Field, field_validator


class AppointmentStatus(StrEnum):
    """Where an appointment stands; ``cancelled`` keeps its reason and can be restored."""

    SCHEDULED = "scheduled"
    CONFIRMED = "confirmed"
    NOTIFIED = "notified"  # a rule told the patient (set by a rule after sending)
    ARRIVED = "arrived"
    COMPLETED = "completed"
    NO_SHOW = "no_show"
    CANCELLED = "cancelled"


def _aware(value: datetime | None) -> datetime | None:
    if value is not None and value.tzinfo is None:
        raise ValueError("give the UTC offset, e.g. 2026-12-01T10:30:00+03:00 (ISO 8601)")
    return value.astimezone(UTC) if value is not None else None


class AppointmentIn(BaseModel):
    """``POST /api/v1/appointments``: an appointment the MIS created."""

    model_config = ConfigDict(
        extra="forbid",
        str_strip_whitespace=True,
        json_schema_extra={
            "examples": [
                {
                    "mis_id": "AP-5512",
                    "patient_mis_id": "A-10442",
                    "starts_at": "2026-12-01T10:30:00+03:00",
                    "doctor": "Петров И. С.",
                    "service": "Консультация терапевта",
                    "telemedicine": False,
                }
            ]
        },
    )

    mis_id: str = Field(min_length=1, max_length=100)
    patient_mis_id: str = Field(min_length=1, max_length=100)
    starts_at: datetime = Field(description="ISO 8601 with a UTC offset.")
    doctor: str = Field(min_length=1, max_length=200)
    service: str = Field(min_length=1, max_length=200)
    telemedicine: bool = False
    branch_id: str | None = Field(default=None, max_length=64)
    status: AppointmentStatus = AppointmentStatus.SCHEDULED

    @field_validator("starts_at")
    @classmethod
    def _check_aware(cls, value: datetime | None) -> datetime | None:
        return _aware(value)


class AppointmentPatch(BaseModel):
    """``PATCH /api/v1/appointments/{mis_id}``: reschedule, change the status, cancel
    (``status: cancelled`` with a ``reason``) or restore (``status: scheduled`` on a
    cancelled appointment). Fields left out stay as they are."""

    model_config = ConfigDict(
        extra="forbid",
        str_strip_whitespace=True,
        json_schema_extra={
            "examples": [
                {"starts_at": "2026-12-02T11:00:00+03:00"},
                {"status": "cancelled", "reason": "The patient is ill"},
                {"status": "scheduled"},
            ]
        },
    )

    starts_at: datetime | None = None
    doctor: str | None = Field(default=None, min_length=1, max_length=200)
    service: str | None = Field(default=None, min_length=1, max_length=200)
    telemedicine: bool | None = None
    status: AppointmentStatus | None = None
    reason: str | None = Field(
        default=None, max_length=1000, description="Why it is cancelled (with `cancelled`)."
    )

    @field_validator("starts_at")
    @classmethod
    def _check_aware(cls, value: datetime | None) -> datetime | None:
        return _aware(value)


class AppointmentOut(BaseModel):
    """An appointment as stored, with its time on the clinic's clocks."""

    id: str
    mis_id: str
    patient_mis_id: str
    starts_at: datetime
    local_starts_at: str = Field(description="On the clinic's clocks, with the UTC offset.")
    time_zone: str
    doctor: str
    service: str
    telemedicine: bool
    branch_id: str | None
    status: AppointmentStatus
    cancel_reason: str | None = None
    cancelled_at: datetime | None = None
    results_ready_at: datetime | None = None
    created_at: datetime
    updated_at: datetime


class AppointmentList(BaseModel):
    """A patient's appointments, earliest first."""

    items: list[AppointmentOut]
