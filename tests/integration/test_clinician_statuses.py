"""Device and request statuses are StrEnums on typed columns (HOUSE.md item 4): the
database keeps their plain values (the migrated VARCHAR), reads give enum members, and
a value outside the enum is refused before anything is written."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select, text
from sqlalchemy.exc import StatementError

from medsign.clinicians.models import ClinicianDevice, DeviceRequest, DeviceStatus, RequestStatus
from medsign.runtime import Runtime
from tests.integration.test_clinician_devices import enrolled, prescription
from tests.support.api import new_org
from tests.support.worker import drain


def test_statuses_are_enum_members_stored_as_their_values(client: TestClient, rt: Runtime) -> None:
    _, headers = new_org(rt)
    clinician_id, device = enrolled(client, rt, headers)
    prescription(client, headers, clinician_id)
    drain(rt)
    [item] = device.requests(client)
    with rt.transaction() as session:
        req = session.get(DeviceRequest, item["id"])
        dev = session.get(ClinicianDevice, device.device_id)
        assert req is not None and dev is not None
        assert req.status is RequestStatus.PENDING and dev.status is DeviceStatus.ACTIVE
        raw = session.execute(
            text("SELECT status FROM device_requests WHERE id = :id"), {"id": item["id"]}
        ).scalar_one()
        assert raw == "pending"
        # a plain string of a member's value is accepted and read back as the member
        found = session.scalars(
            select(DeviceRequest).where(DeviceRequest.status == "pending")
        ).all()
        assert [r.id for r in found] == [item["id"]]

    with pytest.raises(StatementError), rt.transaction() as session:
        req = session.get(DeviceRequest, item["id"])
        assert req is not None
        req.status = "signed-somehow"  # type: ignore[assignment]
        session.flush()
    with rt.transaction() as session:  # nothing written
        req = session.get(DeviceRequest, item["id"])
        assert req is not None and req.status is RequestStatus.PENDING
    assert len(device.requests(client)) == 1
