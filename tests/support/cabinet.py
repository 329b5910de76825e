"""Driving the patient cabinet over HTTP like a phone without JavaScript (the browser
path is in tests/e2e/test_cabinet_browser.py)."""

from __future__ import annotations

import re
from datetime import date
from typing import Any

import httpx
from fastapi.testclient import TestClient
from httpx2 import Response
from sqlalchemy import select

from medsign.cabinet.models import CabinetAccount, CabinetIdentity
from medsign.notify.models import DevMessage
from medsign.runtime import Runtime
from tests.support.pages import form_fields, latest_code
from tests.support.worker import drain


def put_patient(
    client: TestClient, headers: dict[str, str], mis_id: str, **fields: Any
) -> dict[str, Any]:
    """Create or update a complete patient card (name, birth date, phone)."""
    body: dict[str, Any] = {
        "mis_id": mis_id,
        "name": "Иванова Мария Петровна",
        "birth_date": date(1990, 5, 17).isoformat(),
        "phone": "+79991234567",
        **fields,
    }
    res = client.post("/api/v1/patients", headers=headers, json=body)
    assert res.status_code in (200, 201), res.text
    data: dict[str, Any] = res.json()
    return data


def attach_code(client: TestClient, headers: dict[str, str], mis_id: str) -> str:
    """``POST /api/v1/patients/{mis_id}/attach-code``; asserts 201; the code."""
    res = client.post(f"/api/v1/patients/{mis_id}/attach-code", headers=headers)
    assert res.status_code == 201, res.text
    code: str = res.json()["code"]
    return code


def hidden(client: TestClient, path: str = "/cabinet?lang=en") -> dict[str, str]:
    """The hidden fields (csrf, lang) of a cabinet page's forms."""
    page = client.get(path)
    assert page.status_code == 200, page.text
    return form_fields(page.text)


def log_in(client: TestClient, rt: Runtime, contact: str) -> Response:
    """ "Send code", read it from the dev outbox, "Log in"; asserts the redirect home."""
    fields = hidden(client)
    sent = client.post("/cabinet/code", data={**fields, "contact": contact})
    assert sent.status_code == 200, sent.text
    drain(rt)
    res = client.post(
        "/cabinet/login", data={**fields, "contact": contact, "code": latest_code(rt, contact)}
    )
    assert res.status_code == 303, res.text
    return res


def press_attach(client: TestClient, code: str) -> Response:
    """Type an attach code and press "Attach"."""
    return client.post("/cabinet/attach", data={**hidden(client), "code": code})


def messages_to(rt: Runtime, to: str) -> list[str]:
    """Bodies of the dev outbox's messages to ``to``, oldest first."""
    with rt.transaction() as session:
        return list(
            session.scalars(
                select(DevMessage.body).where(DevMessage.to == to).order_by(DevMessage.id)
            )
        )


def nine_digits(text: str) -> str | None:
    """The 9-digit attach code in a message, if any."""
    match = re.search(r"(?<!\d)(\d{9})(?!\d)", text)
    return match.group(1) if match else None


def press(client: TestClient | httpx.Client, page_path: str, label: str) -> str:
    """Press the button named ``label`` on ``page_path``; where the browser is sent."""
    page = client.get(page_path)
    assert page.status_code == 200, page.text
    forms = re.findall(r'<form method="post" action="([^"]+)"[^>]*>(.*?)</form>', page.text, re.S)
    action = next(a for a, body in forms if f">{label}<" in body)
    res = client.post(action, data=form_fields(page.text))
    assert res.status_code == 303, res.text
    return str(res.headers["location"])


def account_contacts(rt: Runtime) -> list[str]:
    """The contact of every cabinet account."""
    with rt.transaction() as session:
        return list(session.scalars(select(CabinetAccount.contact)))


def linked_identities(rt: Runtime) -> list[tuple[str, str, str]]:
    """Every linked identity as (account id, issuer, subject)."""
    with rt.transaction() as session:
        rows = session.scalars(select(CabinetIdentity)).all()
        return [(r.account_id, r.issuer, r.subject) for r in rows]
