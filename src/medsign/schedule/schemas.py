"""Shapes of ``/api/v1/schedule``: what the MIS publishes for booking."""

from __future__ import annotations

from datetime import UTC, datetime

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator


class DoctorIn(BaseModel):
    """A doctor patients may book."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    mis_id: str = Field(min_length=1, max_length=100)
    name: str = Field(min_length=1, max_length=200)
    specialty: str | None = Field(default=None, max_length=200)


class ServiceIn(BaseModel):
    """A service patients may book; ``telemedicine`` ones are remote visits."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    mis_id: str = Field(min_length=1, max_length=100)
    name: str = Field(min_length=1, max_length=200)
    telemedicine: bool = False


class SlotIn(BaseModel):
    """A free time with a doctor for a service."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    mis_id: str = Field(min_length=1, max_length=100)
    doctor_mis_id: str = Field(min_length=1, max_length=100)
    service_mis_id: str = Field(min_length=1, max_length=100)
    starts_at: datetime = Field(description="ISO 8601 with a UTC offset.")
    branch_id: str | None = Field(default=None, max_length=64)

    @field_validator("starts_at")
    @classmethod
    def _aware(cls, value: datetime) -> datetime:
        if value.tzinfo is None:
            raise ValueError("give the UTC offset, e.g. 2026-12-01T10:30:00+03:00 (ISO 8601)")
        return value.astimezone(UTC)


def _unique(items: list[DoctorIn] | list[ServiceIn] | list[SlotIn], what: str) -> None:
    seen: set[str] = set()
    for item in items:
        if item.mis_id in seen:
            raise ValueError(f"{what} mis_id {item.mis_id!r} appears twice")
        seen.add(item.mis_id)


class ScheduleIn(BaseModel):
    """``PUT /api/v1/schedule``: the whole published schedule, replacing the last one.

    Free slots missing from it are withdrawn; booked ones stay with their appointment.
    """

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "doctors": [{"mis_id": "D-7", "name": "Петров И. С.", "specialty": "терапевт"}],
                    "services": [{"mis_id": "S-1", "name": "Консультация терапевта"}],
                    "slots": [
                        {
                            "mis_id": "SL-901",
                            "doctor_mis_id": "D-7",
                            "service_mis_id": "S-1",
                            "starts_at": "2026-12-01T10:30:00+03:00",
                        }
                    ],
                }
            ]
        },
    )

    doctors: list[DoctorIn] = Field(default_factory=list, max_length=2000)
    services: list[ServiceIn] = Field(default_factory=list, max_length=2000)
    slots: list[SlotIn] = Field(default_factory=list, max_length=20000)

    @model_validator(mode="after")
    def _consistent(self) -> ScheduleIn:
        _unique(self.doctors, "doctor")
        _unique(self.services, "service")
        _unique(self.slots, "slot")
        doctors = {d.mis_id for d in self.doctors}
        services = {s.mis_id for s in self.services}
        for slot in self.slots:
            if slot.doctor_mis_id not in doctors:
                raise ValueError(
                    f"slot {slot.mis_id!r} names unknown doctor {slot.doctor_mis_id!r}"
                )
            if slot.service_mis_id not in services:
                raise ValueError(
                    f"slot {slot.mis_id!r} names unknown service {slot.service_mis_id!r}"
                )
        return self


class SlotOut(BaseModel):
    """A published slot, with the appointment that took it (if any)."""

    mis_id: str
    doctor_mis_id: str
    service_mis_id: str
    starts_at: datetime
    local_starts_at: str
    telemedicine: bool
    branch_id: str | None
    appointment_mis_id: str | None


class ScheduleOut(BaseModel):
    """What is published now."""

    time_zone: str
    doctors: list[DoctorIn]
    services: list[ServiceIn]
    slots: list[SlotOut]


class TelemedicineIn(BaseModel):
    """``PUT /api/v1/schedule/telemedicine``: what booking an online visit requires."""

    model_config = ConfigDict(extra="forbid")

    consent_document_id: str = Field(
        min_length=1, max_length=64, description="A document of kind telemedicine_consent."
    )
    identity_provider_id: str = Field(
        min_length=1, max_length=64, description="The provider the patient logs in with."
    )


class TelemedicineOut(TelemedicineIn):
    """The organization's telemedicine settings."""

    updated_at: datetime
