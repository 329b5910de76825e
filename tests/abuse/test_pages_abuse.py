"""[harden] points 2, 3, 5 and 6: closed links, the dev outbox, a locked-out signer,
and the headers every public page must carry."""

from __future__ import annotations

from fastapi.testclient import TestClient
from sqlalchemy import select

from medsign.audit.models import AuditEvent
from medsign.runtime import Runtime
from medsign.web.app import create_app
from tests.support.api import create_envelope, new_org, patient, upload
from tests.support.clock import FrozenClock
from tests.support.pages import form_fields, latest_code, path_of, request_code
from tests.support.worker import drain

PDF_MAGIC = b"%PDF-"


def _envelope(client: TestClient, rt: Runtime) -> tuple[dict[str, str], str, str]:
    _, headers = new_org(rt)
    doc = upload(client, headers, title="Secret diagnosis")
    env = create_envelope(client, headers, doc["id"], patient(name="Иванова Мария"))
    return headers, env["id"], path_of(env["signers"][0]["signing_url"])


def _shows_nothing(client: TestClient, path: str) -> None:
    for suffix in ("", "/document.pdf", "/signed.pdf"):
        res = client.get(f"{path}{suffix}?lang=en")
        assert res.status_code == 410, (suffix, res.status_code)
        assert not res.content.startswith(PDF_MAGIC)
        assert "Secret diagnosis" not in res.text and "Иванова" not in res.text
        assert "no-store" in res.headers["cache-control"]


def test_a_voided_envelope_shows_no_document_and_no_name(client: TestClient, rt: Runtime) -> None:
    headers, env_id, path = _envelope(client, rt)
    assert client.get(f"{path}/document.pdf").content.startswith(PDF_MAGIC)  # while open
    res = client.post(f"/api/v1/envelopes/{env_id}/void", headers=headers, json={"reason": "x"})
    assert res.status_code == 200
    _shows_nothing(client, path)


def test_an_expired_envelope_shows_no_document_and_no_name(
    client: TestClient, rt: Runtime, clock: FrozenClock
) -> None:
    _, _, path = _envelope(client, rt)
    clock.advance(days=rt.settings.envelope_ttl_days + 1)  # expired, before the sweep runs
    _shows_nothing(client, path)
    drain(rt)  # the expiry job ends the envelope: still nothing
    _shows_nothing(client, path)


def test_dev_outbox_needs_enabling_and_no_proxy_in_between(client: TestClient, rt: Runtime) -> None:
    _, _, path = _envelope(client, rt)
    request_code(client, path)
    drain(rt)
    assert not rt.settings.enable_dev_outbox  # off by default
    assert client.get("/dev/outbox").status_code == 404
    rt.settings.enable_dev_outbox = True
    assert "+79991234567" in client.get("/dev/outbox").text
    for header in ("Forwarded", "X-Forwarded-For", "X-Real-IP", "X-Forwarded-Proto"):
        res = client.get("/dev/outbox", headers={header: "127.0.0.1"})
        assert res.status_code == 404 and "+7999" not in res.text
    rt.settings.smtp_url = "smtp://127.0.0.1:9"  # type: ignore[assignment]
    assert client.get("/dev/outbox").status_code == 404  # only when no real channel is set


def _codes_until_locked(client: TestClient, rt: Runtime, clock: FrozenClock, path: str) -> None:
    for _ in range(rt.settings.otp_max_sends):
        assert request_code(client, path).status_code == 303
        clock.advance(seconds=rt.settings.otp_resend_interval_seconds + 1)


def test_a_locked_out_signer_is_rescued_by_the_clinics_resend(
    client: TestClient, rt: Runtime, clock: FrozenClock
) -> None:
    headers, env_id, path = _envelope(client, rt)
    _codes_until_locked(client, rt, clock, path)
    locked = request_code(client, path)
    assert locked.status_code == 429 and int(locked.headers["retry-after"]) > 0  # HTML 429
    assert "new link" in locked.text
    signer_id = client.get(f"/api/v1/envelopes/{env_id}", headers=headers).json()["signers"][0]
    res = client.post(
        f"/api/v1/envelopes/{env_id}/signers/{signer_id['id']}/resend", headers=headers
    )
    assert res.status_code == 200, res.text
    assert request_code(client, path).status_code == 303  # a fresh allowance
    drain(rt)
    fields = form_fields(client.get(path).text)
    code = latest_code(rt, "+79991234567")
    signed = client.post(f"{path}/sign", data={**fields, "code": code})
    assert signed.status_code == 303
    with rt.transaction() as session:
        kinds = session.scalars(select(AuditEvent.action)).all()
    assert "signer.codes_renewed" in kinds


def test_renewals_cannot_exceed_the_per_contact_cap_across_links(
    client: TestClient, rt: Runtime, clock: FrozenClock
) -> None:
    rt.settings.otp_max_sends_per_contact = 7
    headers, env_id, path = _envelope(client, rt)
    signer_id = client.get(f"/api/v1/envelopes/{env_id}", headers=headers).json()["signers"][0]
    resend = f"/api/v1/envelopes/{env_id}/signers/{signer_id['id']}/resend"
    _codes_until_locked(client, rt, clock, path)  # 5 codes
    assert client.post(resend, headers=headers).status_code == 200
    _, _, other = _envelope(client, rt)  # another link to the same phone
    for p in (path, other):
        assert request_code(client, p).status_code == 303  # 6 and 7
        clock.advance(seconds=rt.settings.otp_resend_interval_seconds + 1)
    for p in (path, other):
        capped = request_code(client, p)
        assert capped.status_code == 429 and int(capped.headers["retry-after"]) > 3600
    clock.advance(hours=25)
    assert request_code(client, other).status_code == 303  # the window moved on


def test_hsts_only_on_https_and_signing_pages_are_not_stored(
    client: TestClient, rt: Runtime
) -> None:
    _, _, path = _envelope(client, rt)
    page = client.get(path)
    assert page.status_code == 200 and "no-store" in page.headers["cache-control"]
    assert "strict-transport-security" not in client.get("/").headers
    rt.settings.public_url = "https://sign.example.org"
    with TestClient(create_app(runtime=rt, migrate=False)) as secure:
        hsts = secure.get("/").headers["strict-transport-security"]
    assert "max-age=31536000" in hsts
