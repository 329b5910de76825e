"""``/api/v1/notification-templates``: unknown parameters and broken templates refused
at save time, previews (HTML escaped only in the HTML part, the sandbox holding), CRUD,
and a saved template used by a rule's messages."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from medsign.notify.models import DevMessage
from medsign.reminders.models import NotificationTemplate
from medsign.reminders.scan import fire_all_due
from medsign.runtime import Runtime
from tests.support.api import new_org
from tests.support.clock import FrozenClock
from tests.support.worker import drain

TEMPLATES = "/api/v1/notification-templates"


def template(**extra: Any) -> dict[str, Any]:
    return {
        "event": "appointment.before",
        "lang": "ru",
        "subject": "Напоминание: {{ clinic }}",
        "text": "{{ patient_name }}, ждём вас {{ appointment_time }} ({{ doctor }}).",
        **extra,
    }


@pytest.mark.parametrize(
    ("body", "field"),
    [
        (template(text="Hello {{ patient_nmae }}"), "text"),
        (template(subject="{{ document_title }}"), "subject"),  # not a parameter of this event
        (template(html="<p>{{ password }}</p>"), "html"),
        (template(text="{% for x in %}"), "text"),
        (template(text="{{ patient_name"), "text"),
        (template(event="appointment.never"), "event"),
        (template(lang="de"), "lang"),
        (template(text="x" * 2001), None),
        (template(text=""), None),
        (template(event="patient.birthday", text="{{ appointment_time }}"), "text"),
    ],
)
def test_templates_that_cannot_render_are_refused_at_save(
    client: TestClient, rt: Runtime, body: dict[str, Any], field: str | None
) -> None:
    _, headers = new_org(rt)
    res = client.post(TEMPLATES, headers=headers, json=body)
    assert res.status_code == 422, res.text
    problem = res.json()
    assert res.headers["content-type"].startswith("application/problem+json")
    if field is not None:
        assert problem["field"] == field, problem
    assert client.get(TEMPLATES, headers=headers).json()["items"] == []


def test_an_unknown_parameter_is_named_with_the_allowed_ones(
    client: TestClient, rt: Runtime
) -> None:
    _, headers = new_org(rt)
    res = client.post(TEMPLATES, headers=headers, json=template(text="{{ name }} {{ clinic }}"))
    problem = res.json()
    assert problem["unknown"] == ["name"]
    assert "patient_name" in problem["allowed"] and "appointment_time" in problem["allowed"]


def test_preview_escapes_html_only_in_the_html_part(client: TestClient, rt: Runtime) -> None:
    _, headers = new_org(rt)
    res = client.post(
        f"{TEMPLATES}/preview",
        headers=headers,
        json=template(
            html="<p>{{ patient_name }}</p>",
            params={"patient_name": "<b>Tom & Jerry</b>"},
        ),
    )
    assert res.status_code == 200, res.text
    out = res.json()
    assert out["html"] == "<p>&lt;b&gt;Tom &amp; Jerry&lt;/b&gt;</p>"
    assert out["text"].startswith("<b>Tom & Jerry</b>, ждём вас 2026-12-01 10:30")
    assert out["subject"] == "Напоминание: Clinic One"
    assert client.get(TEMPLATES, headers=headers).json()["items"] == []  # nothing saved


@pytest.mark.parametrize(
    "text",
    [
        "{{ clinic.__class__.__mro__ }}",
        "{{ clinic.upper.__globals__ }}",
        "{{ 'x' * 100000 }}",
        "{{ 9 ** 9 ** 9 }}",
        "{% for i in range(1000000) %}x{% endfor %}",
    ],
)
def test_the_sandbox_holds_in_previews(client: TestClient, rt: Runtime, text: str) -> None:
    _, headers = new_org(rt)
    res = client.post(f"{TEMPLATES}/preview", headers=headers, json=template(text=text))
    assert res.status_code == 422, res.text
    assert res.json()["type"] == "/problems/invalid-input"


def test_preview_refuses_values_for_unknown_parameters(client: TestClient, rt: Runtime) -> None:
    _, headers = new_org(rt)
    res = client.post(f"{TEMPLATES}/preview", headers=headers, json=template(params={"x": "1"}))
    assert res.status_code == 422 and res.json()["field"] == "params"


def test_crud_and_one_template_per_event_and_language(client: TestClient, rt: Runtime) -> None:
    _, headers = new_org(rt)
    _, other = new_org(rt, "Clinic Two")
    created = client.post(TEMPLATES, headers=headers, json=template())
    assert created.status_code == 201, created.text
    tid = created.json()["id"]
    assert client.post(TEMPLATES, headers=headers, json=template()).status_code == 409
    assert client.post(TEMPLATES, headers=headers, json=template(lang="fa")).status_code == 201
    replaced = client.put(
        f"{TEMPLATES}/{tid}", headers=headers, json=template(text="Ждём {{ patient_name }}")
    )
    assert replaced.status_code == 200 and replaced.json()["text"] == "Ждём {{ patient_name }}"
    assert (
        client.put(f"{TEMPLATES}/{tid}", headers=headers, json=template(text="{{ x }}")).status_code
        == 422
    )
    assert (
        client.get(f"{TEMPLATES}/{tid}", headers=headers).json()["text"]
        == "Ждём {{ patient_name }}"
    )
    assert client.get(f"{TEMPLATES}/{tid}", headers=other).status_code == 404
    assert client.delete(f"{TEMPLATES}/{tid}", headers=other).status_code == 404
    assert client.delete(f"{TEMPLATES}/{tid}", headers=headers).status_code == 204
    assert [t["lang"] for t in client.get(TEMPLATES, headers=headers).json()["items"]] == ["fa"]


def test_a_saved_template_words_the_rules_messages(
    client: TestClient, rt: Runtime, clock: FrozenClock
) -> None:
    _, headers = new_org(rt)
    client.patch(
        "/api/v1/organization/settings",
        headers=headers,
        json={"time_zone": "Europe/Moscow", "notification_lang": "fa"},
    )
    client.post(
        "/api/v1/patients",
        headers=headers,
        json={"mis_id": "P", "name": "مریم", "email": "m@example.com"},
    )
    client.post(
        "/api/v1/appointments",
        headers=headers,
        json={
            "mis_id": "A",
            "patient_mis_id": "P",
            "starts_at": "2026-11-24T10:00:00+03:00",
            "doctor": "D",
            "service": "S",
        },
    )
    saved = client.post(
        TEMPLATES,
        headers=headers,
        json=template(
            lang="fa", subject="یادآوری", text="{{ patient_name }}: {{ appointment_time }}"
        ),
    )
    assert saved.status_code == 201
    client.post(
        "/api/v1/notification-rules",
        headers=headers,
        json={"event": "appointment.before", "offset_minutes": 60, "channels": ["sms", "email"]},
    )
    drain(rt)
    clock.now = clock.now.replace(day=24, hour=6)  # 09:00 Moscow, an hour before
    fire_all_due(rt)
    drain(rt)
    with rt.transaction() as session:
        [message] = session.scalars(select(DevMessage)).all()
    assert (message.channel, message.subject) == ("email", "یادآوری")  # no phone: email
    assert message.body == "مریم: 2026-11-24 10:00 +03:00"


def test_parallel_saves_of_one_event_and_language_keep_one(served: str, rt: Runtime) -> None:
    _, headers = new_org(rt)

    def save(i: int) -> int:
        with httpx.Client(base_url=served, timeout=30) as http:
            body = template(text=f"{{{{ patient_name }}}} #{i}")
            return http.post(TEMPLATES, headers=headers, json=body).status_code

    with ThreadPoolExecutor(6) as pool:
        codes = sorted(pool.map(save, range(6)))
    assert codes == [201] + [409] * 5, codes
    with rt.transaction() as session:
        assert session.scalar(select(func.count()).select_from(NotificationTemplate)) == 1
