"""Many patients at once through the whole flow, over real HTTP, on SQLite and
PostgreSQL: no 5xx, nothing lost, and the audit log verifies afterwards (issue [scale]:
four uploads at once in one organization used to deadlock on PostgreSQL)."""

from __future__ import annotations

import json
import re
import subprocess
import uuid
from concurrent.futures import ThreadPoolExecutor
from urllib.parse import urlsplit

import httpx
import pytest

from tests.e2e.test_browser_signing import new_phone, signer, sms_code, sms_invitation
from tests.support.pdfs import make_pdf
from tests.support.served import ServedStack, add_org, medsign_command

pytestmark = pytest.mark.e2e

FLOWS = 24


def _flow(stack: ServedStack, token: str, pdf: bytes) -> str:
    """Upload, send, ask for a code, sign: every answer checked; returns the envelope id."""
    app, sms = stack.app, stack.sms
    auth = {"Authorization": f"Bearer {token}"}
    phone = new_phone()
    with httpx.Client(base_url=app.url, timeout=60) as http:
        up = http.post(
            "/api/v1/documents",
            headers=auth,
            files={"files": ("doc.pdf", pdf, "application/pdf")},
            data={"title": "Consent", "kind": "user_agreement"},
        )
        assert up.status_code == 201, up.text
        env = http.post(
            "/api/v1/envelopes",
            headers={**auth, "Idempotency-Key": str(uuid.uuid4())},
            json={
                "document_id": up.json()["id"],
                "signers": [signer("Пациент Тестовый", "sms_otp", phone=phone)],
            },
        )
        assert env.status_code == 201, env.text
        path = urlsplit(sms_invitation(sms, phone)).path
        page = http.get(path)
        assert page.status_code == 200, page.text
        form = dict(re.findall(r'<input type="hidden" name="(\w+)" value="([^"]*)"', page.text))
        sent = http.post(f"{path}/code", data={"csrf": form["csrf"]})
        assert sent.status_code == 303, sent.text
        signed = http.post(f"{path}/sign", data={**form, "code": sms_code(sms, phone)})
        assert signed.status_code == 303, signed.text
        envelope_id: str = env.json()["id"]
        return envelope_id


def test_many_patients_sign_at_once(served_each_db: ServedStack) -> None:
    app = served_each_db.app
    _, other_token = add_org(app, "Clinic Two")
    pdf = make_pdf(pages=1)
    tokens = [app.token] * (FLOWS - FLOWS // 4) + [other_token] * (FLOWS // 4)
    with ThreadPoolExecutor(max_workers=FLOWS) as pool:
        ids = list(pool.map(lambda t: _flow(served_each_db, t, pdf), tokens))
    for envelope_id in ids[: FLOWS - FLOWS // 4]:
        app.wait_for_envelope(envelope_id, "completed")
    assert len(set(ids)) == FLOWS
    # The audit log holds every event of all of it and verifies.
    run = [*medsign_command(), "audit"]
    cwd = app.data_dir.parent
    done = subprocess.run(
        [*run, "checkpoint"], env=app.env, cwd=cwd, capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr
    check = subprocess.run(
        [*run, "verify"], env=app.env, cwd=cwd, capture_output=True, text=True, timeout=120
    )
    assert check.returncode == 0, check.stdout + check.stderr
    log = json.loads(check.stdout.splitlines()[0])
    assert log["intact"] and log["tree_size"] >= FLOWS * 6 and log["unsequenced"] <= FLOWS
    assert " 500 " not in app.output()


def test_the_same_new_patient_from_many_requests_at_once(served_each_db: ServedStack) -> None:
    """Upserts and envelopes naming one unknown MIS patient race to create it: one
    patient, every request answered 2xx (the loser of the insert takes the winner's)."""
    app = served_each_db.app
    doc = app.upload(make_pdf(pages=1))
    mis_id = f"race-{uuid.uuid4().hex[:8]}"

    def upsert(_: int) -> httpx.Response:
        return app.http.post(
            "/api/v1/patients",
            headers=app.headers,
            json={"mis_id": mis_id, "name": "Пациент Гонки", "phone": "+79990000001"},
        )

    def envelope(_: int) -> httpx.Response:
        person = signer("Пациент Гонки", "sms_otp", phone="+79990000001")
        return app.http.post(
            "/api/v1/envelopes",
            headers=app.headers,
            json={"document_id": doc["id"], "signers": [{**person, "patient_mis_id": mis_id}]},
        )

    with ThreadPoolExecutor(max_workers=16) as pool:
        answers = list(pool.map(upsert, range(8))) + list(pool.map(envelope, range(8)))
    assert all(r.status_code in (200, 201) for r in answers), [
        (r.status_code, r.text[:200]) for r in answers if r.status_code >= 300
    ]
    assert app.http.get(f"/api/v1/patients/{mis_id}", headers=app.headers).status_code == 200
