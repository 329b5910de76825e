"""The staff console over HTTP (shared/API.md "Staff console"): login, session cookies,
session fixation, CSRF, roles on every action, TOTP, lockout, invitations, sessions,
send (with the clinic's seal first), list filters, timeline, void, downloads, branch
scope and bulk send. SQLite and PostgreSQL (the ``database_url`` fixture)."""

from __future__ import annotations

import re
from typing import Any

import pyotp
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from medsign.audit.models import AuditEvent
from medsign.branches.service import create_branch
from medsign.console.models import BulkRow
from medsign.envelopes.models import Envelope, Signer
from medsign.notify.models import DevMessage
from medsign.runtime import Runtime
from medsign.staff.credentials import open_totp_secret
from medsign.staff.models import StaffMember, StaffSession
from medsign.staff.service import MAX_FAILED_LOGINS, SESSION_PURPOSE
from tests.support.api import create_envelope, new_org, patient, upload
from tests.support.clock import FrozenClock
from tests.support.console import csrf_of, new_staff
from tests.support.pdfs import make_pdf
from tests.support.worker import drain


def log_in(client: TestClient, email: str, password: str) -> Any:
    """Open the login form and submit it; return the answer."""
    form = client.get("/console/login")
    assert form.status_code == 200
    return client.post(
        "/console/login",
        data={"email": email, "password": password, "csrf": csrf_of(form.text)},
    )


def logged_in(client: TestClient, rt: Runtime, org_id: str, role: str = "operator") -> str:
    """A staff member of ``role`` logged in on ``client``; returns their email."""
    _id, email, password = new_staff(rt, org_id, role)
    res = log_in(client, email, password)
    assert res.status_code == 303 and res.headers["location"] == "/console", res.text
    return email


def token_on(client: TestClient, path: str) -> str:
    res = client.get(path)
    assert res.status_code == 200, res.text
    return csrf_of(res.text)


def sent_envelope(client: TestClient, headers: dict[str, str], name: str = "Иванова Мария") -> str:
    doc = upload(client, headers)
    return str(create_envelope(client, headers, doc["id"], patient(name))["id"])


def test_login_list_and_cookie_flags(client: TestClient, rt: Runtime) -> None:
    org_id, headers = new_org(rt)
    env_id = sent_envelope(client, headers, "Petrova Anna")
    assert client.get("/console").headers["location"] == "/console/login"
    form = client.get("/console/login?lang=en")
    assert 'name="email"' in form.text and ">Log in<" in form.text
    _id, email, password = new_staff(rt, org_id, "viewer")
    wrong = client.post(
        "/console/login",
        data={"email": email, "password": "not-the-password", "csrf": csrf_of(form.text)},
    )
    assert wrong.status_code == 401
    assert "not right" in wrong.text and 'name="password"' in wrong.text
    assert "medsign_console=" not in wrong.headers.get("set-cookie", "")
    res = log_in(client, email, password)
    assert res.status_code == 303
    cookie = next(c for c in res.headers.get_list("set-cookie") if c.startswith("medsign_console="))
    assert "HttpOnly" in cookie and "SameSite=strict" in cookie and "Path=/console" in cookie
    page = client.get("/console?lang=en")
    assert page.status_code == 200
    assert "Petrova Anna" in page.text and ">Sent<" in page.text and env_id in page.text
    assert page.headers["cache-control"] == "private, no-store"
    # Another organization's envelopes never show.
    _other, other_headers = new_org(rt, "Clinic Two")
    sent_envelope(client, other_headers, "Stranger Person")
    assert "Stranger Person" not in client.get("/console").text


def test_session_fixation_a_planted_token_is_never_promoted(
    client: TestClient, rt: Runtime
) -> None:
    org_id, _headers = new_org(rt)
    _id, email, password = new_staff(rt, org_id)
    planted = "attacker-chosen-session-token-0123456789"
    client.cookies.set("medsign_console", planted, path="/console")
    res = log_in(client, email, password)
    issued = res.cookies.get("medsign_console")
    assert issued and issued != planted
    with rt.transaction() as session:
        hashes = set(session.scalars(select(StaffSession.token_hash)))
    assert rt.keyring.hash(SESSION_PURPOSE, planted) not in hashes
    assert rt.keyring.hash(SESSION_PURPOSE, issued) in hashes  # stored only as a keyed hash
    # A second login issues yet another token.
    client.cookies.clear()
    again = log_in(client, email, password).cookies.get("medsign_console")
    assert again and again != issued
    attacker = TestClient(client.app, follow_redirects=False)
    attacker.cookies.set("medsign_console", planted, path="/console")
    assert attacker.get("/console").status_code == 303


def test_csrf_is_required_on_every_form(client: TestClient, rt: Runtime) -> None:
    org_id, headers = new_org(rt)
    env_id = sent_envelope(client, headers)
    logged_in(client, rt, org_id, "admin")
    assert (
        client.post("/console/login", data={"email": "x@y.z", "password": "p"}).status_code == 403
    )
    for path, data in (
        (f"/console/envelopes/{env_id}/void", {"reason": "mistake"}),
        ("/console/staff/invite", {"email": "new@clinic.example", "role": "viewer"}),
        ("/console/account/totp/start", {}),
        ("/console/logout", {}),
    ):
        for token in ("", "0" * 32):
            res = client.post(path, data={**data, "csrf": token})
            assert res.status_code == 403, (path, res.status_code)
    res = client.post(
        "/console/send",
        data={"patient_name": "A", "contact": "+79991234567", "csrf": ""},
        files={"files": ("a.pdf", make_pdf(), "application/pdf")},
    )
    assert res.status_code == 403
    assert client.get(f"/api/v1/envelopes/{env_id}", headers=headers).json()["status"] == "sent"
    with rt.transaction() as session:
        assert (
            session.scalar(select(StaffMember).where(StaffMember.email == "new@clinic.example"))
            is None
        )


@pytest.mark.parametrize(
    ("role", "allowed"),
    [
        ("viewer", set()),
        ("operator", {"send", "void", "resend"}),
        ("clinician", {"send", "void", "resend"}),
        ("admin", {"send", "void", "resend", "staff", "settings"}),
    ],
)
def test_roles_on_every_action(
    client: TestClient, rt: Runtime, role: str, allowed: set[str]
) -> None:
    org_id, headers = new_org(rt)
    env_id = sent_envelope(client, headers)
    drain(rt)
    logged_in(client, rt, org_id, role)
    csrf = token_on(client, "/console/account")
    with rt.transaction() as session:
        signer_id = session.scalars(select(Signer.id).where(Signer.envelope_id == env_id)).one()
    answers = {
        "send": client.post(
            "/console/send",
            data={"patient_name": "Role Test", "contact": "+79990000001", "csrf": csrf},
            files={"files": ("a.pdf", make_pdf(), "application/pdf")},
        ),
        "resend": client.post(
            f"/console/envelopes/{env_id}/signers/{signer_id}/resend", data={"csrf": csrf}
        ),
        "staff": client.post(
            "/console/staff/invite",
            data={"email": f"inv-{role}@clinic.example", "role": "viewer", "csrf": csrf},
        ),
        "settings": client.get("/console/settings"),
        "void": client.post(
            f"/console/envelopes/{env_id}/void", data={"reason": "x", "csrf": csrf}
        ),
    }
    for action, res in answers.items():
        if action in allowed:
            assert res.status_code in (200, 303), (role, action, res.status_code, res.text[:300])
        else:
            assert res.status_code == 403, (role, action, res.status_code)
    assert (client.get("/console/send").status_code == 200) == ("send" in allowed)
    assert (client.get("/console/staff").status_code == 200) == ("staff" in allowed)
    assert client.get("/console").status_code == 200  # every role reads
    with rt.transaction() as session:
        status = session.get(Envelope, env_id)
        assert status is not None
        assert (status.status == "voided") == ("void" in allowed)
        sends = session.scalars(select(Signer).where(Signer.name == "Role Test")).all()
        assert bool(sends) == ("send" in allowed)


def test_send_from_the_console_with_defaults_and_seal_first(
    client: TestClient, rt: Runtime
) -> None:
    org_id, _headers = new_org(rt)
    logged_in(client, rt, org_id)
    csrf = token_on(client, "/console/send?lang=en")
    page = client.get("/console/send?lang=en").text
    for label in ("Patient name", "Phone or email", ">Send<", 'type="file"'):
        assert label in page
    res = client.post(
        "/console/send",
        data={"patient_name": "Smirnov Ivan", "contact": "+7 999 111-22-33", "csrf": csrf},
        files=[("files", ("a.pdf", make_pdf(2), "application/pdf"))],
    )
    assert res.status_code == 303, res.text
    env_id = res.headers["location"].split("/")[3].split("?")[0]
    by_email = client.post(
        "/console/send",
        data={
            "patient_name": "Kuznetsova Olga",
            "contact": "olga@example.com",
            "seal_first": "1",
            "csrf": csrf,
        },
        files=[
            ("files", ("a.pdf", make_pdf(1), "application/pdf")),
            ("files", ("b.pdf", make_pdf(1), "application/pdf")),
        ],
    )
    assert by_email.status_code == 303, by_email.text
    sealed_id = by_email.headers["location"].split("/")[3].split("?")[0]
    with rt.transaction() as session:
        env = session.get(Envelope, env_id)
        assert env is not None and env.kind == "user_agreement"
        assert [(s.method, s.phone) for s in env.signers] == [("sms_otp", "+79991112233")]
        sealed = session.get(Envelope, sealed_id)
        assert sealed is not None
        assert [(s.role, s.method, s.status, s.order) for s in sealed.signers] == [
            ("clinic", "seal", "signed", 1),
            ("patient", "email_otp", "waiting", 2),
        ]
        actors = set(
            session.scalars(select(AuditEvent.actor).where(AuditEvent.envelope_id == env_id))
        )
        assert "api" not in actors and any(a.startswith("staff:") for a in actors), actors
    drain(rt)
    with rt.transaction() as session:
        sealed = session.get(Envelope, sealed_id)
        assert sealed is not None
        assert sealed.signers[1].status == "notified"  # invited after the seal was applied
    # A policy refusal stays on the form with the reason and what was typed.
    refused = client.post(
        "/console/send",
        data={
            "patient_name": "Policy Test",
            "contact": "+79990000002",
            "kind": "informed_consent",
            "csrf": csrf,
        },
        files={"files": ("a.pdf", make_pdf(), "application/pdf")},
    )
    assert refused.status_code == 422 and "informed_consent" in refused.text
    assert 'value="Policy Test"' in refused.text
    bad = client.post(
        "/console/send",
        data={"patient_name": "Bad File", "contact": "+79990000003", "csrf": csrf},
        files={"files": ("a.pdf", b"not a pdf at all", "application/pdf")},
    )
    assert 400 <= bad.status_code < 500
    no_contact = client.post(
        "/console/send",
        data={"patient_name": "No Contact", "contact": "12", "csrf": csrf},
        files={"files": ("a.pdf", make_pdf(), "application/pdf")},
    )
    assert no_contact.status_code == 422
    with rt.transaction() as session:
        names = set(session.scalars(select(Signer.name)))
    assert not names & {"Policy Test", "Bad File", "No Contact"}  # nothing half-written


def test_list_filters_timeline_void_and_downloads(client: TestClient, rt: Runtime) -> None:
    org_id, headers = new_org(rt)
    first = sent_envelope(client, headers, "Alekseev Petr")
    second = sent_envelope(client, headers, "Borisova Nina")
    email = logged_in(client, rt, org_id)
    found = client.get("/console?q=Bori").text
    assert "Borisova Nina" in found and "Alekseev Petr" not in found
    assert "Borisova" not in client.get("/console?q=%25").text  # LIKE wildcards are literal
    csrf = token_on(client, f"/console/envelopes/{first}")
    res = client.post(
        f"/console/envelopes/{first}/void", data={"reason": "wrong patient", "csrf": csrf}
    )
    assert res.status_code == 303
    voided = client.get("/console?status=voided&lang=en").text
    assert "Alekseev Petr" in voided and "Borisova Nina" not in voided
    assert "Borisova Nina" in client.get("/console?status=sent").text
    assert "Borisova Nina" not in client.get("/console?kind=contract").text
    assert "Borisova Nina" not in client.get("/console?from=2030-01-01").text
    assert client.get("/console?from=not-a-date").status_code == 422
    page = client.get(f"/console/envelopes/{first}?lang=en").text
    assert "Voided" in page and "wrong patient" in page and email in page  # timeline names staff
    again = client.post(f"/console/envelopes/{first}/void", data={"reason": "again", "csrf": csrf})
    assert again.status_code == 409
    pdf = client.get(f"/console/envelopes/{second}/document.pdf")
    assert pdf.status_code == 200 and pdf.content.startswith(b"%PDF-")
    assert client.get(f"/console/envelopes/{second}/evidence.pdf").status_code == 404
    assert client.get(f"/console/envelopes/{second}/secret.txt").status_code == 422
    assert client.get("/console/envelopes/not-an-id").status_code == 404


def test_change_contact_and_resend(client: TestClient, rt: Runtime) -> None:
    org_id, headers = new_org(rt)
    env_id = sent_envelope(client, headers)
    drain(rt)
    logged_in(client, rt, org_id)
    csrf = token_on(client, f"/console/envelopes/{env_id}")
    with rt.transaction() as session:
        signer_id = session.scalars(select(Signer.id).where(Signer.envelope_id == env_id)).one()
    res = client.post(
        f"/console/envelopes/{env_id}/signers/{signer_id}/contact",
        data={"contact": "new@example.com", "csrf": csrf},
    )
    assert res.status_code == 303, res.text
    bad = client.post(
        f"/console/envelopes/{env_id}/signers/{signer_id}/contact",
        data={"contact": "nonsense", "csrf": csrf},
    )
    assert bad.status_code == 422
    with rt.transaction() as session:
        signer = session.get(Signer, signer_id)
        assert signer is not None and signer.email == "new@example.com"
        assert signer.method == "email_otp" and signer.link_version == 2


def test_totp_set_up_login_and_replay(client: TestClient, rt: Runtime, clock: FrozenClock) -> None:
    org_id, _headers = new_org(rt)
    staff_id, email, password = new_staff(rt, org_id)
    assert log_in(client, email, password).status_code == 303
    csrf = token_on(client, "/console/account")
    assert client.post("/console/account/totp/start", data={"csrf": csrf}).status_code == 303
    page = client.get("/console/account").text
    assert "data:image/svg+xml" in page and "otpauth://totp/" in page
    with rt.transaction() as session:
        member = session.get(StaffMember, staff_id)
        assert member is not None and member.totp_secret is not None
        secret = open_totp_secret(rt.keyring, staff_id, member.totp_secret)
    assert secret not in (member.totp_secret or "")  # stored encrypted
    totp = pyotp.TOTP(secret)
    wrong = client.post("/console/account/totp/confirm", data={"code": "000000", "csrf": csrf})
    assert wrong.status_code == 422
    ok = client.post(
        "/console/account/totp/confirm", data={"code": totp.at(clock.now), "csrf": csrf}
    )
    assert ok.status_code == 303
    client.post("/console/logout", data={"csrf": csrf})
    client.cookies.clear()
    clock.advance(seconds=60)
    res = log_in(client, email, password)
    assert res.headers["location"] == "/console/totp"
    pending = res.cookies.get("medsign_console")
    assert client.get("/console").status_code == 303  # the password alone opens nothing
    form = client.get("/console/totp")
    code_csrf = csrf_of(form.text)
    assert (
        client.post("/console/totp", data={"code": "123456", "csrf": code_csrf}).status_code == 401
    )
    done = client.post("/console/totp", data={"code": totp.at(clock.now), "csrf": code_csrf})
    assert done.status_code == 303 and done.headers["location"] == "/console"
    full = done.cookies.get("medsign_console")
    assert full and full != pending  # rotated again after the second factor
    assert client.get("/console").status_code == 200
    # The same code cannot be used twice (RFC 6238 §5.2).
    replay = TestClient(client.app, follow_redirects=False)
    log_in(replay, email, password)
    again = replay.post(
        "/console/totp",
        data={"code": totp.at(clock.now), "csrf": csrf_of(replay.get("/console/totp").text)},
    )
    assert again.status_code == 401


def test_lockout_after_wrong_passwords(client: TestClient, rt: Runtime, clock: FrozenClock) -> None:
    org_id, _headers = new_org(rt)
    _id, email, password = new_staff(rt, org_id)
    for _ in range(MAX_FAILED_LOGINS):
        assert log_in(client, email, "wrong-password!").status_code == 401
    locked = log_in(client, email, password)
    assert locked.status_code == 401 and "locked" in locked.text
    clock.advance(minutes=16)
    assert log_in(client, email, password).status_code == 303
    with rt.transaction() as session:
        actions = set(session.scalars(select(AuditEvent.action)))
    assert {"staff.locked_out", "staff.login"} <= actions


def test_invitation_deactivation_and_sessions(client: TestClient, rt: Runtime) -> None:
    org_id, _headers = new_org(rt)
    logged_in(client, rt, org_id, "admin")
    csrf = token_on(client, "/console/staff")
    res = client.post(
        "/console/staff/invite",
        data={"email": "Nurse@Clinic.example", "role": "operator", "csrf": csrf},
    )
    assert res.status_code == 200
    link = re.search(r'href="(http://testserver/console/invite/[^"]+)"', res.text)
    assert link, res.text
    path = link.group(1).removeprefix("http://testserver")
    drain(rt)  # the invitation email (the dev outbox stands in for SMTP here)
    with rt.transaction() as session:
        mail = session.scalars(
            select(DevMessage).where(DevMessage.to == "nurse@clinic.example")
        ).one()
    assert link.group(1) in mail.body and mail.channel == "email"
    nurse = TestClient(client.app, follow_redirects=False)
    form = nurse.get(path)
    assert form.status_code == 200 and "nurse@clinic.example" in form.text
    short = nurse.post(
        path, data={"password": "short", "repeat": "short", "csrf": csrf_of(form.text)}
    )
    assert short.status_code == 422
    set_pw = nurse.post(
        path,
        data={
            "password": "a-long-password",
            "repeat": "a-long-password",
            "csrf": csrf_of(form.text),
        },
    )
    assert set_pw.status_code == 303
    assert nurse.get(path).status_code == 410  # the link worked once
    assert log_in(nurse, "nurse@clinic.example", "a-long-password").status_code == 303
    second = TestClient(client.app, follow_redirects=False)
    assert log_in(second, "nurse@clinic.example", "a-long-password").status_code == 303
    account = nurse.get("/console/account").text
    others = re.findall(r"/console/account/sessions/([0-9a-f-]+)/revoke", account)
    assert len(others) == 1
    revoke = nurse.post(
        f"/console/account/sessions/{others[0]}/revoke", data={"csrf": csrf_of(account)}
    )
    assert revoke.status_code == 303 and second.get("/console").status_code == 303
    with rt.transaction() as session:
        nurse_id = session.scalars(
            select(StaffMember.id).where(StaffMember.email == "nurse@clinic.example")
        ).one()
    dup = client.post(
        "/console/staff/invite",
        data={"email": "nurse@clinic.example", "role": "viewer", "csrf": csrf},
    )
    assert dup.status_code == 409
    off = client.post(f"/console/staff/{nurse_id}/deactivate", data={"csrf": csrf})
    assert off.status_code == 200
    assert nurse.get("/console").status_code == 303  # its session ended at once
    assert log_in(nurse, "nurse@clinic.example", "a-long-password").status_code == 401


def test_branch_staff_see_only_their_branch(client: TestClient, rt: Runtime) -> None:
    org_id, headers = new_org(rt)
    with rt.transaction() as session:
        north = create_branch(session, org_id, "North", now=rt.clock()).id
        create_branch(session, org_id, "South", now=rt.clock())
    whole = sent_envelope(client, headers, "Whole Org Patient")
    _id, email, password = new_staff(rt, org_id, "operator", branch_id=north)
    assert log_in(client, email, password).status_code == 303
    assert "Whole Org Patient" not in client.get("/console").text
    assert client.get(f"/console/envelopes/{whole}").status_code == 404
    csrf = token_on(client, "/console/send")
    res = client.post(
        "/console/send",
        data={"patient_name": "North Patient", "contact": "+79990000004", "csrf": csrf},
        files={"files": ("a.pdf", make_pdf(), "application/pdf")},
    )
    assert res.status_code == 303
    assert "North Patient" in client.get("/console").text
    with rt.transaction() as session:
        env = session.scalars(
            select(Envelope).join(Signer).where(Signer.name == "North Patient")
        ).one()
        assert env.branch_id == north


def test_bulk_send_with_progress_and_per_row_results(client: TestClient, rt: Runtime) -> None:
    org_id, _headers = new_org(rt)
    logged_in(client, rt, org_id)
    csrf = token_on(client, "/console/bulk")
    csv = "name;phone\nIvanov Ivan;+79990000011\nNo Phone;\nPetrova Anna;anna@example.com\n"
    res = client.post(
        "/console/bulk",
        data={"csrf": csrf},
        files=[
            ("files", ("a.pdf", make_pdf(), "application/pdf")),
            ("patients", ("p.csv", csv.encode(), "text/csv")),
        ],
    )
    assert res.status_code == 303, res.text
    progress_path = res.headers["location"]
    waiting = client.get(progress_path + "?lang=en").text
    assert "0 of 3 handled" in waiting and 'http-equiv="refresh"' in waiting
    drain(rt)
    done = client.get(progress_path + "?lang=en").text
    assert "3 of 3 handled: 2 sent, 1 failed" in done and "finished" in done
    assert 'http-equiv="refresh"' not in done
    with rt.transaction() as session:
        rows = session.scalars(select(BulkRow).order_by(BulkRow.position)).all()
        assert [r.status for r in rows] == ["sent", "failed", "sent"]
        assert rows[1].error and "phone" in rows[1].error
        methods = [
            s.method
            for s in session.scalars(
                select(Signer).where(
                    Signer.envelope_id.in_([rows[0].envelope_id, rows[2].envelope_id])
                )
            )
        ]
    assert sorted(methods) == ["email_otp", "sms_otp"]
    empty = client.post(
        "/console/bulk",
        data={"csrf": csrf},
        files=[
            ("files", ("a.pdf", make_pdf(), "application/pdf")),
            ("patients", ("p.csv", b"name,phone\n", "text/csv")),
        ],
    )
    assert empty.status_code == 422


def test_signer_templates_on_the_send_page(client: TestClient, rt: Runtime) -> None:
    org_id, _headers = new_org(rt)
    logged_in(client, rt, org_id)
    csrf = token_on(client, "/console/templates")
    res = client.post(
        "/console/templates",
        data={
            "name": "Contract with copy",
            "seal_first": "1",
            "copy_name": "Accountant",
            "copy_contact": "books@clinic.example",
            "csrf": csrf,
        },
    )
    assert res.status_code == 303, res.text
    dup = client.post("/console/templates", data={"name": "Contract with copy", "csrf": csrf})
    assert dup.status_code == 409
    bad = client.post(
        "/console/templates", data={"name": "Bad", "copy_contact": "12", "csrf": csrf}
    )
    assert bad.status_code == 422
    page = client.get("/console/send?lang=en").text
    template_id = re.search(r'<option value="([0-9a-f-]{36})">Contract with copy', page)
    assert template_id, page
    sent = client.post(
        "/console/send",
        data={
            "patient_name": "Template Patient",
            "contact": "+79990000005",
            "template": template_id.group(1),
            "csrf": csrf,
        },
        files={"files": ("a.pdf", make_pdf(), "application/pdf")},
    )
    assert sent.status_code == 303, sent.text
    env_id = sent.headers["location"].split("/")[3].split("?")[0]
    with rt.transaction() as session:
        env = session.get(Envelope, env_id)
        assert env is not None
        assert [(s.role, s.method, s.order) for s in env.signers] == [
            ("clinic", "seal", 1),
            ("patient", "sms_otp", 2),
            ("viewer", "email_otp", 3),
        ]
    other_org, _h = new_org(rt, "Clinic Two")
    stranger = TestClient(client.app, follow_redirects=False)
    _id, email, password = new_staff(rt, other_org)
    log_in(stranger, email, password)
    assert "Contract with copy" not in stranger.get("/console/send").text
    gone = client.post(f"/console/templates/{template_id.group(1)}/delete", data={"csrf": csrf})
    assert gone.status_code == 303
    assert "Contract with copy" not in client.get("/console/templates").text


def test_the_list_pages_with_filters_kept(client: TestClient, rt: Runtime) -> None:
    org_id, headers = new_org(rt)
    doc = upload(client, headers)
    ids = {
        create_envelope(client, headers, doc["id"], patient(f"Paged & Co {i:02d}"))["id"]
        for i in range(53)
    }
    logged_in(client, rt, org_id, "viewer")
    seen: set[str] = set()
    url = "/console?q=Paged+%26+Co&status=sent"
    for _ in range(3):
        page = client.get(url).text
        seen |= set(re.findall(r'href="/console/envelopes/([0-9a-f-]{36})"', page))
        more = re.search(r'href="(/console\?[^"]*cursor=[^"]+)"', page)
        if more is None:
            break
        url = more.group(1).replace("&amp;", "&")
        assert "q=Paged+%26+Co" in url and "status=sent" in url
    assert seen == ids
