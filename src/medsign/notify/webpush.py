"""Web Push (RFC 8030) with VAPID (RFC 8292) and aes128gcm payload encryption
(RFC 8291, RFC 8188), through pywebpush.

The VAPID key pair is generated once into ``<data_dir>/keys/vapid_private.pem`` and
shared by every process; its public key is what browsers pass to
``pushManager.subscribe({applicationServerKey})``. The payload is JSON
``{"title", "body", "url"?, "receipt": {"ref", "token"}}``: the service worker
(``/static/push-sw.js``, or the clinician app's ``/app/sw.js``) shows the notification,
opens ``url`` when it is clicked, and posts the receipt back, which is the push
channel's delivery report (push services give none, docs/notifications.md).
"""

from __future__ import annotations

import base64
import functools
import json
import os
import secrets
from pathlib import Path
from typing import Any

import requests
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat
from py_vapid import Vapid02
from pywebpush import WebPushException, webpush

from medsign.notify.ports import DeliveryError, Message

VAPID_FILE = "vapid_private.pem"
MAX_PAYLOAD = 3000  # RFC 8291 §4: push services must accept at least 4096 octets
_GONE = frozenset({404, 410})  # RFC 8030 §7.3: the subscription expired or was removed


class EndpointGone(DeliveryError):
    """The push service says this subscription no longer exists (forget it)."""

    def __init__(self, endpoint: str, status: int) -> None:
        super().__init__(f"push subscription gone ({status})", retryable=False)
        self.endpoint = endpoint


def load_or_create_vapid(keys_dir: Path) -> Vapid02:
    """The deployment's VAPID key, created (0600) on first use. Written to a temporary
    file and linked into place, so a second process never reads half a key."""
    path = keys_dir / VAPID_FILE
    if not path.exists():
        keys_dir.mkdir(parents=True, exist_ok=True)
        key = Vapid02()
        key.generate_keys()
        tmp = path.with_name(f".{path.name}.{os.getpid()}.{secrets.token_hex(4)}")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "wb") as fh:
            fh.write(key.private_pem())
        try:
            os.link(tmp, path)
        except FileExistsError:
            pass  # another process won: use theirs
        finally:
            tmp.unlink()
    return Vapid02.from_file(str(path))


def application_server_key(key: Vapid02) -> str:
    """The public key as browsers want it: the uncompressed point, base64url, no '='."""
    raw = key.public_key.public_bytes(Encoding.X962, PublicFormat.UncompressedPoint)
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


@functools.lru_cache(maxsize=8)
def public_key_of(keys_dir: Path) -> str:
    """The deployment's :func:`application_server_key` (read once per process), for
    pages that subscribe a browser."""
    return application_server_key(load_or_create_vapid(keys_dir))


class WebPushSender:
    """Delivers ``channel == "push"`` messages; ``to`` is the subscription's JSON."""

    def __init__(self, key: Vapid02, contact: str, ttl: int = 86400, timeout: float = 10) -> None:
        self._key = key
        self.contact = contact  # RFC 8292 §2.1 "sub": mailto: or https: of the operator
        self.ttl = ttl
        self.timeout = timeout

    def __repr__(self) -> str:
        return "WebPushSender()"

    def payload(self, message: Message) -> str:
        """The JSON the service worker receives."""
        body = message.body
        data: dict[str, Any] = {"title": message.subject, "body": body}
        if message.link:
            data["url"] = message.link
        if message.receipt:
            data["receipt"] = {"ref": message.idempotency_key, "token": message.receipt}
        text = json.dumps(data, ensure_ascii=False)
        while len(text.encode()) > MAX_PAYLOAD and body:
            body = body[: len(body) * 3 // 4]
            data["body"] = body + "…"
            text = json.dumps(data, ensure_ascii=False)
        return text

    def send(self, message: Message) -> None:
        """Encrypt and post the message to the subscription's push service."""
        if message.channel != "push":
            raise DeliveryError("WebPushSender only sends push messages", retryable=False)
        try:
            subscription = json.loads(message.to)
            endpoint = str(subscription["endpoint"])
        except (ValueError, KeyError, TypeError) as exc:
            raise DeliveryError("not a push subscription", retryable=False) from exc
        try:
            webpush(
                subscription,
                data=self.payload(message),
                vapid_private_key=self._key,
                vapid_claims={"sub": self.contact},
                ttl=self.ttl,  # RFC 8030 §5.2
                timeout=self.timeout,
                headers={"Topic": message.idempotency_key.replace(".", "")[-32:]},
            )
        except WebPushException as exc:
            status = exc.response.status_code if exc.response is not None else 0
            if status in _GONE:
                raise EndpointGone(endpoint, status) from exc
            retryable = status == 0 or status >= 500 or status == 429
            raise DeliveryError(f"push service replied {status}", retryable=retryable) from exc
        except requests.RequestException as exc:
            raise DeliveryError(
                f"cannot reach the push service ({type(exc).__name__})", retryable=True
            ) from exc
