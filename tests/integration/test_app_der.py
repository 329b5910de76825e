"""The clinician app's DER encoder (web/static/app/der.js), run in Node's WebCrypto and
checked by an independent parser (cryptography): the PKCS#10 request (RFC 2986) is
well-formed, names the key WebCrypto made and its signature verifies; WebCrypto's r‖s
becomes a DER ECDSA-Sig-Value (RFC 3279 §2.2.3) that verifies; the subject reader
reads what cryptography wrote."""

from __future__ import annotations

import base64
import datetime as dt
import json
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature
from cryptography.x509.oid import NameOID

from tests.support.oidc_node import NODE

DER_JS = Path(__file__).resolve().parents[2] / "src/medsign/web/static/app/der.js"

SCRIPT = """
import * as der from "./der.mjs";
const subtle = globalThis.crypto.subtle;
const input = JSON.parse(process.argv[2]);
const alg = { name: "ECDSA", namedCurve: "P-256" };
const pair = await subtle.generateKey(alg, false, ["sign", "verify"]);
const csr = await der.buildCsr(pair, input.cn);
const spki = Buffer.from(await subtle.exportKey("spki", pair.publicKey)).toString("base64");
const message = new TextEncoder().encode("to sign");
const ecdsa = { name: "ECDSA", hash: "SHA-256" };
const raw = new Uint8Array(await subtle.sign(ecdsa, pair.privateKey, message));
const hex = (b) => Buffer.from(b).toString("hex");
const out = {
  csr, spki, extractable: pair.privateKey.extractable,
  signature: hex(der.ecdsaRawToDer(raw)),
  lengths: input.lengths.map((n) => hex(Uint8Array.from(der.derLength(n)))),
  integers: input.integers.map((h) => hex(der.unsignedInteger(Buffer.from(h, "hex")))),
  oid: hex(der.objectIdentifier("1.2.840.10045.4.3.2")),
  subject: der.certificateSubject(der.pemToDer(input.cert)),
};
console.log(JSON.stringify(out));
"""


def _certificate() -> str:
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name(
        [
            x509.NameAttribute(NameOID.COMMON_NAME, "Мария Иванова"),
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, "Clinic One"),
            x509.NameAttribute(NameOID.ORGANIZATIONAL_UNIT_NAME, "Branch north"),
        ]
    )
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now)
        .not_valid_after(now + dt.timedelta(days=1))
        .sign(key, hashes.SHA256())
    )
    return cert.public_bytes(serialization.Encoding.PEM).decode()


@pytest.fixture(scope="module")
def node_run(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    if not NODE.exists():
        pytest.skip(f"{NODE} is missing (run scripts/install-node.sh)")
    work = tmp_path_factory.mktemp("der")
    shutil.copy(DER_JS, work / "der.mjs")  # .mjs: an ES module whatever Node's defaults
    (work / "run.mjs").write_text(SCRIPT, encoding="utf-8")
    given = {
        "cn": "medsign device ✓",
        "lengths": [0, 127, 128, 255, 256, 65535, 65536],
        "integers": ["00", "0000ff", "7f", "80", "00000080", "ffffffff"],
        "cert": _certificate(),
    }
    done = subprocess.run(
        [str(NODE), "run.mjs", json.dumps(given)],
        cwd=work,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    result: dict[str, Any] = json.loads(done.stdout)
    return result


def test_the_certificate_request_parses_and_its_signature_verifies(
    node_run: dict[str, Any],
) -> None:
    csr = x509.load_pem_x509_csr(node_run["csr"].encode())
    assert csr.is_signature_valid
    assert csr.signature_algorithm_oid == x509.SignatureAlgorithmOID.ECDSA_WITH_SHA256
    assert csr.subject.get_attributes_for_oid(NameOID.COMMON_NAME)[0].value == "medsign device ✓"
    key = csr.public_key()
    assert isinstance(key, ec.EllipticCurvePublicKey)
    assert isinstance(key.curve, ec.SECP256R1)
    spki = key.public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    assert spki == base64.b64decode(node_run["spki"])  # the key WebCrypto made
    assert node_run["extractable"] is False
    assert len(csr.attributes) == 0
    # DER, not BER: re-encoding gives the same bytes
    der = csr.public_bytes(serialization.Encoding.DER)
    assert x509.load_der_x509_csr(der).public_bytes(serialization.Encoding.DER) == der


def test_raw_ecdsa_signatures_become_der_that_verifies(node_run: dict[str, Any]) -> None:
    csr = x509.load_pem_x509_csr(node_run["csr"].encode())
    key = csr.public_key()
    assert isinstance(key, ec.EllipticCurvePublicKey)
    signature = bytes.fromhex(node_run["signature"])
    r, s = decode_dss_signature(signature)  # strict DER
    assert r > 0 and s > 0
    key.verify(signature, b"to sign", ec.ECDSA(hashes.SHA256()))


def test_lengths_integers_and_oids_follow_x690(node_run: dict[str, Any]) -> None:
    assert node_run["lengths"] == ["00", "7f", "8180", "81ff", "820100", "82ffff", "83010000"]
    assert node_run["integers"] == [
        "020100",
        "020200ff",
        "02017f",
        "02020080",
        "02020080",
        "020500ffffffff",
    ]
    assert node_run["oid"] == "06082a8648ce3d040302"


def test_the_subject_reader_reads_what_cryptography_wrote(node_run: dict[str, Any]) -> None:
    assert node_run["subject"] == {
        "CN": "Мария Иванова",
        "O": "Clinic One",
        "OU": "Branch north",
    }
