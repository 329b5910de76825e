"""Which kind of trust each valid signature has (docs/verification.md "Three kinds of trust").

* ``medsign-ca``: the certificate chains to medsign's own CA (RFC 5280 §6);
* ``trust-root``: it chains to a configured external (qualified) trust root;
* ``registered-seal``: it chains to neither, but it is exactly (SHA-256 of the DER) a seal
  certificate an organization registered with medsign; pyHanko checked the signature
  with that one certificate pinned as its only anchor, valid at the signing time
  (:func:`medsign.pdf.validate.validate_pdf`, ``pinned``).

A chain to a root is the stronger status and wins. Uploaded roots are never added to
the trust list: anyone may upload anything, and only the registered leaf itself is
vouched for, not other certificates its issuer made. A registered seal counts for
signatures made before it was replaced (by the trusted time-stamp when there is one,
else the signing time the signature claims); later ones are refused.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime

from cryptography import x509

from medsign.organizations.seal import Registration
from medsign.pdf.fastverify import chains_to
from medsign.pdf.validate import SignatureReport, ValidationReport

MEDSIGN_CA = "medsign-ca"
TRUST_ROOT = "trust-root"
REGISTERED_SEAL = "registered-seal"


@dataclass(frozen=True)
class Trust:
    """Why a signature is trusted; the registration for a registered seal."""

    kind: str
    registration: Registration | None = None


def unregistered_candidates(report: ValidationReport) -> set[str]:
    """SHA-256 of the signing certificates of valid signatures no trust root vouches for."""
    return {
        sha
        for s in report.signatures
        if s.valid and not s.trusted and (sha := s.signing_cert_sha256) is not None
    }


def _signing_time(s: SignatureReport) -> datetime | None:
    return s.timestamp_at if s.timestamp_valid and s.timestamp_at else s.signed_at


def _period(s: SignatureReport, periods: Sequence[Registration]) -> Registration | None:
    """The registration in force when ``s`` was made (None: none was)."""
    at = _signing_time(s)
    for reg in periods:
        if reg.replaced_at is None or (at is not None and at < reg.replaced_at):
            return reg
    return None


def classify(
    report: ValidationReport,
    medsign_roots: Sequence[x509.Certificate],
    registered: Mapping[str, Sequence[Registration]],
) -> tuple[ValidationReport, dict[str, Trust]]:
    """The report with pinned signatures outside their registration period turned
    untrusted, and field name -> :class:`Trust` for every trusted signature."""
    out: list[SignatureReport] = []
    trust: dict[str, Trust] = {}
    for s in report.signatures:
        der = s.signing_certificate
        if s.pinned:
            reg = _period(s, registered.get(s.signing_cert_sha256 or "", ()))
            if reg is None:
                s = dataclasses.replace(
                    s,
                    trusted=False,
                    pinned=False,
                    reasons=(
                        *s.reasons,
                        "The seal certificate had been replaced by its organization before "
                        "this signature was made; it is no longer a registered seal.",
                    ),
                )
            else:
                trust[s.field_name] = Trust(REGISTERED_SEAL, reg)
        elif s.trusted and der is not None:
            kind = MEDSIGN_CA if chains_to(der, medsign_roots) else TRUST_ROOT
            trust[s.field_name] = Trust(kind)
        out.append(s)
    return dataclasses.replace(report, signatures=tuple(out)), trust
