"""The ``medsign`` command (shared/API.md "Running")."""

from __future__ import annotations

import argparse
import json
import logging
import os
import signal
import sys
from collections.abc import Sequence
from types import FrameType
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import ValidationError

from medsign.db.migrate import upgrade
from medsign.errors import DomainError
from medsign.settings import Settings


def _settings() -> Settings:
    try:
        settings = Settings()
        ZoneInfo(settings.time_zone)
    except ValidationError as exc:
        raise SystemExit(f"medsign: invalid settings: {exc}") from None
    except (ZoneInfoNotFoundError, ValueError):
        raise SystemExit(
            f"medsign: MEDSIGN_TIME_ZONE={settings.time_zone!r} is not an IANA time zone"
        ) from None
    return settings


def cmd_db_upgrade(_args: argparse.Namespace) -> int:
    """Apply migrations."""
    s = _settings()
    s.data_dir.mkdir(parents=True, exist_ok=True)
    upgrade(s.resolved_database_url)
    print("database is up to date", file=sys.stderr)
    return 0


def cmd_org_create(args: argparse.Namespace) -> int:
    """Create an organization; print {"organization_id", "token"}."""
    from medsign.organizations.service import create_organization
    from medsign.runtime import Runtime

    s = _settings()
    rt = Runtime.build(s)
    try:
        upgrade(s.resolved_database_url)
        with rt.transaction() as session:
            created = create_organization(session, rt.keyring, args.name, now=rt.clock())
        # The organization's seal certificate exists from its first moment (dev CA).
        rt.seal_keys.for_organization(created.organization_id, args.name.strip())
    finally:
        rt.close()
    print(json.dumps({"organization_id": created.organization_id, "token": created.token}))
    return 0


def _limit(value: str) -> int | None:
    if value.lower() == "none":
        return None
    number = int(value)
    if number < 0:
        raise argparse.ArgumentTypeError("must be 0 or more, or 'none'")
    return number


def cmd_org_limits(args: argparse.Namespace) -> int:
    """Set or remove an organization's monthly plan limits; print them as JSON."""
    from medsign.organizations.models import Organization
    from medsign.runtime import Runtime
    from medsign.usage.service import get_limits, set_limits

    s = _settings()
    rt = Runtime.build(s)
    try:
        upgrade(s.resolved_database_url)
        with rt.transaction() as session:
            if session.get(Organization, args.org) is None:
                print(f"medsign: no organization with id {args.org}", file=sys.stderr)
                return 2
            given = vars(args)  # a flag left out keeps that limit as it is
            changes: dict[str, int | None] = {
                m: given[m] for m in ("sms", "signatures") if m in given
            }
            set_limits(session, args.org, changes)
            limits = get_limits(session, args.org)
    finally:
        rt.close()
    print(json.dumps({"organization_id": args.org, "monthly_limits": limits}, sort_keys=True))
    return 0


def cmd_serve(args: argparse.Namespace) -> int:
    """Run the API, pages and an in-process worker in ``--workers`` web processes."""
    import uvicorn

    from medsign.runtime import Runtime

    s = _settings()
    # The web processes read their settings from the environment: what this command
    # decides (links point where we listen; --no-worker) goes there.
    if "public_url" not in s.model_fields_set:
        os.environ["MEDSIGN_PUBLIC_URL"] = f"http://{args.host}:{args.port}"
    if args.no_worker:
        os.environ["MEDSIGN_IN_PROCESS_WORKER"] = "false"
    if args.demo or s.demo:
        os.environ["MEDSIGN_DEV_OUTBOX"] = "true"  # the quick start shows codes at /dev/outbox
    s = _settings()
    if s.resolved_database_url.startswith("sqlite"):
        # Once, before the web processes start. PostgreSQL: `medsign db upgrade` per release.
        s.data_dir.mkdir(parents=True, exist_ok=True)
        upgrade(s.resolved_database_url)
    rt = Runtime.build(s)
    try:
        rt.seal_keys.trust_roots()  # the development CA exists before the processes race
        if args.demo or s.demo:
            _print_demo(rt, args.host, args.port)
    finally:
        rt.close()
    uvicorn.run(
        "medsign.web.app:app_from_environment",
        factory=True,
        host=args.host,
        port=args.port,
        workers=args.workers,
        # A web process that loads slowly (a busy machine) is not taken for a hung one.
        timeout_worker_healthcheck=60,
        log_level="info",
        proxy_headers=False,
    )
    return 0


def _print_demo(rt: object, host: str, port: int) -> None:
    from medsign.organizations.service import (
        create_organization,
        first_organization,
        issue_token,
    )
    from medsign.runtime import Runtime

    assert isinstance(rt, Runtime)
    with rt.transaction() as session:
        org = first_organization(session)
        if org is None:
            created = create_organization(session, rt.keyring, "Demo clinic", now=rt.clock())
            org_id, token = created.organization_id, created.token
            rt.seal_keys.for_organization(org_id, "Demo clinic")
        else:
            org_id = org.id
            token = issue_token(session, rt.keyring, org.id, "demo", now=rt.clock())
    url = f"http://{host}:{port}"
    signers_json = (
        '{"document_id": "\'$DOC\'", "signers": [{"role": "patient", "name": "Maria Ivanova", '
        '"phone": "+79991234567", "method": "sms_otp"}]}'
    )
    print(
        f"""
medsign is starting at {url}
  organization: {org_id}
  demo API token: {token}
  messages and codes (dev outbox): {url}/dev/outbox

Try it: upload the sample PDF, send it to a patient, open the signing link, and
read the code at {url}/dev/outbox:
  TOKEN={token}
  curl -s -o sample.pdf {url}/static/sample.pdf
  DOC=$(curl -s -H "Authorization: Bearer $TOKEN" -F files=@sample.pdf \\
        -F title="User agreement" -F kind=user_agreement {url}/api/v1/documents \\
        | python3 -c 'import json,sys; print(json.load(sys.stdin)["id"])')
  curl -s -H "Authorization: Bearer $TOKEN" -H "Content-Type: application/json" \\
       -d '{signers_json}' \\
       {url}/api/v1/envelopes
""",
        flush=True,
    )


def cmd_worker(args: argparse.Namespace) -> int:
    """Run a worker alone (scale-out): ``--concurrency`` jobs at once, CPU-bound ones on
    ``--processes`` processes; SIGTERM lets the running jobs finish, then exits."""
    from medsign.jobs.handlers import Housekeeping, build_handlers
    from medsign.jobs.pool import processes_for
    from medsign.jobs.worker import Worker
    from medsign.runtime import Runtime

    s = _settings()
    rt = Runtime.build(s)
    worker = Worker(
        rt,
        build_handlers(rt),
        concurrency=args.concurrency or s.worker_concurrency,
        processes=processes_for(s) if args.processes is None else args.processes,
    )

    def stop(_sig: int, _frame: FrameType | None) -> None:
        worker.stopping.set()

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    logging.getLogger("medsign").info(
        "worker started: %d threads, %d processes", worker.concurrency, worker.processes
    )
    try:
        worker.run_forever(Housekeeping())
    finally:
        rt.close()
    return 0


def _positive(value: str) -> int:
    number = int(value)
    if number < 1:
        raise argparse.ArgumentTypeError("must be at least 1")
    return number


def _not_negative(value: str) -> int:
    number = int(value)
    if number < 0:
        raise argparse.ArgumentTypeError("must be 0 or more")
    return number


def build_parser() -> argparse.ArgumentParser:
    """The argument parser."""
    parser = argparse.ArgumentParser(prog="medsign", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    serve = sub.add_parser("serve", help="run the API, pages and an in-process worker")
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=8000)
    serve.add_argument(
        "--demo", action="store_true", help="create a demo organization, print a token"
    )
    serve.add_argument("--workers", type=_positive, default=1, help="web processes (default 1)")
    serve.add_argument(
        "--no-worker",
        action="store_true",
        help="run no in-process worker (run `medsign worker` beside it)",
    )
    serve.set_defaults(func=cmd_serve)
    worker = sub.add_parser("worker", help="run workers alone (scale-out)")
    worker.add_argument(
        "--concurrency",
        type=_positive,
        default=None,
        help="jobs run at once (default: MEDSIGN_WORKER_CONCURRENCY, 8)",
    )
    worker.add_argument(
        "--processes",
        type=_not_negative,
        default=None,
        help="processes for seal/evidence jobs (default: MEDSIGN_WORKER_PROCESSES or one "
        "per core; 0: in the threads)",
    )
    worker.set_defaults(func=cmd_worker)
    db = sub.add_parser("db", help="database commands")
    db_sub = db.add_subparsers(dest="db_command", required=True)
    db_sub.add_parser("upgrade", help="apply migrations").set_defaults(func=cmd_db_upgrade)
    org = sub.add_parser("org", help="organization admin")
    org_sub = org.add_subparsers(dest="org_command", required=True)
    create = org_sub.add_parser("create", help="create an organization and a token")
    create.add_argument("--name", required=True)
    create.set_defaults(func=cmd_org_create)
    limits = org_sub.add_parser(
        "limits", help="set monthly plan limits (402 plan-limit on new envelopes past them)"
    )
    limits.add_argument("--org", required=True, help="the organization's id")
    for metric, what in (("sms", "SMS messages"), ("signatures", "signatures")):
        limits.add_argument(
            f"--{metric}",
            type=_limit,
            default=argparse.SUPPRESS,
            help=f"{what} per calendar month; 'none' removes the limit",
        )
    limits.set_defaults(func=cmd_org_limits)
    from medsign.cli.audit import add_audit_parser

    add_audit_parser(sub)
    from medsign.cli.agent import add_agent_parser
    from medsign.cli.send import add_send_parser

    add_send_parser(sub)
    add_agent_parser(sub)
    from medsign.cli.idp import add_idp_parser

    add_idp_parser(sub)
    from medsign.cli.telegram import add_telegram_parser

    add_telegram_parser(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the console script."""
    logging.basicConfig(
        level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    args = build_parser().parse_args(argv)
    try:
        code: int = args.func(args)
    except DomainError as exc:
        print(f"medsign: {exc.detail}", file=sys.stderr)
        return 2
    return code


if __name__ == "__main__":
    raise SystemExit(main())
