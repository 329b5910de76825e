"""Conformance of SmtpSender against a real SMTP server (aiosmtpd on loopback)."""

from __future__ import annotations

import pytest

from medsign.notify import DeliveryError, Message, SmtpSender
from tests.support.ports import free_port
from tests.support.smtp_server import SmtpTestServer
from tests.support.tls import make_loopback_tls

FROM = "Клиника «Здоровье» <no-reply@clinic.example>"
SUBJECT = "Подпишите документ — لطفاً سند را امضا کنید"
BODY = (
    "Здравствуйте, Анна Сергеевна!\n"
    "Код для подписи: 123456. Никому его не сообщайте.\n"
    "سلام، کد امضای شما ۱۲۳۴۵۶ است.\n"
)


def _message(to: str = "patient@example.org", key: str = "job-42.attempt-1") -> Message:
    return Message(channel="email", to=to, subject=SUBJECT, body=BODY, idempotency_key=key)


def test_cyrillic_and_persian_arrive_intact(smtp_server: SmtpTestServer) -> None:
    SmtpSender(smtp_server.url, FROM, timeout=5).send(_message())

    mail = smtp_server.wait_for()
    assert mail.rcpt_tos == ("patient@example.org",)
    assert mail.to == "patient@example.org"
    assert mail.subject == SUBJECT
    assert mail.text == BODY
    assert str(mail.message["From"]) == FROM
    assert mail.message.get_content_charset() == "utf-8"
    assert mail.message["Date"] is not None
    assert mail.message["Auto-Submitted"] == "auto-generated"


def test_message_id_is_derived_from_the_idempotency_key(smtp_server: SmtpTestServer) -> None:
    sender = SmtpSender(smtp_server.url, FROM, timeout=5)
    sender.send(_message(key="delivery-7"))
    sender.send(_message(key="delivery-7"))  # a retry of the same job
    sender.send(_message(key="delivery 8 / not an atom"))

    # The server records a message before it answers 250, so all three are here.
    first, retry, other = smtp_server.messages
    assert first.message_id == retry.message_id == "<medsign.delivery-7@clinic.example>"
    assert other.message_id != first.message_id
    assert other.message_id.startswith("<medsign.") and " " not in other.message_id


def test_connection_refused_is_retryable() -> None:
    sender = SmtpSender(f"smtp://127.0.0.1:{free_port()}", FROM, timeout=2)
    with pytest.raises(DeliveryError) as caught:
        sender.send(_message())
    assert caught.value.retryable


@pytest.mark.parametrize(
    ("reply", "retryable"),
    [("550 5.1.1 No such user here", False), ("451 4.3.0 Mailbox busy, try later", True)],
)
def test_recipient_refusal_is_classified_by_reply_code(
    smtp_server: SmtpTestServer, reply: str, retryable: bool
) -> None:
    smtp_server.rcpt_replies["gone@example.org"] = reply
    sender = SmtpSender(smtp_server.url, FROM, timeout=5)
    with pytest.raises(DeliveryError) as caught:
        sender.send(_message(to="gone@example.org"))
    assert caught.value.retryable is retryable
    assert "gone@example.org" not in str(caught.value)  # no personal data in logs
    assert smtp_server.messages == []


def test_starttls_is_used_when_offered_and_login_works_over_it() -> None:
    tls = make_loopback_tls()
    with SmtpTestServer(tls_context=tls.server, credentials=("clinic", "s3cret:/@")) as server:
        url = f"smtp://clinic:s3cret%3A%2F%40@{server.host}:{server.port}"
        SmtpSender(url, FROM, timeout=5, ssl_context=tls.client).send(_message())
        mail = server.wait_for()
    assert mail.over_tls
    assert mail.authenticated_as == "clinic"
    assert mail.text == BODY


def test_wrong_password_is_not_retryable() -> None:
    tls = make_loopback_tls()
    with SmtpTestServer(tls_context=tls.server, credentials=("clinic", "right")) as server:
        url = f"smtp://clinic:wrong@{server.host}:{server.port}"
        with pytest.raises(DeliveryError) as caught:
            SmtpSender(url, FROM, timeout=5, ssl_context=tls.client).send(_message())
    assert not caught.value.retryable
    assert "wrong" not in str(caught.value)


def test_smtps_uses_implicit_tls() -> None:
    tls = make_loopback_tls()
    with SmtpTestServer(implicit_tls_context=tls.server) as server:
        assert server.url.startswith("smtps://")
        SmtpSender(server.url, FROM, timeout=5, ssl_context=tls.client).send(_message())
        mail = server.wait_for()
    assert mail.over_tls
    assert mail.subject == SUBJECT


def test_untrusted_certificate_is_refused() -> None:
    tls = make_loopback_tls()
    with SmtpTestServer(tls_context=tls.server) as server:
        with pytest.raises(DeliveryError) as caught:
            SmtpSender(server.url, FROM, timeout=5).send(_message())  # system CAs only
        assert server.messages == []
    assert caught.value.retryable  # a transport failure; the operator must fix the CA


def test_sms_messages_are_refused() -> None:
    sms = Message(channel="sms", to="+79991234567", subject="", body="x", idempotency_key="k")
    with pytest.raises(DeliveryError) as caught:
        SmtpSender("smtp://127.0.0.1:25", FROM).send(sms)
    assert not caught.value.retryable


def test_bad_urls_are_rejected_at_construction() -> None:
    for url in ("http://mail.example.org", "smtp://", "mail.example.org:25"):
        with pytest.raises(ValueError, match="SMTP URL"):
            SmtpSender(url, FROM)
