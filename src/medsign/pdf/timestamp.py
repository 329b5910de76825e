"""RFC 3161 time-stamps: the built-in TSA, a client for a remote TSA, and the port both fill.

A PAdES B-T signature (ETSI EN 319 142-1 §6.3, level B-T) carries a
*signature-time-stamp* (RFC 5652 unsigned attribute ``id-aa-timeStampToken``,
1.2.840.113549.1.9.16.2.14; RFC 3161 Appendix A) whose message imprint is the hash
of the SignerInfo's signature value. :class:`Timestamper` is what the sealing code
needs: a SHA-256 digest in, a DER ``TimeStampToken`` out, and an upper bound on its
size so the fast path can reserve room in ``/Contents`` before it signs.

* :class:`LocalTsa` is the built-in TSA (no HTTP): the ``TSTInfo`` and the token's
  SignedData are assembled from DER pieces prepared once per key, so a time-stamp
  costs one ECDSA signature and a few hundred bytes of DER. It also answers
  ``TimeStampReq`` messages (:meth:`LocalTsa.respond`) for ``POST /tsa``.
* :class:`HttpTimestamper` asks a TSA over HTTP (RFC 3161 §3.4,
  ``application/timestamp-query`` / ``application/timestamp-reply``).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import os
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa

from medsign.pdf.cms import (
    _OID_ECDSA_SHA256,
    _OID_RSA_SHA256,
    _OID_SHA256,
    ECDSA_SHA256,
    _alg,
    _integer,
    _octets,
    _seq,
    _set_of,
    tlv,
)
from medsign.pki import SealKey

# Object identifiers, DER-encoded.
OID_TST_INFO = bytes.fromhex(
    "060b2a864886f70d0109100104"
)  # id-ct-TSTInfo 1.2.840.113549.1.9.16.1.4
OID_TIMESTAMP_TOKEN = bytes.fromhex(
    "060b2a864886f70d010910020e"
)  # id-aa-timeStampToken 1.2.840.113549.1.9.16.2.14 (RFC 3161 Appendix A)
_OID_SIGNED_DATA = bytes.fromhex("06092a864886f70d010702")
_OID_CONTENT_TYPE = bytes.fromhex("06092a864886f70d010903")
_OID_MESSAGE_DIGEST = bytes.fromhex("06092a864886f70d010904")
_OID_SIGNING_CERT_V2 = bytes.fromhex("060b2a864886f70d010910022f")
# The built-in TSA's policy (RFC 3161 §2.4.2 TSAPolicyId): a UUID OID (ITU-T X.667,
# arc 2.25) so no registration is needed. It promises only "medsign's clock, ±1 s".
TSA_POLICY_OID = "2.25.229556409381095634146394617316473307911"

_HASHES: dict[str, tuple[str, int]] = {
    # DER of the AlgorithmIdentifier's OID -> (hashlib name, digest length)
    "2.16.840.1.101.3.4.2.1": ("sha256", 32),
    "2.16.840.1.101.3.4.2.2": ("sha384", 48),
    "2.16.840.1.101.3.4.2.3": ("sha512", 64),
}

Clock = Callable[[], dt.datetime]


class TimestampError(Exception):
    """The TSA could not be reached or answered something unusable."""


class Timestamper(Protocol):
    """Gives RFC 3161 time-stamp tokens over SHA-256 digests."""

    def timestamp(self, digest: bytes) -> bytes:
        """A DER ``TimeStampToken`` (ContentInfo) whose imprint is SHA-256 ``digest``."""
        ...

    def max_token_size(self) -> int:
        """An upper bound on the DER size of the tokens :meth:`timestamp` returns."""
        ...


def _oid_der(dotted: str) -> bytes:
    parts = [int(p) for p in dotted.split(".")]
    body = bytearray()
    for value in [parts[0] * 40 + parts[1], *parts[2:]]:
        chunk = [value & 0x7F]
        value >>= 7
        while value:
            chunk.append(0x80 | (value & 0x7F))
            value >>= 7
        body.extend(reversed(chunk))
    return tlv(0x06, bytes(body))


_POLICY_DER = _oid_der(TSA_POLICY_OID)


def _generalized_time(when: dt.datetime) -> bytes:
    """GeneralizedTime in UTC, whole seconds, ``Z`` (X.690 §11.7; RFC 3161 §2.4.2)."""
    utc = when.astimezone(dt.UTC)
    return tlv(0x18, utc.strftime("%Y%m%d%H%M%SZ").encode("ascii"))


def system_clock() -> dt.datetime:
    """The real time (a TSA must not use a test's frozen clock by default)."""
    return dt.datetime.now(dt.UTC)


@dataclass
class LocalTsa:
    """The built-in time-stamping authority: one key, one policy, the process clock.

    ``key`` is the TSA's key and certificate (EKU timeStamping, critical), issued by
    the medsign CA (:meth:`medsign.pki.DevCA.issue_tsa`).
    """

    key: SealKey
    clock: Clock = system_clock
    _pieces: tuple[bytes, bytes, bytes, bytes, bytes, int] | None = field(
        default=None, init=False, repr=False
    )
    _max_size: int | None = field(default=None, init=False, repr=False)
    _attrs: tuple[bytes, bytes] | None = field(default=None, init=False, repr=False)

    def _prepared(self) -> tuple[bytes, bytes, bytes, bytes, bytes, int]:
        """(tsa name, certificates, signer head, signature algorithm, ESS attr, max sig)."""
        if self._pieces is None:
            cert = self.key.certificate
            cert_der = cert.public_bytes(serialization.Encoding.DER)
            issuer = cert.issuer.public_bytes()
            serial = _integer(cert.serial_number)
            # tsa [0] GeneralName: directoryName [4] Name (both explicit: CHOICE types).
            tsa_name = tlv(0xA0, tlv(0xA4, cert.subject.public_bytes()))
            # certificates [0] IMPLICIT: the TSA certificate, as certReq asks (RFC 3161
            # §2.4.1); its issuer is a trust root the verifier already holds.
            certs = tlv(0xA0, cert_der)
            signer_head = _integer(1) + _seq(issuer, serial) + _alg(_OID_SHA256, null=False)
            # RFC 5816 §2.2.1: signing-certificate-v2 identifies the TSA certificate.
            issuer_serial = _seq(_seq(tlv(0xA4, issuer)), serial)
            ess = _seq(_octets(hashlib.sha256(cert_der).digest()), issuer_serial)
            ess_attr = _seq(_OID_SIGNING_CERT_V2, tlv(0x31, _seq(_seq(ess))))
            private_key = self.key.private_key
            if isinstance(private_key, rsa.RSAPrivateKey):
                sig_alg = _alg(_OID_RSA_SHA256, null=True)
                max_sig = (private_key.key_size + 7) // 8
            else:
                sig_alg = _alg(_OID_ECDSA_SHA256, null=False)
                max_sig = 2 * ((private_key.curve.key_size + 7) // 8) + 9
            self._pieces = (tsa_name, certs, signer_head, sig_alg, ess_attr, max_sig)
        return self._pieces

    def _tst_info(
        self, hash_alg: bytes, digest: bytes, nonce: bytes | None, when: dt.datetime
    ) -> bytes:
        tsa_name = self._prepared()[0]
        serial = os.urandom(16)
        # TSTInfo (RFC 3161 §2.4.2): version 1, policy, messageImprint, serialNumber
        # (unique per TSA: 128 random bits), genTime, accuracy (1 s), nonce, tsa.
        return _seq(
            _integer(1),
            _POLICY_DER,
            _seq(hash_alg, _octets(digest)),
            _integer(int.from_bytes(serial, "big")),
            _generalized_time(when),
            _seq(_integer(1)),  # Accuracy { seconds 1 }
            nonce or b"",
            tsa_name,
        )

    def _sign(self, data: bytes) -> bytes:
        private_key = self.key.private_key
        if isinstance(private_key, ec.EllipticCurvePrivateKey):
            return private_key.sign(data, ECDSA_SHA256)
        return private_key.sign(data, padding.PKCS1v15(), hashes.SHA256())

    def _token(
        self, hash_alg: bytes, digest: bytes, nonce: bytes | None, include_certs: bool
    ) -> bytes:
        _name, certs, signer_head, sig_alg, ess_attr, _max = self._prepared()
        tst_info = self._tst_info(hash_alg, digest, nonce, self.clock())
        if self._attrs is None:
            # The signed attributes differ only in the message digest; their DER order
            # (X.690 §11.6) is set by lengths that never change, so split once.
            marker = b"\xa5" * 32
            sample = _set_of(
                [
                    _seq(_OID_CONTENT_TYPE, tlv(0x31, OID_TST_INFO)),
                    _seq(_OID_MESSAGE_DIGEST, tlv(0x31, _octets(marker))),
                    ess_attr,
                ]
            )
            at = sample.index(marker)
            self._attrs = (sample[:at], sample[at + 32 :])
        head, tail = self._attrs
        attrs = head + hashlib.sha256(tst_info).digest() + tail
        signature = self._sign(attrs)
        signer_info = _seq(signer_head, b"\xa0" + attrs[1:], sig_alg, _octets(signature))
        signed_data = _seq(
            _integer(3),  # CMSVersion 3: eContentType is not id-data (RFC 5652 §5.1)
            tlv(0x31, _alg(_OID_SHA256, null=False)),
            _seq(OID_TST_INFO, tlv(0xA0, _octets(tst_info))),
            certs if include_certs else b"",
            tlv(0x31, signer_info),
        )
        return _seq(_OID_SIGNED_DATA, tlv(0xA0, signed_data))

    def timestamp(self, digest: bytes) -> bytes:
        """A time-stamp token over a SHA-256 ``digest``, with the TSA's certificates."""
        if len(digest) != 32:
            raise TimestampError("the built-in TSA time-stamps SHA-256 digests")
        return self._token(_alg(_OID_SHA256, null=False), digest, None, include_certs=True)

    def max_token_size(self) -> int:
        """Upper bound (computed once): a sample token plus the largest signature and serial."""
        if self._max_size is None:
            max_sig = self._prepared()[5]
            sample = self._token(_alg(_OID_SHA256, null=False), b"\x00" * 32, None, True)
            # The sample's signature and serial may be shorter than their maximum.
            self._max_size = len(sample) + max_sig + 24
        return self._max_size

    def respond(self, request_der: bytes) -> bytes:
        """Answer a DER ``TimeStampReq`` with a DER ``TimeStampResp`` (RFC 3161 §2.4).

        Refusals are answered too, with PKIStatus ``rejection`` and a failure reason
        (§2.4.2: badAlg, badRequest, badDataFormat, unacceptedPolicy,
        unacceptedExtension); the caller never gets an exception for a bad request.
        """
        from asn1crypto import tsp

        try:
            req = tsp.TimeStampReq.load(request_der)
            version = req["version"].native
            imprint = req["message_imprint"]
            alg_oid = imprint["hash_algorithm"]["algorithm"].dotted
            digest = imprint["hashed_message"].native
            policy = req["req_policy"].dotted if req["req_policy"].native is not None else None
            nonce = req["nonce"]
            cert_req = bool(req["cert_req"].native)
            has_extensions = req["extensions"].native is not None
            if req.contents is None or len(req.dump()) != len(request_der):
                raise ValueError("trailing bytes")
        except (ValueError, TypeError, KeyError, AttributeError):
            return _rejection("badDataFormat", "The request is not a DER TimeStampReq.")
        if version not in ("v1", 1):
            return _rejection("badRequest", "Only TimeStampReq version 1 is supported.")
        known = _HASHES.get(alg_oid)
        if known is None:
            return _rejection("badAlg", "Use SHA-256, SHA-384 or SHA-512.")
        if not isinstance(digest, bytes) or len(digest) != known[1]:
            return _rejection("badDataFormat", "The hashed message has the wrong length.")
        if policy is not None and policy != TSA_POLICY_OID:
            return _rejection("unacceptedPolicy", f"This TSA's policy is {TSA_POLICY_OID}.")
        if has_extensions:
            return _rejection("unacceptedExtension", "No extensions are supported.")
        nonce_der = nonce.dump() if nonce.native is not None else None
        hash_alg = _seq(_oid_der(alg_oid))
        token = self._token(hash_alg, digest, nonce_der, include_certs=cert_req)
        return _seq(_seq(_integer(0)), token)  # PKIStatusInfo { granted }


_FAIL_BITS = {
    "badAlg": 0,
    "badRequest": 2,
    "badDataFormat": 5,
    "unacceptedPolicy": 15,
    "unacceptedExtension": 16,
}


def _rejection(reason: str, text: str) -> bytes:
    """TimeStampResp { PKIStatusInfo { rejection(2), statusString, failInfo } }."""
    bit = _FAIL_BITS[reason]
    nbytes = bit // 8 + 1
    unused = 8 * nbytes - bit - 1
    bits = (1 << (8 * nbytes - 1 - bit)).to_bytes(nbytes, "big")
    status_string = _seq(tlv(0x0C, text.encode()))  # PKIFreeText: SEQUENCE OF UTF8String
    fail_info = tlv(0x03, bytes([unused]) + bits)
    return _seq(_seq(_integer(2), status_string, fail_info))


@dataclass
class HttpTimestamper:
    """An RFC 3161 client for a TSA reached over HTTP (RFC 3161 §3.4).

    Each request carries a random nonce and ``certReq`` true; the reply's status,
    nonce and message imprint are checked before the token is handed back.
    """

    url: str
    timeout: float = 10.0
    _size: int | None = field(default=None, init=False, repr=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, init=False, repr=False)

    def timestamp(self, digest: bytes) -> bytes:
        """Ask the TSA for a token over the SHA-256 ``digest``."""
        import httpx
        from asn1crypto import algos, core, tsp

        nonce = int.from_bytes(os.urandom(8), "big") | (1 << 62)
        req = tsp.TimeStampReq(
            {
                "version": 1,
                "message_imprint": tsp.MessageImprint(
                    {
                        "hash_algorithm": algos.DigestAlgorithm({"algorithm": "sha256"}),
                        "hashed_message": digest,
                    }
                ),
                "nonce": core.Integer(nonce),
                "cert_req": True,
            }
        )
        try:
            res = httpx.post(
                self.url,
                content=req.dump(),
                headers={"Content-Type": "application/timestamp-query"},
                timeout=self.timeout,
            )
        except httpx.HTTPError as exc:
            raise TimestampError(f"the TSA at {self.url} did not answer: {exc}") from exc
        if res.status_code != 200:
            raise TimestampError(f"the TSA answered HTTP {res.status_code}")
        return check_response(res.content, digest, nonce)

    def max_token_size(self) -> int:
        """The size of one real token (fetched once) plus room for variation."""
        with self._lock:
            if self._size is None:
                self._size = len(self.timestamp(hashlib.sha256(b"medsign size probe").digest()))
            return self._size + 1024


def check_response(response_der: bytes, digest: bytes, nonce: int | None) -> bytes:
    """Check a DER ``TimeStampResp`` (status, nonce, imprint); return the token's DER."""
    from asn1crypto import cms, core, tsp

    try:
        outer = core.Sequence.load(response_der)
        status_info = tsp.PKIStatusInfo.load(outer[0].dump())
        status = status_info["status"].native
        if status not in ("granted", "granted_with_mods"):
            text = "; ".join(status_info["status_string"].native or [])
            raise TimestampError(f"the TSA refused: {status} {text}".strip())
        token = cms.ContentInfo.load(outer[1].dump())
        info = token["content"]["encap_content_info"]["content"].parsed
        imprint = info["message_imprint"]
        got_alg = imprint["hash_algorithm"]["algorithm"].native
        got_digest = imprint["hashed_message"].native
        got_nonce = info["nonce"].native
        token_der: bytes = token.dump()
    except (ValueError, TypeError, KeyError, AttributeError, IndexError) as exc:
        raise TimestampError("the TSA's reply is not a TimeStampResp") from exc
    if got_alg != "sha256" or got_digest != digest:
        raise TimestampError("the TSA time-stamped something else (message imprint)")
    if nonce is not None and got_nonce != nonce:
        raise TimestampError("the TSA's reply has the wrong nonce")
    return token_der


def make_timestamper(tsa_url: str | None, keys_dir: Path, timeout: float = 10.0) -> Timestamper:
    """The deployment's timestamper: the TSA at ``tsa_url``, else the built-in TSA.

    The built-in TSA's key and certificate live in ``<keys_dir>/tsa`` and are issued
    on first use by the development CA in ``keys_dir``.
    """
    if tsa_url:
        return HttpTimestamper(tsa_url, timeout=timeout)
    from medsign.pki import load_or_create_dev_ca

    ca = load_or_create_dev_ca(keys_dir)
    return LocalTsa(ca.issue_tsa(keys_dir / "tsa"))


def signature_timestamp_attribute(token: bytes) -> bytes:
    """The unsigned attribute ``id-aa-timeStampToken`` holding ``token`` (RFC 3161 App. A)."""
    return _seq(OID_TIMESTAMP_TOKEN, tlv(0x31, token))


__all__ = [
    "OID_TIMESTAMP_TOKEN",
    "OID_TST_INFO",
    "TSA_POLICY_OID",
    "HttpTimestamper",
    "LocalTsa",
    "TimestampError",
    "Timestamper",
    "check_response",
    "make_timestamper",
    "signature_timestamp_attribute",
]
