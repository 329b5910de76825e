"""The other SMS backends and Telegram, from the queued message to the delivery report:
the HTTP gateway's signed reports, SMS.ru's callbacks, and a Telegram chat linked by a
``/start`` deep link (issue [notify] point 1)."""

from __future__ import annotations

import base64
import secrets
from collections.abc import Iterator
from typing import Any
from urllib.parse import urlsplit

import pytest
from fastapi.testclient import TestClient
from pydantic import SecretStr

from medsign.notify.models import NotificationMessage
from medsign.notify.outbound import Recipient, queue_message
from medsign.notify.service import telegram_webhook_secret
from medsign.patients.models import Patient
from medsign.runtime import Runtime
from medsign.settings import Settings
from medsign.web.app import create_app
from tests.integration.notify.conftest import wired_runtime
from tests.support.api import new_org
from tests.support.clock import FrozenClock
from tests.support.sms_gateway import SmsGateway
from tests.support.sms_providers import SmsRuPeer
from tests.support.telegram_bot_api import BotApi
from tests.support.worker import drain

PHONE = "+79990000001"


@pytest.fixture
def make_app(rt: Runtime, settings: Settings, clock: FrozenClock, keys_dir: Any) -> Iterator[Any]:
    opened: list[tuple[Runtime, TestClient]] = []

    def make(**changes: Any) -> tuple[Runtime, TestClient]:
        runtime = wired_runtime(settings, clock, keys_dir, **changes)
        client = TestClient(create_app(runtime=runtime, migrate=False), follow_redirects=False)
        client.__enter__()
        opened.append((runtime, client))
        return runtime, client

    yield make
    for runtime, client in opened:
        client.__exit__(None, None, None)
        runtime.close()


def _queue(rt: Runtime, org_id: str, channels: list[str], key: str = "k1") -> str:
    with rt.transaction() as session:
        patient = Patient(organization_id=org_id, mis_id=key, name="Али", phone=PHONE)
        session.add(patient)
        session.flush()
        return queue_message(
            session,
            organization_id=org_id,
            recipient=Recipient(patient_id=patient.id),
            text="نوبت شما فردا ساعت ۱۰ است",
            channels=channels,
            idempotency_key=key,
            now=rt.clock(),
        )


def _status(client: TestClient, headers: dict[str, str], message_id: str) -> str:
    status: str = client.get(f"/api/v1/notifications/{message_id}", headers=headers).json()[
        "status"
    ]
    return status


def test_gateway_reports_are_signed_standard_webhooks(make_app: Any) -> None:
    secret = "whsec_" + base64.b64encode(secrets.token_bytes(32)).decode()
    with SmsGateway() as gateway:
        rt, client = make_app(sms_url=gateway.url, sms_callback_secret=SecretStr(secret))
        org_id, headers = new_org(rt)
        message_id = _queue(rt, org_id, ["sms"])
        drain(rt)
        (sms,) = gateway.messages
        assert sms.callback_url == "http://testserver/api/v1/notifications/callbacks/sms"
        assert _status(client, headers, message_id) == "sent"
        wrong = "whsec_" + base64.b64encode(secrets.token_bytes(32)).decode()
        url, body, forged = gateway.delivery_report(sms.id, "failed", wrong)
        assert client.post(urlsplit(url).path, content=body, headers=forged).status_code == 403
        url, body, signed = gateway.delivery_report(sms.id, "delivered", secret)
        assert client.post(urlsplit(url).path, content=b"{}", headers=signed).status_code == 403
        assert client.post(urlsplit(url).path, content=body, headers=signed).status_code == 204
        assert _status(client, headers, message_id) == "delivered"
        unknown = gateway.delivery_report(sms.id, "delivered", secret)
        assert (
            client.post(urlsplit(url).path, content=unknown[1], headers=unknown[2]).status_code
            == 204
        )


def test_smsru_callbacks_drive_the_message(make_app: Any) -> None:
    with SmsRuPeer() as smsru:
        rt, client = make_app(sms_url=smsru.sms_url, sms_token=SecretStr(smsru.api_id))
        org_id, headers = new_org(rt)
        first = _queue(rt, org_id, ["sms"], "k1")
        second = _queue(rt, org_id, ["sms"], "k2")
        drain(rt)
        refs = [m.ref for m in smsru.accepted]
        assert len(refs) == 2 and all(m.to == PHONE[1:] for m in smsru.accepted)
        path = "/api/v1/notifications/callbacks/smsru"
        cb = smsru.status_callback(path, (refs[0], 103), (refs[1], 108))
        forged = cb.body.replace(b"108", b"103")
        assert client.post(path, content=forged, headers=cb.headers).status_code == 403
        assert {_status(client, headers, m) for m in (first, second)} == {"sent"}
        res = client.post(path, content=cb.body, headers=cb.headers)
        assert res.status_code == 200 and res.text == "100"  # SMS.ru wants "100"
        assert _status(client, headers, first) == "delivered"
        assert _status(client, headers, second) == "dead"


def test_telegram_chat_linked_by_start_then_messaged(make_app: Any) -> None:
    with BotApi() as bot, SmsGateway() as gateway:
        rt, client = make_app(
            telegram_bot_token=SecretStr(bot.token),
            telegram_bot_name="clinic_bot",
            telegram_api_url=bot.url,
            sms_url=gateway.url,
        )
        org_id, headers = new_org(rt)
        message_id = _queue(rt, org_id, ["telegram", "sms"], "before-link")
        drain(rt)
        assert bot.sent == [] and len(gateway.messages) == 1  # no chat yet: SMS
        pid = _patient_of(rt, message_id)
        res = client.post(
            "/api/v1/telegram-links",
            headers=headers,
            json={"subject_kind": "patient", "subject_id": pid},
        )
        assert res.status_code == 201, res.text
        link = res.json()
        assert link["url"] == f"https://t.me/clinic_bot?start={link['start_token']}"
        update = {
            "update_id": 1,
            "message": {
                "message_id": 5,
                "chat": {"id": 424242, "type": "private"},
                "text": f"/start {link['start_token']}",
            },
        }
        path = "/api/v1/notifications/callbacks/telegram"
        bad = client.post(path, json=update, headers={"X-Telegram-Bot-Api-Secret-Token": "nope"})
        assert bad.status_code == 403
        secret = telegram_webhook_secret(rt.keyring)
        ok = client.post(path, json=update, headers={"X-Telegram-Bot-Api-Secret-Token": secret})
        assert ok.status_code == 200 and ok.json() == {"linked": True}
        again = client.post(path, json=update, headers={"X-Telegram-Bot-Api-Secret-Token": secret})
        assert again.json() == {"linked": False}  # a token links once
        bot.chats.add("424242")
        with rt.transaction() as session:
            second = queue_message(
                session,
                organization_id=org_id,
                recipient=Recipient(patient_id=pid),
                text="Результаты готовы",
                channels=["telegram", "sms"],
                idempotency_key="after-link",
                now=rt.clock(),
            )
        drain(rt)
        assert [(m.chat_id, m.text) for m in bot.sent] == [("424242", "Результаты готовы")]
        assert _status(client, headers, second) == "delivered"
        assert len(gateway.messages) == 1  # no SMS this time
        bot.blocked.add("424242")  # the person blocked the bot: SMS after all
        with rt.transaction() as session:
            queue_message(
                session,
                organization_id=org_id,
                recipient=Recipient(patient_id=pid),
                text="Напоминание",
                channels=["telegram", "sms"],
                idempotency_key="blocked",
                now=rt.clock(),
            )
        drain(rt)
        assert len(gateway.messages) == 2


def _patient_of(rt: Runtime, message_id: str) -> str:
    with rt.transaction() as session:
        message = session.get(NotificationMessage, message_id)
        assert message is not None and message.patient_id is not None
        return message.patient_id


def test_cli_sets_the_webhook_with_the_secret_token(
    settings: Settings, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from medsign.cli.main import main
    from medsign.domain.tokens import Keyring

    with BotApi() as bot:
        assert settings.secret_key is not None
        for name, value in {
            "MEDSIGN_DATA_DIR": str(settings.data_dir),
            "MEDSIGN_DATABASE_URL": settings.resolved_database_url,
            "MEDSIGN_SECRET_KEY": settings.secret_key.get_secret_value(),
            "MEDSIGN_PUBLIC_URL": "https://medsign.example",
            "MEDSIGN_TELEGRAM_BOT_TOKEN": bot.token,
            "MEDSIGN_TELEGRAM_API_URL": bot.url,
        }.items():
            monkeypatch.setenv(name, value)
        assert main(["telegram", "set-webhook"]) == 0
        assert bot.webhook == {
            "url": "https://medsign.example/api/v1/notifications/callbacks/telegram",
            "secret_token": telegram_webhook_secret(
                Keyring(settings.secret_key.get_secret_value().encode())
            ),
            "allowed_updates": ["message"],
        }
        assert '"ok": true' in capsys.readouterr().out
        monkeypatch.delenv("MEDSIGN_TELEGRAM_BOT_TOKEN")
        assert main(["telegram", "set-webhook"]) == 2
