"""Clinician devices: how long a prescription takes from request to signature with an
automated device, and how many approvals per second the server completes in a batch.

Run ``.venv/bin/python bench/device.py [-n 20] [--batch 100] [--db sqlite|postgresql]``.
medsign runs in-process (ASGI through Starlette's TestClient) on a fresh database in a
temporary directory (SQLite) or a new database on 127.0.0.1:5432 (PostgreSQL), with its
in-process worker. The device is :class:`tests.support.device.Device` (ECDSA P-256 with
``cryptography``; r||s signatures, as WebCrypto gives).

1. Latency, ``-n`` times one after another: ``POST /api/v1/envelopes`` (a prescription
   with one ``device`` signer) -> the worker prepares the request -> the device polls
   ``GET /device/v1/requests`` every 10 ms, signs ``to_sign`` and posts ``approve`` ->
   the envelope is ``completed``. Printed: median and p90 of the whole, and of the
   approve request alone.
2. Batch: ``--batch`` prescriptions are created and prepared first; then one ``POST
   /device/v1/requests/approve`` with every item (each verified, completed with an
   RFC 3161 time-stamp, stored, audited, emitted, metered and the envelope moved on;
   up to 20 items per transaction), timed with the worker stopped so only the
   approvals run. Printed: approvals/s server side (items / wall time of that
   request), and the process's CPU time per approval and approvals per CPU-second
   (the figures that do not depend on what else the machine runs). Target
   ([clinician]): >= 100/s.
3. Ceilings, measured in the same run on the same items: the bare cryptography an
   approval cannot do without (ECDSA P-256 verification of the device's signature,
   SHA-256 of the prepared PDF, one RFC 3161 token from the built-in TSA), and ``GET
   /healthz`` round trips through the same client (the cheapest request there is).
   Printed: their CPU time each, and the ratios (how far the approval is from them).
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import os
import secrets
import statistics
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from fastapi.testclient import TestClient
from pydantic import SecretStr

from medsign.runtime import Runtime
from medsign.settings import Settings
from medsign.web.app import create_app
from tests.support.api import new_org, upload
from tests.support.databases import migrated_database
from tests.support.device import Device
from tests.support.worker import drain


def _ms(values: list[float]) -> str:
    ordered = sorted(values)
    p90 = ordered[max(0, int(len(ordered) * 0.9) - 1)]
    return f"median {statistics.median(values) * 1000:7.1f} ms   p90 {p90 * 1000:7.1f} ms"


def _prescription(client: TestClient, headers: dict[str, str], clinician_id: str) -> str:
    doc = upload(client, headers, kind="prescription", title="Prescription")
    res = client.post(
        "/api/v1/envelopes",
        headers=headers,
        json={
            "document_id": doc["id"],
            "signers": [
                {
                    "role": "clinician",
                    "name": "Dr. B",
                    "method": "device",
                    "clinician_id": clinician_id,
                }
            ],
        },
    )
    assert res.status_code == 201, res.text
    return str(res.json()["id"])


def _wait_for(device: Device, client: TestClient, envelope_id: str) -> dict[str, Any]:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        for item in device.requests(client):
            if item["envelope_id"] == envelope_id:
                return item
        time.sleep(0.01)
    raise AssertionError(f"no request for {envelope_id} after 30 s")


def _cpu_per_call(calls: int, action: Callable[[int], object]) -> float:
    """Process CPU seconds per call of ``action(i)`` for i in 0..calls-1."""
    start = time.process_time()
    for i in range(calls):
        action(i)
    return (time.process_time() - start) / calls


def _crypto_floor(rt: Runtime, device: Device, items: list[dict[str, Any]], pdf: bytes) -> float:
    """CPU seconds per item of the cryptography an approval must do: verify the device's
    signature over ``to_sign``, hash a PDF of the prepared size, get one RFC 3161 token."""
    assert device.certificate is not None
    public_key = device.certificate.public_key()
    assert isinstance(public_key, ec.EllipticCurvePublicKey)
    signed = [
        (base64.b64decode(i["to_sign"]), base64.b64decode(device.sign(i["to_sign"], raw=False)))
        for i in items
    ]
    tsa = rt.seal_keys.timestamper()

    def one(n: int) -> None:
        to_sign, der = signed[n]
        public_key.verify(der, to_sign, ec.ECDSA(hashes.SHA256()))
        hashlib.sha256(pdf).digest()
        tsa.timestamp(hashlib.sha256(der).digest())

    return _cpu_per_call(len(signed), one)


@contextmanager
def _database(kind: str, work: Path) -> Iterator[str]:
    with migrated_database(kind, work) as url:
        yield url


def main() -> None:
    """Run both measurements and print the figures."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-n", type=int, default=20, help="prescriptions timed one by one")
    parser.add_argument("--batch", type=int, default=100, help="approvals in one batch")
    parser.add_argument("--db", choices=["sqlite", "postgresql"], default="sqlite")
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="medsign-bench-device-"))
    with _database(args.db, work) as url:
        settings = Settings(
            data_dir=work / "data",
            database_url=url,
            public_url="http://testserver",
            api_rate_per_minute=1_000_000,
            secret_key=SecretStr(secrets.token_hex(32)),
            _env_file=None,
        )
        rt = Runtime.build(settings)
        with TestClient(create_app(runtime=rt, migrate=False), follow_redirects=False) as client:
            _, headers = new_org(rt)
            res = client.post(
                "/api/v1/clinicians",
                headers=headers,
                json={"name": "Dr. Bench", "licence_number": "MC-1"},
            )
            device = Device(raw=True)
            device.enroll(client, res.json()["enrollment_token"])
            clinician_id = res.json()["id"]

            whole, approve = [], []
            for i in range(args.n + 2):  # two warm-up rounds are not counted
                start = time.perf_counter()
                envelope_id = _prescription(client, headers, clinician_id)
                item = _wait_for(device, client, envelope_id)
                began = time.perf_counter()
                done = device.approve(client, item)
                ended = time.perf_counter()
                assert done.status_code == 200, done.text
                state = client.get(f"/api/v1/envelopes/{envelope_id}", headers=headers).json()
                assert state["status"] == "completed", state
                if i >= 2:
                    whole.append(ended - start)
                    approve.append(ended - began)

        # The batch is timed without the in-process worker, so the server's approvals
        # are what is measured (not the evidence archives of completed envelopes).
        rt.settings = rt.settings.model_copy(update={"in_process_worker": False})
        with TestClient(create_app(runtime=rt, migrate=False), follow_redirects=False) as client:
            ids = [_prescription(client, headers, clinician_id) for _ in range(args.batch)]
            drain(rt, limit=100_000)  # prepares the requests (and finishes earlier jobs)
            wanted = set(ids)
            items = [i for i in device.requests(client) if i["envelope_id"] in wanted]
            assert len(items) == len(ids), f"{len(items)} of {len(ids)} prepared"
            body = {
                "items": [{"id": i["id"], "signature": device.sign(i["to_sign"])} for i in items]
            }
            start, cpu = time.perf_counter(), time.process_time()
            res = client.post("/device/v1/requests/approve", headers=device.headers, json=body)
            elapsed, cpu = time.perf_counter() - start, time.process_time() - cpu
            assert res.status_code == 200, res.text
            approved = sum(1 for r in res.json()["items"] if r["status"] == "approved")
            pdf = client.get(items[0]["document_url"], headers=device.headers).content
            crypto = _crypto_floor(rt, device, items, pdf)
            healthz = _cpu_per_call(args.batch, lambda _: client.get("/healthz"))
        rt.close()
    print(
        f"machine: {os.cpu_count()} cores, load {os.getloadavg()[0]:.1f}; database {args.db}; "
        f"{args.n} prescriptions one by one, a batch of {args.batch}"
    )
    print(f"request created -> completed (automated device)  {_ms(whole)}")
    print(f"  POST .../approve alone                          {_ms(approve)}")
    print(
        f"batch: {approved}/{args.batch} approved in {elapsed * 1000:.0f} ms = "
        f"{approved / elapsed:.0f} approvals/s server side   (target >= 100/s)"
    )
    per_approval = cpu / max(approved, 1)
    print(
        f"  CPU time of the process during the batch {cpu * 1000:.0f} ms = "
        f"{per_approval * 1000:.2f} ms per approval = {approved / cpu:.0f} approvals per "
        "CPU-second (what an otherwise idle core gives)"
    )
    print(
        f"ceiling (same run): verify + SHA-256 + RFC 3161 token {crypto * 1000:.2f} ms CPU = "
        f"{1 / crypto:.0f}/CPU-second;  GET /healthz {healthz * 1000:.2f} ms CPU = "
        f"{1 / healthz:.0f}/CPU-second"
    )
    print(
        f"  an approval costs {per_approval / crypto:.1f}x its bare cryptography and "
        f"{per_approval / healthz:.1f}x a /healthz round trip"
    )


if __name__ == "__main__":
    main()
