"""Doctors, services and slots an organization's MIS publishes (docs/cabinet.md)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, ForeignKey, Index, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from medsign.db.base import Base, UTCDateTime, new_id


class ScheduleDoctor(Base):
    """A doctor patients may book, keyed by the MIS id within the organization."""

    __tablename__ = "schedule_doctors"
    __table_args__ = (
        UniqueConstraint("organization_id", "mis_id", name="uq_schedule_doctors_org_mis_id"),
    )

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    organization_id: Mapped[str] = mapped_column(ForeignKey("organizations.id"))
    mis_id: Mapped[str] = mapped_column(String(100))
    name: Mapped[str] = mapped_column(String(200))
    specialty: Mapped[str | None] = mapped_column(String(200))


class ScheduleService(Base):
    """A service patients may book; ``telemedicine`` services are remote visits."""

    __tablename__ = "schedule_services"
    __table_args__ = (
        UniqueConstraint("organization_id", "mis_id", name="uq_schedule_services_org_mis_id"),
    )

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    organization_id: Mapped[str] = mapped_column(ForeignKey("organizations.id"))
    mis_id: Mapped[str] = mapped_column(String(100))
    name: Mapped[str] = mapped_column(String(200))
    telemedicine: Mapped[bool] = mapped_column(Boolean, default=False)


class ScheduleSlot(Base):
    """A time with a doctor for a service; ``appointment_id`` is set while it is taken.

    Doctor and service are named by MIS id (checked when published), so replacing the
    lists never orphans a booked slot.
    """

    __tablename__ = "schedule_slots"
    __table_args__ = (
        UniqueConstraint("organization_id", "mis_id", name="uq_schedule_slots_org_mis_id"),
        Index("ix_schedule_slots_org_starts", "organization_id", "starts_at"),
        Index("ix_schedule_slots_appointment_id", "appointment_id"),
    )

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    organization_id: Mapped[str] = mapped_column(ForeignKey("organizations.id"))
    branch_id: Mapped[str | None] = mapped_column(ForeignKey("branches.id"))
    mis_id: Mapped[str] = mapped_column(String(100))
    doctor_mis_id: Mapped[str] = mapped_column(String(100))
    service_mis_id: Mapped[str] = mapped_column(String(100))
    starts_at: Mapped[datetime] = mapped_column(UTCDateTime)
    telemedicine: Mapped[bool] = mapped_column(Boolean, default=False)
    appointment_id: Mapped[str | None] = mapped_column(ForeignKey("appointments.id"))


class SlotHold(Base):
    """An online slot held for one patient while they sign the telemedicine consent
    (docs/cabinet.md "Online visits"), and afterwards what became of it.

    While pending (``outcome`` empty) ``slot_id`` names the slot; the unique constraint
    makes one holder per slot whatever the race. The hold counts only while
    ``expires_at`` is in the future: every query compares it with now, so an expired
    hold costs nothing and needs no sweeper (the next holder takes its row over).
    Once settled (``booked``, or ``lost`` when the time went to someone else) the slot is
    let go (``slot_id`` empty) and the row waits to be shown once in the patient's
    cabinet, then is deleted.
    """

    __tablename__ = "slot_holds"
    __table_args__ = (
        UniqueConstraint("slot_id", name="uq_slot_holds_slot_id"),
        Index("ix_slot_holds_envelope_id", "envelope_id"),
        Index("ix_slot_holds_account_id", "account_id"),
        Index("ix_slot_holds_patient_id", "patient_id"),
    )

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    slot_id: Mapped[str | None] = mapped_column(ForeignKey("schedule_slots.id"))
    organization_id: Mapped[str] = mapped_column(ForeignKey("organizations.id"))
    patient_id: Mapped[str] = mapped_column(ForeignKey("patients.id"))
    account_id: Mapped[str] = mapped_column(ForeignKey("cabinet_accounts.id"))
    # The consent envelope whose signature books the slot (medsign.schedule.holds).
    envelope_id: Mapped[str] = mapped_column(ForeignKey("envelopes.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    outcome: Mapped[str | None] = mapped_column(String(10))
    appointment_id: Mapped[str | None] = mapped_column(ForeignKey("appointments.id"))


class TelemedicineSettings(Base):
    """What an online visit needs (docs/cabinet.md "Online visits"): the consent document
    (kind ``telemedicine_consent``) and the identity provider the patient logs in with."""

    __tablename__ = "telemedicine_settings"

    organization_id: Mapped[str] = mapped_column(ForeignKey("organizations.id"), primary_key=True)
    consent_document_id: Mapped[str] = mapped_column(ForeignKey("documents.id"))
    identity_provider_id: Mapped[str] = mapped_column(ForeignKey("identity_providers.id"))
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)
