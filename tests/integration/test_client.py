"""The Python SDK (``medsign.client``): sync over real HTTP, async over ASGI, webhooks."""

from __future__ import annotations

import asyncio
import json
import threading
import time
from pathlib import Path

import httpx
import pytest
from sqlalchemy import func, select

from medsign.client import (
    ApiError,
    AsyncMedsignClient,
    MedsignClient,
    WebhookVerificationError,
    verify_webhook,
)
from medsign.envelopes.models import Envelope
from medsign.runtime import Runtime
from medsign.web.app import create_app
from medsign.webhooks.signing import headers_for
from tests.support.api import new_org, patient
from tests.support.pdfs import make_pdf


class LoseFirstAnswer(httpx.HTTPTransport):
    """Sends each request, but "loses" the answer of the first POST (a network cut)."""

    def __init__(self) -> None:
        super().__init__()
        self.lost = 0
        self.keys: list[str] = []

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        response = super().handle_request(request)
        if request.method == "POST":
            self.keys.append(request.headers["idempotency-key"])
            if self.lost == 0:
                self.lost += 1
                response.read()
                raise httpx.ReadError("connection reset", request=request)
        return response


def _envelopes(rt: Runtime) -> int:
    with rt.transaction() as session:
        return int(session.scalar(select(func.count()).select_from(Envelope)) or 0)


def test_sync_client_round_trip_and_safe_retries(served: str, rt: Runtime, tmp_path: Path) -> None:
    _, headers = new_org(rt)
    token = headers["Authorization"].removeprefix("Bearer ")
    pdf = tmp_path / "consent.pdf"
    pdf.write_bytes(make_pdf())
    with MedsignClient(served, token) as api:
        doc = api.upload_document([pdf], title="Agreement", kind="user_agreement")
        assert doc["pages"] == 1
    transport = LoseFirstAnswer()
    with MedsignClient(served, token, transport=transport) as api:
        api.retries = 2
        env = api.create_envelope(doc["id"], [patient()])
        assert transport.keys[0] == transport.keys[1]  # the retry reused the key ...
        assert _envelopes(rt) == 1  # ... so the envelope exists once
        assert api.get_envelope(env["id"])["status"] == "sent"
        assert [e["id"] for e in api.iter_envelopes(limit=1)] == [env["id"]]
        assert api.void_envelope(env["id"], "test")["status"] == "voided"
        with pytest.raises(ApiError) as err:
            api.void_envelope(env["id"], "again")
        assert err.value.status == 409 and "conflict" in err.value.type
        pdf_bytes = api.envelope_pdf(env["id"])
        assert pdf_bytes.startswith(b"%PDF")
    with MedsignClient(served, "msk_wrong") as api, pytest.raises(ApiError) as err:
        api.list_webhooks()
    assert err.value.status == 401


def test_async_client(rt: Runtime) -> None:
    _, headers = new_org(rt)
    token = headers["Authorization"].removeprefix("Bearer ")
    rt.settings.webhook_allow_private = True

    async def scenario() -> None:
        transport = httpx.ASGITransport(app=create_app(runtime=rt, migrate=False))
        async with AsyncMedsignClient("http://medsign.test", token, transport=transport) as api:
            doc = await api.upload_document(
                [("a.pdf", make_pdf(), "application/pdf")], title="A", kind="user_agreement"
            )
            env = await api.create_envelope(doc["id"], [patient()])
            assert (await api.get_envelope(env["id"]))["id"] == env["id"]
            assert [e["id"] async for e in api.iter_envelopes(status="sent")] == [env["id"]]
            hook = await api.create_webhook("http://127.0.0.1:9/h", ["envelope.completed"])
            assert hook["secret"].startswith("whsec_")

    asyncio.run(scenario())


def test_verify_webhook_helper() -> None:
    secret = "whsec_" + "MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
    rotated = "whsec_" + "c2Vjb25kIHNlY3JldCBmb3IgdGhlIG92ZXJsYXAh"
    body = json.dumps({"type": "envelope.completed", "timestamp": "x", "data": {}}).encode()
    now = int(time.time())
    headers = headers_for([rotated, secret], "evt_1", now, body)
    assert verify_webhook(body, headers, secret)["type"] == "envelope.completed"
    assert verify_webhook(body.decode(), {k.upper(): v for k, v in headers.items()}, rotated)
    with pytest.raises(WebhookVerificationError):
        verify_webhook(body + b" ", headers, secret)
    with pytest.raises(WebhookVerificationError):
        verify_webhook(body, headers, "whsec_" + "b3RoZXIgc2VjcmV0IGtleSBmb3IgdGVzdHM=")
    old = headers_for([secret], "evt_1", now - 3600, body)
    with pytest.raises(WebhookVerificationError):
        verify_webhook(body, old, secret)
    assert verify_webhook(body, old, secret, tolerance=0)
    with pytest.raises(WebhookVerificationError):
        verify_webhook(body, {"webhook-id": "evt_1"}, secret)


def test_cli_send_and_wait(
    served: str, rt: Runtime, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from medsign.cli.main import main

    _, headers = new_org(rt)
    token = headers["Authorization"].removeprefix("Bearer ")
    pdf = tmp_path / "agreement.pdf"
    pdf.write_bytes(make_pdf())
    base = ["--url", served, "--token", token]
    code = main(["send", str(pdf), "--to", "+79991234567", "--name", "Maria", *base])
    assert code == 0
    sent = json.loads(capsys.readouterr().out)
    assert sent["status"] == "sent" and sent["signers"][0]["method"] == "sms_otp"

    def void_soon() -> None:
        time.sleep(0.5)
        with MedsignClient(served, token) as api:
            env_id = next(
                e["id"] for e in api.iter_envelopes(status="sent") if e["id"] != sent["id"]
            )
            api.void_envelope(env_id, "changed mind")

    threading.Thread(target=void_soon, daemon=True).start()
    code = main(
        [
            "send",
            str(pdf),
            "--to",
            "maria@example.com",
            "--name",
            "Maria",
            "--wait",
            "--interval",
            "0.1",
            "--timeout",
            "20",
            *base,
        ]
    )
    captured = capsys.readouterr()
    assert code == 1
    assert json.loads(captured.out)["status"] == "voided"
    assert "sent: 0/1 signed" in captured.err and "voided" in captured.err
    assert main(["send", str(tmp_path / "missing.pdf"), "--to", "x@y.z", "--name", "M", *base]) == 2
