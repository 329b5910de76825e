"""A client of the Cloud Signature Consortium API (CSC API v1.0.4 and v2.0,
https://cloudsignatureconsortium.org): info, oauth2/token, credentials/info,
credentials/authorize and signatures/signHash, with pyHanko's CSC signer.

pyHanko's :class:`~pyhanko.sign.signers.csc_signer.CSCSigner` sends the v1 field names
(``hash``, ``hashAlgo``); for a v2 service the v2 names (``hashes``,
``hashAlgorithmOID``, CSC API v2.0 §11.7, §11.9) are sent beside them.
No database here: callers pass what a registered service holds.

Every connection obeys the SSRF guard (:mod:`medsign.net.ssrf`): a base URL that is, or
resolves to, a loopback, private or link-local address is refused at each call (DNS can
change after registration) unless ``MEDSIGN_CSC_ALLOW_PRIVATE`` allows it.
"""

from __future__ import annotations

import io
import logging
from collections.abc import Coroutine
from dataclasses import dataclass
from typing import Any, TypeVar

import aiohttp
from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
from pyhanko.sign import signers
from pyhanko.sign.general import SigningError
from pyhanko.sign.signers import csc_signer

from medsign.errors import ExternalSignatureRejected, SigningServiceUnavailable
from medsign.net import guarded_http, ssrf
from medsign.pdf.reference import run_sync

log = logging.getLogger(__name__)

_SHA256_OID = "2.16.840.1.101.3.4.2.1"
T = TypeVar("T")
RULE = ssrf.Rule("signing services", "MEDSIGN_CSC_ALLOW_PRIVATE")


@dataclass(frozen=True)
class CscEndpoint:
    """Where a service answers and how to authenticate to it."""

    base_url: str
    api_version: str  # "v1" or "v2"
    token: str | None = None
    timeout: float = 30.0
    allow_private: bool = False  # MEDSIGN_CSC_ALLOW_PRIVATE

    def session(self) -> aiohttp.ClientSession:
        """An HTTP session that connects only where the SSRF guard allows."""
        return guarded_http.session(allow_private=self.allow_private, rule=RULE)

    def url(self, name: str) -> str:
        """``{base_url}/csc/{version}/{name}``."""
        return f"{self.base_url.rstrip('/')}/csc/{self.api_version}/{name}"


def _guarded(what: str, call: Coroutine[Any, Any, T]) -> T:
    """Run ``call``; an address the SSRF guard refused becomes a clear failure."""
    try:
        return run_sync(call)
    except ssrf.UnsafeUrl as exc:
        log.info("CSC %s refused by the SSRF guard", what)
        raise SigningServiceUnavailable(
            f"{exc} medsign did not connect to that address; nothing was signed.",
            step=what,
            reason="private-address",
        ) from exc


def _unavailable(what: str, exc: BaseException | None = None) -> SigningServiceUnavailable:
    if exc is not None:
        log.info("CSC %s failed: %s", what, type(exc).__name__)
    return SigningServiceUnavailable(
        f"The remote signing service did not complete {what}; nothing was signed. "
        "Try again later or check the service's registration.",
        step=what,
    )


async def _post(
    http: aiohttp.ClientSession, endpoint: CscEndpoint, name: str, body: dict[str, Any]
) -> dict[str, Any]:
    headers = {"Authorization": f"Bearer {endpoint.token}"} if endpoint.token else {}
    timeout = aiohttp.ClientTimeout(total=endpoint.timeout)
    try:
        async with http.post(
            endpoint.url(name), json=body, headers=headers, timeout=timeout
        ) as res:
            if res.status in (400, 401, 403) and name == "credentials/authorize":
                raise ExternalSignatureRejected(
                    "The signing service refused to authorize the signature: check the "
                    "credential id and the PIN or one-time password.",
                    reason="csc-authorization-refused",
                )
            if res.status >= 400:
                raise _unavailable(name)
            data = await res.json(content_type=None)
    except (TimeoutError, aiohttp.ClientError, ValueError) as exc:
        raise _unavailable(name, exc) from exc
    if not isinstance(data, dict):
        raise _unavailable(name)
    return data


def service_info(endpoint: CscEndpoint) -> dict[str, Any]:
    """The service's ``info`` answer (CSC API §11.1): checked at registration."""

    async def run() -> dict[str, Any]:
        async with endpoint.session() as http:
            return await _post(http, endpoint, "info", {})

    return _guarded("info", run())


def client_credentials_token(endpoint: CscEndpoint, client_id: str, secret: str) -> str:
    """An access token by the OAuth 2.0 client credentials grant (RFC 6749 §4.4) at
    ``oauth2/token`` (CSC API v2.0 §8.3.3)."""

    async def run() -> str:
        form = {"grant_type": "client_credentials", "client_id": client_id}
        form["client_secret"] = secret
        timeout = aiohttp.ClientTimeout(total=endpoint.timeout)
        try:
            async with (
                endpoint.session() as http,
                http.post(endpoint.url("oauth2/token"), data=form, timeout=timeout) as res,
            ):
                if res.status >= 400:
                    raise _unavailable("oauth2/token")
                data = await res.json(content_type=None)
        except (TimeoutError, aiohttp.ClientError, ValueError) as exc:
            raise _unavailable("oauth2/token", exc) from exc
        token = data.get("access_token") if isinstance(data, dict) else None
        if not isinstance(token, str) or not token:
            raise _unavailable("oauth2/token")
        return token

    return _guarded("oauth2/token", run())


def sign_pdf_remotely(
    pdf: bytes,
    endpoint: CscEndpoint,
    credential_id: str,
    *,
    field_name: str,
    pin: str | None = None,
    otp: str | None = None,
) -> bytes:
    """Add one PAdES signature to ``pdf`` (an incremental update) whose value the CSC
    service computes with ``credential_id``'s key (signatures/signHash)."""
    return _guarded("signing", _sign(pdf, endpoint, credential_id, field_name, pin, otp))


async def _sign(
    pdf: bytes,
    endpoint: CscEndpoint,
    credential_id: str,
    field_name: str,
    pin: str | None,
    otp: str | None,
) -> bytes:
    session_info = csc_signer.CSCServiceSessionInfo(
        endpoint.base_url.rstrip("/"),
        credential_id,
        oauth_token=endpoint.token,
        api_ver=endpoint.api_version,
    )
    async with endpoint.session() as http:
        try:
            credential = await csc_signer.fetch_certs_in_csc_credential(
                http, session_info, timeout=int(endpoint.timeout)
            )
        except SigningError as exc:
            cause = exc.__cause__
            if isinstance(cause, aiohttp.ClientResponseError) and cause.status in (400, 404):
                raise ExternalSignatureRejected(
                    "The signing service does not know this credential id.",
                    reason="csc-unknown-credential",
                ) from exc
            raise _unavailable("credentials/info", exc) from exc
        authorizer = _Authorizer(session_info, credential, http, endpoint, pin, otp)
        signer = _Signer(http, authorizer, endpoint.api_version)
        meta = signers.PdfSignatureMetadata(field_name=field_name, md_algorithm="sha256")
        try:
            writer = IncrementalPdfFileWriter(io.BytesIO(pdf), strict=False)
            out = await signers.PdfSigner(meta, signer).async_sign_pdf(writer)
        except (ExternalSignatureRejected, SigningServiceUnavailable):
            raise
        except (TimeoutError, SigningError, aiohttp.ClientError) as exc:
            cause = exc.__cause__ or exc
            if isinstance(cause, (ExternalSignatureRejected, SigningServiceUnavailable)):
                raise cause from None
            raise _unavailable("signatures/signHash", exc) from exc
        return bytes(out.getvalue())


class _Authorizer(csc_signer.CSCAuthorizationManager):
    """credentials/authorize with the PIN/OTP the credential needs, bound to the hashes
    to be signed (hash pinning, "SCAL 2", CSC API §11.9)."""

    def __init__(
        self,
        session_info: csc_signer.CSCServiceSessionInfo,
        credential: csc_signer.CSCCredentialInfo,
        http: aiohttp.ClientSession,
        endpoint: CscEndpoint,
        pin: str | None,
        otp: str | None,
    ) -> None:
        super().__init__(session_info, credential)
        self.http, self.endpoint, self.pin, self.otp = http, endpoint, pin, otp

    async def authorize_signature(self, hash_b64s: list[str]) -> csc_signer.CSCAuthorizationInfo:
        body = self.format_csc_auth_request(pin=self.pin, otp=self.otp, hash_b64s=hash_b64s)
        if self.endpoint.api_version == "v2":
            body["hashes"] = hash_b64s
            body["hashAlgorithmOID"] = _SHA256_OID
        data = await _post(self.http, self.endpoint, "credentials/authorize", body)
        return self.parse_csc_auth_response(data)


class _Signer(csc_signer.CSCSigner):
    """pyHanko's CSC signer, adding the v2 field names to signatures/signHash."""

    def __init__(self, http: aiohttp.ClientSession, authorizer: _Authorizer, version: str) -> None:
        super().__init__(http, authorizer)
        self.version = version

    async def format_csc_signing_req(
        self, tbs_hashes: list[str], digest_algorithm: str
    ) -> dict[str, Any]:
        body = await super().format_csc_signing_req(tbs_hashes, digest_algorithm)
        if self.version == "v2":
            body["hashes"] = body.get("hash", tbs_hashes)
            body.setdefault("hashAlgorithmOID", _SHA256_OID)
        return body
