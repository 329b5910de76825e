"""Abuse benchmark: the worst input of each kind we can build, against the public endpoints.

Run ``.venv/bin/python bench/abuse.py`` (``--quick`` skips the case that runs into the
time budget). Each case is one HTTP request through the ASGI app (medsign's own
settings, defaults unless said) on a temporary SQLite database; it prints the answer's
status and problem type, the wall time, the growth of the web process's peak RSS and
the peak RSS of the child process that checked the file (``medsign.pdf.isolated``;
forked, so it includes the pages it shares with the web process).

Cases (POST /api/v1/verify unless said):

* genuine           a medsign-sealed one-page PDF (fast path, in the web process)
* 10000 copies      the reported attack: 10,000 fields whose /V all name the one real
                    signature (before [harden]: >14 min and >6 GB; now refused by
                    MEDSIGN_VERIFY_MAX_SIGNATURES before any signature is checked)
* 49 dup refs       49 such fields, under the cap: the signature is checked once
* 49 distinct       49 fields each with its own copy of the signature dictionary: the
                    most pyHanko work the cap allows
* 400 distinct      400 such fields with the cap raised to 1,000 and a 2 s budget: runs
                    into MEDSIGN_VERIFY_TIME_LIMIT_SECONDS and the child is killed
* 16 MB padded      the genuine file plus 16 MB of comment
* 50 MB junk        ``%PDF-`` and 50 MB of random bytes (the upload limit)
* signing page      GET /s/<random token> (a dead link)
* requisites        GET /api/v1/verify/requisites with a random id and code
* tsa               POST /tsa with 64 KB of junk
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import resource
import secrets
import sys
import tempfile
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pikepdf
from fastapi.testclient import TestClient
from pydantic import SecretStr

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # tests.support

from medsign.pdf import SealRequest, SignatureBlock
from medsign.pdf.incremental import seal_incremental
from medsign.pdf.timestamp import LocalTsa
from medsign.pki import load_or_create_dev_ca
from medsign.runtime import Runtime
from medsign.settings import Settings
from medsign.web.app import create_app
from tests.support.tamper import duplicate_signature_fields

MB = 1024 * 1024


def one_page() -> bytes:
    """A one-page text PDF."""
    pdf = pikepdf.new()
    page = pdf.add_blank_page(page_size=(595, 842))
    page.obj.Contents = pdf.make_stream(b"BT /F1 18 Tf 72 720 Td (Consent) Tj ET")
    out = Path(tempfile.mkstemp(suffix=".pdf")[1])
    pdf.save(out)
    data = out.read_bytes()
    out.unlink()
    return data


def sealed(work: Path) -> bytes:
    """A one-page PDF sealed by a development CA's seal with a B-T time-stamp."""
    ca = load_or_create_dev_ca(work / "pki")
    key = ca.issue_seal(work / "org", "org-1", "Clinic")
    tsa = LocalTsa(ca.issue_tsa(work / "tsa"))
    request = SealRequest(
        block=SignatureBlock(
            signer_name="Maria Ivanova",
            signed_at=dt.datetime.now(dt.UTC).replace(microsecond=0),
            method="SMS code",
            document_id="doc",
            verification_code="2345-6789",
            verify_url=None,
        ),
        evidence=json.dumps({"signer_name": "Maria Ivanova", "method": "sms_otp"}).encode(),
        field_name="medsign-0",
        reason=None,
        location=None,
    )
    return seal_incremental(one_page(), key, request, tsa)


def peak_rss() -> int:
    """This process's peak RSS in bytes (Linux reports KiB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024


def run(name: str, client: TestClient, call: Callable[[TestClient], Any]) -> None:
    """Time one request and print a row."""
    before = peak_rss()
    validator = getattr(client.app.state, "verify_validator", None)  # type: ignore[attr-defined]
    if validator is not None:
        validator.last_child_peak = 0
    started = time.perf_counter()
    res = call(client)
    took = time.perf_counter() - started
    validator = getattr(client.app.state, "verify_validator", None)  # type: ignore[attr-defined]
    child = validator.last_child_peak if validator is not None else 0
    kind = ""
    if res.headers.get("content-type", "").startswith("application/problem+json"):
        kind = str(res.json().get("type", "")).removeprefix("/problems/")
    print(
        f"{name:<16} {res.status_code:>4} {kind:<22} {took * 1000:>9.0f} ms "
        f"{(peak_rss() - before) / MB:>8.1f} MB {child / MB:>9.1f} MB",
        flush=True,
    )


def verify(data: bytes) -> Callable[[TestClient], Any]:
    """POST the file to /api/v1/verify."""
    return lambda c: c.post("/api/v1/verify", files={"file": ("f.pdf", data, "application/pdf")})


def main() -> None:
    """Build the inputs, run each case once, print the table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="skip the 400-field case")
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="medsign-abuse-"))
    settings = Settings(
        data_dir=work / "data",
        in_process_worker=False,
        verify_rate_per_minute=1_000_000,
        secret_key=SecretStr(secrets.token_hex(32)),
        _env_file=None,
    )
    rt = Runtime.build(settings)
    genuine = sealed(work)
    print(
        f"machine: {os.cpu_count()} cores, load {os.getloadavg()[0]:.1f}; limits: "
        f"{settings.verify_max_signatures} fields, {settings.verify_time_limit_seconds:g} s, "
        f"{settings.verify_memory_mb} MB, {settings.verify_processes} processes"
    )
    print(
        f"{'case':<16} {'HTTP':>4} {'problem':<22} {'time':>12} {'web +RSS':>11} {'child peak':>12}"
    )
    with TestClient(create_app(runtime=rt), follow_redirects=False) as client:
        run("warm-up", client, verify(duplicate_signature_fields(genuine, 1)))
        run("genuine", client, verify(genuine))
        run("10000 copies", client, verify(duplicate_signature_fields(genuine, 10_000)))
        run("49 dup refs", client, verify(duplicate_signature_fields(genuine, 49)))
        run("49 distinct", client, verify(duplicate_signature_fields(genuine, 49, distinct=True)))
        if not args.quick:
            slow = duplicate_signature_fields(genuine, 400, distinct=True)
            rt.settings.verify_max_signatures = 1000
            rt.settings.verify_time_limit_seconds = 2.0
            client.app.state.verify_validator = None  # type: ignore[attr-defined]
            run("400 distinct", client, verify(slow))
            rt.settings.verify_max_signatures = 50
            rt.settings.verify_time_limit_seconds = 20.0
            client.app.state.verify_validator = None  # type: ignore[attr-defined]
        run("16 MB padded", client, verify(genuine + b"%" * (16 * MB)))
        run("50 MB junk", client, verify(b"%PDF-1.7\n" + os.urandom(50 * MB - 100)))
        run("signing page", client, lambda c: c.get(f"/s/{secrets.token_urlsafe(32)}"))
        run(
            "requisites",
            client,
            lambda c: c.get(
                "/api/v1/verify/requisites",
                params={"document_id": str(uuid.uuid4()), "code": "2345-6789"},
            ),
        )
        run(
            "tsa",
            client,
            lambda c: c.post(
                "/tsa",
                content=os.urandom(64 * 1024),
                headers={"Content-Type": "application/timestamp-query"},
            ),
        )
    rt.close()


if __name__ == "__main__":
    main()
