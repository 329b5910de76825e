"""A loopback Web Push service (RFC 8030) that checks VAPID (RFC 8292) and decrypts
aes128gcm payloads (RFC 8291) with the subscriber's keys, as a browser would.

``subscribe()`` makes a subscription as ``PushSubscription.toJSON()`` gives it (a fresh
P-256 key pair and auth secret kept here); received messages are decrypted and kept.
"""

from __future__ import annotations

import base64
import json
import secrets
import threading
import time
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import http_ece
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import encode_dss_signature
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from tests.support.peer import LoopbackPeer


def b64url(data: bytes) -> str:
    """base64url without padding."""
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def unb64url(text: str) -> bytes:
    """Decode base64url with or without padding."""
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


@dataclass(frozen=True)
class PushReceived:
    """One decrypted push message."""

    subscription: str
    payload: dict[str, Any]
    ttl: str | None
    vapid_claims: dict[str, Any]
    vapid_key: str


class PushService(LoopbackPeer):
    """Serves ``POST /push/<id>``; 201 on success, 410 for unsubscribed ids."""

    def __init__(self) -> None:
        self.received: list[PushReceived] = []
        self.errors: list[str] = []
        self.gone: set[str] = set()
        self.fail_next: list[int] = []
        self._keys: dict[str, tuple[ec.EllipticCurvePrivateKey, bytes]] = {}
        self._lock = threading.Lock()
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(self))
        self._server.daemon_threads = True
        self.port = int(self._server.server_address[1])

    def start(self) -> None:
        """Serve in a daemon thread."""
        threading.Thread(target=self._server.serve_forever, daemon=True).start()

    def stop(self) -> None:
        """Stop and release the port."""
        self._server.shutdown()
        self._server.server_close()

    def subscribe(self) -> dict[str, Any]:
        """A new subscription (endpoint and keys) as the browser's ``toJSON()``."""
        sub_id = secrets.token_hex(8)
        key = ec.generate_private_key(ec.SECP256R1())
        auth = secrets.token_bytes(16)
        with self._lock:
            self._keys[sub_id] = (key, auth)
        public = key.public_key().public_bytes(Encoding.X962, PublicFormat.UncompressedPoint)
        return {
            "endpoint": f"http://127.0.0.1:{self.port}/push/{sub_id}",
            "keys": {"p256dh": b64url(public), "auth": b64url(auth)},
        }

    def handle(self, path: str, headers: dict[str, str], body: bytes) -> int:
        """Check and decrypt one push message; the HTTP status to answer."""
        sub_id = path.rsplit("/", 1)[-1]
        with self._lock:
            if self.fail_next:
                return self.fail_next.pop(0)
            if sub_id in self.gone or sub_id not in self._keys:
                return 410
            key, auth = self._keys[sub_id]
        try:
            claims, vapid_key = _check_vapid(headers.get("authorization", ""), self.port)
        except ValueError as exc:
            self.errors.append(str(exc))
            return 401  # RFC 8292 §4.2 (403 when the key does not match the subscription)
        if headers.get("content-encoding") != "aes128gcm":
            self.errors.append("content-encoding is not aes128gcm")
            return 415
        try:
            plain = http_ece.decrypt(body, private_key=key, auth_secret=auth, version="aes128gcm")
        except Exception as exc:
            self.errors.append(f"cannot decrypt: {exc}")
            return 400
        with self._lock:
            self.received.append(
                PushReceived(sub_id, json.loads(plain), headers.get("ttl"), claims, vapid_key)
            )
        return 201


def _check_vapid(header: str, port: int) -> tuple[dict[str, Any], str]:
    """RFC 8292 §3: ``vapid t=<JWT>, k=<key>``; the JWT is ES256 over the key."""
    scheme, _, rest = header.partition(" ")
    if scheme.lower() != "vapid":
        raise ValueError("no vapid authorization")
    params = dict(p.strip().split("=", 1) for p in rest.split(","))
    token, k = params.get("t", ""), params.get("k", "")
    head_b64, claims_b64, sig_b64 = token.split(".")
    head = json.loads(unb64url(head_b64))
    if head.get("alg") != "ES256":
        raise ValueError("JWT alg is not ES256")
    public = ec.EllipticCurvePublicKey.from_encoded_point(ec.SECP256R1(), unb64url(k))
    sig = unb64url(sig_b64)
    der = encode_dss_signature(int.from_bytes(sig[:32], "big"), int.from_bytes(sig[32:], "big"))
    try:
        public.verify(der, f"{head_b64}.{claims_b64}".encode(), ec.ECDSA(hashes.SHA256()))
    except InvalidSignature as exc:
        raise ValueError("bad VAPID signature") from exc
    claims: dict[str, Any] = json.loads(unb64url(claims_b64))
    if claims.get("aud") != f"http://127.0.0.1:{port}":
        raise ValueError("aud is not the push service's origin")
    if not time.time() < int(claims.get("exp", 0)) <= time.time() + 86400:
        raise ValueError("exp is not within 24 hours")  # RFC 8292 §2
    if not str(claims.get("sub", "")).startswith(("mailto:", "https:", "http:")):
        raise ValueError("no sub contact")
    return claims, k


def _handler(service: PushService) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            headers = {k.lower(): v for k, v in self.headers.items()}
            status = service.handle(self.path, headers, body)
            self.send_response(status)
            self.send_header("Content-Length", "0")
            if status == 201:
                self.send_header("Location", f"/message/{secrets.token_hex(4)}")
            self.end_headers()

        def log_message(self, format: str, *args: Any) -> None:
            pass

    return Handler
