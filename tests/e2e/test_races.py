"""Races with real parallel HTTP requests against medsign served as a process, on
SQLite and PostgreSQL: two tabs pressing "Sign" at once, a second signer racing the
first in a sequential envelope, void racing completion (issue [workflow])."""

from __future__ import annotations

import re
import threading
from collections.abc import Callable
from urllib.parse import urlsplit

import httpx
import pytest

from tests.e2e.test_browser_signing import new_phone, signer, sms_code, sms_invitation
from tests.support.pdfs import make_pdf
from tests.support.served import ServedStack

pytestmark = pytest.mark.e2e


def _form(client: httpx.Client, path: str) -> dict[str, str]:
    html = client.get(path).text
    return dict(re.findall(r'<input type="hidden" name="(\w+)" value="([^"]*)"', html))


def _at_once(calls: list[Callable[[], httpx.Response]]) -> list[httpx.Response]:
    """Run ``calls`` in threads released together; return their responses in order."""
    barrier = threading.Barrier(len(calls))
    results: list[httpx.Response | None] = [None] * len(calls)

    def run(i: int) -> None:
        barrier.wait()
        results[i] = calls[i]()

    threads = [threading.Thread(target=run, args=(i,)) for i in range(len(calls))]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert all(r is not None for r in results)
    return [r for r in results if r is not None]


def test_two_tabs_press_sign_at_once(served_each_db: ServedStack) -> None:
    app, sms = served_each_db.app, served_each_db.sms
    phone = new_phone()
    doc = app.upload(make_pdf(pages=1))
    env = app.create_envelope(doc["id"], signer("Иванова Мария", "sms_otp", phone=phone))
    path = urlsplit(sms_invitation(sms, phone)).path
    with (
        httpx.Client(base_url=app.url, timeout=30) as tab1,
        httpx.Client(base_url=app.url, timeout=30) as tab2,
    ):
        form = _form(tab1, path)
        assert tab1.post(f"{path}/code", data={"csrf": form["csrf"]}).status_code == 303
        code = sms_code(sms, phone)
        presses = _at_once(
            [
                lambda: tab1.post(f"{path}/sign", data={**form, "code": code}),
                lambda: tab2.post(f"{path}/sign", data={**form, "code": code}),
                lambda: tab2.post(f"{path}/sign", data={**form, "code": code}),
            ]
        )
    assert all(r.status_code in (303, 409) for r in presses), [r.status_code for r in presses]
    state = app.wait_for_envelope(env["id"], "completed")
    assert [s["status"] for s in state["signers"]] == ["signed"]
    pdf = app.envelope_pdf(env["id"])
    assert pdf.count(b"/ETSI.CAdES.detached") == 1  # signed once, sealed once


def test_second_signer_cannot_overtake_the_first(served_each_db: ServedStack) -> None:
    app, sms = served_each_db.app, served_each_db.sms
    first_phone, second_phone = new_phone(), new_phone()
    doc = app.upload(make_pdf(pages=1))
    env = app.create_envelope(
        doc["id"],
        signer("First", "sms_otp", 1, phone=first_phone),
        signer("Second", "sms_otp", 2, phone=second_phone),
    )
    first_path = urlsplit(sms_invitation(sms, first_phone)).path
    second_path = urlsplit(env["signers"][1]["signing_url"]).path
    with httpx.Client(base_url=app.url, timeout=30) as client:
        form = _form(client, first_path)
        client.post(f"{first_path}/code", data={"csrf": form["csrf"]})
        code = sms_code(sms, first_phone)
        first, second_code, second_sign = _at_once(
            [
                lambda: client.post(f"{first_path}/sign", data={**form, "code": code}),
                lambda: client.post(f"{second_path}/code", data={"csrf": form["csrf"]}),
                lambda: client.post(f"{second_path}/sign", data={**form, "code": code}),
            ]
        )
    assert first.status_code == 303
    # Whatever the interleaving, the second signer could not act before their turn.
    assert second_code.status_code in (409, 422), second_code.status_code
    assert second_sign.status_code in (409, 422), second_sign.status_code
    state = app.envelope(env["id"])
    assert state["signers"][1]["status"] in ("waiting", "notified")
    assert state["signers"][1]["signed_at"] is None


def test_void_racing_the_last_signature(served_each_db: ServedStack) -> None:
    app, sms = served_each_db.app, served_each_db.sms
    phone = new_phone()
    doc = app.upload(make_pdf(pages=1))
    env = app.create_envelope(doc["id"], signer("Иванова Мария", "sms_otp", phone=phone))
    path = urlsplit(sms_invitation(sms, phone)).path
    with httpx.Client(base_url=app.url, timeout=30) as client:
        form = _form(client, path)
        client.post(f"{path}/code", data={"csrf": form["csrf"]})
        code = sms_code(sms, phone)
        sign, void = _at_once(
            [
                lambda: client.post(f"{path}/sign", data={**form, "code": code}),
                lambda: app.http.post(
                    f"/api/v1/envelopes/{env['id']}/void",
                    headers=app.headers,
                    json={"reason": "race"},
                ),
            ]
        )
    assert sign.status_code in (303, 409, 410), sign.status_code
    assert void.status_code in (200, 409), void.text
    final = app.envelope(env["id"])
    status = final["signers"][0]["status"]
    if void.status_code == 200:
        # Void took the envelope while it was open; a signature that got in first stays
        # recorded as signed, one that came later was refused.
        assert final["status"] == "voided"
        assert status == ("signed" if sign.status_code == 303 else "cancelled")
    else:
        assert sign.status_code == 303 and status == "signed"
        app.wait_for_envelope(env["id"], "completed")
    late = app.http.post(
        f"/api/v1/envelopes/{env['id']}/void", headers=app.headers, json={"reason": "late"}
    )
    assert late.status_code == 409  # void of a voided or completed envelope is refused
