"""An automated clinician device: an ECDSA P-256 key that never leaves this object,
a CSR signed by it (proof of possession), and signatures of ``to_sign`` in the two
encodings the device API takes (DER, and the 64-byte r||s WebCrypto returns)."""

from __future__ import annotations

import base64
from dataclasses import dataclass, field
from typing import Any

import httpx
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature
from cryptography.x509.oid import NameOID
from fastapi.testclient import TestClient

Http = httpx.Client | TestClient  # the app in-process, or served over real HTTP


@dataclass
class Device:
    """One device: its key, and after :meth:`enroll` its id, token and certificate."""

    key: ec.EllipticCurvePrivateKey = field(
        default_factory=lambda: ec.generate_private_key(ec.SECP256R1())
    )
    raw: bool = False  # sign as WebCrypto does (r||s) instead of DER
    device_id: str = ""
    token: str = ""
    certificate: x509.Certificate | None = None
    chain: list[x509.Certificate] = field(default_factory=list)

    def csr(self, key: ec.EllipticCurvePrivateKey | None = None) -> str:
        """A PEM CSR signed by ``key`` (default: the device's own)."""
        builder = x509.CertificateSigningRequestBuilder().subject_name(
            x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "device")])
        )
        csr = builder.sign(key or self.key, hashes.SHA256())
        return csr.public_bytes(serialization.Encoding.PEM).decode()

    def enroll(self, http: Http, enrollment_token: str) -> dict[str, Any]:
        """Enroll with a CSR of this device's key; assert 201; keep the token."""
        res = http.post(
            "/device/v1/enroll", json={"enrollment_token": enrollment_token, "csr": self.csr()}
        )
        assert res.status_code == 201, res.text
        body: dict[str, Any] = res.json()
        self.device_id = body["device_id"]
        self.token = body["device_token"]
        self.certificate = x509.load_pem_x509_certificate(body["certificate"].encode())
        self.chain = [x509.load_pem_x509_certificate(c.encode()) for c in body["chain"]]
        return body

    @property
    def headers(self) -> dict[str, str]:
        """The device's bearer token."""
        return {"Authorization": f"Bearer {self.token}"}

    def sign(self, to_sign_b64: str, *, raw: bool | None = None) -> str:
        """Base64 of this device's ECDSA P-256 / SHA-256 signature of ``to_sign``."""
        der = self.key.sign(base64.b64decode(to_sign_b64), ec.ECDSA(hashes.SHA256()))
        if raw if raw is not None else self.raw:
            r, s = decode_dss_signature(der)
            return base64.b64encode(r.to_bytes(32, "big") + s.to_bytes(32, "big")).decode()
        return base64.b64encode(der).decode()

    def requests(self, http: Http) -> list[dict[str, Any]]:
        """The pending requests; assert 200."""
        res = http.get("/device/v1/requests", headers=self.headers)
        assert res.status_code == 200, res.text
        items: list[dict[str, Any]] = res.json()
        return items

    def approve(self, http: Http, item: dict[str, Any], **extra: Any) -> Any:
        """Approve ``item`` with a real signature; return the response."""
        return http.post(
            f"/device/v1/requests/{item['id']}/approve",
            headers=self.headers,
            json={"signature": self.sign(item["to_sign"]), **extra},
        )
