"""Keys and certificates medsign signs with: the development CA, seals, key files."""

from medsign.pki.keys import (
    DevCA,
    SealKey,
    load_or_create_dev_ca,
    load_seal_key_files,
    load_trust_list,
)

__all__ = ["DevCA", "SealKey", "load_or_create_dev_ca", "load_seal_key_files", "load_trust_list"]
