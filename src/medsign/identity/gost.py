"""GOST cryptography through OpenSSL 3 and its GOST engine (Debian's
``libengine-gost-openssl``), run as a subprocess with :data:`CONFIG` loaded.

What ESIA needs: detached CMS SignedData (RFC 5652) with a GOST R 34.10-2012 256-bit
key and the GOST R 34.11-2012 256-bit digest, "Streebog" (RFC 4491 for GOST keys and
signatures in CMS and X.509, RFC 9215 for the 2012 algorithms), raw GOST R 34.10-2012
signatures over a Streebog-256 digest (ESIA's JWTs), and Streebog-256 itself.

Keys never reach a command line: they go through a private temporary directory
(mode 0700) that is removed as soon as the command ends.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives.serialization import Encoding

CONFIG = Path(__file__).with_name("gost_openssl.cnf")
# RFC 9215 §2: id-tc26-gost3410-12-256 (the public key algorithm of a 256-bit key).
GOST_2012_256_KEY = "1.2.643.7.1.1.1.1"
_TIMEOUT = 20.0


class GostError(Exception):
    """OpenSSL refused an input (not a GOST key, key and certificate differ, ...) or
    the GOST engine is not installed."""


def _openssl(*args: str, stdin: bytes = b"") -> subprocess.CompletedProcess[bytes]:
    binary = shutil.which("openssl")
    if binary is None:
        raise GostError("the openssl command is not installed")
    env = {"OPENSSL_CONF": str(CONFIG), "PATH": os.environ.get("PATH", "")}
    return subprocess.run(
        [binary, *args], input=stdin, capture_output=True, env=env, timeout=_TIMEOUT, check=False
    )


def _ok(result: subprocess.CompletedProcess[bytes], what: str) -> bytes:
    if result.returncode != 0:
        first = result.stderr.decode(errors="replace").strip().splitlines()
        raise GostError(f"{what}: {first[-1] if first else 'openssl failed'}")
    return result.stdout


def streebog256(data: bytes) -> bytes:
    """GOST R 34.11-2012 with a 256-bit result (RFC 6986)."""
    return _ok(_openssl("dgst", "-md_gost12_256", "-binary", stdin=data), "Streebog-256")


@dataclass(frozen=True)
class Credential:
    """A certificate and its private key, both PEM."""

    certificate_pem: str
    private_key_pem: str


def certificate_der(certificate_pem: str) -> bytes:
    """The DER of a PEM certificate; GostError unless it holds a GOST R 34.10-2012
    256-bit public key (RFC 9215 §2)."""
    try:
        cert = x509.load_pem_x509_certificate(certificate_pem.encode())
    except ValueError:
        raise GostError("not a PEM certificate") from None
    der = cert.public_bytes(Encoding.DER)
    oid = cert.public_key_algorithm_oid.dotted_string
    if oid != GOST_2012_256_KEY:
        raise GostError(f"the certificate's key is not GOST R 34.10-2012 256-bit ({oid})")
    return der


@lru_cache(maxsize=64)
def certificate_hash(certificate_pem: str) -> str:
    """Hex Streebog-256 of the certificate's DER (ESIA's ``client_certificate_hash``);
    remembered per certificate."""
    return streebog256(certificate_der(certificate_pem)).hex()


@lru_cache(maxsize=64)
def public_key_pem(certificate_pem: str) -> str:
    """The certificate's SubjectPublicKeyInfo, PEM (RFC 5280 §4.1.2.7); remembered per
    certificate."""
    certificate_der(certificate_pem)
    out = _openssl("x509", "-pubkey", "-noout", stdin=certificate_pem.encode())
    return _ok(out, "certificate").decode()


def check_pair(credential: Credential) -> None:
    """GostError unless the private key belongs to the certificate's GOST key."""
    cert_key = public_key_pem(credential.certificate_pem)
    with _private_dir() as tmp:
        key = _write(tmp, "key.pem", credential.private_key_pem.encode())
        derived = _ok(_openssl("pkey", "-in", str(key), "-pubout"), "private key").decode()
    if derived.strip() != cert_key.strip():
        raise GostError("the private key does not belong to the certificate")


@contextmanager
def _private_dir() -> Iterator[Path]:
    """A temporary directory only this process's user can read (mkdtemp makes it
    0700), removed on exit."""
    with tempfile.TemporaryDirectory(prefix="medsign-gost-") as name:
        yield Path(name)


def _write(folder: Path, name: str, data: bytes) -> Path:
    path = folder / name
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as f:
        f.write(data)
    return path


def sign_detached_cms(credential: Credential, data: bytes) -> bytes:
    """A detached CMS SignedData over ``data`` (RFC 5652 §5): GOST R 34.10-2012
    256-bit signature, Streebog-256 digest (RFC 4491 §2, RFC 9215 §3), the signer's
    certificate included, signed attributes without S/MIME capabilities; DER."""
    with _private_dir() as tmp:
        cert = _write(tmp, "cert.pem", credential.certificate_pem.encode())
        key = _write(tmp, "key.pem", credential.private_key_pem.encode())
        args = ("-sign", "-binary", "-nosmimecap", "-md", "md_gost12_256", "-outform", "DER")
        out = _openssl("cms", *args, "-signer", str(cert), "-inkey", str(key), stdin=data)
        return _ok(out, "CMS signature")


def verify_detached_cms(signature_der: bytes, data: bytes, certificate_pem: str) -> bool:
    """Whether ``signature_der`` is a detached CMS signature over ``data`` by the key of
    ``certificate_pem`` (only that certificate is used: ``-nointern``; its chain is
    not built, the caller trusts this certificate itself)."""
    certificate_der(certificate_pem)
    with _private_dir() as tmp:
        sig = _write(tmp, "sig.der", signature_der)
        content = _write(tmp, "content", data)
        cert = _write(tmp, "cert.pem", certificate_pem.encode())
        out = _openssl(
            "cms", "-verify", "-binary", "-inform", "DER", "-in", str(sig),
            "-content", str(content), "-certfile", str(cert), "-nointern", "-noverify",
            "-out", os.devnull,
        )  # fmt: skip
    return out.returncode == 0


def sign_raw(private_key_pem: str, data: bytes) -> bytes:
    """A GOST R 34.10-2012 signature of Streebog-256(``data``): 64 octets as OpenSSL's
    GOST engine writes them (RFC 4491 §2.2.2 layout)."""
    with _private_dir() as tmp:
        key = _write(tmp, "key.pem", private_key_pem.encode())
        out = _openssl("dgst", "-md_gost12_256", "-sign", str(key), stdin=data)
        return _ok(out, "GOST signature")


def verify_raw(certificate_pem: str, data: bytes, signature: bytes) -> bool:
    """Whether ``signature`` (as :func:`sign_raw` makes it) signs ``data`` with the key
    of ``certificate_pem``."""
    if len(signature) != 64:
        return False
    pub = public_key_pem(certificate_pem)
    with _private_dir() as tmp:
        key = _write(tmp, "pub.pem", pub.encode())
        sig = _write(tmp, "sig", signature)
        args = ("-md_gost12_256", "-verify", str(key), "-signature", str(sig))
        out = _openssl("dgst", *args, stdin=data)
    return out.returncode == 0


def new_credential(common_name: str, days: int = 365) -> Credential:
    """A fresh GOST R 34.10-2012 256-bit key (parameter set A, RFC 7836 / RFC 9215
    §2) with a self-signed certificate: for development and tests (production
    certificates come from an accredited CA)."""
    with _private_dir() as tmp:
        key = tmp / "key.pem"
        _ok(
            _openssl(
                "genpkey", "-algorithm", "gost2012_256", "-pkeyopt", "paramset:A",
                "-out", str(key),
            ),
            "key generation",
        )  # fmt: skip
        cert = _ok(
            _openssl(
                "req", "-new", "-x509", "-key", str(key), "-md_gost12_256",
                "-subj", f"/CN={common_name}", "-days", str(days),
            ),
            "certificate",
        )  # fmt: skip
        return Credential(cert.decode(), key.read_text())
