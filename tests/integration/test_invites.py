"""Pre-visit invites on SQLite and PostgreSQL: the clinic creates a link, a new patient
fills in name, birth date and contact and consents to personal-data processing; the MIS
gets the card by webhook (a real HTTP receiver); staff print the pre-filled EDO agreement
(text checked with poppler's pdftotext); a used, expired or mistyped link is a 410; a
form sent twice at once makes one card."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path
from typing import Any

import httpx
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from medsign.patients.models import Patient
from medsign.runtime import Runtime
from tests.e2e.test_races import _at_once
from tests.support.api import new_org
from tests.support.clock import FrozenClock
from tests.support.webhook_receiver import WebhookReceiver
from tests.support.worker import drain

CARD = {"name": "Иванова Мария Петровна", "birth_date": "1990-05-17", "contact": "+79991234567"}


def _invite(client: TestClient, headers: dict[str, str], **body: Any) -> dict[str, Any]:
    res = client.post("/api/v1/invites", headers=headers, json=body)
    assert res.status_code == 201, res.text
    data: dict[str, Any] = res.json()
    return data


def _path(url: str) -> str:
    return "/invite/" + url.rsplit("/invite/", 1)[1]


def _fields(client: TestClient, path: str) -> dict[str, str]:
    page = client.get(path + "?lang=en")
    assert page.status_code == 200, page.text
    return dict(re.findall(r'<input type="hidden" name="(\w+)" value="([^"]*)"', page.text))


def _cards(rt: Runtime) -> int:
    with rt.transaction() as session:
        return int(session.scalar(select(func.count()).select_from(Patient)) or 0)


def test_invite_round_trip(client: TestClient, rt: Runtime, tmp_path: Path) -> None:
    rt.settings.webhook_allow_private = True
    _, headers = new_org(rt, "Clinic One")
    invite = _invite(client, headers)
    assert invite["status"] == "open" and invite["url"].startswith(rt.settings.public_url)
    path = _path(invite["url"])
    page = client.get(path + "?lang=en")
    for label in (">Full name<", ">Birth date<", ">Phone or email<", ">Send<", "personal data"):
        assert label in page.text
    assert "Перед визитом в Clinic One" in client.get(path + "?lang=ru").text
    assert 'dir="rtl"' in client.get(path + "?lang=fa").text
    problem = client.get(f"/api/v1/invites/{invite['id']}/edo-agreement.pdf", headers=headers)
    assert problem.status_code == 409
    fields = _fields(client, path)
    no_consent = client.post(path, data={**fields, **CARD})
    assert no_consent.status_code == 422 and "Tick the consent" in no_consent.text
    assert "Иванова Мария Петровна" in no_consent.text  # what was typed stays
    future = client.post(
        path, data={**fields, **CARD, "birth_date": "2090-01-01", "consent": "yes"}
    )
    assert future.status_code == 422
    bad_contact = client.post(path, data={**fields, **CARD, "contact": "nope", "consent": "yes"})
    assert bad_contact.status_code == 422
    stale = client.post(path, data={**fields, "csrf": "x", **CARD, "consent": "yes"})
    assert stale.status_code == 422
    assert _cards(rt) == 0
    with WebhookReceiver() as mis:
        res = client.post(
            "/api/v1/webhooks",
            headers=headers,
            json={"url": mis.url, "events": ["patient.invite_completed"]},
        )
        mis.secrets.append(res.json()["secret"])
        done = client.post(path, data={**fields, **CARD, "consent": "yes"})
        assert done.status_code == 200 and "Clinic One has your card" in done.text
        drain(rt, limit=500)
        [got] = mis.wait_for(1)
    data = got.body["data"]
    assert data["name"] == "Иванова Мария Петровна" and data["birth_date"] == "1990-05-17"
    assert data["phone"] == "+79991234567" and data["email"] is None
    assert "personal data" in data["personal_data_consent"]["text"]
    read = client.get(f"/api/v1/invites/{invite['id']}", headers=headers).json()
    assert read["status"] == "completed" and read["patient_mis_id"] == data["patient_mis_id"]
    card = client.get(f"/api/v1/patients/{data['patient_mis_id']}", headers=headers)
    assert card.status_code == 200 and card.json()["birth_date"] == "1990-05-17"
    again = client.get(path + "?lang=en")
    assert again.status_code == 410 and "filled in already" in again.text
    assert client.post(path, data={**fields, **CARD, "consent": "yes"}).status_code == 410
    pdf = client.get(f"/api/v1/invites/{invite['id']}/edo-agreement.pdf?lang=ru", headers=headers)
    assert pdf.status_code == 200 and pdf.headers["content-type"] == "application/pdf"
    (tmp_path / "edo.pdf").write_bytes(pdf.content)
    text = subprocess.run(
        ["pdftotext", str(tmp_path / "edo.pdf"), "-"], capture_output=True, check=True, text=True
    ).stdout
    assert "Соглашение об электронном документообороте" in text
    assert "Иванова Мария Петровна" in text and "1990-05-17" in text and "+79991234567" in text
    # another organization sees nothing
    _, other = new_org(rt, "Clinic Two")
    assert client.get(f"/api/v1/invites/{invite['id']}", headers=other).status_code == 404
    assert (
        client.get(f"/api/v1/invites/{invite['id']}/edo-agreement.pdf", headers=other).status_code
        == 404
    )


def test_expired_and_mistyped_links(client: TestClient, rt: Runtime, clock: FrozenClock) -> None:
    _, headers = new_org(rt)
    invite = _invite(client, headers, valid_days=1)
    path = _path(invite["url"])
    fields = _fields(client, path)
    assert client.get("/invite/not-a-token?lang=en").status_code == 410
    clock.advance(days=2)
    assert client.get(path + "?lang=en").status_code == 410
    assert client.post(path, data={**fields, **CARD, "consent": "yes"}).status_code == 410
    assert client.get(f"/api/v1/invites/{invite['id']}", headers=headers).json()["status"] == (
        "expired"
    )
    for bad in ({"valid_days": 0}, {"valid_days": 91}, {"branch": "x"}):
        assert client.post("/api/v1/invites", headers=headers, json=bad).status_code == 422
    assert _cards(rt) == 0


def test_one_invite_sent_twice_at_once_makes_one_card(served: str, rt: Runtime) -> None:
    _, headers = new_org(rt)
    with httpx.Client(base_url=served, timeout=30) as http:
        url = http.post("/api/v1/invites", headers=headers, json={}).json()["url"]
    path = _path(url)

    def press() -> httpx.Response:
        with httpx.Client(base_url=served, timeout=30) as tab:
            page = tab.get(path + "?lang=en")
            fields = dict(
                re.findall(r'<input type="hidden" name="(\w+)" value="([^"]*)"', page.text)
            )
            return tab.post(path, data={**fields, **CARD, "consent": "yes"})

    results = _at_once([press, press, press])
    assert sorted(r.status_code for r in results) == [200, 410, 410]
    assert _cards(rt) == 1
