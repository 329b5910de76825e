"""Independent verdicts on a signed PDF: pdfsig (poppler/NSS), qpdf and pyHanko.

None of these go through medsign's own validation code: they are the oracles the
design names ("pdfsig (poppler) and pyHanko must both call every signature valid").
"""

from __future__ import annotations

import asyncio
import io
import re
import subprocess
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

TOOL_TIMEOUT = 60


@dataclass(frozen=True)
class PdfsigSignature:
    """One ``Signature #n`` block of pdfsig's output."""

    number: int
    text: str

    @property
    def valid(self) -> bool:
        """Poppler checked the digest over /ByteRange and the CMS signature."""
        return "Signature Validation: Signature is Valid." in self.text

    @property
    def trusted(self) -> bool:
        """NSS built a chain to a trusted root."""
        return "Certificate Validation: Certificate is Trusted." in self.text

    @property
    def unknown_issue(self) -> bool:
        """Poppler's catch-all certificate verdict (an NSS error it does not name)."""
        return "Certificate Validation: Unknown issue" in self.text

    @property
    def covers_whole_file(self) -> bool:
        """The signature covers every byte of the file (it is the last one)."""
        return "- Total document signed" in self.text


def nss_db_trusting(ca_cert: Path, directory: Path, *more: Path) -> str:
    """A new NSS database in ``directory`` that trusts ``ca_cert``; returns ``sql:DIR``.

    The trust flags are "SSL,S/MIME,object signing": poppler checks a signer's chain for
    ``certificateUsageEmailSigner``, so the CA must be trusted in the S/MIME slot
    (with ``-t "C,,"`` pdfsig says "Certificate issuer isn't Trusted").
    """
    directory.mkdir(parents=True, exist_ok=True)
    nssdir = f"sql:{directory}"
    for args in (
        ["certutil", "-N", "--empty-password", "-d", nssdir],
        ["certutil", "-A", "-n", "medsign-ca", "-t", "C,C,C", "-i", str(ca_cert), "-d", nssdir],
        *(
            ["certutil", "-A", "-n", f"medsign-ca-{i}", "-t", "C,C,C", "-i", str(c), "-d", nssdir]
            for i, c in enumerate(more, start=1)
        ),
    ):
        done = subprocess.run(args, capture_output=True, text=True, timeout=TOOL_TIMEOUT)
        assert done.returncode == 0, f"{' '.join(args)}: {done.stdout}{done.stderr}"
    return nssdir


def pdfsig(pdf: Path, nssdir: str) -> tuple[str, list[PdfsigSignature]]:
    """Run ``pdfsig -nssdir NSSDIR file``; return its output and one entry per signature."""
    done = subprocess.run(
        ["pdfsig", "-nssdir", nssdir, str(pdf)],
        capture_output=True,
        text=True,
        timeout=TOOL_TIMEOUT,
    )
    output = done.stdout + done.stderr
    assert done.returncode == 0, f"pdfsig exited with {done.returncode}:\n{output}"
    parts = re.split(r"^Signature #(\d+):\s*$", done.stdout, flags=re.MULTILINE)
    signatures = [
        PdfsigSignature(int(number), text)
        for number, text in zip(parts[1::2], parts[2::2], strict=True)
    ]
    return output, signatures


def qpdf_check(pdf: Path) -> None:
    """``qpdf --check`` must exit 0 (no errors and no warnings)."""
    done = subprocess.run(
        ["qpdf", "--check", str(pdf)], capture_output=True, text=True, timeout=TOOL_TIMEOUT
    )
    assert done.returncode == 0, f"qpdf --check exited with {done.returncode}:\n{done.stdout}"


@dataclass(frozen=True)
class PyhankoVerdict:
    """pyHanko's view of one embedded signature."""

    field_name: str
    intact: bool
    valid: bool
    trusted: bool
    bottom_line: bool
    coverage: str
    modification_level: str | None
    timestamp_ok: bool | None  # the signature-time-stamp, when there is one
    summary: str


async def _validate_all(data: bytes, ca_pem: bytes) -> list[PyhankoVerdict]:
    from asn1crypto import pem, x509
    from pyhanko.pdf_utils.reader import PdfFileReader
    from pyhanko.sign.validation import async_validate_pdf_signature
    from pyhanko_certvalidator import ValidationContext

    # Every certificate in the file is trusted (the dev CA, and the clinician CA beside it).
    roots = [x509.Certificate.load(der) for _, _, der in pem.unarmor(ca_pem, multiple=True)]
    reader = PdfFileReader(io.BytesIO(data))
    verdicts = []
    for sig in reader.embedded_signatures:
        context = ValidationContext(trust_roots=roots, allow_fetching=False)
        status: Any = await async_validate_pdf_signature(sig, signer_validation_context=context)
        level = status.modification_level
        ts = status.timestamp_validity
        verdicts.append(
            PyhankoVerdict(
                field_name=str(sig.field_name),
                intact=bool(status.intact),
                valid=bool(status.valid),
                trusted=bool(status.trusted),
                bottom_line=bool(status.bottom_line),
                coverage=str(status.coverage.name),
                modification_level=None if level is None else str(level.name),
                timestamp_ok=None if ts is None else bool(ts.intact and ts.valid and ts.trusted),
                summary=str(status.summary()),
            )
        )
    return verdicts


def pyhanko_verdicts(data: bytes, ca_cert: Path) -> list[PyhankoVerdict]:
    """Validate every signature with pyHanko, trusting only the dev CA.

    Runs in a thread of its own: the Playwright sync API keeps an event loop running
    in the test's thread, where ``asyncio.run`` is not allowed.
    """
    ca_pem = ca_cert.read_bytes()
    with ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(asyncio.run, _validate_all(data, ca_pem)).result(timeout=120)
