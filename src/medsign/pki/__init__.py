"""Keys and certificates medsign signs with: the development CA, seals, key files."""

from medsign.pki.clinician_ca import (
    CertificateStatus,
    ClinicianCa,
    ClinicianIdentity,
    PublishedAt,
    Revocation,
    load_clinician_ca_files,
    load_or_create_clinician_ca,
)
from medsign.pki.keys import (
    DevCA,
    SealKey,
    load_or_create_dev_ca,
    load_seal_key_files,
    load_trust_list,
)

__all__ = [
    "CertificateStatus",
    "ClinicianCa",
    "ClinicianIdentity",
    "DevCA",
    "PublishedAt",
    "Revocation",
    "SealKey",
    "load_clinician_ca_files",
    "load_or_create_clinician_ca",
    "load_or_create_dev_ca",
    "load_seal_key_files",
    "load_trust_list",
]
