"""The whole patient flow under load, over real HTTP, against a real ``medsign serve``.

Run ``PYTHONPATH=src .venv/bin/python bench/e2e.py`` (see bench/README.md, "Load").
Each flow is one patient: upload a 1-page PDF, create an envelope with one ``sms_otp``
signer, receive the link at a loopback SMS gateway, open the signing page, press
"Send code" (the page's form, with its CSRF token), read the code from the gateway,
"Sign", then poll ``GET /api/v1/envelopes/{id}`` until it is ``completed``.
N flows run at once (the in-flight level); each level gets a fresh database and fresh
processes. Printed per database and level: completed signatures/s, p50/p95/p99 per
request kind and per whole flow, where the flow waits for the worker, failures by
kind, and a ceiling measured on the same server: the same concurrency on ``GET
/healthz``. The targets of the [scale] issue are printed beside the figures.
"""

from __future__ import annotations

import argparse
import asyncio
import io
import itertools
import math
import os
import re
import resource
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import pikepdf

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # `tests.support` when run as a file

from e2e_gateway import AsyncSmsGateway
from e2e_stack import CliOptions, Stack, detect_cli, pg_counters, served
from tests.support.databases import postgres_url

# The targets ([scale], "Figures").
TARGET_RATE = {"postgresql": 200.0, "sqlite": 50.0}  # signatures/s
TARGET_RATE_INFLIGHT = {"postgresql": 32}  # the level the PostgreSQL target is set for
TARGET_REQUEST_P99 = 0.100  # s, every request kind
TARGET_FLOW_P99 = 1.0  # s
REQUEST_KINDS = ("upload", "create", "page", "send code", "sign", "poll")
WAIT_KINDS = ("sms link", "sms code", "seal")  # time spent waiting for the worker
PLACEHOLDER = b"PATIENT-0000000000"
LINK = re.compile(r"https?://\S+/s/[A-Za-z0-9_-]+")
CODE = re.compile(r"(?<![0-9])[0-9]{6}(?![0-9])")
CSRF = re.compile(r'name="csrf" value="([^"]+)"')
SHOWN = re.compile(r'name="shown_sha256" value="([0-9a-f]{64})"')
PHONES = itertools.count(1)  # +7 999 nnnnnnn: each flow its own patient


def template_pdf() -> bytes:
    """A 1-page PDF with an uncompressed placeholder, so each flow can upload distinct
    bytes by replacing it with a number of the same length (offsets stay valid)."""
    pdf = pikepdf.new()
    font = pdf.make_indirect(
        pikepdf.Dictionary(
            Type=pikepdf.Name.Font, Subtype=pikepdf.Name.Type1, BaseFont=pikepdf.Name.Helvetica
        )
    )
    page = pdf.add_blank_page(page_size=(595, 842))
    page.obj.Resources = pikepdf.Dictionary(Font=pikepdf.Dictionary(F1=font))
    page.obj.Contents = pdf.make_stream(
        b"BT /F1 14 Tf 72 780 Td (User agreement of " + PLACEHOLDER + b") Tj ET"
    )
    out = io.BytesIO()
    pdf.save(out, compress_streams=False)
    data = out.getvalue()
    assert data.count(PLACEHOLDER) == 1
    return data


class FlowFailed(Exception):
    """A flow stopped; ``kind`` says where and how (``"sign 500"``, ``"poll timeout"``)."""

    def __init__(self, kind: str) -> None:
        super().__init__(kind)
        self.kind = kind


@dataclass
class Options:
    """What the command line asked for."""

    duration: float
    flows: int
    timeout: float
    sms_timeout: float
    complete_timeout: float
    poll_interval: float
    ceiling_seconds: float
    web_workers: int
    worker_concurrency: int
    profile: float
    keep: bool


@dataclass
class Level:
    """The measurements of one database and in-flight level."""

    database: str
    inflight: int
    layout: str = ""
    latencies: dict[str, list[float]] = field(default_factory=dict)
    failures: Counter[str] = field(default_factory=Counter)
    flows: list[float] = field(default_factory=list)  # whole-flow seconds
    requests: int = 0
    elapsed: float = 0.0
    rate: float = 0.0  # completed signatures/s
    ceiling_rps: float = 0.0
    ceiling_p99: float = 0.0
    ceiling_failures: int = 0
    server_cpu: float = 0.0  # cores
    client_cpu: float = 0.0  # cores
    machine_busy: float = 0.0  # fraction of all cores
    load: tuple[float, float, float] = (0.0, 0.0, 0.0)
    pg: dict[str, int] = field(default_factory=dict)
    log_errors: Counter[str] = field(default_factory=Counter)
    server_5xx: int = 0
    notes: list[str] = field(default_factory=list)

    def record(self, kind: str, seconds: float) -> None:
        """One latency sample of ``kind``."""
        self.latencies.setdefault(kind, []).append(seconds)


def percentile(values: list[float], p: float) -> float:
    """Nearest-rank percentile (``p`` in 0..100); NaN for no values."""
    if not values:
        return math.nan
    ordered = sorted(values)
    return ordered[max(0, math.ceil(p / 100 * len(ordered)) - 1)]


# -- one flow ------------------------------------------------------------------------


class Flow:
    """One patient through the whole flow; every request is timed into ``level``."""

    def __init__(
        self,
        client: httpx.AsyncClient,
        gateway: AsyncSmsGateway,
        token: str,
        pdf: bytes,
        level: Level,
        opts: Options,
    ) -> None:
        self.client = client
        self.gateway = gateway
        self.auth = {"Authorization": f"Bearer {token}"}
        self.pdf = pdf
        self.level = level
        self.opts = opts

    async def _call(
        self, kind: str, expect: int, send: Callable[[], Awaitable[httpx.Response]]
    ) -> httpx.Response:
        start = time.perf_counter()
        self.level.requests += 1
        try:
            response = await send()
        except httpx.TimeoutException as exc:
            raise FlowFailed(f"{kind} timeout") from exc
        except httpx.TransportError as exc:
            raise FlowFailed(f"{kind} {type(exc).__name__}") from exc
        self.level.record(kind, time.perf_counter() - start)
        if response.status_code != expect:
            raise FlowFailed(f"{kind} {response.status_code}")
        return response

    async def _sms(self, kind: str, queue: asyncio.Queue[str], want_link: bool) -> str:
        start = time.perf_counter()
        deadline = start + self.opts.sms_timeout
        while True:
            remaining = deadline - time.perf_counter()
            try:
                text = await asyncio.wait_for(queue.get(), max(remaining, 0.001))
            except TimeoutError as exc:
                raise FlowFailed(f"{kind} timeout") from exc
            found = LINK.search(text) if want_link else CODE.search(text)
            if found and (want_link or "/s/" not in text):
                self.level.record(kind, time.perf_counter() - start)
                return found.group(0)

    async def run(self, number: int) -> None:
        """Upload, create, link, page, send code, code, sign, poll until completed."""
        phone = f"+7999{number:07d}"
        pdf = self.pdf.replace(PLACEHOLDER, f"PATIENT-{number:010d}".encode())
        queue = self.gateway.expect(phone)
        try:
            await self._steps(phone, pdf, queue)
        finally:
            self.gateway.forget(phone)

    async def _steps(self, phone: str, pdf: bytes, queue: asyncio.Queue[str]) -> None:
        c = self.client
        doc = await self._call(
            "upload",
            201,
            lambda: c.post(
                "/api/v1/documents",
                headers=self.auth,
                files={"files": ("agreement.pdf", pdf, "application/pdf")},
                data={"title": "Bench agreement", "kind": "user_agreement"},
            ),
        )
        signer = {"role": "patient", "name": "Bench Patient", "phone": phone, "method": "sms_otp"}
        env = await self._call(
            "create",
            201,
            lambda: c.post(
                "/api/v1/envelopes",
                headers=self.auth,
                json={"document_id": doc.json()["id"], "signers": [signer]},
            ),
        )
        envelope_id = env.json()["id"]
        link = await self._sms("sms link", queue, want_link=True)
        path = httpx.URL(link).path
        page = await self._call("page", 200, lambda: c.get(path, params={"lang": "en"}))
        csrf, shown = CSRF.search(page.text), SHOWN.search(page.text)
        if csrf is None or shown is None:
            raise FlowFailed("page without form")
        form = {"csrf": csrf.group(1), "lang": "en"}
        await self._call("send code", 303, lambda: c.post(f"{path}/code", data=form))
        code = await self._sms("sms code", queue, want_link=False)
        signed = {**form, "code": code, "shown_sha256": shown.group(1)}
        await self._call("sign", 303, lambda: c.post(f"{path}/sign", data=signed))
        await self._until_completed(envelope_id)

    async def _until_completed(self, envelope_id: str) -> None:
        start = time.perf_counter()
        deadline = start + self.opts.complete_timeout
        while True:
            res = await self._call(
                "poll",
                200,
                lambda: self.client.get(f"/api/v1/envelopes/{envelope_id}", headers=self.auth),
            )
            status = res.json()["status"]
            if status == "completed":
                self.level.record("seal", time.perf_counter() - start)
                return
            if status != "sent":
                raise FlowFailed(f"envelope {status}")
            if time.perf_counter() > deadline:
                raise FlowFailed("completion timeout")
            await asyncio.sleep(self.opts.poll_interval)


# -- one level -----------------------------------------------------------------------


def _client(url: str, inflight: int, timeout: float) -> httpx.AsyncClient:
    # Idle connections are dropped before uvicorn's 5 s keep-alive timeout closes them
    # (httpx's default is also 5 s: the two race and a reused connection is reset).
    limits = httpx.Limits(
        max_connections=inflight + 4, max_keepalive_connections=inflight + 4, keepalive_expiry=3
    )
    return httpx.AsyncClient(base_url=url, timeout=timeout, limits=limits, follow_redirects=False)


async def _flows(stack: Stack, gateway: AsyncSmsGateway, level: Level, opts: Options) -> None:
    pdf = template_pdf()
    async with _client(stack.url, level.inflight, opts.timeout) as client:
        flow = Flow(client, gateway, stack.token, pdf, level, opts)
        started = time.perf_counter()
        deadline = started + opts.duration
        budget = itertools.count()

        async def runner() -> None:
            while True:
                if opts.flows:
                    if next(budget) >= opts.flows:
                        return
                elif time.perf_counter() >= deadline:
                    return
                begin = time.perf_counter()
                try:
                    await flow.run(next(PHONES))
                except FlowFailed as exc:
                    level.failures[exc.kind] += 1
                    await asyncio.sleep(0.1)  # no hot loop against a server that refuses
                    continue
                level.flows.append(time.perf_counter() - begin)

        await asyncio.gather(*(runner() for _ in range(level.inflight)))
        level.elapsed = time.perf_counter() - started
    # Flows that end after the deadline still count: a flow may outlast a short window.
    level.rate = len(level.flows) / level.elapsed


async def _ceiling(stack: Stack, level: Level, opts: Options) -> None:
    """The same concurrency on ``GET /healthz``: what this server answers at best."""
    samples: list[float] = []
    failures = 0
    async with _client(stack.url, level.inflight, opts.timeout) as client:
        deadline = time.perf_counter() + opts.ceiling_seconds

        async def hammer() -> None:
            nonlocal failures
            while time.perf_counter() < deadline:
                start = time.perf_counter()
                try:
                    res = await client.get("/healthz")
                except httpx.TransportError:
                    failures += 1
                    continue
                if res.status_code != 200:
                    failures += 1
                samples.append(time.perf_counter() - start)

        started = time.perf_counter()
        await asyncio.gather(*(hammer() for _ in range(level.inflight)))
        elapsed = time.perf_counter() - started
    level.ceiling_rps = len(samples) / elapsed
    level.ceiling_p99 = percentile(samples, 99)
    level.ceiling_failures = failures


def _cpu_times() -> tuple[float, float]:
    """(busy, total) jiffies of the whole machine, from /proc/stat."""
    fields = [int(x) for x in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    idle = fields[3] + fields[4]  # idle + iowait
    total = sum(fields[:8])
    return total - idle, total


def _client_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def _profile(stack: Stack, seconds: float, out: Path) -> list[subprocess.Popen[bytes]]:
    """``py-spy record`` of every server process (raw collapsed stacks) for ``seconds``."""
    spy = Path(sys.executable).parent / "py-spy"
    started = []
    for n, pid in enumerate(stack.pids()):
        target = out.with_name(f"{out.name}-{n}.txt")
        started.append(
            subprocess.Popen(
                [
                    str(spy),
                    "record",
                    "--pid",
                    str(pid),
                    "--duration",
                    str(int(seconds)),
                    "--subprocesses",
                    "--idle",
                    "--threads",
                    "--format",
                    "raw",
                    "--rate",
                    "50",
                    "--nonblocking",
                    "--output",
                    str(target),
                ],
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )
        )
    return started


def _scan_log(text: str, level: Level) -> None:
    """Exceptions and 5xx answers the server logged."""
    for line in text.splitlines():
        if re.search(r'" 5\d\d\b', line):
            level.server_5xx += 1
        found = re.match(r"^([A-Za-z_][\w.]*(?:Error|Exception|Deadlock\w*)): (.{0,90})", line)
        if found:
            level.log_errors[f"{found.group(1)}: {found.group(2)}"] += 1


async def run_level(
    database: str,
    inflight: int,
    gateway: AsyncSmsGateway,
    cli: CliOptions,
    opts: Options,
    workdir: Path,
) -> Level:
    """A fresh database and service; warm up, measure the ceiling, then the flows."""
    level = Level(database, inflight)
    tmp = workdir / f"{database}-{inflight}"
    with served(
        database,
        tmp,
        gateway.url,
        cli,
        web_workers=opts.web_workers,
        worker_concurrency=opts.worker_concurrency,
    ) as stack:
        level.layout = stack.layout
        print(f"  {database} x{inflight}: {stack.layout}; pids {stack.pids()}; logs {tmp}")
        warm = Level(database, 1)
        async with _client(stack.url, 1, opts.timeout) as client:
            for _ in range(2):  # first seal: keys loaded, caches filled
                try:
                    await Flow(client, gateway, stack.token, template_pdf(), warm, opts).run(
                        next(PHONES)
                    )
                except FlowFailed as exc:
                    level.notes.append(f"warm-up flow failed: {exc.kind}")
        await _ceiling(stack, level, opts)
        level.load = os.getloadavg()
        cpu0, client0, (busy0, total0) = stack.cpu_seconds(), _client_cpu(), _cpu_times()
        spies = _profile(stack, opts.profile, tmp / "py-spy") if opts.profile else []
        await _flows(stack, gateway, level, opts)
        busy1, total1 = _cpu_times()
        level.server_cpu = (stack.cpu_seconds() - cpu0) / level.elapsed
        level.client_cpu = (_client_cpu() - client0) / level.elapsed
        level.machine_busy = (busy1 - busy0) / max(total1 - total0, 1)
        for spy in spies:
            spy.wait(opts.profile + 30)
        if spies:
            level.notes.append(f"py-spy raw stacks: {tmp}/py-spy-*.txt")
        stack.stop()
        _scan_log(stack.log_text(), level)
        if database == "postgresql":
            level.pg = pg_counters(stack.database_url)
        if opts.keep:
            level.notes.append(f"logs kept in {tmp}")
    return level


# -- the report ----------------------------------------------------------------------


def _ms(seconds: float) -> str:
    return "-" if math.isnan(seconds) else f"{seconds * 1000:.0f}"


def _mark(ok: bool) -> str:
    return "ok" if ok else "MISS"


def report(level: Level) -> Iterator[str]:
    """The figures of one level, with the issue's targets beside them."""
    completed = len(level.flows)
    failed = sum(level.failures.values())
    target = TARGET_RATE[level.database]
    at = TARGET_RATE_INFLIGHT.get(level.database)
    target_text = f"target >= {target:.0f}/s" + (f" at {at} in flight" if at else "")
    applies = at is None or at == level.inflight
    yield (
        f"== {level.database}, {level.inflight} in flight — {level.layout}; "
        f"load {level.load[0]:.2f} {level.load[1]:.2f} {level.load[2]:.2f} "
        f"(2-core machine shared with others)"
    )
    yield (
        f"completed {completed} flows in {level.elapsed:.1f} s: {level.rate:.1f} signatures/s"
        f"   [{target_text}: {_mark(level.rate >= target) if applies else 'n/a'}]"
    )
    yield f"{'kind':<11}{'n':>7}{'p50':>8}{'p95':>8}{'p99':>8}  ms"
    for kind in (*REQUEST_KINDS, "flow", *WAIT_KINDS):
        values = level.flows if kind == "flow" else level.latencies.get(kind, [])
        p99 = percentile(values, 99)
        note = ""
        if kind in REQUEST_KINDS:
            note = f"   [p99 <= 100: {_mark(p99 <= TARGET_REQUEST_P99)}]"
        elif kind == "flow":
            note = f"   [p99 <= 1000: {_mark(p99 <= TARGET_FLOW_P99)}]"
        else:
            note = "   (waiting for the worker, not a request)"
        yield (
            f"{kind:<11}{len(values):>7}{_ms(percentile(values, 50)):>8}"
            f"{_ms(percentile(values, 95)):>8}{_ms(p99):>8}{note}"
        )
    polls = len(level.latencies.get("poll", []))
    yield f"polls per completed flow: {polls / max(completed, 1):.1f}"
    detail = ", ".join(f"{k}: {n}" for k, n in level.failures.most_common())
    yield f"failures: {failed}   [0: {_mark(failed == 0)}]" + (f" — {detail}" if detail else "")
    flow_rps = level.requests / level.elapsed if level.elapsed else 0.0
    yield (
        f"ceiling GET /healthz x{level.inflight}: {level.ceiling_rps:.0f} req/s, "
        f"p99 {_ms(level.ceiling_p99)} ms, {level.ceiling_failures} failed; flow requests "
        f"{flow_rps:.0f} req/s = {flow_rps / max(level.ceiling_rps, 1e-9):.0%} of the ceiling"
    )
    yield (
        f"cpu: server processes {level.server_cpu:.2f} cores, load generator "
        f"{level.client_cpu:.2f} cores, machine {level.machine_busy:.0%} busy"
    )
    if level.pg:
        pg = level.pg
        per, unit = (completed, "per completed flow") if completed else (1, "in all")
        written = pg["inserted"] + pg["updated"] + pg["deleted"]
        yield (
            f"postgresql (whole run incl. warm-up and ceiling): {pg['commits'] / per:.0f} "
            f"commits, {pg['rollbacks'] / per:.1f} rollbacks, {written / per:.0f} rows "
            f"written {unit}; {pg['deadlocks']} deadlocks"
        )
    errors = sum(level.log_errors.values())
    yield f"server log: {level.server_5xx} 5xx answers, {errors} exception lines"
    for text, n in level.log_errors.most_common(4):
        yield f"  {n:>5} x {text}"
    yield from (f"note: {n}" for n in level.notes)


def _databases(choice: str) -> list[str]:
    chosen = ["sqlite", "postgresql"] if choice == "both" else [choice]
    if "postgresql" in chosen and postgres_url() is None:
        print("PostgreSQL does not answer on 127.0.0.1:5432: skipped", file=sys.stderr)
        chosen.remove("postgresql")
    return chosen


async def main_async(args: argparse.Namespace, opts: Options) -> int:
    """Every database and level, one after the other; print each as it ends."""
    cli = detect_cli()
    head = subprocess.run(
        ["git", "-C", str(Path(__file__).parent), "rev-parse", "--short", "HEAD"],
        capture_output=True,
        text=True,
        check=False,
    ).stdout.strip()
    load = os.getloadavg()
    print(f"medsign at {head or '?'}; load {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}")
    print(
        f"medsign CLI: serve --workers {'yes' if cli.serve_workers else 'no'}, --no-worker "
        f"{'yes' if cli.serve_no_worker else 'no'}, worker --concurrency "
        f"{'yes' if cli.worker_concurrency else 'no'}"
    )
    if not (cli.serve_workers and cli.serve_no_worker):
        print("  -> PostgreSQL runs on plain `medsign serve` with its in-process worker")
    print(
        f"each level: {f'{opts.flows} flows' if opts.flows else f'{opts.duration:.0f} s'}, "
        f"poll every {opts.poll_interval * 1000:.0f} ms, API rate limit lifted"
    )
    gateway = AsyncSmsGateway()
    gateway.start()
    workdir = Path(tempfile.mkdtemp(prefix="medsign-e2e-"))
    try:
        for database in _databases(args.db):
            for inflight in args.inflight:
                level = await run_level(database, inflight, gateway, cli, opts, workdir)
                print("\n".join(report(level)), flush=True)
                print()
    finally:
        gateway.stop()
        if not opts.keep:
            subprocess.run(["rm", "-rf", str(workdir)], check=False)
    return 0


def main(argv: list[str] | None = None) -> int:
    """Parse the command line and run."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--db", choices=["sqlite", "postgresql", "both"], default="both")
    parser.add_argument(
        "--inflight",
        type=lambda s: [int(x) for x in s.split(",") if x],
        default=[8, 32, 128],
        help="comma-separated in-flight levels (default 8,32,128)",
    )
    parser.add_argument("--duration", type=float, default=20.0, help="seconds per level")
    parser.add_argument("--flows", type=int, default=0, help="flows per level (not --duration)")
    parser.add_argument("--timeout", type=float, default=10.0, help="seconds per request")
    parser.add_argument("--sms-timeout", type=float, default=30.0)
    parser.add_argument("--complete-timeout", type=float, default=60.0)
    parser.add_argument("--poll-interval", type=float, default=0.2)
    parser.add_argument("--ceiling-seconds", type=float, default=5.0)
    parser.add_argument("--web-workers", type=int, default=2)
    parser.add_argument("--worker-concurrency", type=int, default=4)
    parser.add_argument(
        "--profile", type=float, default=0.0, help="py-spy record the server for N s"
    )
    parser.add_argument("--keep", action="store_true", help="keep logs and data")
    args = parser.parse_args(argv)
    opts = Options(
        duration=args.duration,
        flows=args.flows,
        timeout=args.timeout,
        sms_timeout=args.sms_timeout,
        complete_timeout=args.complete_timeout,
        poll_interval=args.poll_interval,
        ceiling_seconds=args.ceiling_seconds,
        web_workers=args.web_workers,
        worker_concurrency=args.worker_concurrency,
        profile=args.profile,
        keep=args.keep,
    )
    return asyncio.run(main_async(args, opts))


if __name__ == "__main__":
    raise SystemExit(main())
