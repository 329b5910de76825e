"""A Certomancer test PKI for external qualified signatures, and signing with it.

``ExternalPki`` writes fresh keys and a Certomancer configuration under a directory:
a trusted root with a qualified signer (whose subject carries Russian SNILS and INN
attributes), a signer whose certificate has expired, and a separate untrusted root with
its own signer. The same configuration serves the CSC test server (csc_dummy).
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from asn1crypto import cms
from certomancer.registry import ArchLabel, CertLabel, CertomancerConfig, KeyLabel, PKIArchitecture
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from medsign.pdf.reference import run_sync

ARCH = "clinic-qes"
OTHER_ARCH = "rogue"
SNILS = "12345678901"
INN = "771234567890"
SIGNER_NAME = "Petrov Petr"

_LONG = {"valid-from": "2020-01-01T00:00:00+0000", "valid-to": "2100-01-01T00:00:00+0000"}
_EXPIRED = {"valid-from": "2020-01-01T00:00:00+0000", "valid-to": "2021-01-01T00:00:00+0000"}
_CA_EXT = [
    {"id": "basic_constraints", "critical": True, "value": {"ca": True}},
    {
        "id": "key_usage",
        "critical": True,
        "smart-value": {"schema": "key-usage", "params": ["key_cert_sign", "crl_sign"]},
    },
]
_SIGNER_EXT = [
    {
        "id": "key_usage",
        "critical": True,
        "smart-value": {"schema": "key-usage", "params": ["digital_signature", "non_repudiation"]},
    }
]


def _arch(keyset: str, root_cn: str, signers: dict[str, dict[str, Any]]) -> dict[str, Any]:
    entities: dict[str, Any] = {"root": {"common-name": root_cn}}
    certs: dict[str, Any] = {
        "root": {"subject": "root", "issuer": "root", "validity": _LONG, "extensions": _CA_EXT}
    }
    for label, spec in signers.items():
        entities[label] = spec["name"]
        certs[label] = {
            "subject": label,
            "issuer": "root",
            "validity": spec.get("validity", _LONG),
            "extensions": _SIGNER_EXT,
        }
    return {
        "keyset": keyset,
        "entity-defaults": {"country-name": "RU", "organization-name": "Test QES"},
        "entities": entities,
        "certs": certs,
    }


@dataclass
class ExternalPki:
    """The test PKI on disk (``config_path`` is what ``certomancer-csc`` reads)."""

    directory: Path

    def __post_init__(self) -> None:
        self.directory.mkdir(parents=True, exist_ok=True)
        labels = ["root", "signer", "expired", "rogue-root", "rogue-signer"]
        for label in labels:
            key = ec.generate_private_key(ec.SECP256R1())
            (self.directory / f"{label}.key.pem").write_bytes(
                key.private_bytes(
                    serialization.Encoding.PEM,
                    serialization.PrivateFormat.PKCS8,
                    serialization.NoEncryption(),
                )
            )
        keys = {label: {"path": f"{label}.key.pem"} for label in labels}
        config = {
            "external-url-prefix": "http://pki.test",
            "keysets": {
                ARCH: {"keys": {k: keys[k] for k in ("root", "signer", "expired")}},
                OTHER_ARCH: {"keys": {"root": keys["rogue-root"], "signer": keys["rogue-signer"]}},
            },
            "pki-architectures": {
                ARCH: _arch(
                    ARCH,
                    "Test Qualified CA",
                    {
                        "signer": {
                            "name": {
                                "common-name": SIGNER_NAME,
                                "1.2.643.100.3": SNILS,
                                "1.2.643.3.131.1.1": INN,
                            }
                        },
                        "expired": {
                            "name": {"common-name": "Expired Signer"},
                            "validity": _EXPIRED,
                        },
                    },
                ),
                OTHER_ARCH: _arch(
                    OTHER_ARCH, "Unknown CA", {"signer": {"name": {"common-name": "Someone Else"}}}
                ),
            },
        }
        self.config_path = self.directory / "certomancer.yml"
        self.config_path.write_text(yaml.safe_dump(config, allow_unicode=True))
        self.config = CertomancerConfig(config, key_search_dir=str(self.directory))

    def arch(self, name: str = ARCH) -> PKIArchitecture:
        """One PKI architecture of the configuration."""
        return self.config.get_pki_arch(ArchLabel(name))

    def cert(self, label: str, arch: str = ARCH) -> x509.Certificate:
        """A certificate as ``cryptography`` loads it."""
        return x509.load_der_x509_certificate(self.arch(arch).get_cert(CertLabel(label)).dump())

    def write_root(self, path: Path, arch: str = ARCH) -> Path:
        """The root certificate of ``arch`` as a PEM file (a trust list)."""
        path.write_bytes(self.cert("root", arch).public_bytes(serialization.Encoding.PEM))
        return path

    def signer(self, label: str = "signer", arch: str = ARCH) -> Any:
        """A pyHanko signer for ``label``'s key and certificate (chain included)."""
        from pyhanko.sign.signers import SimpleSigner
        from pyhanko_certvalidator.registry import SimpleCertificateStore

        pki = self.arch(arch)
        key = pki.key_set.get_private_key(KeyLabel(label))
        return SimpleSigner(
            signing_cert=pki.get_cert(CertLabel(label)),
            signing_key=key,
            cert_registry=SimpleCertificateStore.from_certs(  # type: ignore[no-untyped-call]
                [pki.get_cert(CertLabel("root"))]
            ),
        )


def sign_pdf(pdf: bytes, signer: Any, field: str = "UKEP", *, lock: bool = False) -> bytes:
    """Add one PAdES signature in an incremental update, as an MIS would (``lock``: a
    certification signature that allows no later change, DocMDP P=1)."""
    from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
    from pyhanko.sign import signers
    from pyhanko.sign.fields import MDPPerm

    async def run() -> bytes:
        writer = IncrementalPdfFileWriter(io.BytesIO(pdf), strict=False)
        meta = signers.PdfSignatureMetadata(
            field_name=field,
            md_algorithm="sha256",
            certify=lock,
            docmdp_permissions=MDPPerm.NO_CHANGES,
        )
        out = await signers.PdfSigner(meta, signer).async_sign_pdf(writer)
        return out.getvalue()  # type: ignore[no-any-return]

    return run_sync(run())


def sign_detached(data: bytes, signer: Any, md: str = "sha256", *, detached: bool = True) -> bytes:
    """A detached CMS SignedData over ``data`` (DER), like a .sig from a CryptoPro tool
    (``detached=False``: the data inside, an attached signature)."""

    async def run() -> cms.ContentInfo:
        return await signer.async_sign_general_data(data, md, detached=detached)

    info = run_sync(run())
    return bytes(info.dump())
