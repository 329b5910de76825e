"""Verification benchmark: medsign's validate_pdf beside pyHanko's validate_pdf_signature.

Run ``.venv/bin/python bench/verify.py`` (``--quick`` for a short run). Signed PDFs of
1 and 100 pages with 1 and 3 PAdES B-T signatures (fast path, built-in TSA) are
verified by:

* ``medsign issued``          ``validate_pdf(..., issued=True)``: what ``POST
                               /api/v1/verify`` runs for a file whose SHA-256 is an
                               envelope version (the fast verifier, all signatures)
* ``medsign validate_pdf``     ``validate_pdf``: the fast verifier for one-signature
                               files, pyHanko for the rest
* ``medsign pyHanko path``     ``validate_pdf(..., fast=False)``: evidence, every
                               signature, time-stamps, difference analysis, trust
* ``pyhanko validate``         plain pyHanko: ``PdfFileReader`` and
                               ``async_validate_pdf_signature`` for each signature
                               (with pyHanko's own hex-string reader, see
                               :mod:`medsign.pdf.speedups`)

Prints the median ms per file and verifications (files) per second on one core and
with two processes at once (the goal: >= 200 one-page verifications/s on 2 cores).
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import io
import json
import multiprocessing as mp
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import pikepdf
from asn1crypto import x509 as asn1_x509
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from pyhanko.pdf_utils.reader import PdfFileReader
from pyhanko.sign.validation import async_validate_pdf_signature
from pyhanko_certvalidator import ValidationContext

from medsign.pdf import SealRequest, SignatureBlock, seal_pdf, speedups, validate_pdf
from medsign.pdf.timestamp import LocalTsa
from medsign.pki import load_or_create_dev_ca

Case = Callable[[bytes, x509.Certificate], bool]


def make_pdf(pages: int) -> bytes:
    """A text PDF with ``pages`` A4 pages."""
    pdf = pikepdf.new()
    font = pdf.make_indirect(
        pikepdf.Dictionary(
            Type=pikepdf.Name.Font, Subtype=pikepdf.Name.Type1, BaseFont=pikepdf.Name.Helvetica
        )
    )
    for i in range(pages):
        page = pdf.add_blank_page(page_size=(595, 842))
        page.obj.Resources = pikepdf.Dictionary(Font=pikepdf.Dictionary(F1=font))
        page.obj.Contents = pdf.make_stream(b"BT /F1 14 Tf 72 780 Td (Page %d) Tj ET" % (i + 1))
    out = io.BytesIO()
    pdf.save(out)
    return out.getvalue()


def signed(pages: int, signatures: int, keys: Path) -> bytes:
    """``pages`` pages sealed ``signatures`` times, each B-T."""
    ca = load_or_create_dev_ca(keys)
    key = ca.issue_seal(keys / "org", "bench", "Benchmark Clinic")
    tsa = LocalTsa(ca.issue_tsa(keys / "tsa"))
    data = make_pdf(pages)
    for i in range(signatures):
        block = SignatureBlock(
            signer_name="Иванова Мария Петровна",
            signed_at=dt.datetime.now(dt.UTC).replace(microsecond=0),
            method="SMS code",
            document_id="3f2a4b6c-1111-4222-8333-444455556666",
            verification_code="7KQ4-M2XD",
            verify_url="https://medsign.example.org/verify?document=x&code=7KQ4-M2XD",
        )
        evidence = json.dumps({"signer_name": block.signer_name, "method": "sms_otp"}).encode()
        req = SealRequest(block=block, evidence=evidence, field_name=f"medsign-{i}", slot=i)
        data = seal_pdf(data, key, req, tsa)
    return data


def case_medsign(data: bytes, root: x509.Certificate) -> bool:
    return validate_pdf(data, [root]).ok


def case_medsign_issued(data: bytes, root: x509.Certificate) -> bool:
    return validate_pdf(data, [root], issued=True).ok


def case_medsign_reference(data: bytes, root: x509.Certificate) -> bool:
    return validate_pdf(data, [root], fast=False).ok


def case_pyhanko(data: bytes, root: x509.Certificate) -> bool:
    trust = asn1_x509.Certificate.load(root.public_bytes(serialization.Encoding.DER))

    async def run() -> bool:
        ok = True
        for sig in PdfFileReader(io.BytesIO(data)).embedded_signatures:
            ctx = ValidationContext(trust_roots=[trust], allow_fetching=False)
            status = await async_validate_pdf_signature(sig, signer_validation_context=ctx)
            ok = ok and status.bottom_line
        return ok

    with speedups.disabled():  # plain pyHanko, without medsign's hex-string reader
        return asyncio.run(run())


CASES: dict[str, Case] = {
    "medsign issued": case_medsign_issued,
    "medsign validate_pdf": case_medsign,
    "medsign pyHanko path": case_medsign_reference,
    "pyhanko validate": case_pyhanko,
}
FAST = ("medsign issued", "medsign validate_pdf")


def _root(keys: Path) -> x509.Certificate:
    return load_or_create_dev_ca(keys).certificate


def _run(case: str, doc: Path, keys: Path, n: int) -> list[float]:
    data = doc.read_bytes()
    root = _root(keys)
    fn = CASES[case]
    assert fn(data, root), f"{case} does not call {doc.name} valid"
    times = []
    for _ in range(n):
        t0 = time.perf_counter()
        fn(data, root)
        times.append(time.perf_counter() - t0)
    return times


def _worker(args: tuple[str, str, str, int, float]) -> tuple[float, float]:
    case, doc, keys, n, start_at = args
    data = Path(doc).read_bytes()
    root = _root(Path(keys))
    fn = CASES[case]
    fn(data, root)  # warm-up
    while time.monotonic() < start_at:
        time.sleep(0.0005)
    t0 = time.monotonic()
    for _ in range(n):
        fn(data, root)
    return t0, time.monotonic()


def _two_processes(case: str, doc: Path, keys: Path, n: int) -> float:
    ctx = mp.get_context("spawn")
    with ctx.Pool(2) as pool:
        start_at = time.monotonic() + 4.0
        spans = pool.map(_worker, [(case, str(doc), str(keys), n, start_at)] * 2)
    wall = max(end for _, end in spans) - min(start for start, _ in spans)
    return 2 * n / wall


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true", help="fewer iterations")
    args = parser.parse_args()
    quick: bool = args.quick
    with tempfile.TemporaryDirectory(prefix="medsign-bench-verify-") as tmp:
        root = Path(tmp)
        keys = root / "keys"
        paths: dict[str, Path] = {}
        for pages in (1, 100):
            for sigs in (1, 3):
                name = f"{pages}p x {sigs} sig"
                paths[name] = root / f"p{pages}_s{sigs}.pdf"
                paths[name].write_bytes(signed(pages, sigs, keys))
        sizes = ", ".join(f"{k} = {p.stat().st_size / 1e3:.0f} kB" for k, p in paths.items())
        print(f"documents: {sizes}\n")
        header = f"{'case':<22} {'document':<14} {'median ms':>10} {'verif/s 1 core':>15}"
        header += f" {'verif/s 2 procs':>16}"
        print(header)
        print("-" * len(header))
        for case in CASES:
            for doc_name, path in paths.items():
                n = 10 if quick else 40
                if case in FAST:
                    n *= 20  # sub-millisecond cases need more iterations
                times = _run(case, path, keys, n)
                median = statistics.median(times)
                two = _two_processes(case, path, keys, n)
                print(
                    f"{case:<22} {doc_name:<14} {median * 1e3:>10.2f} {1 / median:>15.1f}"
                    f" {two:>16.1f}",
                    flush=True,
                )


if __name__ == "__main__":
    main()
