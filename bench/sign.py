"""Signing benchmark: medsign's fast path against pyHanko.

Run ``.venv/bin/python bench/sign.py`` (``--quick`` for a short run). Prints median
ms per document and documents per second, on one core and on two processes, for:

* ``medsign seal_pdf``        fast path, visible block with QR code, evidence embedded
* ``medsign seal_pdf+TSA``    the same plus an RFC 3161 token (built-in TSA): the service path
* ``medsign reference``       pyHanko path with the same block and evidence
* ``pyhanko sign_pdf``        plain pyHanko, ``SimpleSigner``, invisible field
* ``pyhanko sign_pdf+stamp``  plain pyHanko with its default visible stamp

Documents: 1 page, 100 pages, 10 MB (ten 1 MB images), 2415 pages (a long manual).
Requests look like the seal job's (``envelopes/sealing.py``): a new document id, code
and verification URL per document, one signer name. Before the table it prints the
floors no signer avoids: one private-key signature of the seal key and SHA-256 over a
sealed 1-page file (and over the 10 MB file). ``median ms`` is wall-clock; ``cpu ms``
is this thread's CPU time, the figure to trust on a machine others share.
``--case``/``--doc`` pick cases and documents by substring.

Figures (``--quick`` on a 2-core machine shared with other jobs; cpu ms, median).
medsign rows: ``--case "medsign seal"`` at load ~3; peers: the full run at load ~8.

=====================  ========  ==========  =======  ==========
case                   1 page    100 pages   10 MB    2415 pages
=====================  ========  ==========  =======  ==========
seal_pdf, before       2.27      3.44        8.92     37.92
seal_pdf, now          0.66      0.74        6.80     4.10
seal_pdf+TSA, before   1.97      3.51        9.88     34.81
seal_pdf+TSA, now      0.69      0.97        6.93     4.35
medsign reference      19.1      31.3        155.7    432.9
pyhanko sign_pdf       18.3      18.0        25.9     38.1
=====================  ========  ==========  =======  ==========

Floors in the same run: ECDSA P-256 signature 0.017 ms, SHA-256 of a sealed 1-page
file (17 kB) 0.009 ms, so 1 page with TSA cannot go below ~0.04 ms; SHA-256 over 10 MB
4.9 ms at load ~3. A signer name whose glyph set was not seen before
adds ~0.15-0.2 ms (its font subset is made and cached).
"""

from __future__ import annotations

import argparse
import datetime as dt
import hashlib
import io
import json
import multiprocessing as mp
import os
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import pikepdf
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, padding
from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
from pyhanko.sign import fields, signers

from medsign.pdf import SealRequest, SignatureBlock, seal_pdf, seal_pdf_reference
from medsign.pdf.reference import pyhanko_signer
from medsign.pdf.timestamp import Timestamper, make_timestamper
from medsign.pki import SealKey, load_or_create_dev_ca

Case = Callable[[bytes, SealKey, int], bytes]


def make_pdf(pages: int, image_bytes: int = 0) -> bytes:
    """A PDF with text on each page and, optionally, an incompressible image per page."""
    pdf = pikepdf.new()
    font = pdf.make_indirect(
        pikepdf.Dictionary(
            Type=pikepdf.Name.Font, Subtype=pikepdf.Name.Type1, BaseFont=pikepdf.Name.Helvetica
        )
    )
    side = int((image_bytes / 3) ** 0.5) if image_bytes else 0
    for i in range(pages):
        page = pdf.add_blank_page(page_size=(595, 842))
        resources = pikepdf.Dictionary(Font=pikepdf.Dictionary(F1=font))
        content = b"BT /F1 14 Tf 72 780 Td (Page %d of the benchmark document) Tj ET" % (i + 1)
        if side:
            image = pdf.make_stream(os.urandom(side * side * 3))
            image.Type = pikepdf.Name.XObject
            image.Subtype = pikepdf.Name.Image
            image.Width = side
            image.Height = side
            image.ColorSpace = pikepdf.Name.DeviceRGB
            image.BitsPerComponent = 8
            resources.XObject = pikepdf.Dictionary(Im0=image)
            content += b" q 400 0 0 400 100 200 cm /Im0 Do Q"
        page.obj.Resources = resources
        page.obj.Contents = pdf.make_stream(content)
    out = io.BytesIO()
    pdf.save(out, compress_streams=False)
    return out.getvalue()


def _request(i: int) -> SealRequest:
    """What ``envelopes/sealing.py`` asks for: a new code and QR URL for every document."""
    document_id = f"3f2a4b6c-1111-4222-8333-{i:012d}"
    code = f"7KQ{i % 10}-M{i % 7}XD"
    block = SignatureBlock(
        signer_name="Иванова Мария Петровна",
        signed_at=dt.datetime.now(dt.timezone(dt.timedelta(hours=3))),
        method="SMS code",
        document_id=document_id,
        verification_code=code,
        verify_url=f"https://clinic.example.org/verify?document={document_id}&code={code}",
    )
    evidence = json.dumps({"signer_name": block.signer_name, "method": "sms_otp", "n": i})
    return SealRequest(
        block=block,
        evidence=evidence.encode(),
        field_name=f"medsign-sig-{i}",
        reason=f"Signed by {block.signer_name} (sms_otp)",
    )


def case_fast(data: bytes, key: SealKey, i: int) -> bytes:
    return seal_pdf(data, key, _request(i))


_TSA: dict[str, Timestamper] = {}


def case_service(data: bytes, key: SealKey, i: int) -> bytes:
    """What the seal job does: fast path plus an RFC 3161 token from the built-in TSA."""
    tsa = _TSA.get("tsa")
    if tsa is None:
        tsa = _TSA["tsa"] = make_timestamper(None, Path(tempfile.mkdtemp(prefix="tsa-")))
    return seal_pdf(data, key, _request(i), timestamper=tsa)


def case_reference(data: bytes, key: SealKey, i: int) -> bytes:
    return seal_pdf_reference(data, key, _request(i))


def case_pyhanko(data: bytes, key: SealKey, i: int) -> bytes:
    meta = signers.PdfSignatureMetadata(field_name=f"Sig{i}")
    out: io.BytesIO = signers.sign_pdf(
        IncrementalPdfFileWriter(io.BytesIO(data)), meta, signer=pyhanko_signer(key)
    )
    return out.getvalue()


def case_pyhanko_stamp(data: bytes, key: SealKey, i: int) -> bytes:
    meta = signers.PdfSignatureMetadata(field_name=f"Sig{i}")
    spec = fields.SigFieldSpec(sig_field_name=f"Sig{i}", on_page=-1, box=(18, 18, 198, 80))
    out: io.BytesIO = signers.sign_pdf(
        IncrementalPdfFileWriter(io.BytesIO(data)),
        meta,
        signer=pyhanko_signer(key),
        new_field_spec=spec,
    )
    return out.getvalue()


CASES: dict[str, Case] = {
    "medsign seal_pdf": case_fast,
    "medsign seal_pdf+TSA": case_service,
    "medsign reference": case_reference,
    "pyhanko sign_pdf": case_pyhanko,
    "pyhanko sign_pdf+stamp": case_pyhanko_stamp,
}


def _key(directory: Path) -> SealKey:
    ca = load_or_create_dev_ca(directory / "ca")
    return ca.issue_seal(directory / "org", "bench", "Benchmark Clinic")


def _run(case: str, doc: Path, keys: Path, n: int) -> tuple[list[float], list[float]]:
    """Sign ``doc`` ``n`` times (after one warm-up); return per-document wall and CPU
    seconds (the CPU time of this thread stays meaningful on a machine others share)."""
    data = doc.read_bytes()
    key = _key(keys)
    fn = CASES[case]
    fn(data, key, 0)
    wall, cpu = [], []
    for i in range(n):
        t0, c0 = time.perf_counter(), time.thread_time()
        fn(data, key, i + 1)
        cpu.append(time.thread_time() - c0)
        wall.append(time.perf_counter() - t0)
    return wall, cpu


def _worker(args: tuple[str, str, str, int, float]) -> tuple[float, float]:
    """Sign ``n`` times starting at ``start_at`` (a shared monotonic instant)."""
    case, doc, keys, n, start_at = args
    data = Path(doc).read_bytes()
    key = _key(Path(keys))
    fn = CASES[case]
    fn(data, key, 0)  # warm-up: imports, caches
    while time.monotonic() < start_at:
        time.sleep(0.0005)
    t0 = time.monotonic()
    for i in range(n):
        fn(data, key, i + 1)
    return t0, time.monotonic()


def _two_processes(case: str, doc: Path, keys: Path, n: int) -> float:
    """Documents per second with two processes signing at the same time."""
    ctx = mp.get_context("spawn")
    with ctx.Pool(2) as pool:
        start_at = time.monotonic() + 3.0  # both workers are warm by then
        spans = pool.map(_worker, [(case, str(doc), str(keys), n, start_at)] * 2)
    wall = max(end for _, end in spans) - min(start for start, _ in spans)
    return 2 * n / wall


def _median_ms(fn: Callable[[], object], n: int = 200) -> float:
    fn()
    times = []
    for _ in range(n):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times) * 1e3


def _floors(docs: dict[str, bytes], key: SealKey) -> None:
    """What no signer can avoid: SHA-256 over the bytes and the private-key operations.

    A 1-page seal hashes about 20 kB (the input plus the update with the block's font
    and the evidence) and signs once; with the built-in TSA the token is signed too.
    """
    sig = key.private_key
    if isinstance(sig, ec.EllipticCurvePrivateKey):
        algorithm = f"ECDSA {sig.curve.name}"
        one_sig = _median_ms(lambda: sig.sign(b"x" * 200, ec.ECDSA(hashes.SHA256())))
    else:
        algorithm = f"RSA-{sig.key_size}"
        one_sig = _median_ms(lambda: sig.sign(b"x" * 200, padding.PKCS1v15(), hashes.SHA256()))
    sealed = case_fast(docs["1 page"], key, 0) if "1 page" in docs else b"x" * 20_000
    digest = _median_ms(lambda: hashlib.sha256(sealed).digest())
    print(f"floor: one {algorithm} signature = {one_sig:.3f} ms")
    print(f"floor: SHA-256 over a sealed 1-page file ({len(sealed)} B) = {digest:.3f} ms")
    print(f"floor: 1 page = {one_sig + digest:.3f} ms, with TSA = {2 * one_sig + digest:.3f} ms")
    if "10 MB" in docs:
        big = docs["10 MB"]
        print(f"floor: SHA-256 over 10 MB = {_median_ms(lambda: hashlib.sha256(big), 20):.2f} ms")
    print()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true", help="fewer iterations")
    parser.add_argument("--case", default="", help="only cases whose name contains this")
    parser.add_argument("--doc", default="", help="only documents whose name contains this")
    args = parser.parse_args()
    quick: bool = args.quick

    with tempfile.TemporaryDirectory(prefix="medsign-bench-") as tmp:
        root = Path(tmp)
        keys = root / "keys"
        _key(keys)
        makers: dict[str, Callable[[], bytes]] = {
            "1 page": lambda: make_pdf(1),
            "100 pages": lambda: make_pdf(100),
            "10 MB": lambda: make_pdf(10, image_bytes=1_000_000),
            "2415 pages": lambda: make_pdf(2415),  # the size of a long device manual
        }
        docs = {name: make() for name, make in makers.items() if args.doc in name}
        paths = {}
        for name, data in docs.items():
            paths[name] = root / (name.replace(" ", "_") + ".pdf")
            paths[name].write_bytes(data)

        print("documents: " + ", ".join(f"{k} = {len(v) / 1e6:.2f} MB" for k, v in docs.items()))
        _floors(docs, _key(keys))

        header = f"{'case':<24} {'document':<10} {'median ms':>10} {'cpu ms':>7}"
        header += f" {'docs/s 1 core':>14} {'docs/s 2 procs':>15}"
        print(header)
        print("-" * len(header))
        for case in (c for c in CASES if args.case in c):
            fast = case.startswith("medsign seal_pdf")
            for doc_name, path in paths.items():
                big = doc_name in ("10 MB", "2415 pages")
                if quick:
                    n = (40 if fast else 8) if not big else (6 if fast else 3)
                else:
                    n = (300 if fast else 40) if not big else (30 if fast else 10)
                wall, cpu = _run(case, path, keys, n)
                median = statistics.median(wall)
                two = _two_processes(case, path, keys, n)
                print(
                    f"{case:<24} {doc_name:<10} {median * 1e3:>10.2f}"
                    f" {statistics.median(cpu) * 1e3:>7.2f} {1 / median:>14.1f} {two:>15.1f}",
                    flush=True,
                )


if __name__ == "__main__":
    main()
