"""``medsign serve --workers 2``: two web processes (each with its in-process worker)
answer and carry a patient's SMS signing through to the sealed PDF, on SQLite (one
file, migrated once before the processes start) and PostgreSQL."""

from __future__ import annotations

import re
from pathlib import Path
from urllib.parse import urlsplit

import httpx
import pytest

from tests.e2e.conftest import SERVED_DB_KINDS
from tests.e2e.test_browser_signing import new_phone, signer, sms_code, sms_invitation
from tests.support.pdfs import make_pdf
from tests.support.served import serve_with_peers

pytestmark = pytest.mark.e2e


@pytest.mark.parametrize("kind", SERVED_DB_KINDS)
def test_two_web_processes_complete_a_signing(kind: str, tmp_path: Path) -> None:
    # a loaded machine may take long to import the app twice
    with serve_with_peers(
        tmp_path, kind, args=["--workers", "2"], start_timeout=120, derive_public_url=True
    ) as served:
        app, sms = served.app, served.sms
        phone = new_phone()
        doc = app.upload(make_pdf(pages=1))
        env = app.create_envelope(doc["id"], signer("Иванова Мария", "sms_otp", phone=phone))
        link = sms_invitation(sms, phone)
        assert link.startswith(app.url)  # the public URL serve derived reached the children
        path = urlsplit(link).path
        with httpx.Client(base_url=app.url, timeout=30) as client:
            html = client.get(path).text
            form = dict(re.findall(r'<input type="hidden" name="(\w+)" value="([^"]*)"', html))
            assert client.post(f"{path}/code", data={"csrf": form["csrf"]}).status_code == 303
            code = sms_code(sms, phone)
            signed = client.post(f"{path}/sign", data={**form, "code": code})
            assert signed.status_code == 303, signed.text
        state = app.wait_for_envelope(env["id"], "completed", timeout=60)
        assert [s["status"] for s in state["signers"]] == ["signed"]
        assert app.envelope_pdf(env["id"]).count(b"/ETSI.CAdES.detached") == 1
        output = app.output()
        started = re.findall(r"Started server process \[(\d+)\]", output)
        assert len(set(started)) == 2, app.output_tail()
        # each web process redacts signing links (bearer tokens) in its access log
        assert "/s/***" in output and path not in output
