"""Conformance of WebPushSender against a loopback push service that checks VAPID
(RFC 8292) and decrypts the aes128gcm payload (RFC 8291) with the subscriber's keys."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from medsign.notify import DeliveryError, Message
from medsign.notify.webpush import (
    EndpointGone,
    WebPushSender,
    application_server_key,
    load_or_create_vapid,
)
from tests.support.push_service import PushService


@pytest.fixture
def push() -> Iterator[PushService]:
    with PushService() as service:
        yield service


def _message(subscription: dict[str, object], body: str = "Документ готов к подписи") -> Message:
    return Message(
        channel="push",
        to=json.dumps(subscription),
        subject="Клиника",
        body=body,
        idempotency_key="m1.0",
        receipt="r" * 64,
    )


def test_push_arrives_encrypted_and_vapid_signed(push: PushService, tmp_path: Path) -> None:
    key = load_or_create_vapid(tmp_path)
    sender = WebPushSender(key, "mailto:ops@clinic.example", timeout=5)
    subscription = push.subscribe()
    sender.send(_message(subscription))
    (got,) = push.received
    assert push.errors == []
    assert got.payload == {
        "title": "Клиника",
        "body": "Документ готов к подписи",
        "receipt": {"ref": "m1.0", "token": "r" * 64},
    }
    assert got.vapid_key == application_server_key(key)  # the key browsers subscribed with
    assert got.vapid_claims["sub"] == "mailto:ops@clinic.example"
    assert got.ttl == "86400"


def test_the_vapid_key_is_made_once(tmp_path: Path) -> None:
    first = application_server_key(load_or_create_vapid(tmp_path))
    assert application_server_key(load_or_create_vapid(tmp_path)) == first
    assert (tmp_path / "vapid_private.pem").stat().st_mode & 0o077 == 0
    assert len(first) == 87  # 65-byte uncompressed point, base64url without padding


def test_a_long_text_is_cut_to_fit(push: PushService, tmp_path: Path) -> None:
    sender = WebPushSender(load_or_create_vapid(tmp_path), "mailto:ops@clinic.example", timeout=5)
    sender.send(_message(push.subscribe(), body="Ж" * 5000))
    body = push.received[0].payload["body"]
    assert body.endswith("…") and len(body.encode()) < 3000


def test_gone_and_failing_push_services(push: PushService, tmp_path: Path) -> None:
    sender = WebPushSender(load_or_create_vapid(tmp_path), "mailto:ops@clinic.example", timeout=5)
    subscription = push.subscribe()
    push.gone.add(str(subscription["endpoint"]).rsplit("/", 1)[-1])
    with pytest.raises(EndpointGone) as gone:
        sender.send(_message(subscription))
    assert not gone.value.retryable and gone.value.endpoint == subscription["endpoint"]
    other = push.subscribe()
    push.fail_next.append(503)
    with pytest.raises(DeliveryError) as caught:
        sender.send(_message(other))
    assert caught.value.retryable
    push.fail_next.append(429)
    with pytest.raises(DeliveryError) as caught:
        sender.send(_message(other))
    assert caught.value.retryable
    with pytest.raises(DeliveryError) as caught:
        sender.send(_message({"keys": {}}))
    assert not caught.value.retryable
