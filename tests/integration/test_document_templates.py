"""Document templates (docs/templates.md): upload a PDF with AcroForm fields declared
with types, fill it through ``POST /api/v1/documents/from-template`` (the same answer as
``POST /api/v1/documents``), refusals that name each missing, unknown or ill-typed
field and store nothing, isolation between organizations, and parallel fills.
SQLite and PostgreSQL."""

from __future__ import annotations

import io
import json
import subprocess
import threading
from typing import Any

import httpx
import pikepdf
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from medsign.documents.models import Document
from medsign.runtime import Runtime
from tests.support.api import create_envelope, new_org, patient
from tests.support.console import csrf_of, new_staff
from tests.support.forms import form_pdf
from tests.support.pdfs import make_pdf
from tests.support.threaded import serve_in_thread

DECLARED = {"visit_date": "date", "price": {"type": "number", "required": False}}


def upload_template(
    client: TestClient, headers: dict[str, str], data: bytes | None = None, **form: str
) -> Any:
    fields = {"name": "Contract", "kind": "user_agreement", "fields": json.dumps(DECLARED)} | form
    return client.post(
        "/api/v1/document-templates",
        headers=headers,
        files={"file": ("t.pdf", data or form_pdf(), "application/pdf")},
        data=fields,
    )


def documents(rt: Runtime) -> int:
    with rt.transaction(write=False) as session:
        return int(session.scalar(select(func.count()).select_from(Document)) or 0)


def test_upload_lists_typed_fields(client: TestClient, rt: Runtime) -> None:
    _org, headers = new_org(rt)
    res = upload_template(client, headers)
    assert res.status_code == 201, res.text
    body = res.json()
    assert body["kind"] == "user_agreement" and body["title"] == "Contract"
    assert body["fields"] == [
        {"name": "patient_name", "type": "text", "required": True},
        {"name": "visit_date", "type": "date", "required": True},
        {"name": "price", "type": "number", "required": False},
    ]
    listed = client.get("/api/v1/document-templates", headers=headers).json()["items"]
    assert [t["id"] for t in listed] == [body["id"]]


@pytest.mark.parametrize(
    ("data", "form", "words"),
    [
        (None, {"fields": json.dumps({"age": "number"})}, "age"),
        (None, {"fields": json.dumps({"price": "money"})}, "price"),
        (None, {"fields": "[1, 2"}, "JSON object"),
        (None, {"kind": "novel"}, "kind"),
        (make_pdf(1), {"fields": ""}, "no text form fields"),
        (b"not a pdf at all", {"fields": ""}, "not a readable PDF"),
    ],
)
def test_refused_templates(
    client: TestClient, rt: Runtime, data: bytes | None, form: dict[str, str], words: str
) -> None:
    _org, headers = new_org(rt)
    res = upload_template(client, headers, data, **form)
    assert res.status_code == 422, res.text
    assert res.headers["content-type"] == "application/problem+json"
    assert words in res.text
    assert client.get("/api/v1/document-templates", headers=headers).json()["items"] == []


def test_fill_makes_a_flat_document_that_can_be_sent(client: TestClient, rt: Runtime) -> None:
    _org, headers = new_org(rt)
    template = upload_template(client, headers).json()
    res = client.post(
        "/api/v1/documents/from-template",
        headers=headers,
        json={
            "template_id": template["id"],
            "fields": {
                "patient_name": "Иванова Мария",
                "visit_date": "2026-12-05",
                "price": 1500.5,
            },
        },
    )
    assert res.status_code == 201, res.text
    doc = res.json()
    assert set(doc) == {"id", "sha256", "pages", "kind", "title"}
    assert (doc["kind"], doc["title"], doc["pages"]) == ("user_agreement", "Contract", 1)
    pdf = client.get(f"/api/v1/documents/{doc['id']}/pdf", headers=headers).content
    text = subprocess.run(
        ["pdftotext", "-", "-"], input=pdf, capture_output=True, check=True
    ).stdout.decode()
    assert "Иванова Мария" in text and "2026-12-05" in text and "1500.5" in text
    with pikepdf.open(io.BytesIO(pdf)) as filled:
        assert "/AcroForm" not in filled.Root
        assert not [a for a in filled.pages[0].get("/Annots", []) if a.Subtype == "/Widget"]
    env = create_envelope(client, headers, doc["id"], patient())
    assert env["status"] == "sent"


def test_missing_unknown_and_ill_typed_fields_are_named(client: TestClient, rt: Runtime) -> None:
    _org, headers = new_org(rt)
    template = upload_template(client, headers).json()
    before = documents(rt)
    res = client.post(
        "/api/v1/documents/from-template",
        headers=headers,
        json={
            "template_id": template["id"],
            "fields": {"visit_date": "05.12.2026", "price": "a lot", "colour": "red"},
        },
    )
    assert res.status_code == 422, res.text
    problem = res.json()
    named = {e["field"]: e["message"] for e in problem["errors"]}
    assert named == {
        "patient_name": "required (text)",
        "visit_date": "a date YYYY-MM-DD",
        "price": "a number such as 1500 or 1500.50",
        "colour": "not a field of this template",
    }
    assert "colour, patient_name, price, visit_date" in problem["detail"]
    assert documents(rt) == before


def test_another_organizations_template_is_not_found(client: TestClient, rt: Runtime) -> None:
    _org, headers = new_org(rt)
    template = upload_template(client, headers).json()
    _other, other_headers = new_org(rt, "Clinic Two")
    res = client.post(
        "/api/v1/documents/from-template",
        headers=other_headers,
        json={"template_id": template["id"], "fields": {"patient_name": "X"}},
    )
    assert res.status_code == 404
    assert client.get("/api/v1/document-templates", headers=other_headers).json()["items"] == []
    assert (
        client.post(
            "/api/v1/documents/from-template", json={"template_id": template["id"]}
        ).status_code
        == 401
    )


def test_parallel_fills_each_make_a_document(client: TestClient, rt: Runtime) -> None:
    _org, headers = new_org(rt)
    template = upload_template(client, headers).json()
    before = documents(rt)
    go = threading.Barrier(6)
    answers: list[int] = []

    def fill(n: int, base: str) -> None:
        with httpx.Client(base_url=base, headers=headers, timeout=60) as c:
            go.wait()
            res = c.post(
                "/api/v1/documents/from-template",
                json={
                    "template_id": template["id"],
                    "fields": {"patient_name": f"Patient {n}", "visit_date": "2026-12-05"},
                },
            )
            answers.append(res.status_code)

    with serve_in_thread(client.app) as base:  # type: ignore[arg-type]
        threads = [threading.Thread(target=fill, args=(n, base)) for n in range(6)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(120)
    assert answers == [201] * 6, answers
    assert documents(rt) == before + 6


def console_login(client: TestClient, rt: Runtime, org_id: str, role: str) -> None:
    _id, email, password = new_staff(rt, org_id, role)
    form = client.get("/console/login")
    res = client.post(
        "/console/login", data={"email": email, "password": password, "csrf": csrf_of(form.text)}
    )
    assert res.status_code == 303, res.text


def test_console_upload_fill_and_send(client: TestClient, rt: Runtime) -> None:
    org_id, headers = new_org(rt)
    console_login(client, rt, org_id, "admin")
    token = csrf_of(client.get("/console/document-templates").text)
    bad = client.post(
        "/console/document-templates",
        data={"csrf": token, "name": "Contract", "kind": "user_agreement", "field_types": "x"},
        files={"file": ("t.pdf", form_pdf(), "application/pdf")},
    )
    assert bad.status_code == 422 and "name: type" in bad.text
    res = client.post(
        "/console/document-templates",
        data={
            "csrf": token,
            "name": "Contract",
            "kind": "user_agreement",
            "field_types": "visit_date: date\nprice: number?",
        },
        files={"file": ("t.pdf", form_pdf(), "application/pdf")},
    )
    assert res.status_code == 303, res.text
    (template,) = client.get("/api/v1/document-templates", headers=headers).json()["items"]
    assert [f["required"] for f in template["fields"]] == [True, True, False]
    assert f"/console/document-templates/{template['id']}" in client.get("/console/send").text
    fill_url = f"/console/document-templates/{template['id']}"
    page = client.get(fill_url + "?lang=en").text
    assert 'name="field_visit_date" type="date"' in page
    token = csrf_of(page)
    refused = client.post(
        fill_url,
        data={
            "csrf": token,
            "field_visit_date": "tomorrow",
            "patient_name": "Петрова Анна",
            "contact": "+79990004004",
        },
    )
    assert refused.status_code == 422
    assert "patient_name: required (text)" in refused.text
    assert "visit_date: a date YYYY-MM-DD" in refused.text
    assert 'value="Петрова Анна"' in refused.text  # what was typed stays
    before = documents(rt)
    sent = client.post(
        fill_url,
        data={
            "csrf": token,
            "field_patient_name": "Петрова Анна",
            "field_visit_date": "2026-12-05",
            "patient_name": "Петрова Анна",
            "contact": "+79990004004",
        },
    )
    assert sent.status_code == 303, sent.text
    assert documents(rt) == before + 1
    env_id = sent.headers["location"].split("/")[3].split("?")[0]
    env = client.get(f"/api/v1/envelopes/{env_id}", headers=headers).json()
    assert env["status"] == "sent" and env["signers"][0]["name"] == "Петрова Анна"
    # Without the form token nothing is sent.
    assert client.post(fill_url, data={"patient_name": "X"}).status_code == 403


def test_console_roles(client: TestClient, rt: Runtime) -> None:
    org_id, headers = new_org(rt)
    template = upload_template(client, headers).json()
    console_login(client, rt, org_id, "viewer")
    assert client.get("/console/document-templates").status_code == 403
    assert client.get(f"/console/document-templates/{template['id']}").status_code == 403
    client.cookies.clear()
    console_login(client, rt, org_id, "operator")
    page = client.get("/console/document-templates")
    assert page.status_code == 200 and 'action="/console/document-templates"' not in page.text
    res = client.post(
        "/console/document-templates",
        data={"csrf": csrf_of(page.text), "name": "Mine"},
        files={"file": ("t.pdf", form_pdf(), "application/pdf")},
    )
    assert res.status_code == 403
    assert len(client.get("/api/v1/document-templates", headers=headers).json()["items"]) == 1
