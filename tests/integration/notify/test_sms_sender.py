"""Conformance of HttpSmsSender against a real HTTP SMS gateway on loopback."""

from __future__ import annotations

import pytest

from medsign.notify import DeliveryError, HttpSmsSender, Message
from tests.support.ports import free_port
from tests.support.sms_gateway import SmsGateway

TEXT = "Код 123456 для подписи документа в клинике «Здоровье». کد امضا: ۱۲۳۴۵۶"


def _sms(text: str = TEXT, key: str = "job-42.attempt-1", to: str = "+79991234567") -> Message:
    return Message(channel="sms", to=to, subject="", body=text, idempotency_key=key)


def test_cyrillic_and_persian_arrive_intact(sms_gateway: SmsGateway) -> None:
    HttpSmsSender(sms_gateway.url, timeout=5).send(_sms())

    sms = sms_gateway.wait_for()
    assert (sms.id, sms.to, sms.text) == ("job-42.attempt-1", "+79991234567", TEXT)
    assert sms.headers["idempotency-key"] == "job-42.attempt-1"
    assert "authorization" not in sms.headers
    assert sms.headers["content-type"].startswith("application/json")


def test_bearer_token_is_sent() -> None:
    with SmsGateway(token="t0ken") as gateway:
        HttpSmsSender(gateway.url + "/", token="t0ken", timeout=5).send(_sms())
        assert gateway.wait_for().headers["authorization"] == "Bearer t0ken"


def test_wrong_token_is_not_retryable() -> None:
    with SmsGateway(token="right") as gateway:
        with pytest.raises(DeliveryError) as caught:
            HttpSmsSender(gateway.url, token="wrong", timeout=5).send(_sms())
        assert gateway.messages == []
    assert not caught.value.retryable
    assert "401" in str(caught.value)


def test_503_is_retryable_and_the_retry_is_delivered_once(sms_gateway: SmsGateway) -> None:
    sender = HttpSmsSender(sms_gateway.url, timeout=5)
    sms_gateway.fail_next(2)
    for _ in range(2):
        with pytest.raises(DeliveryError) as caught:
            sender.send(_sms())
        assert caught.value.retryable
    sender.send(_sms())  # the worker's third attempt, same idempotency key
    sender.send(_sms())  # a duplicate (say, the worker died before recording success)

    assert sms_gateway.requests == 4
    assert [m.id for m in sms_gateway.messages] == ["job-42.attempt-1"]


def test_gateway_400_is_not_retryable(sms_gateway: SmsGateway) -> None:
    with pytest.raises(DeliveryError) as caught:
        HttpSmsSender(sms_gateway.url, timeout=5).send(_sms(text=""))  # gateway wants text
    assert not caught.value.retryable
    assert "400" in str(caught.value)


def test_429_is_retryable(sms_gateway: SmsGateway) -> None:
    sms_gateway.fail_next(1, status=429)
    with pytest.raises(DeliveryError) as caught:
        HttpSmsSender(sms_gateway.url, timeout=5).send(_sms())
    assert caught.value.retryable


def test_connection_refused_is_retryable() -> None:
    with pytest.raises(DeliveryError) as caught:
        HttpSmsSender(f"http://127.0.0.1:{free_port()}", timeout=2).send(_sms())
    assert caught.value.retryable


def test_timeout_is_retryable(sms_gateway: SmsGateway) -> None:
    sms_gateway.delay = 1.0
    with pytest.raises(DeliveryError) as caught:
        HttpSmsSender(sms_gateway.url, timeout=0.2).send(_sms())
    assert caught.value.retryable


def test_malformed_phone_and_wrong_channel_are_refused_before_sending(
    sms_gateway: SmsGateway,
) -> None:
    sender = HttpSmsSender(sms_gateway.url, timeout=5)
    email = Message(channel="email", to="a@example.org", subject="s", body="b", idempotency_key="k")
    for message in (_sms(to="89991234567"), _sms(to="+7 999 123-45-67"), email):
        with pytest.raises(DeliveryError) as caught:
            sender.send(message)
        assert not caught.value.retryable
        assert "8999" not in str(caught.value)
    assert sms_gateway.requests == 0
