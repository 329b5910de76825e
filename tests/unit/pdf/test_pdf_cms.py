"""The per-key CMS template cache: one template per key object, never another key's."""

from __future__ import annotations

import hashlib
from pathlib import Path

from asn1crypto import cms

from medsign.pdf.cms import cms_template
from medsign.pki import DevCA, SealKey


def test_template_is_cached_per_key_and_names_that_keys_certificate(
    dev_ca: DevCA, seal_key: SealKey, tmp_path: Path
) -> None:
    assert cms_template(seal_key) is cms_template(seal_key)
    # Slot 1: the same private key with another certificate (another serial number).
    other = dev_ca.seal_for_slot(tmp_path, "org-7", "Clinic", 1)
    assert other.certificate.serial_number != seal_key.certificate.serial_number
    digest = hashlib.sha256(b"document").digest()
    for key in (seal_key, other, seal_key):
        signed = cms.ContentInfo.load(cms_template(key).sign(digest))["content"]
        sid = signed["signer_infos"][0]["sid"].chosen
        assert sid["serial_number"].native == key.certificate.serial_number
        attrs = {
            a["type"].native: a["values"][0] for a in signed["signer_infos"][0]["signed_attrs"]
        }
        assert attrs["message_digest"].native == digest
