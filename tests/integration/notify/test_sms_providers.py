"""Conformance of the Twilio and SMS.ru adapters against loopback servers shaped like
their documented APIs: request shape, auth, error codes, and their signed delivery
callbacks (a wrong signature is refused)."""

from __future__ import annotations

from collections.abc import Iterator
from urllib.parse import parse_qsl

import pytest
from pydantic import SecretStr

from medsign.notify import DeliveryError, Message
from medsign.notify.dispatch import sms_sender
from medsign.notify.sms_kavenegar import KavenegarSender
from medsign.notify.sms_smsru import SmsRuSender, smsru_hash, smsru_reports
from medsign.notify.sms_twilio import TwilioSmsSender, twilio_report, twilio_signature
from medsign.settings import Settings
from tests.support.sms_providers import SmsRuPeer, TwilioPeer

TEXT = "Здравствуйте! Ваш приём завтра в 10:00. سلام"
CALLBACK = "https://medsign.example/api/v1/notifications/callbacks/twilio"


@pytest.fixture
def twilio() -> Iterator[TwilioPeer]:
    with TwilioPeer() as peer:
        yield peer


@pytest.fixture
def smsru() -> Iterator[SmsRuPeer]:
    with SmsRuPeer() as peer:
        yield peer


def _sms(to: str = "+79990000001", key: str = "m1.0") -> Message:
    return Message(channel="sms", to=to, subject="", body=TEXT, idempotency_key=key)


def _twilio_sender(peer: TwilioPeer, token: str | None = None) -> TwilioSmsSender:
    return TwilioSmsSender(
        f"http://127.0.0.1:{peer.port}",
        peer.account_sid,
        token or peer.auth_token,
        "+15005550006",
        CALLBACK,
        timeout=5,
    )


def test_twilio_message_is_created_with_its_status_callback(twilio: TwilioPeer) -> None:
    sid = _twilio_sender(twilio).send(_sms())
    (accepted,) = twilio.accepted
    assert sid == accepted.ref and sid.startswith("SM")
    assert accepted.form["To"] == "+79990000001"
    assert accepted.form["From"] == "+15005550006"
    assert accepted.form["Body"] == TEXT
    assert accepted.form["StatusCallback"] == CALLBACK


def test_twilio_messaging_service_sender(twilio: TwilioPeer) -> None:
    sender = _twilio_sender(twilio)
    sender.sender = "MG" + "0" * 32
    sender.send(_sms())
    assert twilio.accepted[0].form["MessagingServiceSid"] == sender.sender
    assert "From" not in twilio.accepted[0].form


@pytest.mark.parametrize(
    ("status", "body", "retryable"),
    [
        (429, {"code": 20429, "message": "Too Many Requests", "status": 429}, True),
        (500, {"code": 20500, "message": "Internal error", "status": 500}, True),
        (503, {}, True),
        (400, {"code": 21211, "message": "invalid To", "status": 400}, False),
    ],
)
def test_twilio_errors_are_classified(
    twilio: TwilioPeer, status: int, body: dict[str, object], retryable: bool
) -> None:
    twilio.fail_next.append((status, body))
    with pytest.raises(DeliveryError) as caught:
        _twilio_sender(twilio).send(_sms())
    assert caught.value.retryable is retryable
    assert "+7999" not in caught.value.detail  # no personal data in what is logged


def test_twilio_refusals_are_final(twilio: TwilioPeer) -> None:
    twilio.opted_out.add("+79990000002")
    with pytest.raises(DeliveryError, match="21610") as caught:
        _twilio_sender(twilio).send(_sms("+79990000002"))
    assert not caught.value.retryable
    with pytest.raises(DeliveryError, match="401") as caught:
        _twilio_sender(twilio, token="wrong").send(_sms())
    assert not caught.value.retryable
    with pytest.raises(DeliveryError):
        _twilio_sender(twilio).send(_sms("89990000001"))  # not E.164: never sent
    assert twilio.requests == 2


def test_twilio_status_callbacks_are_checked(twilio: TwilioPeer) -> None:
    sid = _twilio_sender(twilio).send(_sms())
    cb = twilio.status_callback(sid, "delivered")
    form = parse_qsl(cb.body.decode())
    signature = cb.headers["X-Twilio-Signature"]
    report = twilio_report(twilio.auth_token, cb.url, form, signature)
    assert report is not None and report.delivered and report.provider_ref == sid
    failed = twilio.status_callback(sid, "undelivered", "30003")
    report = twilio_report(
        twilio.auth_token,
        failed.url,
        parse_qsl(failed.body.decode()),
        failed.headers["X-Twilio-Signature"],
    )
    assert report is not None and not report.delivered and "30003" in report.detail
    sent = twilio.status_callback(sid, "sent")
    interim = parse_qsl(sent.body.decode())
    assert (
        twilio_report(twilio.auth_token, sent.url, interim, sent.headers["X-Twilio-Signature"])
        is None
    )
    for bad in (None, "", signature[:-2] + "AA"):
        with pytest.raises(ValueError):
            twilio_report(twilio.auth_token, cb.url, form, bad)
    with pytest.raises(ValueError):  # the same signature for another URL
        twilio_report(twilio.auth_token, cb.url + "x", form, signature)
    tampered = [(k, "failed" if k == "MessageStatus" else v) for k, v in form]
    with pytest.raises(ValueError):
        twilio_report(twilio.auth_token, cb.url, tampered, signature)


def _smsru_sender(peer: SmsRuPeer, api_id: str | None = None) -> SmsRuSender:
    return SmsRuSender(f"http://127.0.0.1:{peer.port}", api_id or peer.api_id, "Clinic", timeout=5)


def test_smsru_send_returns_the_sms_id(smsru: SmsRuPeer) -> None:
    sms_id = _smsru_sender(smsru).send(_sms())
    (accepted,) = smsru.accepted
    assert sms_id == accepted.ref
    assert accepted.to == "79990000001"  # SMS.ru takes digits without '+'
    assert accepted.text == TEXT
    assert accepted.form["json"] == "1" and accepted.form["from"] == "Clinic"


def test_smsru_errors_are_classified(smsru: SmsRuPeer) -> None:
    with pytest.raises(DeliveryError, match="code 200") as caught:
        _smsru_sender(smsru, api_id="wrong").send(_sms())
    assert not caught.value.retryable
    smsru.unserved.add("79990000003")
    with pytest.raises(DeliveryError, match="code 207") as caught:
        _smsru_sender(smsru).send(_sms("+79990000003"))
    assert not caught.value.retryable
    smsru.fail_next.append((200, {"status": "ERROR", "status_code": 220}))
    with pytest.raises(DeliveryError, match="code 220") as caught:
        _smsru_sender(smsru).send(_sms())
    assert caught.value.retryable
    smsru.fail_next.append((502, {}))
    with pytest.raises(DeliveryError) as caught:
        _smsru_sender(smsru).send(_sms())
    assert caught.value.retryable
    assert smsru.accepted == []


def test_smsru_callbacks_are_checked(smsru: SmsRuPeer) -> None:
    first = _smsru_sender(smsru).send(_sms())
    second = _smsru_sender(smsru).send(_sms("+79990000004", "m2.0"))
    cb = smsru.status_callback("https://x/cb", (first, 103), (second, 106), (first, 102))
    form = parse_qsl(cb.body.decode())
    data = [v for k, v in form if k.startswith("data[")]
    given = dict(form)["hash"]
    reports = smsru_reports(smsru.api_id, data, given)
    assert [(r.provider_ref, r.delivered) for r in reports] == [(first, True), (second, False)]
    with pytest.raises(ValueError):
        smsru_reports(smsru.api_id, data, None)
    with pytest.raises(ValueError):
        smsru_reports("another-api-id", data, given)
    with pytest.raises(ValueError):
        smsru_reports(smsru.api_id, [d.replace("106", "103") for d in data], given)


def test_smsru_hash_follows_smsrus_sample_handler() -> None:
    # sha256(api_id . data[0] . data[1]) as SMS.ru's sample callback handler computes it
    # (https://sms.ru/api/callback); the digest was computed with sha256sum.
    data = [
        "sms_status\n000000-10000001\n103\n1764900000",
        "sms_status\n000000-10000002\n106\n1764900001",
    ]
    expected = "f8d264c5e1af809a98e3a88f650edb3ee0f18adbaa92cef565d46d59f23c5485"
    assert smsru_hash("A1B2C3D4-0000-1111-2222-333344445555", data) == expected
    reports = smsru_reports("A1B2C3D4-0000-1111-2222-333344445555", data, expected.upper())
    assert [(r.provider_ref, r.delivered) for r in reports] == [
        ("000000-10000001", True),
        ("000000-10000002", False),
    ]
    with pytest.raises(ValueError):  # the entries in another order are another hash
        smsru_reports("A1B2C3D4-0000-1111-2222-333344445555", data[::-1], expected)


@pytest.mark.parametrize(
    ("url", "kind"),
    [
        ("twilio://AC123@api.twilio.com", TwilioSmsSender),
        ("smsru://sms.ru", SmsRuSender),
        ("kavenegar://api.kavenegar.com", KavenegarSender),
    ],
)
def test_the_url_scheme_picks_the_provider(url: str, kind: type) -> None:
    settings = Settings(
        sms_url=url, sms_token=SecretStr("t"), sms_from="+15005550006", _env_file=None
    )
    sender = sms_sender(settings)
    assert isinstance(sender, kind)
    assert str(getattr(sender, "url", "")).startswith("https://")


def test_twilio_without_its_account_is_a_configuration_error() -> None:
    settings = Settings(sms_url="twilio://api.twilio.com", sms_token=SecretStr("t"), _env_file=None)
    with pytest.raises(ValueError, match="Account SID"):
        sms_sender(settings)


def test_twilio_signature_matches_twilios_documented_example() -> None:
    # https://www.twilio.com/docs/usage/security#validating-requests (the worked example)
    params = [
        ("CallSid", "CA1234567890ABCDE"),
        ("Caller", "+12349013030"),
        ("Digits", "1234"),
        ("From", "+12349013030"),
        ("To", "+18005551212"),
    ]
    url = "https://mycompany.com/myapp.php?foo=1&bar=2"
    assert twilio_signature("12345", url, params) == "0/KCTR6DLpKmkAf8muzZqo1nDgQ="
