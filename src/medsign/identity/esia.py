"""ESIA, the Russian Unified Identification and Authentication System (the Gosuslugi
login), from the relying party's side: the same trip as OpenID Connect (identity.login)
with ESIA's own request rules, after ESIA's "Methodological recommendations":

- authorization at ``/aas/oauth2/v2/ac`` and the code exchange at ``/aas/oauth2/v3/te``
  (RFC 6749 §4.1 in shape), each carrying ``timestamp`` ("yyyy.MM.dd HH:mm:ss Z"),
  ``state`` (a UUID, RFC 9562) and a ``client_secret`` that is no secret but the
  base64url of a detached CMS SignedData (RFC 5652) over
  ``scope + timestamp + client_id + state``, signed with the information system's
  GOST R 34.10-2012 256-bit key and the GOST R 34.11-2012 (Streebog) 256-bit digest
  (RFC 4491, RFC 9215), plus ``client_certificate_hash`` (hex Streebog-256 of the
  certificate's DER) by which ESIA picks the certificate to check it with;
- an ID token, a JWT (RFC 7519) whose ``alg`` is ``GOST3410_2012_256``, checked with
  ESIA's certificate as registered (ESIA publishes no JWKS);
- the person's name, birth date and SNILS from ESIA's REST API ``/rs/prns/{oid}``.

ESIA has no PKCE and no ``prompt``/``max_age``: the login is bound to the browser by
the single-use ``state`` and to the document by the nonce, checked when ESIA returns it.
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import json
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlencode, urlsplit

from medsign.errors import LoginRejected, ProviderUnavailable
from medsign.identity import gost
from medsign.identity.protocol import (
    AuthRequest,
    Http,
    _json,
    b64url,
    check_times,
    untrusted,
)

AUTHORIZE_PATH = "/aas/oauth2/v2/ac"
TOKEN_PATH = "/aas/oauth2/v3/te"  # noqa: S105 (a path, not a password)
PERSON_PATH = "/rs/prns"
JWT_ALGORITHM = "GOST3410_2012_256"
ACCESS_TYPE = "online"  # no refresh token: medsign needs one login, not lasting access


@dataclass(frozen=True)
class EsiaClient:
    """The information system's GOST credential and ESIA's certificate."""

    credential: gost.Credential
    provider_certificate: str


def endpoints(base_url: str) -> dict[str, Any]:
    """ESIA's endpoints under ``base_url`` (kept as the provider's "discovery"), and
    the ``iss`` its ID tokens carry: ``http://<host>/`` (ESIA writes http even though it
    serves https)."""
    base = base_url.rstrip("/")
    parts = urlsplit(base)
    return {
        "issuer": base_url,
        "authorization_endpoint": base + AUTHORIZE_PATH,
        "token_endpoint": base + TOKEN_PATH,
        "person_endpoint": base + PERSON_PATH,
        "id_token_issuer": f"http://{parts.netloc}/",
        "id_token_signing_alg_values_supported": [JWT_ALGORITHM],
    }


def timestamp(now: datetime) -> str:
    """ESIA's request time, "yyyy.MM.dd HH:mm:ss Z" (Java's SimpleDateFormat: the zone
    as +hhmm), e.g. ``2026.12.04 09:30:00 +0000``."""
    return now.astimezone(UTC).strftime("%Y.%m.%d %H:%M:%S +0000")


def signed_text(scope: str, stamp: str, client_id: str, state: str) -> bytes:
    """What ``client_secret`` signs: the four fields concatenated, UTF-8."""
    return (scope + stamp + client_id + state).encode()


def client_secret(client: EsiaClient, scope: str, stamp: str, client_id: str, state: str) -> str:
    """base64url of a detached CMS SignedData over :func:`signed_text` (GOST R
    34.10-2012 256-bit, Streebog-256; RFC 4491 §2, RFC 9215 §3)."""
    try:
        der = gost.sign_detached_cms(client.credential, signed_text(scope, stamp, client_id, state))
    except gost.GostError as exc:
        raise ProviderUnavailable(
            "medsign could not sign its request to ESIA (GOST cryptography unavailable). "
            "Try again later; the clinic has been told.",
            step="client-signature",
            error=str(exc)[:120],
        ) from None
    return b64url(der)


def _common(
    client: EsiaClient, client_id: str, scope: str, state: str, now: datetime
) -> dict[str, str]:
    stamp = timestamp(now)
    return {
        "client_id": client_id,
        "client_secret": client_secret(client, scope, stamp, client_id, state),
        "client_certificate_hash": gost.certificate_hash(client.credential.certificate_pem),
        "scope": scope,
        "state": state,
        "timestamp": stamp,
    }


def authorization_url(
    discovery: dict[str, Any],
    client_id: str,
    scopes: list[str],
    client: EsiaClient,
    req: AuthRequest,
    now: datetime,
) -> str:
    """The URL of ESIA's authorization endpoint (v2) for this login."""
    scope = " ".join(["openid", *(s for s in scopes if s != "openid")])
    params = {
        **_common(client, client_id, scope, req.state, now),
        "redirect_uri": req.redirect_uri,
        "response_type": "code",
        "access_type": ACCESS_TYPE,
        "nonce": req.nonce,
    }
    return str(discovery["authorization_endpoint"]) + "?" + urlencode(params)


def exchange_code(
    http: Http,
    discovery: dict[str, Any],
    client_id: str,
    scopes: list[str],
    client: EsiaClient,
    code: str,
    redirect_uri: str,
    now: datetime,
) -> dict[str, Any]:
    """Trade the code at the v3 token endpoint, signed anew with a fresh ``state`` that
    ESIA must echo; a refused code or client signature is LoginRejected."""
    scope = " ".join(["openid", *(s for s in scopes if s != "openid")])
    state = str(uuid.uuid4())
    data = {
        **_common(client, client_id, scope, state, now),
        "grant_type": "authorization_code",
        "code": code,
        "redirect_uri": redirect_uri,
        "token_type": "Bearer",
    }
    response = http.post_form(str(discovery["token_endpoint"]), data, "token", None)
    if response.status_code in (400, 401, 403):
        try:
            error = str(response.json().get("error", ""))
        except (ValueError, AttributeError):
            error = ""
        raise LoginRejected(
            "ESIA did not accept this login (it was used already, has expired, or ESIA "
            "refused medsign's signature). Go back to the document and sign in again.",
            reason="code-rejected",
            error=error[:64],
        )
    tokens = _json(response, "token")
    if tokens.get("state") != state:
        raise untrusted("token state")
    return tokens


def _b64url_decode(part: str) -> bytes:
    return base64.urlsafe_b64decode(part + "=" * (-len(part) % 4))


def verify_id_token(
    raw: str,
    provider_certificate: str,
    *,
    issuer: str,
    client_id: str,
    nonce: str,
    now: datetime,
) -> tuple[dict[str, Any], dict[str, Any]]:
    """Check ESIA's ID token; return (header, claims).

    The JWS signature (RFC 7515 §5.2) over ``header.payload`` with ESIA's GOST R
    34.10-2012 key, ``alg`` exactly GOST3410_2012_256 (no other is accepted, so no
    "none" or HMAC downgrade), then ``iss``, ``aud``, ``exp``, ``iat``, ``nbf``,
    ``nonce`` (when ESIA echoes it) and a subject (OIDC Core §3.1.3.7 in spirit).
    """
    parts = raw.split(".")
    if len(parts) != 3:
        raise untrusted("signature")
    try:
        header = json.loads(_b64url_decode(parts[0]))
        claims = json.loads(_b64url_decode(parts[1]))
        signature = _b64url_decode(parts[2])
    except (ValueError, binascii.Error):
        raise untrusted("signature") from None
    if not isinstance(header, dict) or not isinstance(claims, dict):
        raise untrusted("signature")
    if header.get("alg") != JWT_ALGORITHM:
        raise untrusted("algorithm")
    signed = f"{parts[0]}.{parts[1]}".encode()
    try:
        valid = gost.verify_raw(provider_certificate, signed, signature)
    except gost.GostError:
        valid = False
    if not valid:
        raise untrusted("signature")
    if claims.get("iss") != issuer:
        raise untrusted("issuer")
    aud = claims.get("aud")
    if client_id not in (aud if isinstance(aud, list) else [aud]):
        raise untrusted("audience")
    if "nonce" in claims and claims["nonce"] != nonce:
        raise untrusted("nonce")
    subject = _subject(claims)
    if not subject:
        raise untrusted("subject")
    claims["sub"] = subject
    check_times(claims, now)
    return header, claims


def _subject(claims: dict[str, Any]) -> str:
    """The person's ESIA object id (oid): ``sub``, or ``urn:esia:sbj`` ->
    ``urn:esia:sbj_id`` in older tokens."""
    sub = claims.get("sub")
    if sub is None:
        sbj = claims.get("urn:esia:sbj")
        sub = sbj.get("urn:esia:sbj_id") if isinstance(sbj, dict) else None
    if isinstance(sub, int) or (isinstance(sub, str) and sub.isdigit()):
        return str(sub)
    return ""


def person(http: Http, discovery: dict[str, Any], access_token: str, oid: str) -> dict[str, Any]:
    """``GET /rs/prns/{oid}`` with the access token: ESIA's record of the person."""
    url = f"{discovery['person_endpoint']}/{oid}"
    return http.get_json(url, "person", Authorization=f"Bearer {access_token}")


def person_claims(record: dict[str, Any]) -> dict[str, Any]:
    """ESIA's person record as OpenID-style claims: ``name`` (family, given, middle),
    ``family_name``, ``given_name``, ``middle_name``, ``birthdate`` (ISO 8601 from
    ESIA's dd.MM.yyyy), ``snils`` and ``trusted`` (a confirmed account)."""
    names = {
        "family_name": record.get("lastName"),
        "given_name": record.get("firstName"),
        "middle_name": record.get("middleName"),
    }
    claims: dict[str, Any] = {k: v for k, v in names.items() if isinstance(v, str) and v}
    full = [claims.get(k) for k in ("family_name", "given_name", "middle_name")]
    if claims:
        claims["name"] = " ".join(p for p in full if p)
    born = record.get("birthDate")
    if isinstance(born, str):
        with contextlib.suppress(ValueError):  # an unreadable date is a missing one
            claims["birthdate"] = datetime.strptime(born, "%d.%m.%Y").date().isoformat()
    if isinstance(record.get("snils"), str) and record["snils"]:
        claims["snils"] = record["snils"]
    claims["trusted"] = record.get("trusted") is True
    return claims


# ESIA's contact types and the verified status (ESIA's "Methodological
# recommendations", the ``/rs/prns/{oid}/ctts`` collection; scopes "mobile", "email").
_CONTACT_CLAIMS = {"MBT": "phone_number", "EML": "email"}
CONTACT_SCOPES = ("mobile", "email")


def contacts(
    http: Http, discovery: dict[str, Any], access_token: str, oid: str
) -> list[dict[str, Any]]:
    """``GET /rs/prns/{oid}/ctts?embed=(elements)``: the person's contacts (none asked
    for when the provider's scopes hold neither "mobile" nor "email")."""
    url = f"{discovery['person_endpoint']}/{oid}/ctts?embed=(elements)"
    body = http.get_json(url, "contacts", Authorization=f"Bearer {access_token}")
    elements = body.get("elements")
    return [e for e in elements if isinstance(e, dict)] if isinstance(elements, list) else []


def contact_claims(elements: list[dict[str, Any]]) -> dict[str, Any]:
    """ESIA's verified mobile phone and email as OpenID claims (``phone_number`` with
    ``phone_number_verified``, ``email`` with ``email_verified``, OIDC Core §5.1);
    unverified contacts are left out."""
    claims: dict[str, Any] = {}
    for element in elements:
        name = _CONTACT_CLAIMS.get(str(element.get("type")))
        value = element.get("value")
        verified = element.get("vrfStu") == "VERIFIED"
        if name and name not in claims and verified and isinstance(value, str) and value:
            claims[name] = value
            claims[f"{name}_verified"] = True
    return claims


def check_registration(client: EsiaClient) -> None:
    """Raise gost.GostError unless both certificates hold GOST R 34.10-2012 256-bit keys
    and the private key belongs to the client certificate."""
    gost.certificate_der(client.provider_certificate)
    gost.check_pair(client.credential)
