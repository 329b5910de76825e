"""A small real OpenID Connect provider on loopback, for the integration tests.

It serves discovery, an authorization endpoint that logs in whichever account the test
names (no form: the browser tests use panva's oidc-provider for that), a token endpoint
that checks client authentication, PKCE, the redirect URI and single use of codes, a
JWKS and userinfo. ID tokens are signed with a real ES256 key; a test can ask for a
token that is expired, tampered with, for another audience, from another issuer, or
signed by a key that is not in the JWKS, and can make the provider slow or down.
Times come from the test's clock, like medsign's.
"""

from __future__ import annotations

import base64
import hashlib
import json
import secrets
import threading
import time
from collections.abc import Callable
from datetime import datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

from joserfc import jwt
from joserfc.jwk import ECKey

from tests.support.peer import LoopbackPeer, send_json

ACCOUNTS: dict[str, dict[str, Any]] = {
    "maria": {
        "name": "Иванова Мария Петровна",
        "birthdate": "1990-04-12",
        "snils": "112-233-445 95",
    },
    "other": {
        "name": "Петров Иван Сергеевич",
        "birthdate": "1985-01-30",
        "snils": "998-877-665 44",
    },
    "nameless": {},
    # cabinet logins: a verified email, a verified phone, an email not verified
    "anna": {"name": "Анна Смирнова", "email": "Anna@Example.ORG", "email_verified": True},
    "pavel": {
        "name": "Павел Орлов",
        "phone_number": "+7 999 000-11-22",
        "phone_number_verified": True,
    },
    "unverified": {"name": "Некто", "email": "someone@example.org", "email_verified": False},
}


class OidcPeer(LoopbackPeer):
    """The provider; ``issuer`` is ``http://127.0.0.1:<port>``."""

    def __init__(self, clock: Callable[[], datetime], client_id: str = "medsign-test") -> None:
        self.clock = clock
        self.client_id = client_id
        self.client_secret = secrets.token_urlsafe(24)
        self.key = ECKey.generate_key("P-256", {"kid": "k1", "use": "sig", "alg": "ES256"})
        self.stranger_key = ECKey.generate_key("P-256", {"kid": "k1", "alg": "ES256"})
        self.account = "maria"  # who logs in next
        self.cancel = False  # the next login is cancelled by the person
        self.token_mode = ""  # expired | tampered | wrong_aud | other_iss | bad_key | no_nonce
        self.claims_in_id_token = False  # conformant default: profile claims in userinfo only
        self.delay = 0.0
        self.down = False
        self.codes: dict[str, dict[str, Any]] = {}
        self.used_codes: set[str] = set()
        self.last_authorize: dict[str, str] = {}
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self.port = int(self._server.server_address[1])
        self.issuer = f"http://127.0.0.1:{self.port}"
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        """Serve in a daemon thread."""
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()

    def stop(self) -> None:
        """Stop and release the port."""
        self._server.shutdown()
        self._server.server_close()

    def discovery(self) -> dict[str, Any]:
        """The discovery document (OIDC Discovery §3)."""
        base = self.issuer
        return {
            "issuer": base,
            "authorization_endpoint": f"{base}/authorize",
            "token_endpoint": f"{base}/token",
            "jwks_uri": f"{base}/jwks",
            "userinfo_endpoint": f"{base}/userinfo",
            "scopes_supported": ["openid", "profile", "snils"],
            "response_types_supported": ["code"],
            "id_token_signing_alg_values_supported": ["ES256"],
            "token_endpoint_auth_methods_supported": ["client_secret_basic"],
        }

    def authorize(self, query: dict[str, str]) -> str:
        """The redirect back to the client after the (automatic) login."""
        self.last_authorize = dict(query)
        redirect = query["redirect_uri"]
        if self.cancel:
            params = {"error": "access_denied", "state": query.get("state", "")}
        else:
            code = secrets.token_urlsafe(16)
            self.codes[code] = {**query, "account": self.account, "auth_time": self._now()}
            params = {"code": code, "state": query.get("state", "")}
        return redirect + "?" + urlencode(params)

    def _now(self) -> int:
        return int(self.clock().timestamp())

    def token(self, form: dict[str, str], auth: str) -> tuple[int, dict[str, Any]]:
        """The token endpoint (RFC 6749 §4.1.3, RFC 7636 §4.6)."""
        expected = base64.b64encode(f"{self.client_id}:{self.client_secret}".encode()).decode()
        if auth != f"Basic {expected}":
            return 401, {"error": "invalid_client"}
        code = form.get("code", "")
        grant = self.codes.get(code)
        if grant is None or code in self.used_codes:
            return 400, {"error": "invalid_grant"}
        self.used_codes.add(code)
        challenge = (
            base64.urlsafe_b64encode(
                hashlib.sha256(form.get("code_verifier", "").encode()).digest()
            )
            .rstrip(b"=")
            .decode()
        )
        if (
            challenge != grant.get("code_challenge")
            or form.get("redirect_uri") != grant["redirect_uri"]
        ):
            return 400, {"error": "invalid_grant"}
        access = secrets.token_urlsafe(16)
        self.codes[access] = grant
        return 200, {
            "access_token": access,
            "token_type": "Bearer",
            "id_token": self._id_token(grant),
        }

    def _id_token(self, grant: dict[str, Any]) -> str:
        now = self._now()
        mode = self.token_mode
        claims: dict[str, Any] = {
            "iss": "http://elsewhere.example" if mode == "other_iss" else self.issuer,
            "sub": f"sub-{grant['account']}",
            "aud": "someone-else" if mode == "wrong_aud" else self.client_id,
            "exp": now - 3600 if mode == "expired" else now + 300,
            "iat": now - 3700 if mode == "expired" else now,
            "auth_time": grant["auth_time"],
            "acr": "urn:test:loa:high",
            "amr": ["pwd"],
        }
        if mode != "no_nonce":
            claims["nonce"] = grant.get("nonce")
        if self.claims_in_id_token:
            claims |= ACCOUNTS[grant["account"]]
        key = self.stranger_key if mode == "bad_key" else self.key
        token = jwt.encode({"alg": "ES256", "kid": "k1"}, claims, key)
        if mode == "tampered":
            head, body, sig = token.split(".")
            payload = json.loads(base64.urlsafe_b64decode(body + "=" * (-len(body) % 4)))
            payload["sub"] = "sub-other"
            body = base64.urlsafe_b64encode(json.dumps(payload).encode()).rstrip(b"=").decode()
            token = f"{head}.{body}.{sig}"
        return token

    def userinfo(self, auth: str) -> tuple[int, dict[str, Any]]:
        """Claims of the account behind the access token (OIDC Core §5.3)."""
        grant = self.codes.get(auth.removeprefix("Bearer "))
        if grant is None:
            return 401, {"error": "invalid_token"}
        return 200, {"sub": f"sub-{grant['account']}", **ACCOUNTS[grant["account"]]}

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        peer = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, format: str, *args: Any) -> None:
                """Quiet."""

            def _send(self, status: int, body: dict[str, Any] | None, location: str = "") -> None:
                send_json(self, status, body, location)

            def _gate(self) -> bool:
                if peer.delay:
                    time.sleep(peer.delay)
                if peer.down:
                    self._send(503, {"error": "temporarily_unavailable"})
                    return False
                return True

            def do_GET(self) -> None:
                if not self._gate():
                    return
                parts = urlsplit(self.path)
                query = {k: v[0] for k, v in parse_qs(parts.query).items()}
                if parts.path == "/.well-known/openid-configuration":
                    self._send(200, peer.discovery())
                elif parts.path == "/jwks":
                    self._send(200, {"keys": [peer.key.as_dict(private=False)]})
                elif parts.path == "/authorize":
                    self._send(302, None, peer.authorize(query))
                elif parts.path == "/userinfo":
                    self._send(*peer.userinfo(self.headers.get("Authorization", "")))
                else:
                    self._send(404, {"error": "not_found"})

            def do_POST(self) -> None:
                if not self._gate():
                    return
                length = int(self.headers.get("Content-Length", "0"))
                form = {k: v[0] for k, v in parse_qs(self.rfile.read(length).decode()).items()}
                if urlsplit(self.path).path == "/token":
                    self._send(*peer.token(form, self.headers.get("Authorization", "")))
                else:
                    self._send(404, {"error": "not_found"})

        return Handler
