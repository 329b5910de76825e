"""Conformance of the Kavenegar adapter against a loopback server shaped like its REST
API: the send request, error codes (retry or fail), the status lookup (delivered or
failed), Persian text in parts, and the API key kept out of logs and errors."""

from __future__ import annotations

import logging
from collections.abc import Iterator

import pytest
from pydantic import SecretStr

from medsign.notify import DeliveryError, Message
from medsign.notify.dispatch import sms_sender
from medsign.notify.sms_kavenegar import KavenegarSender, callback_ids, receptor
from medsign.settings import Settings
from medsign.usage.service import SMS_SEGMENTS, message_amounts
from tests.support.ports import free_port
from tests.support.sms_providers import KavenegarPeer

TEXT = "سلام مریم، نوبت شما فردا ساعت ۱۰:۰۰ در کلینیک است."


@pytest.fixture
def kavenegar() -> Iterator[KavenegarPeer]:
    with KavenegarPeer() as peer:
        yield peer


def _sms(to: str = "+989121234567", body: str = TEXT, key: str = "m1.0") -> Message:
    return Message(channel="sms", to=to, subject="", body=body, idempotency_key=key)


def _sender(
    peer: KavenegarPeer, key: str | None = None, line: str | None = "10004346"
) -> KavenegarSender:
    return KavenegarSender(f"http://127.0.0.1:{peer.port}", key or peer.api_key, line, timeout=5)


def test_send_returns_the_messageid(kavenegar: KavenegarPeer) -> None:
    ref = _sender(kavenegar).send(_sms())
    (accepted,) = kavenegar.accepted
    assert ref == accepted.ref and ref.isdigit()
    assert accepted.to == "09121234567"  # Iranian numbers in national form
    assert accepted.text == TEXT
    assert accepted.form["sender"] == "10004346"
    _sender(kavenegar, line=None).send(_sms("+79990000001", key="m2.0"))
    assert kavenegar.accepted[1].to == "0079990000001"  # others with the 00 prefix
    assert "sender" not in kavenegar.accepted[1].form  # the account's default line


def test_receptor_forms() -> None:
    assert receptor("+989121234567") == "09121234567"
    assert receptor("+4915112345678") == "004915112345678"


@pytest.mark.parametrize(
    ("code", "retryable"),
    [
        (409, True),  # the server cannot answer now
        (451, True),  # too many requests
        (418, False),  # not enough credit: the next channel, not a wait
        (412, False),  # the sender line is not the account's
        (422, False),  # characters the operator refuses
        (402, False),  # operation failed
    ],
)
def test_error_codes_are_classified(kavenegar: KavenegarPeer, code: int, retryable: bool) -> None:
    kavenegar.fail_next.append((code, {"return": {"status": code, "message": "x"}}))
    with pytest.raises(DeliveryError, match=f"code {code}") as caught:
        _sender(kavenegar).send(_sms())
    assert caught.value.retryable is retryable
    assert "0912" not in caught.value.detail  # no personal data in what is logged
    assert kavenegar.accepted == []


def test_transport_and_bad_answers(kavenegar: KavenegarPeer) -> None:
    kavenegar.fail_next.append((502, {}))  # a proxy's page: no Kavenegar code
    with pytest.raises(DeliveryError) as caught:
        _sender(kavenegar).send(_sms())
    assert caught.value.retryable
    kavenegar.fail_next.append((200, {"return": {"status": 200}, "entries": []}))
    with pytest.raises(DeliveryError) as caught:
        _sender(kavenegar).send(_sms())
    assert not caught.value.retryable  # taken without an id: never sent twice
    with pytest.raises(DeliveryError, match="code 403") as caught:
        _sender(kavenegar, key="WRONGKEY").send(_sms())
    assert not caught.value.retryable
    with pytest.raises(DeliveryError):
        _sender(kavenegar).send(_sms("09121234567"))  # not E.164: never sent
    kavenegar.blocked.add("09120000000")
    with pytest.raises(DeliveryError, match="status 14") as caught:
        _sender(kavenegar).send(_sms("+989120000000"))
    assert not caught.value.retryable
    assert kavenegar.requests == 4


def test_status_lookup_gives_delivered_and_failed(kavenegar: KavenegarPeer) -> None:
    sender = _sender(kavenegar)
    refs = [sender.send(_sms(f"+98912000000{i}", key=f"m{i}.0")) for i in range(5)]
    for ref, status in zip(refs, (10, 11, 13, 4, 1), strict=True):
        kavenegar.statuses[ref] = status
    reports = sender.statuses([*refs, "999999"])  # an id Kavenegar does not know: 100
    assert [(r.provider_ref, r.delivered) for r in reports] == [
        (refs[0], True),
        (refs[1], False),
        (refs[2], False),
    ]
    assert "undelivered" in reports[1].detail
    assert sender.statuses(["not-an-id"]) == [] and kavenegar.lookups == 1
    kavenegar.fail_next.append((409, {"return": {"status": 409, "message": "busy"}}))
    with pytest.raises(DeliveryError) as caught:
        sender.statuses(refs)
    assert caught.value.retryable


@pytest.mark.parametrize("length", [70, 71, 134, 135, 400])
def test_persian_text_is_sent_whole_and_metered_in_its_parts(
    kavenegar: KavenegarPeer, length: int
) -> None:
    text = ("پیام " * 200)[:length]
    _sender(kavenegar).send(_sms(body=text))
    (accepted,) = kavenegar.accepted
    assert accepted.text == text  # one request: Kavenegar splits it
    assert message_amounts("sms", text)[SMS_SEGMENTS] == kavenegar.parts(text)


def test_callback_ids() -> None:
    assert callback_ids(["8792343"]) == ["8792343"]
    assert callback_ids(["1,2", "2"]) == ["1", "2"]
    for bad in ([], [""], ["12a"], ["1;DROP"], [",".join(str(i) for i in range(101))]):
        with pytest.raises(ValueError):
            callback_ids(bad)


def test_the_api_key_stays_out_of_logs_repr_and_errors(
    kavenegar: KavenegarPeer, caplog: pytest.LogCaptureFixture
) -> None:
    sender = _sender(kavenegar)
    with caplog.at_level(logging.DEBUG):
        sender.send(_sms())
        sender.statuses([kavenegar.accepted[0].ref])
    assert "sms/send.json" in caplog.text  # the client did log the requests...
    assert kavenegar.api_key not in caplog.text  # ...without the key
    assert kavenegar.api_key not in repr(sender) and kavenegar.api_key not in sender.url
    closed = KavenegarSender(f"http://127.0.0.1:{free_port()}", kavenegar.api_key, None)
    with pytest.raises(DeliveryError) as caught:
        closed.send(_sms())
    assert kavenegar.api_key not in str(caught.value) and caught.value.retryable


def test_the_url_scheme_picks_kavenegar() -> None:
    settings = Settings(
        sms_url="kavenegar://api.kavenegar.com", sms_token=SecretStr("K"), _env_file=None
    )
    sender = sms_sender(settings)
    assert isinstance(sender, KavenegarSender)
    assert sender.url == "https://api.kavenegar.com/v1/***/sms/send.json"
    with pytest.raises(ValueError, match="API key"):
        sms_sender(Settings(sms_url="kavenegar://api.kavenegar.com", _env_file=None))
