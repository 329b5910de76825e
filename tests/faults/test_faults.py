"""Faults under load (issue [scale]): patients keep signing while the worker and the web
process are killed with SIGKILL, the SMS gateway and the S3 storage are down, and
PostgreSQL restarts.

Afterwards every envelope is either completed or still signable, every completed PDF
holds exactly its one valid signature, no SMS was accepted twice under one id, no
webhook event was delivered as two different ids, nothing answered 500, and the audit
log verifies. The counts are printed (``-s``).

Bounded for CI: outages of ``MEDSIGN_FAULT_SECONDS`` (default 3; the issue's minute is
``MEDSIGN_FAULT_SECONDS=60``). PostgreSQL is restarted only where this process may do
it (root with ``pg_ctlcluster``) and ``MEDSIGN_FAULT_PG_RESTART`` is not ``0``.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import subprocess
import threading
import time
import uuid
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any
from urllib.parse import urlsplit

import httpx
import pytest
from cryptography import x509

from medsign.pdf import validate_pdf
from medsign.pki.keys import CA_CERT_FILE
from tests.e2e.test_browser_signing import code_in, link_in
from tests.support.databases import migrated_database, postgres_url
from tests.support.pdfs import make_pdf
from tests.support.ports import free_port
from tests.support.s3_server import CREDENTIALS, S3TestServer
from tests.support.served import _clean_environ, create_org, medsign_command
from tests.support.sms_gateway import SmsGateway
from tests.support.webhook_receiver import WebhookReceiver

pytestmark = [
    pytest.mark.e2e,
    pytest.mark.serial,  # restarts PostgreSQL under every other test's feet
    pytest.mark.skipif(postgres_url() is None, reason="the fault run needs PostgreSQL"),
]

OUTAGE = float(os.environ.get("MEDSIGN_FAULT_SECONDS", "3"))
FLOWS_IN_FLIGHT = 6
PATIENT_WAIT = 60.0 + 2 * OUTAGE  # how long a patient waits for an SMS


def _may_restart_postgres() -> bool:
    return (
        os.environ.get("MEDSIGN_FAULT_PG_RESTART", "1") != "0"
        and hasattr(os, "geteuid")
        and os.geteuid() == 0
        and shutil.which("pg_ctlcluster") is not None
        and Path("/etc/postgresql").is_dir()
    )


class Process:
    """One medsign process that the test can kill with SIGKILL and start again."""

    def __init__(self, args: list[str], env: dict[str, str], cwd: Path, log: IO[bytes]) -> None:
        self.args, self.env, self.cwd, self.log = args, env, cwd, log
        self.popen: subprocess.Popen[bytes] | None = None
        self.kills = 0

    def start(self) -> None:
        """Start (again)."""
        self.popen = subprocess.Popen(
            [*medsign_command(), *self.args],
            env=self.env,
            cwd=self.cwd,
            stdin=subprocess.DEVNULL,
            stdout=self.log,
            stderr=subprocess.STDOUT,
        )

    def kill9(self) -> None:
        """SIGKILL: no cleanup, no goodbye."""
        assert self.popen is not None
        self.popen.send_signal(signal.SIGKILL)
        self.popen.wait(10)
        self.kills += 1

    def stop(self) -> None:
        """SIGTERM, then SIGKILL."""
        if self.popen is not None and self.popen.poll() is None:
            self.popen.terminate()
            try:
                self.popen.wait(15)
            except subprocess.TimeoutExpired:
                self.popen.kill()
                self.popen.wait(5)


@dataclass
class Tally:
    """What the load saw."""

    started: int = 0
    signed: int = 0
    gave_up: int = 0
    retries: int = 0
    server_errors: list[str] = field(default_factory=list)
    envelopes: list[str] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)


def _patiently(
    tally: Tally, call: Callable[[], httpx.Response], ok: tuple[int, ...]
) -> httpx.Response:
    """Repeat ``call`` through refused connections and 503s (a restarting server or
    database) until it answers one of ``ok``; a 500 is recorded as a defect."""
    deadline = time.monotonic() + PATIENT_WAIT
    while True:
        try:
            res = call()
            if res.status_code in ok:
                return res
            if res.status_code >= 500 and res.status_code != 503:
                with tally.lock:
                    tally.server_errors.append(f"{res.status_code} {res.text[:200]}")
            elif res.status_code != 503:
                return res  # a 4xx the caller looks at
        except httpx.TransportError:
            pass
        with tally.lock:
            tally.retries += 1
        if time.monotonic() > deadline:
            raise TimeoutError("the service did not come back")
        time.sleep(0.3)


def _wait_sms(sms: SmsGateway, phone: str, want: Callable[[str], str | None]) -> str:
    message = sms.wait_for(lambda m: m.to == phone and want(m.text) is not None, PATIENT_WAIT)
    found = want(message.text)
    assert found is not None
    return found


def _one_patient(base: str, token: str, sms: SmsGateway, tally: Tally, pdf: bytes) -> None:
    phone = f"+7998{uuid.uuid4().int % 10**7:07d}"
    auth = {"Authorization": f"Bearer {token}"}
    with tally.lock:
        tally.started += 1
    with httpx.Client(base_url=base, timeout=30) as http:
        doc = _patiently(
            tally,
            lambda: http.post(
                "/api/v1/documents",
                headers=auth,
                files={"files": ("d.pdf", pdf, "application/pdf")},
                data={"title": "Consent", "kind": "user_agreement"},
            ),
            (201,),
        ).json()
        key = str(uuid.uuid4())  # retries of the same creation are one envelope
        env = _patiently(
            tally,
            lambda: http.post(
                "/api/v1/envelopes",
                headers={**auth, "Idempotency-Key": key},
                json={
                    "document_id": doc["id"],
                    "signers": [
                        {
                            "role": "patient",
                            "name": "Fault Patient",
                            "phone": phone,
                            "method": "sms_otp",
                        }
                    ],
                },
            ),
            (201,),
        ).json()
        with tally.lock:
            tally.envelopes.append(env["id"])
        path = urlsplit(_wait_sms(sms, phone, link_in)).path
        page = _patiently(tally, lambda: http.get(path), (200,))
        form = dict(re.findall(r'<input type="hidden" name="(\w+)" value="([^"]*)"', page.text))
        _patiently(tally, lambda: http.post(f"{path}/code", data={"csrf": form["csrf"]}), (303,))
        code = _wait_sms(sms, phone, code_in)
        signed = _patiently(
            tally, lambda: http.post(f"{path}/sign", data={**form, "code": code}), (303, 409)
        )
        assert signed.status_code in (303, 409), signed.text  # 409: a retried press
    with tally.lock:
        tally.signed += 1


def _load(base: str, token: str, sms: SmsGateway, tally: Tally, stop: threading.Event) -> None:
    pdf = make_pdf(pages=1)
    while not stop.is_set():
        try:
            _one_patient(base, token, sms, tally, pdf)
        except (TimeoutError, AssertionError, KeyError):
            with tally.lock:
                tally.gave_up += 1


@contextmanager
def _stack(
    tmp: Path,
) -> Iterator[tuple[dict[str, Any], SmsGateway, WebhookReceiver, S3TestServer]]:
    with ExitStack() as stack:
        db = stack.enter_context(migrated_database("postgresql", tmp / "db"))
        sms = stack.enter_context(SmsGateway())
        hooks = stack.enter_context(WebhookReceiver())
        s3 = stack.enter_context(S3TestServer())
        bucket = s3.new_bucket()
        port = free_port()
        base = f"http://127.0.0.1:{port}"
        env = _clean_environ(
            {
                "MEDSIGN_DATA_DIR": str(tmp / "data"),
                "MEDSIGN_DATABASE_URL": db,
                "MEDSIGN_PUBLIC_URL": base,
                "MEDSIGN_SECRET_KEY": uuid.uuid4().hex * 2,
                "MEDSIGN_SMS_URL": sms.url,
                "MEDSIGN_WEBHOOK_ALLOW_PRIVATE": "true",
                "MEDSIGN_WEBHOOK_BACKOFF": "1",
                "MEDSIGN_IN_PROCESS_WORKER": "false",
                "MEDSIGN_WORKER_LEASE_SECONDS": "5",
                # the load and the final check are one client: lift the per-token limit
                "MEDSIGN_API_RATE_PER_MINUTE": "1000000",
                "MEDSIGN_STORAGE_URL": f"s3://{bucket}/faults",
                "MEDSIGN_S3_ENDPOINT_URL": s3.endpoint_url,
                "AWS_CONFIG_FILE": "/nonexistent/medsign-test/config",
                "AWS_SHARED_CREDENTIALS_FILE": "/nonexistent/medsign-test/credentials",
                **CREDENTIALS,
            }
        )
        log = stack.enter_context((tmp / "processes.log").open("wb"))
        web = Process(["serve", "--host", "127.0.0.1", "--port", str(port)], env, tmp, log)
        worker = Process(["worker"], env, tmp, log)
        stack.callback(web.stop)
        stack.callback(worker.stop)
        org_id, token = create_org("Fault Clinic", env=env, cwd=tmp)
        web.start()
        worker.start()
        _wait_up(base)
        sub = httpx.post(
            f"{base}/api/v1/webhooks",
            headers={"Authorization": f"Bearer {token}"},
            json={"url": hooks.url, "events": ["*"]},
            timeout=30,
        )
        assert sub.status_code == 201, sub.text
        hooks.secrets.append(sub.json()["secret"])
        yield (
            {
                "base": base,
                "token": token,
                "env": env,
                "web": web,
                "worker": worker,
                "org": org_id,
                "log": tmp / "processes.log",
            },
            sms,
            hooks,
            s3,
        )


def _wait_up(base: str) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"{base}/healthz", timeout=2).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.2)
    raise AssertionError("medsign did not answer /healthz")


def _restart_postgres() -> None:
    version = sorted(p.name for p in Path("/etc/postgresql").iterdir())[-1]
    subprocess.run(
        ["pg_ctlcluster", "--skip-systemctl-redirect", version, "main", "restart"],
        check=True,
        timeout=120,
    )


def test_faults_under_load(tmp_path: Path) -> None:
    with _stack(tmp_path) as (ctx, sms, hooks, s3):
        tally = Tally()
        stop = threading.Event()
        threads = [
            threading.Thread(
                target=_load, args=(ctx["base"], ctx["token"], sms, tally, stop), daemon=True
            )
            for _ in range(FLOWS_IN_FLIGHT)
        ]
        for t in threads:
            t.start()
        faults: list[str] = []
        time.sleep(2)
        ctx["worker"].kill9()  # mid-job, most likely: its leases must run out
        faults.append("kill -9 worker")
        time.sleep(1)
        ctx["worker"].start()
        time.sleep(2)
        ctx["web"].kill9()
        faults.append("kill -9 serve")
        time.sleep(1)
        ctx["web"].start()
        _wait_up(ctx["base"])
        time.sleep(1)
        sms.stop()
        faults.append(f"SMS gateway down {OUTAGE:g} s")
        time.sleep(OUTAGE)
        sms.start()
        time.sleep(1)
        s3.stop()
        faults.append(f"S3 storage down {OUTAGE:g} s")
        time.sleep(OUTAGE)
        s3.start()
        if _may_restart_postgres():
            time.sleep(1)
            _restart_postgres()
            faults.append("PostgreSQL restarted")
        time.sleep(3)
        stop.set()
        for t in threads:
            t.join(PATIENT_WAIT * 3)
        _check_outcome(ctx, sms, hooks, tally, faults)


def _check_outcome(
    ctx: dict[str, Any], sms: SmsGateway, hooks: WebhookReceiver, tally: Tally, faults: list[str]
) -> None:
    base, auth = ctx["base"], {"Authorization": f"Bearer {ctx['token']}"}
    ca = x509.load_pem_x509_certificate(
        (Path(ctx["env"]["MEDSIGN_DATA_DIR"]) / "keys" / CA_CERT_FILE).read_bytes()
    )
    statuses: Counter[str] = Counter()
    completed: list[str] = []
    deadline = time.monotonic() + PATIENT_WAIT
    with httpx.Client(base_url=base, timeout=30, headers=auth) as http:
        for envelope_id in tally.envelopes:
            while True:
                body = http.get(f"/api/v1/envelopes/{envelope_id}").json()
                signer = body["signers"][0]
                settled = body["status"] == "completed" or (
                    body["status"] == "sent" and signer["status"] != "signed"
                )
                if settled or time.monotonic() > deadline:
                    break
                time.sleep(0.2)
            statuses[body["status"]] += 1
            if body["status"] == "completed":
                completed.append(envelope_id)
                got = http.get(f"/api/v1/envelopes/{envelope_id}/pdf")
                assert got.status_code == 200, got.text
                report = validate_pdf(got.content, [ca])
                assert report.valid and len(report.signatures) == 1, (envelope_id, report)
            else:
                assert body["status"] == "sent" and signer["status"] != "signed", body
                link = urlsplit(signer["signing_url"]).path
                assert http.get(link).status_code == 200  # still signable
    accepted = Counter(m.id for m in sms.messages)
    assert all(n == 1 for n in accepted.values())
    completed_events = Counter(
        r.envelope_id for r in hooks.unique if r.type == "envelope.completed"
    )
    assert all(n == 1 for n in completed_events.values()), completed_events
    verify = subprocess.run(
        [*medsign_command(), "audit", "verify"],
        env={**ctx["env"]},
        capture_output=True,
        text=True,
        timeout=300,
    )
    log = json.loads(verify.stdout.splitlines()[0]) if verify.stdout else {}
    counts = {
        "faults": faults,
        "patients started": tally.started,
        "signed": tally.signed,
        "gave up (client side)": tally.gave_up,
        "client retries": tally.retries,
        "envelopes": dict(statuses),
        "sms accepted": len(accepted),
        "sms duplicates deduplicated by the gateway": sms.duplicates,
        "webhook deliveries (unique ids)": len(hooks.unique),
        "webhook deliveries (all)": len(hooks.all),
        "envelope.completed webhooks": sum(completed_events.values()),
        "audit log": {k: log.get(k) for k in ("intact", "tree_size", "unsequenced")},
        "500 answers": len(tally.server_errors),
    }
    print("\nfault run:", json.dumps(counts, ensure_ascii=False, indent=1))
    assert verify.returncode == 0, verify.stdout + verify.stderr
    assert not tally.server_errors, tally.server_errors[:5]
    assert tally.signed >= FLOWS_IN_FLIGHT, counts
    assert statuses["completed"] >= tally.signed - FLOWS_IN_FLIGHT, counts
    missing = set(completed) - set(completed_events)
    deadline = time.monotonic() + PATIENT_WAIT  # webhook retries may still be on their way
    while missing and time.monotonic() < deadline:
        time.sleep(0.5)
        missing -= {r.envelope_id for r in hooks.unique if r.type == "envelope.completed"}
    assert not missing, f"no envelope.completed webhook for {sorted(missing)[:5]}"
    assert b" 500 " not in Path(ctx["log"]).read_bytes()
