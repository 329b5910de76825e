"""OpenID Connect from the relying party's side: discovery, the authorization request,
the code exchange, ID token checks and userinfo (OpenID Connect Core 1.0, Discovery 1.0,
RFC 6749, RFC 7636 PKCE). Plain HTTP through httpx; no web framework.
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import ipaddress
import json
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import quote_plus, urlencode, urlsplit

import httpx
from joserfc import jwt
from joserfc.errors import JoseError
from joserfc.jwk import KeySet

from medsign.errors import InvalidInput, LoginRejected, ProviderUnavailable

# Asymmetric algorithms only: an HS256 token keyed with the client secret would let
# anyone who learns the secret forge logins (OIDC Core §10.1 allows both; we do not).
ALGORITHMS = ["RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "EdDSA"]
LEEWAY = timedelta(seconds=60)  # clock skew between medsign and the provider
SIGN_SCOPE = "https://id.oidc.se/scope/sign"  # oidc-sweden Signature Extension
SIGN_REQUEST_PARAM = "https://id.oidc.se/param/signRequest"
_REQUIRED = ("authorization_endpoint", "token_endpoint", "jwks_uri")


def check_url(url: str, *, allow_http: bool, field: str) -> str:
    """``url`` is https, or http on a loopback host when ``allow_http`` (the
    ``MEDSIGN_IDP_ALLOW_HTTP`` setting); InvalidInput otherwise."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    if parts.scheme == "https" and host:
        return url
    loopback = host == "localhost"
    with contextlib.suppress(ValueError):
        loopback = loopback or ipaddress.ip_address(host).is_loopback
    if parts.scheme == "http" and loopback and allow_http:
        return url
    raise InvalidInput(
        f"`{field}` must be an https:// URL (http:// only on loopback with "
        "MEDSIGN_IDP_ALLOW_HTTP=true).",
        field=field,
    )


@dataclass(frozen=True)
class Http:
    """An HTTP client for talking to providers, with one timeout for every call."""

    client: httpx.Client
    timeout: float

    def get_json(self, url: str, what: str, **headers: str) -> dict[str, Any]:
        """GET a JSON object; ProviderUnavailable when the provider fails to answer."""
        try:
            response = self.client.get(url, headers=headers, timeout=self.timeout)
        except httpx.HTTPError as exc:
            raise ProviderUnavailable(
                f"The identity provider did not answer ({what}). Try again in a minute.",
                step=what,
            ) from exc
        return _json(response, what)

    def post_form(
        self, url: str, data: dict[str, str], what: str, auth: tuple[str, str] | None
    ) -> httpx.Response:
        """POST a form; ProviderUnavailable on a timeout or a network error."""
        try:
            return self.client.post(
                url,
                data=data,
                # RFC 6749 §2.3.1: id and secret are form-urlencoded before Basic auth.
                auth=httpx.BasicAuth(quote_plus(auth[0]), quote_plus(auth[1]))
                if auth
                else httpx.USE_CLIENT_DEFAULT,
                timeout=self.timeout,
                headers={"Accept": "application/json"},
            )
        except httpx.HTTPError as exc:
            raise ProviderUnavailable(
                f"The identity provider did not answer ({what}). Try again in a minute.",
                step=what,
            ) from exc


def _json(response: httpx.Response, what: str) -> dict[str, Any]:
    if response.status_code >= 500 or response.status_code == 429:
        raise ProviderUnavailable(
            f"The identity provider answered {response.status_code} ({what}). "
            "Try again in a minute.",
            step=what,
        )
    try:
        body = response.json()
    except ValueError:
        body = None
    if response.status_code != 200 or not isinstance(body, dict):
        raise ProviderUnavailable(
            f"The identity provider gave no usable answer ({what}, HTTP {response.status_code}).",
            step=what,
        )
    return body


def discover(http: Http, issuer: str, *, allow_http: bool) -> dict[str, Any]:
    """Fetch and check ``{issuer}/.well-known/openid-configuration`` (Discovery §4)."""
    url = issuer.rstrip("/") + "/.well-known/openid-configuration"
    try:
        meta = http.get_json(url, "discovery")
    except ProviderUnavailable as exc:
        raise InvalidInput(
            f"No OpenID Connect discovery document at {url}: {exc.detail}", field="issuer"
        ) from None
    # Discovery §4.3: the issuer in the document must equal the one it was fetched for.
    if meta.get("issuer") != issuer:
        raise InvalidInput(
            f"The discovery document names the issuer {meta.get('issuer')!r}, not {issuer!r}.",
            field="issuer",
        )
    for key in _REQUIRED:
        if not isinstance(meta.get(key), str):
            raise InvalidInput(f"The discovery document lacks `{key}`.", field="issuer")
        check_url(meta[key], allow_http=allow_http, field="issuer")
    if isinstance(meta.get("userinfo_endpoint"), str):
        check_url(meta["userinfo_endpoint"], allow_http=allow_http, field="issuer")
    keep = (*_REQUIRED, "issuer", "userinfo_endpoint", "scopes_supported", "claims_supported")
    extra = ("token_endpoint_auth_methods_supported", "id_token_signing_alg_values_supported")
    return {k: meta[k] for k in (*keep, *extra) if k in meta}


def b64url(data: bytes) -> str:
    """Base64url without padding (RFC 7515 §2)."""
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def pkce_challenge(verifier: str) -> str:
    """The S256 code challenge of ``verifier`` (RFC 7636 §4.2)."""
    return b64url(hashlib.sha256(verifier.encode()).digest())


def nonce_for(sha256: str, signer_id: str, salt: str) -> str:
    """The nonce that binds a login to one document version and one signer.

    Anyone holding the evidence (document hash, signer id, salt) can recompute it and
    compare it with the ``nonce`` claim of the stored ID token (OIDC Core §3.1.2.1,
    §15.5.2); the random salt keeps it unpredictable.
    """
    text = f"medsign-idp-nonce-v1\n{sha256}\n{signer_id}\n{salt}"
    return b64url(hashlib.sha256(text.encode()).digest())


def login_nonce(purpose: str, login_id: str, salt: str) -> str:
    """The nonce of a login that signs nothing (a cabinet login or link): bound to the
    login row and its purpose, unpredictable through the random salt (OIDC Core
    §3.1.2.1, §15.5.2)."""
    text = f"medsign-idp-nonce-v1\n{purpose}\n{login_id}\n{salt}"
    return b64url(hashlib.sha256(text.encode()).digest())


@dataclass(frozen=True)
class AuthRequest:
    """What goes into the authorization request besides the client's own data.

    ``max_age`` 0 asks for a fresh login (with ``prompt=login``); more accepts a login
    at the provider at most that many seconds old. ``title`` and ``sha256`` name the
    document a signing login signs (none for a cabinet login)."""

    state: str
    nonce: str
    code_verifier: str
    redirect_uri: str
    lang: str
    title: str | None = None
    sha256: str | None = None
    max_age: int = 0


def authorization_url(
    discovery: dict[str, Any], client_id: str, scopes: list[str], req: AuthRequest
) -> str:
    """The URL the patient's browser is sent to: code flow with PKCE, a recent login
    (``max_age``, and ``prompt=login`` when it is 0: OIDC Core §3.1.2.1) and, for a
    document where the provider supports oidc-sweden's signature extension, the
    document's title and hash shown."""
    scope = ["openid", *(s for s in scopes if s != "openid")]
    params = {
        "response_type": "code",
        "client_id": client_id,
        "redirect_uri": req.redirect_uri,
        "scope": "",
        "state": req.state,
        "nonce": req.nonce,
        "code_challenge": pkce_challenge(req.code_verifier),
        "code_challenge_method": "S256",
        "max_age": str(req.max_age),
        "ui_locales": req.lang,
    }
    if req.max_age == 0:
        params["prompt"] = "login"
    if req.sha256 and SIGN_SCOPE in discovery.get("scopes_supported", []):
        scope.append(SIGN_SCOPE)
        text = f"{req.title or ''}\nSHA-256: {req.sha256}"
        params[SIGN_REQUEST_PARAM] = json.dumps(
            {
                "tbs_data": b64url(bytes.fromhex(req.sha256)),
                "sign_message": {
                    "sign_message": b64url(text.encode()),
                    "mime_type": "text/plain",
                    "must_show": True,
                },
            }
        )
    params["scope"] = " ".join(scope)
    endpoint = str(discovery["authorization_endpoint"])
    return endpoint + ("&" if "?" in endpoint else "?") + urlencode(params)


def exchange_code(
    http: Http,
    discovery: dict[str, Any],
    client_id: str,
    client_secret: str,
    code: str,
    code_verifier: str,
    redirect_uri: str,
) -> dict[str, Any]:
    """Trade the code for tokens (RFC 6749 §4.1.3); a refused code is LoginRejected."""
    data = {
        "grant_type": "authorization_code",
        "code": code,
        "redirect_uri": redirect_uri,
        "code_verifier": code_verifier,
    }
    methods = discovery.get("token_endpoint_auth_methods_supported") or ["client_secret_basic"]
    auth: tuple[str, str] | None = (client_id, client_secret)
    if "client_secret_basic" not in methods and "client_secret_post" in methods:
        data |= {"client_id": client_id, "client_secret": client_secret}
        auth = None
    response = http.post_form(str(discovery["token_endpoint"]), data, "token", auth)
    if response.status_code in (400, 401):
        try:
            error = str(response.json().get("error", ""))
        except ValueError:
            error = ""
        raise LoginRejected(
            "The identity provider did not accept this login (it was used already or has "
            "expired). Go back to the document and sign in again.",
            reason="code-rejected",
            error=error[:64],
        )
    return _json(response, "token")


def verify_id_token(
    raw: str,
    jwks: dict[str, Any],
    *,
    issuer: str,
    client_id: str,
    nonce: str,
    started_at: datetime,
    now: datetime,
    max_age: int = 0,
) -> tuple[dict[str, Any], dict[str, Any]]:
    """Check an ID token as OIDC Core §3.1.3.7 asks; return (header, claims).

    Signature against the provider's JWKS (RFC 7515), ``iss``, ``aud`` (and ``azp``
    with several audiences), ``exp``, ``iat``, ``nonce``, and ``auth_time`` no earlier
    than ``max_age`` seconds before the patient was sent to log in (§3.1.2.1).
    """

    reject = untrusted
    try:
        token = jwt.decode(raw, KeySet.import_key_set(jwks), algorithms=ALGORITHMS)  # type: ignore[arg-type]
    except (JoseError, ValueError, TypeError, KeyError):
        raise reject("signature") from None
    claims, header = dict(token.claims), dict(token.header)
    if claims.get("iss") != issuer:
        raise reject("issuer")
    aud = claims.get("aud")
    audiences = aud if isinstance(aud, list) else [aud]
    if client_id not in audiences:
        raise reject("audience")
    if len(audiences) > 1 and claims.get("azp") != client_id:
        raise reject("audience")
    if claims.get("nonce") != nonce:
        raise reject("nonce")
    if not isinstance(claims.get("sub"), str) or not claims["sub"]:
        raise reject("subject")
    check_times(claims, now)
    auth_time = claims.get("auth_time")
    if not isinstance(auth_time, int | float):
        raise reject("auth_time missing")
    if datetime.fromtimestamp(auth_time, UTC) < started_at - timedelta(seconds=max_age) - LEEWAY:
        raise reject("not a fresh login")
    return header, claims


def untrusted(what: str) -> LoginRejected:
    """The refusal of an ID token that failed check ``what`` (no signature is made)."""
    return LoginRejected(
        f"The identity provider's answer could not be trusted ({what}). Nothing was "
        "signed; go back to the document and try again.",
        reason="id-token-invalid",
        check=what,
    )


def check_times(claims: dict[str, Any], now: datetime) -> None:
    """``exp``, ``iat`` and, when present, ``nbf`` of a JWT (RFC 7519 §4.1.4-4.1.6),
    within ``LEEWAY`` of clock skew; :func:`untrusted` otherwise."""
    exp, iat = claims.get("exp"), claims.get("iat")
    if not isinstance(exp, int | float) or not isinstance(iat, int | float):
        raise untrusted("times")
    if datetime.fromtimestamp(exp, UTC) <= now - LEEWAY:
        raise untrusted("expired")
    if datetime.fromtimestamp(iat, UTC) > now + LEEWAY:
        raise untrusted("issued in the future")
    nbf = claims.get("nbf")
    if isinstance(nbf, int | float) and datetime.fromtimestamp(nbf, UTC) > now + LEEWAY:
        raise untrusted("not yet valid")


def userinfo(http: Http, discovery: dict[str, Any], access_token: str) -> dict[str, Any]:
    """Claims from the userinfo endpoint (OIDC Core §5.3); empty when there is none."""
    url = discovery.get("userinfo_endpoint")
    if not isinstance(url, str) or not access_token:
        return {}
    return http.get_json(url, "userinfo", Authorization=f"Bearer {access_token}")
