"""Record requests on SQLite and PostgreSQL: the patient asks an attached clinic for
copies (what, period, delivery); the clinic sees the request with its deadline (30 days,
or the organization's shorter one); it uploads the records, sealed with the organization's
seal (validated with pyHanko against medsign's trust roots) and downloadable in the
cabinet; overdue requests are filtered and announced once by webhook."""

from __future__ import annotations

from fastapi.testclient import TestClient
from sqlalchemy import func, select

from medsign.jobs.handlers import periodic
from medsign.pdf.validate import validate_pdf
from medsign.records.models import RecordRequest
from medsign.runtime import Runtime
from tests.integration.test_cabinet_visits import attached, event_data
from tests.support.api import new_org
from tests.support.cabinet import hidden
from tests.support.clock import FrozenClock
from tests.support.pdfs import make_pdf
from tests.support.worker import drain

ASK = {"what": "Результаты анализов крови", "period_from": "2026-01-01", "period_to": "2026-06-30"}


def _clinic_link(client: TestClient) -> str:
    page = client.get("/cabinet/records?lang=en").text
    start = page.index('<option value="') + len('<option value="')
    return page[start : page.index('"', start)]


def _requests(rt: Runtime) -> int:
    with rt.transaction() as session:
        return int(session.scalar(select(func.count()).select_from(RecordRequest)) or 0)


def test_request_issue_and_download(client: TestClient, rt: Runtime, clock: FrozenClock) -> None:
    _, headers = new_org(rt, "Clinic One")
    attached(client, rt, headers, "P-1")
    link = _clinic_link(client)
    fields = hidden(client, "/cabinet/records?lang=en")
    for bad, status in (
        ({**ASK, "what": ""}, 422),
        ({**ASK, "delivery": "pigeon"}, 422),
        ({**ASK, "period_from": "2026-07-01"}, 422),
        ({**ASK, "period_to": "2027-01-01"}, 422),
        ({**ASK, "period_to": "30.06.2026"}, 422),
        ({**ASK, "clinic": "another"}, 404),
    ):
        data = {"clinic": link, "delivery": "cabinet", **fields, **bad}
        assert client.post("/cabinet/records", data=data).status_code == status, bad
    assert _requests(rt) == 0
    sent = client.post(
        "/cabinet/records", data={**fields, **ASK, "clinic": link, "delivery": "cabinet"}
    )
    assert sent.status_code == 200 and "must answer by 2026-12-23" in sent.text
    [created] = event_data(rt, "record_request.created")
    assert created["what"] == ASK["what"] and created["patient_mis_id"] == "P-1"
    listed = client.get("/api/v1/record-requests", headers=headers).json()["items"]
    [item] = listed
    assert item["due_at"].startswith("2026-12-23") and item["overdue"] is False
    assert item["period_from"] == "2026-01-01" and item["delivery"] == "cabinet"
    url = f"/api/v1/record-requests/{item['id']}/records"
    wrong = client.post(
        url,
        headers=headers,
        files={"files": ("notes.txt", b"plain text", "text/plain")},
        data={"staff_name": "Petrova A. V."},
    )
    assert 400 <= wrong.status_code < 500 and wrong.headers["content-type"].startswith(
        "application/problem+json"
    )
    assert (
        client.get(f"/api/v1/record-requests/{item['id']}", headers=headers).json()["status"]
        == "open"
    )
    pdf = make_pdf(pages=2)
    issued = client.post(
        url,
        headers=headers,
        files={"files": ("records.pdf", pdf, "application/pdf")},
        data={"staff_name": "Petrova A. V."},
    )
    assert issued.status_code == 200, issued.text
    assert issued.json()["status"] == "issued" and issued.json()["envelope_id"]
    again = client.post(
        url,
        headers=headers,
        files={"files": ("records.pdf", pdf, "application/pdf")},
        data={"staff_name": "Petrova A. V."},
    )
    assert again.status_code == 409
    drain(rt, limit=500)
    page = client.get("/cabinet/records?lang=en").text
    assert "Issued" in page and "Download the sealed copy" in page
    copy = client.get(f"/cabinet/records/{item['id']}/records.pdf")
    assert copy.status_code == 200 and copy.content.startswith(b"%PDF-")
    report = validate_pdf(copy.content, rt.seal_keys.trust_roots())
    assert report.valid and len(report.signatures) == 1
    assert [e["record_request_id"] for e in event_data(rt, "record_request.issued")] == [item["id"]]
    _, other = new_org(rt, "Clinic Two")
    assert client.get(f"/api/v1/record-requests/{item['id']}", headers=other).status_code == 404
    assert client.get("/api/v1/record-requests", headers=other).json()["items"] == []


def test_deadline_setting_and_overdue_flag(
    client: TestClient, rt: Runtime, clock: FrozenClock
) -> None:
    _, headers = new_org(rt)
    assert client.get("/api/v1/record-requests/settings", headers=headers).json() == {
        "deadline_days": 30
    }
    for bad in (0, 31):
        res = client.put(
            "/api/v1/record-requests/settings", headers=headers, json={"deadline_days": bad}
        )
        assert res.status_code == 422
    res = client.put(
        "/api/v1/record-requests/settings", headers=headers, json={"deadline_days": 10}
    )
    assert res.status_code == 200
    attached(client, rt, headers, "P-1")
    fields = hidden(client, "/cabinet/records?lang=en")
    sent = client.post(
        "/cabinet/records",
        data={**fields, "what": "Выписка", "clinic": _clinic_link(client), "delivery": "email"},
    )
    assert "must answer by 2026-12-03" in sent.text
    assert client.get("/api/v1/record-requests?overdue=true", headers=headers).json()["items"] == []
    clock.advance(days=11)
    overdue = client.get("/api/v1/record-requests?overdue=true", headers=headers).json()["items"]
    assert len(overdue) == 1 and overdue[0]["overdue"] is True
    assert (
        client.get("/api/v1/record-requests?overdue=false", headers=headers).json()["items"] == []
    )
    periodic(rt)
    periodic(rt)
    assert len(event_data(rt, "record_request.overdue")) == 1  # announced once
    with rt.transaction() as session:
        assert session.scalars(select(RecordRequest.overdue_at)).one() is not None
