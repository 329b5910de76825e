"""The patient cabinet over HTTP on SQLite and PostgreSQL: login by code with the
signing rules, sessions per device, attach and its brute-force limits, signing with
method ``cabinet``, the user agreement, files shared with a clinic."""

from __future__ import annotations

import re

from fastapi.testclient import TestClient
from sqlalchemy import select

from medsign.cabinet.models import (
    AgreementAcceptance,
    AttachFailure,
    CabinetLoginCode,
    CabinetSession,
    PatientLink,
)
from medsign.events.models import Event
from medsign.jobs.handlers import periodic
from medsign.runtime import Runtime
from medsign.web.app import create_app
from tests.support.api import create_envelope, new_org, patient, upload, validated_pdf
from tests.support.cabinet import (
    attach_code,
    hidden,
    log_in,
    press_attach,
    put_patient,
)
from tests.support.clock import FrozenClock
from tests.support.pages import latest_code
from tests.support.pdfs import make_pdf
from tests.support.webhook_receiver import WebhookReceiver
from tests.support.worker import drain

PHONE = "+79991234567"


def _events(rt: Runtime, org_id: str) -> list[str]:
    with rt.transaction() as session:
        return list(
            session.scalars(
                select(Event.type).where(Event.organization_id == org_id).order_by(Event.id)
            )
        )


def _attached(
    client: TestClient, rt: Runtime, org_name: str, mis_id: str
) -> tuple[str, dict[str, str]]:
    org_id, headers = new_org(rt, org_name)
    put_patient(client, headers, mis_id)
    res = press_attach(client, attach_code(client, headers, mis_id))
    assert res.status_code == 200, res.text
    return org_id, headers


# -- login ----------------------------------------------------------------------------


def test_login_page_has_the_contract_labels(client: TestClient) -> None:
    page = client.get("/cabinet?lang=en")
    assert page.status_code == 200
    for label in (">Phone or email<", ">Send code<", ">Code<", ">Log in<"):
        assert label in page.text
    assert 'autocomplete="one-time-code"' in page.text and 'inputmode="numeric"' in page.text
    assert page.headers["cache-control"] == "private, no-store"
    for lang, word in (("ru", "Войти"), ("fa", "ورود")):
        text = client.get(f"/cabinet?lang={lang}").text
        assert word in text
    assert 'dir="rtl"' in client.get("/cabinet?lang=fa").text


def test_login_by_code_sets_a_safe_cookie_stored_as_a_hash(client: TestClient, rt: Runtime) -> None:
    res = log_in(client, rt, PHONE)
    cookie = res.headers["set-cookie"]
    assert "medsign_cabinet=" in cookie
    assert "HttpOnly" in cookie and "SameSite=lax" in cookie and "Path=/cabinet" in cookie
    assert "Secure" not in cookie  # the public URL is http:// in this test
    token = re.search(r"medsign_cabinet=([^;]+)", cookie)
    assert token is not None
    with rt.transaction() as session:
        stored = session.scalars(select(CabinetSession)).one()
    assert token.group(1) not in stored.token_hash
    home = client.get("/cabinet?lang=en")
    assert "Logged in as \u2066+7999***4567\u2069" in home.text and ">Attach code<" in home.text


def test_wrong_codes_lock_and_bad_contacts_are_explained(
    client: TestClient, rt: Runtime, clock: FrozenClock
) -> None:
    fields = hidden(client)
    res = client.post("/cabinet/code", data={**fields, "contact": "not a phone"})
    assert res.status_code == 422 and "international format" in res.text
    res = client.post("/cabinet/code", data={"contact": PHONE, "lang": "en"})
    assert res.status_code == 422 and "out of date" in res.text  # no CSRF token
    assert client.post("/cabinet/code", data={**fields, "contact": PHONE}).status_code == 200
    res = client.post("/cabinet/code", data={**fields, "contact": PHONE})
    assert res.status_code == 429 and "moments ago" in res.text  # resend interval
    drain(rt)
    good = latest_code(rt, PHONE)
    wrong = f"{(int(good) + 1) % 1_000_000:06d}"
    for left in (4, 3, 2, 1):
        res = client.post("/cabinet/login", data={**fields, "contact": PHONE, "code": wrong})
        assert res.status_code == 422 and f"{left} tries left" in res.text
    res = client.post("/cabinet/login", data={**fields, "contact": PHONE, "code": wrong})
    assert "no tries are left" in res.text
    res = client.post("/cabinet/login", data={**fields, "contact": PHONE, "code": good})
    assert res.status_code == 422 and "Too many wrong codes" in res.text
    clock.advance(seconds=31)
    assert client.post("/cabinet/code", data={**fields, "contact": PHONE}).status_code == 200
    drain(rt)
    res = client.post(
        "/cabinet/login", data={**fields, "contact": PHONE, "code": latest_code(rt, PHONE)}
    )
    assert res.status_code == 303
    clock.advance(seconds=31)  # a Persian keyboard types ۱۲۳۴۵۶: the code still works
    persian = str.maketrans("0123456789", "۰۱۲۳۴۵۶۷۸۹")
    other = TestClient(create_app(runtime=rt, migrate=False), follow_redirects=False)
    f2 = hidden(other)
    assert other.post("/cabinet/code", data={**f2, "contact": PHONE}).status_code == 200
    drain(rt)
    typed = latest_code(rt, PHONE).translate(persian)
    res = other.post("/cabinet/login", data={**f2, "contact": PHONE, "code": typed})
    assert res.status_code == 303, res.text
    clock.advance(minutes=11)
    # a used code cannot log in a second device
    other = TestClient(create_app(runtime=rt, migrate=False), follow_redirects=False)
    f2 = hidden(other)
    res = other.post(
        "/cabinet/login", data={**f2, "contact": PHONE, "code": latest_code(rt, PHONE)}
    )
    assert res.status_code == 422


def test_devices_are_listed_and_log_out_everywhere_ends_them(
    client: TestClient, rt: Runtime, clock: FrozenClock
) -> None:
    log_in(client, rt, PHONE)
    clock.advance(seconds=31)
    other = TestClient(create_app(runtime=rt, migrate=False), follow_redirects=False)
    log_in(other, rt, PHONE)
    page = client.get("/cabinet/devices?lang=en")
    assert page.text.count(">Log out<") == 3  # the menu's, and one per device
    assert ">Log out everywhere<" in page.text and ">This device<" in page.text
    fields = hidden(other, "/cabinet/devices?lang=en")
    res = other.post("/cabinet/devices/end-all", data=fields)
    assert res.status_code == 303 and "out=1" in res.headers["location"]
    for c in (client, other):
        assert ">Log in<" in c.get("/cabinet?lang=en").text
    with rt.transaction() as session:
        assert all(s.ended_at is not None for s in session.scalars(select(CabinetSession)))


# -- attach ---------------------------------------------------------------------------


def test_a_verified_contact_alone_attaches_nothing(client: TestClient, rt: Runtime) -> None:
    _, headers = new_org(rt, "Clinic Quiet")
    put_patient(client, headers, "Q-1")
    doc = upload(client, headers)
    create_envelope(client, headers, doc["id"], patient(patient_mis_id="Q-1", phone=PHONE))
    log_in(client, rt, PHONE)
    home = client.get("/cabinet?lang=en").text
    assert "Clinic Quiet" not in home and "User agreement" not in home
    assert "You are not attached to any clinic yet" in home


def test_attach_brute_force_locks_the_account_and_the_address(
    client: TestClient, rt: Runtime, clock: FrozenClock
) -> None:
    _, headers = new_org(rt, "Clinic Guard")
    put_patient(client, headers, "G-1")
    code = attach_code(client, headers, "G-1")
    log_in(client, rt, PHONE)
    wrong = f"{(int(code) + 1) % 10**9:09d}"
    res = press_attach(client, "12345")
    assert res.status_code == 422 and "9-digit" in res.text  # a typo is not a guess
    for _ in range(rt.settings.cabinet_attach_failures_per_account):
        res = press_attach(client, wrong)
        assert res.status_code == 422 and "not right" in res.text
    res = press_attach(client, code)  # even the right code, during the lockout
    assert res.status_code == 429 and "Too many wrong attach codes" in res.text
    assert int(res.headers["retry-after"]) > 0
    clock.advance(minutes=61)
    res = press_attach(client, code)
    assert res.status_code == 200 and "Clinic Guard" in res.text
    with rt.transaction() as session:
        failures = session.scalars(select(AttachFailure)).all()
    assert len(failures) == 5 and {f.reason for f in failures} == {"wrong"}
    # per address: other accounts from the same address add up
    rt.settings.cabinet_attach_failures_per_ip = 5  # 3 + 2 below
    for n in range(2):
        device = TestClient(create_app(runtime=rt, migrate=False), follow_redirects=False)
        log_in(device, rt, f"+7999000000{n}")
        for _ in range(3 if n == 0 else 2):
            assert press_attach(device, wrong).status_code == 422
    res = press_attach(device, wrong)
    assert res.status_code == 429


def test_attached_to_several_clinics_sees_them_all(client: TestClient, rt: Runtime) -> None:
    log_in(client, rt, PHONE)
    _attached(client, rt, "Clinic North", "N-1")
    _attached(client, rt, "Clinic South", "S-1")
    home = client.get("/cabinet?lang=en").text
    assert "Clinic North" in home and "Clinic South" in home
    fields = hidden(client)
    with rt.transaction() as session:
        link = session.scalars(select(PatientLink).order_by(PatientLink.attached_at)).first()
        assert link is not None
    res = client.post(f"/cabinet/links/{link.id}/detach", data=fields)
    assert res.status_code == 200 and "You are no longer attached to Clinic North" in res.text
    assert "patient.detached" in _events(rt, link.organization_id)


# -- documents ------------------------------------------------------------------------


def test_patient_signs_in_the_cabinet(client: TestClient, rt: Runtime) -> None:
    log_in(client, rt, PHONE)
    org_id, headers = _attached(client, rt, "Clinic Sign", "C-1")
    doc = upload(client, headers, title="Rules of the clinic")
    env = create_envelope(
        client, headers, doc["id"], patient(method="cabinet", patient_mis_id="C-1", phone=PHONE)
    )
    sms_doc = upload(client, headers, title="Consent by SMS")
    sms_env = create_envelope(client, headers, sms_doc["id"], patient(patient_mis_id="C-1"))
    drain(rt)
    home = client.get("/cabinet?lang=en").text
    assert "Rules of the clinic" in home and "Consent by SMS" in home
    assert home.count(">Sign<") == 2
    assert f"/s/{sms_env['signers'][0]['signing_url'].rsplit('/', 1)[1]}" in home
    signer_id = env["signers"][0]["id"]
    fields = hidden(client, f"/cabinet/documents/{signer_id}?lang=en")
    res = client.post(f"/cabinet/documents/{signer_id}/sign", data=fields)
    assert res.status_code == 303, res.text
    res = client.post(f"/cabinet/documents/{signer_id}/sign", data=fields)
    assert res.status_code == 409 and "already signed" in res.text
    drain(rt)
    state = client.get(f"/api/v1/envelopes/{env['id']}", headers=headers).json()
    assert state["status"] == "completed"
    report = validated_pdf(client, rt, headers, env["id"])
    assert report.valid and len(report.signatures) == 1
    evidence = report.signatures[0].evidence
    assert evidence is not None and evidence["method"] == "cabinet"
    with rt.transaction() as session:
        cab = session.scalars(select(CabinetSession)).one()
    assert evidence["cabinet_session"]["id"] == cab.id
    assert evidence["cabinet_session"]["contact"] == "+7999***4567"
    page = client.get(f"/cabinet/documents/{signer_id}?lang=en").text
    assert "Download the signed" in page or "signed.pdf" in page
    signed = client.get(f"/cabinet/documents/{signer_id}/signed.pdf")
    assert signed.status_code == 200 and signed.content.startswith(b"%PDF")
    assert client.get(f"/cabinet/documents/{signer_id}/evidence.json").json()["method"] == "cabinet"
    assert "envelope.completed" in _events(rt, org_id)
    # another device that is not logged in, and another patient's cabinet, see nothing
    stranger = TestClient(create_app(runtime=rt, migrate=False), follow_redirects=False)
    assert stranger.get(f"/cabinet/documents/{signer_id}/signed.pdf").status_code == 303
    log_in(stranger, rt, "+79990001111")
    assert stranger.get(f"/cabinet/documents/{signer_id}").status_code == 404
    assert stranger.get(f"/cabinet/documents/{signer_id}/signed.pdf").status_code == 404


def test_the_signing_link_of_a_cabinet_signer_points_to_the_cabinet(
    client: TestClient, rt: Runtime
) -> None:
    _, headers = new_org(rt)
    put_patient(client, headers, "L-1")
    doc = upload(client, headers)
    env = create_envelope(
        client, headers, doc["id"], patient(method="cabinet", patient_mis_id="L-1", phone=PHONE)
    )
    url = env["signers"][0]["signing_url"]
    page = client.get(url.replace("http://testserver", "") + "?lang=en")
    assert "signed in your patient cabinet" in page.text
    drain(rt)
    nobody = {"role": "patient", "name": "Nobody", "method": "cabinet"}
    res = client.post(
        "/api/v1/envelopes", headers=headers, json={"document_id": doc["id"], "signers": [nobody]}
    )
    assert res.status_code == 422 and "patient_mis_id" in res.json()["detail"]


def test_a_document_addressed_to_the_contact_shows_only_in_attached_clinics(
    client: TestClient, rt: Runtime
) -> None:
    log_in(client, rt, PHONE)
    _, headers = _attached(client, rt, "Clinic Mine", "M-1")
    _, stranger = new_org(rt, "Clinic Stranger")
    mine = upload(client, headers, title="Addressed to my phone")
    env = create_envelope(client, headers, mine["id"], patient(method="cabinet", phone=PHONE))
    theirs = upload(client, stranger, title="From a clinic I never attached to")
    other = create_envelope(client, stranger, theirs["id"], patient(method="cabinet", phone=PHONE))
    home = client.get("/cabinet?lang=en").text
    assert "Addressed to my phone" in home and "never attached" not in home
    other_id = other["signers"][0]["id"]
    assert client.get(f"/cabinet/documents/{other_id}").status_code == 404
    res = client.post(f"/cabinet/documents/{other_id}/sign", data=hidden(client))
    assert res.status_code == 404
    signer_id = env["signers"][0]["id"]
    res = client.post(f"/cabinet/documents/{signer_id}/sign", data=hidden(client))
    assert res.status_code == 303, res.text
    drain(rt)
    assert client.get(f"/api/v1/envelopes/{env['id']}", headers=headers).json()["status"] == (
        "completed"
    )


# -- the user agreement ---------------------------------------------------------------


def test_first_login_shows_the_agreement_and_accepting_signs_it(
    client: TestClient, rt: Runtime
) -> None:
    org_id, headers = new_org(rt, "Clinic Terms")
    contract = upload(client, headers, kind="contract", title="A contract")
    res = client.put(
        "/api/v1/cabinet/settings",
        headers=headers,
        json={"user_agreement_document_id": contract["id"]},
    )
    assert res.status_code == 422 and "user_agreement" in res.json()["detail"]
    terms = upload(client, headers, title="Terms of the cabinet")
    res = client.put(
        "/api/v1/cabinet/settings",
        headers=headers,
        json={"user_agreement_document_id": terms["id"]},
    )
    assert res.status_code == 200
    put_patient(client, headers, "T-1")
    log_in(client, rt, PHONE)
    home = client.get("/cabinet?lang=en").text
    assert "Clinic Terms: user agreement" in home and ">Accept<" in home
    pdf = client.get(f"/cabinet/agreements/{org_id}/agreement.pdf")
    assert pdf.status_code == 200 and pdf.content.startswith(b"%PDF")
    fields = hidden(client)
    res = client.post(f"/cabinet/agreements/{org_id}/accept", data=fields)
    assert res.status_code == 200 and "the agreement with Clinic Terms is accepted" in res.text
    assert ">Accept<" not in res.text
    res = client.post(f"/cabinet/agreements/{org_id}/accept", data=fields)
    assert res.status_code == 404  # nothing left to accept
    drain(rt)
    with rt.transaction() as session:
        acceptance = session.scalars(select(AgreementAcceptance)).one()
    state = client.get(f"/api/v1/envelopes/{acceptance.envelope_id}", headers=headers).json()
    assert state["status"] == "completed"
    assert state["signers"][0]["method"] == "cabinet"
    report = validated_pdf(client, rt, headers, acceptance.envelope_id)
    assert report.valid and report.signatures[0].evidence is not None
    assert report.signatures[0].evidence["document"]["kind"] == "user_agreement"
    assert "envelope.completed" in _events(rt, org_id)


# -- "Documents": files shared with a clinic ------------------------------------------


def test_patient_shares_a_file_with_a_clinic(client: TestClient, rt: Runtime) -> None:
    log_in(client, rt, PHONE)
    org_id, headers = _attached(client, rt, "Clinic Files", "F-1")
    _, other_headers = new_org(rt, "Clinic Other")
    page = client.get("/cabinet/files?lang=en")
    assert ">Documents<" in page.text and ">Share<" in page.text
    fields = hidden(client, "/cabinet/files?lang=en")
    with rt.transaction() as session:
        link = session.scalars(select(PatientLink)).one()
    res = client.post(
        "/cabinet/files",
        data={**fields, "clinic": link.id, "title": "Lab results"},
        files={"file": ("labs.pdf", make_pdf(), "application/pdf")},
    )
    assert (
        res.status_code == 200 and "Sent to Clinic Files" in res.text and "Lab results" in res.text
    )
    with rt.transaction() as session:
        event = session.scalars(select(Event).where(Event.type == "patient.file_shared")).one()
    assert event.data["patient_mis_id"] == "F-1"
    document_id = event.data["document_id"]
    pdf = client.get(f"/api/v1/documents/{document_id}/pdf", headers=headers)
    assert pdf.status_code == 200 and pdf.content.startswith(b"%PDF")
    assert (
        client.get(f"/api/v1/documents/{document_id}/pdf", headers=other_headers).status_code == 404
    )
    res = client.post(
        "/cabinet/files",
        data={**fields, "clinic": link.id, "title": "Junk"},
        files={"file": ("junk.pdf", b"not a pdf at all", "application/pdf")},
    )
    assert 400 <= res.status_code < 500 and 'role="alert"' in res.text
    res = client.post(
        "/cabinet/files",
        data={**fields, "clinic": "someone-elses-link", "title": "X"},
        files={"file": ("x.pdf", make_pdf(), "application/pdf")},
    )
    assert res.status_code == 404
    assert _events(rt, org_id).count("patient.file_shared") == 1


def test_https_cookie_is_secure_and_forms_need_the_session_token(rt: Runtime) -> None:
    rt.settings.public_url = "https://testserver"
    app = create_app(runtime=rt, migrate=False)
    with TestClient(app, base_url="https://testserver", follow_redirects=False) as client:
        res = log_in(client, rt, PHONE)
        assert "Secure" in res.headers["set-cookie"]
        _, headers = new_org(rt, "Clinic Forged")
        put_patient(client, headers, "X-1")
        code = attach_code(client, headers, "X-1")
        res = client.post("/cabinet/attach", data={"code": code, "lang": "en"})
        assert res.status_code == 303  # no token: back to the cabinet, nothing done
        res = client.post("/cabinet/attach", data={"code": code, "csrf": "forged", "lang": "en"})
        assert res.status_code == 303
        with rt.transaction() as session:
            assert session.scalars(select(PatientLink)).first() is None
        assert press_attach(client, code).status_code == 200


def test_the_mis_hears_of_it_by_signed_webhooks(client: TestClient, rt: Runtime) -> None:
    rt.settings.webhook_allow_private = True
    org_id, headers = new_org(rt, "Clinic Hooks")
    terms = upload(client, headers, title="Terms")
    client.put(
        "/api/v1/cabinet/settings",
        headers=headers,
        json={"user_agreement_document_id": terms["id"]},
    )
    with WebhookReceiver() as receiver:
        res = client.post(
            "/api/v1/webhooks", headers=headers, json={"url": receiver.url, "events": ["*"]}
        )
        assert res.status_code == 201, res.text
        receiver.secrets.append(res.json()["secret"])
        put_patient(client, headers, "H-1")
        log_in(client, rt, PHONE)
        assert press_attach(client, attach_code(client, headers, "H-1")).status_code == 200
        fields = hidden(client)
        assert client.post(f"/cabinet/agreements/{org_id}/accept", data=fields).status_code == 200
        with rt.transaction() as session:
            link = session.scalars(select(PatientLink)).one()
        res = client.post(
            "/cabinet/files",
            data={**fields, "clinic": link.id, "title": "Scan"},
            files={"file": ("scan.pdf", make_pdf(), "application/pdf")},
        )
        assert res.status_code == 200
        assert client.delete("/api/v1/patients/H-1/attachment", headers=headers).status_code == 204
        drain(rt)
        drain(rt)
        got = {m.type: m for m in receiver.unique}
    for kind in (
        "patient.attached",
        "envelope.completed",
        "patient.file_shared",
        "patient.detached",
    ):
        assert kind in got, sorted(got)
    assert got["patient.attached"].body["data"]["patient_mis_id"] == "H-1"
    assert got["patient.detached"].body["data"]["by"] == "mis"


def test_old_codes_sessions_and_failures_are_purged(
    client: TestClient, rt: Runtime, clock: FrozenClock
) -> None:
    log_in(client, rt, PHONE)
    press_attach(client, "000000000")
    other = TestClient(create_app(runtime=rt, migrate=False), follow_redirects=False)
    log_in(other, rt, "+79990002222")
    clock.advance(days=2)
    periodic(rt)  # the worker's housekeeping sweep
    with rt.transaction() as session:
        assert session.scalars(select(CabinetLoginCode)).first() is None  # contacts gone
        assert len(session.scalars(select(CabinetSession)).all()) == 2  # still logged in
        assert len(session.scalars(select(AttachFailure)).all()) == 1
    client.post("/cabinet/devices/end-all", data=hidden(client, "/cabinet/devices?lang=en"))
    clock.advance(days=31)
    periodic(rt)
    with rt.transaction() as session:
        assert session.scalars(select(AttachFailure)).first() is None
        assert len(session.scalars(select(CabinetSession)).all()) == 1  # the other device
    clock.advance(days=30)
    periodic(rt)
    with rt.transaction() as session:
        assert session.scalars(select(CabinetSession)).first() is None  # idle for too long
