"""DKIM (RFC 6376): SmtpSender signs what aiosmtpd receives, and dkimpy verifies the
received bytes against the public key published in a (stubbed) DNS TXT record."""

from __future__ import annotations

import base64
from collections.abc import Callable
from pathlib import Path

import dkim
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from medsign.notify import Message, SmtpSender
from medsign.notify.smtp import DkimKey
from tests.support.smtp_server import SmtpTestServer

FROM = "Клиника «Здоровье» <no-reply@clinic.example>"
SELECTOR = "medsign2026"
DOMAIN = "clinic.example"
BODY = "Здравствуйте!\nВаш документ готов к подписи.\nسند شما آماده امضا است.\n"


def _rsa_key(path: Path) -> bytes:
    """Write an RSA-2048 PEM key; return its DNS TXT record (RFC 6376 §3.6.1)."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    der = key.public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    return b"v=DKIM1; k=rsa; p=" + base64.b64encode(der)


TXT_NAME = f"{SELECTOR}._domainkey.{DOMAIN}.".encode()


def _dns(record: bytes, name: bytes = TXT_NAME) -> tuple[Callable[..., bytes | None], list[bytes]]:
    """A DNS TXT lookup for dkimpy's ``dnsfunc`` that knows one record."""
    looked_up: list[bytes] = []

    def txt(qname: bytes, timeout: int = 5) -> bytes | None:
        looked_up.append(qname)
        return record if qname == name else None

    return txt, looked_up


def _message(key: str = "m-1.0") -> Message:
    return Message(
        channel="email",
        to="patient@example.org",
        subject="Документ на подпись",
        body=BODY,
        idempotency_key=key,
    )


def test_received_mail_carries_a_valid_dkim_signature(
    smtp_server: SmtpTestServer, tmp_path: Path
) -> None:
    record = _rsa_key(tmp_path / "dkim.key")
    key = DkimKey.from_file(tmp_path / "dkim.key", SELECTOR, DOMAIN)
    SmtpSender(smtp_server.url, FROM, timeout=5, dkim_key=key).send(_message())

    mail = smtp_server.wait_for()
    assert mail.raw.startswith(b"DKIM-Signature:")
    dnsfunc, looked_up = _dns(record)
    assert dkim.verify(mail.raw, dnsfunc=dnsfunc)
    assert looked_up == [f"{SELECTOR}._domainkey.{DOMAIN}.".encode()]
    assert mail.text == BODY
    tags = dict(
        t.strip().split("=", 1)
        for t in mail.message["DKIM-Signature"].replace("\r\n", "").split(";")
        if "=" in t
    )
    assert tags["d"] == DOMAIN and tags["s"] == SELECTOR
    assert {"from", "subject", "date", "message-id"} <= set(tags["h"].replace(" ", "").split(":"))


def test_a_changed_body_or_another_key_fails_verification(
    smtp_server: SmtpTestServer, tmp_path: Path
) -> None:
    record = _rsa_key(tmp_path / "dkim.key")
    other = _rsa_key(tmp_path / "other.key")
    key = DkimKey.from_file(tmp_path / "dkim.key", SELECTOR, DOMAIN)
    SmtpSender(smtp_server.url, FROM, timeout=5, dkim_key=key).send(_message())
    raw = smtp_server.wait_for().raw
    assert dkim.verify(raw, dnsfunc=_dns(record)[0])
    last = len(raw.rstrip()) - 1  # the body's last character
    tampered = raw[:last] + (b"A" if raw[last : last + 1] != b"A" else b"B") + raw[last + 1 :]
    assert not dkim.verify(tampered, dnsfunc=_dns(record)[0])
    assert not dkim.verify(raw, dnsfunc=_dns(other)[0])
    assert not dkim.verify(raw, dnsfunc=_dns(record, b"nothing.")[0])


def test_without_a_key_mail_is_not_signed(smtp_server: SmtpTestServer) -> None:
    SmtpSender(smtp_server.url, FROM, timeout=5).send(_message())
    assert b"DKIM-Signature" not in smtp_server.wait_for().raw


def test_an_empty_key_file_is_refused(tmp_path: Path) -> None:
    (tmp_path / "empty.key").write_bytes(b"")
    with pytest.raises(ValueError, match="empty"):
        DkimKey.from_file(tmp_path / "empty.key", SELECTOR, DOMAIN)
