"""An ESIA-shaped provider on loopback, for the integration tests.

It knows one information system (client id and GOST certificate, as ESIA's technology
portal would) and checks every request the way ESIA does: the ``timestamp`` format
and age, a UUID ``state``, ``client_certificate_hash``, and the ``client_secret`` as a
detached CMS signature over scope+timestamp+client_id+state, verified with real GOST
R 34.10-2012 / Streebog-256 through OpenSSL's GOST engine (the digest algorithm in the
SignerInfo must be id-tc26-gost3411-12-256, RFC 9215). A request that fails any check
is refused: the authorization endpoint sends the browser back with an error, the token
endpoint answers 400. ID tokens are JWTs signed with the peer's own GOST key; a test can
ask for one expired, tampered with, signed by another key, or with another ``alg``.
``/rs/prns/{oid}`` serves the person. Times come from the test's clock.

``/rs/prns/{oid}/ctts`` serves the person's contacts as ESIA's REST API does: a
collection ``{"stateFacts": ["hasSize"], "size", "eTag", "elements"}`` whose elements
are the URLs ``/rs/prns/{oid}/ctts/{id}`` of each contact, or the contacts themselves
with ``?embed=(elements)``; a contact is ``{"stateFacts": ["Identifiable"], "id",
"type", "vrfStu", "value", "eTag"}`` (``type`` MBT mobile, PHN home phone, EML email,
CEM work email; ``vrfStu`` VERIFIED or NOT_VERIFIED; a contact being confirmed also
carries ``verifyingValue`` and ``vrfValStu``), mobiles written ``+7(999)1234567``.
The shapes follow ESIA's published examples as client libraries replay them (e.g. the
eigenmethod ``esia-connector`` tests). Like ESIA, the peer releases only what the
login's scopes cover: MBT with ``mobile``, EML with ``email``, any contact with
``contacts``; it serves them only to an access token issued for that oid.
"""

from __future__ import annotations

import base64
import hashlib
import json
import re
import secrets
import threading
import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

from asn1crypto import cms

from medsign.identity import gost
from tests.support.peer import LoopbackPeer, send_json

STREEBOG_256 = "1.2.643.7.1.1.2.2"  # id-tc26-gost3411-12-256 (RFC 9215 §2)
PERSONS: dict[str, dict[str, Any]] = {
    "maria": {
        "oid": "1000299353",
        "lastName": "Иванова",
        "firstName": "Мария",
        "middleName": "Петровна",
        "birthDate": "12.04.1990",
        "snils": "112-233-445 95",
        "trusted": True,
        "contacts": [
            {"id": 14338940, "type": "MBT", "vrfStu": "VERIFIED", "value": "+7(912)3456789"},
            {"id": 14216773, "type": "EML", "vrfStu": "VERIFIED", "value": "maria@example.org"},
        ],
    },
    "other": {
        "oid": "1000300001",
        "lastName": "Петров",
        "firstName": "Иван",
        "middleName": "Сергеевич",
        "birthDate": "30.01.1985",
        "snils": "998-877-665 44",
        "trusted": True,
        # Nothing a cabinet may trust: a mobile and an email still being confirmed, and
        # verified contacts of the types that do not name a person (home phone, work email).
        "contacts": [
            {
                "id": 14432744,
                "type": "MBT",
                "vrfStu": "NOT_VERIFIED",
                "value": "+7(913)0000001",
                "verifyingValue": "+7(913)0000001",
                "vrfValStu": "VERIFYING",
                "isCfmCodeExpired": False,
            },
            {"id": 14432745, "type": "EML", "vrfStu": "NOT_VERIFIED", "value": "ivan@example.org"},
            {"id": 14432746, "type": "PHN", "vrfStu": "VERIFIED", "value": "+7(495)1234567"},
            {"id": 14432747, "type": "CEM", "vrfStu": "VERIFIED", "value": "ivan@clinic.example"},
        ],
    },
    "unconfirmed": {
        "oid": "1000300002",
        "lastName": "Иванова",
        "firstName": "Мария",
        "middleName": "Петровна",
        "birthDate": "12.04.1990",
        "trusted": False,
    },
}
# Which contact types a scope releases (ESIA grants access to personal data per scope).
_RELEASED_BY = {"mobile": {"MBT"}, "email": {"EML"}, "contacts": {"MBT", "PHN", "EML", "CEM"}}
_STAMP = re.compile(r"^\d{4}\.\d{2}\.\d{2} \d{2}:\d{2}:\d{2} [+-]\d{4}$")


_DENIED = (401, {"code": "ESIA-005011", "message": "access denied"})


def _etag(body: dict[str, Any]) -> str:
    """An entity tag like ESIA's (40 upper-case hex digits)."""
    return hashlib.sha1(json.dumps(body, sort_keys=True).encode()).hexdigest().upper()  # noqa: S324


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64url(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


class EsiaPeer(LoopbackPeer):
    """The provider; its base URL is ``http://127.0.0.1:<port>``."""

    def __init__(
        self, clock: Callable[[], datetime], client: gost.Credential, client_id: str = "MEDSIGN"
    ) -> None:
        self.clock = clock
        self.client_id = client_id
        self.client_certificate = client.certificate_pem  # as uploaded to the portal
        self.signing = gost.new_credential("ESIA test")
        self.stranger = gost.new_credential("Not ESIA")
        self.account = "maria"
        self.token_mode = ""  # expired | tampered | bad_key | alg_none | wrong_aud
        self.refuse_token_signature = False  # the token endpoint refuses the secret
        self.codes: dict[str, dict[str, Any]] = {}
        self.used_codes: set[str] = set()
        self.access: dict[str, tuple[str, list[str]]] = {}  # access token -> (oid, scopes)
        self.rest_paths: list[str] = []  # the REST resources asked for, with their query
        self.last_authorize: dict[str, str] = {}
        self.verified: list[str] = []  # the endpoints whose client signature checked out
        self.refused: list[str] = []  # why requests were refused
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self.port = int(self._server.server_address[1])
        self.url = f"http://127.0.0.1:{self.port}"
        self.issuer = f"http://127.0.0.1:{self.port}/"
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        """Serve in a daemon thread."""
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()

    def stop(self) -> None:
        """Stop and release the port."""
        self._server.shutdown()
        self._server.server_close()

    def _check_client(self, params: dict[str, str], where: str) -> str:
        """Why the request's client authentication fails, or "" when it holds."""
        if params.get("client_id") != self.client_id:
            return "client_id"
        stamp = params.get("timestamp", "")
        if not _STAMP.match(stamp):
            return "timestamp format"
        sent = datetime.strptime(stamp, "%Y.%m.%d %H:%M:%S %z")
        if abs(sent - self.clock().astimezone(UTC)) > timedelta(minutes=5):
            return "timestamp age"
        try:
            uuid.UUID(params.get("state", ""))
        except ValueError:
            return "state"
        try:
            signature = _unb64url(params.get("client_secret", ""))
            info = cms.ContentInfo.load(signature)
            digest = info["content"]["signer_infos"][0]["digest_algorithm"]["algorithm"].dotted
        except (ValueError, KeyError, TypeError):
            return "client_secret format"
        if digest != STREEBOG_256:
            return "digest algorithm"
        text = params["scope"] + stamp + params["client_id"] + params["state"]
        if not gost.verify_detached_cms(signature, text.encode(), self.client_certificate):
            return "client_secret signature"
        if params.get("client_certificate_hash") != gost.certificate_hash(self.client_certificate):
            return "client_certificate_hash"
        self.verified.append(where)
        return ""

    def authorize(self, query: dict[str, str]) -> str:
        """ESIA's v2 authorization endpoint: the redirect back after the login."""
        self.last_authorize = dict(query)
        redirect = query.get("redirect_uri", "")
        problem = self._check_client(query, "authorize")
        if not problem and (query.get("response_type") != "code" or not redirect):
            problem = "response_type"
        if problem:
            self.refused.append(f"authorize: {problem}")
            params = {
                "error": "invalid_client",
                "error_description": "ESIA-007053: OAuthErrorEnum.clientSecretWrong",
                "state": query.get("state", ""),
            }
            return redirect + "?" + urlencode(params)
        code = secrets.token_urlsafe(16)
        self.codes[code] = {**query, "account": self.account, "auth_time": self._now()}
        return redirect + "?" + urlencode({"code": code, "state": query["state"]})

    def _now(self) -> int:
        return int(self.clock().timestamp())

    def token(self, form: dict[str, str]) -> tuple[int, dict[str, Any]]:
        """ESIA's v3 token endpoint."""
        problem = self._check_client(form, "token")
        if self.refuse_token_signature:
            problem = problem or "refused by the test"
        if problem:
            self.refused.append(f"token: {problem}")
            return 400, {"error": "invalid_client", "error_description": "ESIA-007053"}
        code = form.get("code", "")
        grant = self.codes.get(code)
        if grant is None or code in self.used_codes:
            return 400, {"error": "invalid_grant"}
        self.used_codes.add(code)
        if form.get("redirect_uri") != grant["redirect_uri"] or form.get("grant_type") != (
            "authorization_code"
        ):
            return 400, {"error": "invalid_grant"}
        access = secrets.token_urlsafe(16)
        oid = str(PERSONS[grant["account"]]["oid"])
        self.access[access] = (oid, str(grant.get("scope", "")).split())
        return 200, {
            "access_token": access,
            "id_token": self._id_token(grant, oid),
            "state": form["state"],
            "token_type": "Bearer",
            "expires_in": 3600,
        }

    def _id_token(self, grant: dict[str, Any], oid: str) -> str:
        now = self._now()
        mode = self.token_mode
        header = {"alg": "none" if mode == "alg_none" else "GOST3410_2012_256", "typ": "JWT"}
        claims: dict[str, Any] = {
            "iss": self.issuer,
            "aud": "someone-else" if mode == "wrong_aud" else self.client_id,
            "sub": int(oid),
            "nbf": now - 3700 if mode == "expired" else now,
            "iat": now - 3700 if mode == "expired" else now,
            "exp": now - 3600 if mode == "expired" else now + 3600,
            "auth_time": grant["auth_time"],
            "amr": "PWD",
            "nonce": grant.get("nonce"),
            "urn:esia:sid": secrets.token_hex(8),
            "urn:esia:sbj": {"urn:esia:sbj_typ": "P", "urn:esia:sbj_id": int(oid)},
        }
        head = _b64url(json.dumps(header).encode())
        body = _b64url(json.dumps(claims).encode())
        key = self.stranger if mode == "bad_key" else self.signing
        signature = gost.sign_raw(key.private_key_pem, f"{head}.{body}".encode())
        if mode == "tampered":
            claims["sub"] = int(PERSONS["other"]["oid"])
            body = _b64url(json.dumps(claims).encode())
        return f"{head}.{body}.{_b64url(signature)}"

    def _record(self, oid: str, auth: str) -> tuple[dict[str, Any] | None, list[str]]:
        """The person behind ``oid`` and the login's scopes, if ``auth`` was issued for it."""
        oid_scopes = self.access.get(auth.removeprefix("Bearer "))
        if oid_scopes is None or oid_scopes[0] != oid:
            return None, []
        return next(p for p in PERSONS.values() if p["oid"] == oid), oid_scopes[1]

    def person(self, oid: str, auth: str) -> tuple[int, dict[str, Any]]:
        """``/rs/prns/{oid}``: only with an access token issued for that oid."""
        record, _ = self._record(oid, auth)
        if record is None:
            return _DENIED
        return 200, {k: v for k, v in record.items() if k not in ("oid", "contacts")}

    def _released(self, oid: str, auth: str) -> list[dict[str, Any]] | None:
        record, scopes = self._record(oid, auth)
        if record is None:
            return None
        types: set[str] = set().union(*(_RELEASED_BY.get(s, set()) for s in scopes))
        return [
            {"stateFacts": ["Identifiable"], **c, "eTag": _etag(c)}
            for c in record.get("contacts", [])
            if c["type"] in types
        ]

    def contacts(self, oid: str, auth: str, embed: bool) -> tuple[int, dict[str, Any]]:
        """``/rs/prns/{oid}/ctts``: the collection; the contacts themselves with
        ``?embed=(elements)``, else their URLs."""
        released = self._released(oid, auth)
        if released is None:
            return _DENIED
        elements: list[Any] = (
            released if embed else [f"{self.url}/rs/prns/{oid}/ctts/{c['id']}" for c in released]
        )
        body = {"stateFacts": ["hasSize"], "size": len(elements), "elements": elements}
        return 200, {**body, "eTag": _etag(body)}

    def contact(self, oid: str, contact_id: str, auth: str) -> tuple[int, dict[str, Any]]:
        """``/rs/prns/{oid}/ctts/{id}``: one contact the login may see."""
        released = self._released(oid, auth)
        if released is None:
            return _DENIED
        found = [c for c in released if str(c["id"]) == contact_id]
        return (200, found[0]) if found else (404, {"code": "ESIA-005002", "message": "not found"})

    def rest(self, path: str, query: dict[str, str], auth: str) -> tuple[int, dict[str, Any]]:
        """Route ``/rs/prns/...``."""
        self.rest_paths.append(path + (f"?embed={query['embed']}" if "embed" in query else ""))
        parts = path.removeprefix("/rs/prns/").split("/")
        if len(parts) == 1:
            return self.person(parts[0], auth)
        if len(parts) == 2 and parts[1] == "ctts":
            return self.contacts(parts[0], auth, query.get("embed") == "(elements)")
        if len(parts) == 3 and parts[1] == "ctts":
            return self.contact(parts[0], parts[2], auth)
        return 404, {"code": "ESIA-005002", "message": "not found"}

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        peer = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, format: str, *args: Any) -> None:
                """Quiet."""

            def _send(self, status: int, body: dict[str, Any] | None, location: str = "") -> None:
                send_json(self, status, body, location)

            def do_GET(self) -> None:
                parts = urlsplit(self.path)
                query = {k: v[0] for k, v in parse_qs(parts.query).items()}
                if parts.path == "/aas/oauth2/v2/ac":
                    self._send(302, None, peer.authorize(query))
                elif parts.path.startswith("/rs/prns/"):
                    self._send(*peer.rest(parts.path, query, self.headers.get("Authorization", "")))
                else:
                    self._send(404, {"error": "not_found"})

            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length", "0"))
                form = {k: v[0] for k, v in parse_qs(self.rfile.read(length).decode()).items()}
                if urlsplit(self.path).path == "/aas/oauth2/v3/te":
                    self._send(*peer.token(form))
                else:
                    self._send(404, {"error": "not_found"})

        return Handler
