"""The development CA, organization seals and production key files."""

from __future__ import annotations

import stat
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from medsign.errors import InvalidInput
from medsign.pki import load_or_create_dev_ca, load_seal_key_files


def test_dev_ca_created_once(tmp_path: Path) -> None:
    ca = load_or_create_dev_ca(tmp_path)
    key_file = tmp_path / "ca.key.pem"
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    assert (tmp_path / "ca.cert.pem").exists()
    cn = ca.certificate.subject.get_attributes_for_oid(NameOID.COMMON_NAME)[0].value
    assert cn == "medsign development CA"
    public = ca.certificate.public_key()
    assert isinstance(public, ec.EllipticCurvePublicKey)
    assert public.curve.name == "secp256r1"
    life = ca.certificate.not_valid_after_utc - ca.certificate.not_valid_before_utc
    assert life.days >= 3650
    again = load_or_create_dev_ca(tmp_path)
    assert again.certificate == ca.certificate


def _fingerprint(directory: str) -> bytes:
    return load_or_create_dev_ca(Path(directory)).certificate.fingerprint(hashes.SHA256())


def test_dev_ca_race_between_processes(tmp_path: Path) -> None:
    with ProcessPoolExecutor(max_workers=4) as pool:
        prints = list(pool.map(_fingerprint, [str(tmp_path)] * 8))
    assert len(set(prints)) == 1
    assert prints[0] == _fingerprint(str(tmp_path))


def test_issue_seal(tmp_path: Path) -> None:
    ca = load_or_create_dev_ca(tmp_path / "ca")
    seal = ca.issue_seal(tmp_path / "org", "org-7", "Клиника «Здоровье»")
    cert = seal.certificate
    subject = cert.subject
    assert subject.get_attributes_for_oid(NameOID.ORGANIZATION_NAME)[0].value == (
        "Клиника «Здоровье»"
    )
    assert subject.get_attributes_for_oid(NameOID.COMMON_NAME)[0].value == (
        "Клиника «Здоровье» seal"
    )
    assert subject.get_attributes_for_oid(NameOID.SERIAL_NUMBER)[0].value == "org-7"
    usage = cert.extensions.get_extension_for_class(x509.KeyUsage).value
    assert usage.digital_signature and usage.content_commitment
    assert cert.issuer == ca.certificate.subject
    assert seal.chain == (ca.certificate,)
    cert.verify_directly_issued_by(ca.certificate)
    assert stat.S_IMODE((tmp_path / "org" / "seal.key.pem").stat().st_mode) == 0o600
    again = ca.issue_seal(tmp_path / "org", "org-7", "Клиника «Здоровье»")
    assert again.certificate == cert


def test_load_seal_key_files(tmp_path: Path) -> None:
    ca = load_or_create_dev_ca(tmp_path / "ca")
    ca.issue_seal(tmp_path / "org", "org-1", "Clinic")
    key = load_seal_key_files(
        tmp_path / "org" / "seal.key.pem",
        tmp_path / "org" / "seal.cert.pem",
        [tmp_path / "ca" / "ca.cert.pem"],
    )
    assert key.chain == (ca.certificate,)
    assert isinstance(key.private_key, ec.EllipticCurvePrivateKey)


def test_load_seal_key_files_errors(tmp_path: Path) -> None:
    ca = load_or_create_dev_ca(tmp_path / "ca")
    ca.issue_seal(tmp_path / "org", "org-1", "Clinic")
    with pytest.raises(InvalidInput, match="does not match"):
        load_seal_key_files(tmp_path / "ca" / "ca.key.pem", tmp_path / "org" / "seal.cert.pem")
    with pytest.raises(InvalidInput, match="Cannot read"):
        load_seal_key_files(tmp_path / "missing.pem", tmp_path / "org" / "seal.cert.pem")
    garbage = tmp_path / "garbage.pem"
    garbage.write_bytes(b"-----BEGIN PRIVATE KEY-----\nnope\n-----END PRIVATE KEY-----\n")
    with pytest.raises(InvalidInput):
        load_seal_key_files(garbage, tmp_path / "org" / "seal.cert.pem")
    with pytest.raises(InvalidInput):
        load_seal_key_files(tmp_path / "org" / "seal.key.pem", garbage)
    encrypted = tmp_path / "enc.pem"
    pk = serialization.load_pem_private_key(
        (tmp_path / "org" / "seal.key.pem").read_bytes(), password=None
    )
    encrypted.write_bytes(
        pk.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.BestAvailableEncryption(b"pw"),
        )
    )
    with pytest.raises(InvalidInput):
        load_seal_key_files(encrypted, tmp_path / "org" / "seal.cert.pem")


def test_seal_for_slot(tmp_path: Path) -> None:
    ca = load_or_create_dev_ca(tmp_path / "ca")
    org = tmp_path / "org"
    seal = ca.issue_seal(org, "org-7", "Клиника «Здоровье»")
    assert ca.seal_for_slot(org, "org-7", "Клиника «Здоровье»", 0).certificate == seal.certificate
    slots = [ca.seal_for_slot(org, "org-7", "Клиника «Здоровье»", k) for k in (1, 2)]
    pem = serialization.Encoding.PEM
    spki = (serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
    serials = {seal.certificate.serial_number}
    for k, slot in zip((1, 2), slots, strict=True):
        cert = slot.certificate
        # The same key, subject, validity and extensions; only the serial differs.
        assert cert.public_key().public_bytes(*spki) == (
            seal.certificate.public_key().public_bytes(*spki)
        )
        assert slot.private_key.private_numbers() == seal.private_key.private_numbers()
        assert cert.subject == seal.certificate.subject
        assert cert.issuer == ca.certificate.subject
        assert list(cert.extensions) == list(seal.certificate.extensions)
        assert cert.not_valid_after_utc == seal.certificate.not_valid_after_utc
        assert slot.chain == (ca.certificate,)
        cert.verify_directly_issued_by(ca.certificate)
        serials.add(cert.serial_number)
        # Cached on disk: a second call (or another process) gets the same certificate.
        path = org / f"seal-slot-{k}.cert.pem"
        assert path.read_bytes() == cert.public_bytes(pem)
        again = ca.seal_for_slot(org, "org-7", "Клиника «Здоровье»", k)
        assert again.certificate.public_bytes(pem) == cert.public_bytes(pem)
        assert path.read_bytes() == cert.public_bytes(pem)
    assert len(serials) == 3
    assert not (org / "seal-slot-0.cert.pem").exists()


def _slot_fingerprint(directory: str) -> bytes:
    ca = load_or_create_dev_ca(Path(directory) / "ca")
    seal = ca.seal_for_slot(Path(directory) / "org", "org-1", "Clinic", 3)
    return seal.certificate.fingerprint(hashes.SHA256())


def test_seal_for_slot_race_between_processes(tmp_path: Path) -> None:
    load_or_create_dev_ca(tmp_path / "ca")
    with ProcessPoolExecutor(max_workers=4) as pool:
        prints = list(pool.map(_slot_fingerprint, [str(tmp_path)] * 8))
    assert len(set(prints)) == 1
    assert prints[0] == _slot_fingerprint(str(tmp_path))


def test_seal_for_slot_reissued_for_a_new_key(tmp_path: Path) -> None:
    ca = load_or_create_dev_ca(tmp_path / "ca")
    org = tmp_path / "org"
    old = ca.seal_for_slot(org, "org-1", "Clinic", 1)
    (org / "seal.key.pem").unlink()
    (org / "seal.cert.pem").unlink()
    new = ca.seal_for_slot(org, "org-1", "Clinic", 1)
    assert new.certificate != old.certificate
    new.certificate.verify_directly_issued_by(ca.certificate)
    assert isinstance(new.private_key, ec.EllipticCurvePrivateKey)
    assert new.certificate.public_key() == new.private_key.public_key()
