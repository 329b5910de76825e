"""``medsign audit verify|checkpoint``: check the audit log.

``verify`` checks the Merkle transparency log (:func:`medsign.audit.verify.verify_log`:
every leaf recomputed from its event, every checkpoint's root, signature and RFC 3161
time-stamp) and prints it as the first JSON line; then one line per organization for
the hash chain its events formed before the log existed (migration 0008) with that
chain's checkpoints. It exits 1 when anything is broken (everything is still walked).
``checkpoint`` folds the events not yet in the log into it and publishes a checkpoint
now; the worker does the same every second, so it is rarely needed.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable

from sqlalchemy import select
from sqlalchemy.orm import Session

from medsign.audit.checkpoints import verify_checkpoints
from medsign.audit.models import AuditEvent
from medsign.audit.note import NoteError, VerifierKey
from medsign.audit.sequencer import sequence_pending
from medsign.audit.service import verify_chain
from medsign.audit.verify import verify_log
from medsign.organizations.models import Organization


def _chained_org_ids(session: Session, only: str | None) -> list[str]:
    """Organizations with events of the first release's hash chain (or ``only``)."""
    query = select(AuditEvent.organization_id).where(AuditEvent.seq.is_not(None)).distinct()
    if only is not None:
        query = query.where(AuditEvent.organization_id == only)
    return sorted(session.scalars(query))


def cmd_audit_verify(args: argparse.Namespace) -> int:
    """Check the log and every old chain (or ``--org``'s); exit 1 when anything is broken."""
    from medsign.cli.main import _settings
    from medsign.runtime import Runtime

    try:
        previous = [VerifierKey.parse(text) for text in args.previous_key]
    except NoteError as exc:
        print(f"medsign: --previous-key: {exc}", file=sys.stderr)
        return 2
    rt = Runtime.build(_settings())
    broken = False
    try:
        with rt.transaction() as session:
            if args.org is not None and session.get(Organization, args.org) is None:
                print(f"medsign: no organization {args.org}", file=sys.stderr)
                return 2
            report = verify_log(session, rt.audit_log.key, previous)
            broken = not report.intact
            print(json.dumps(report.view()))
            for org_id in _chained_org_ids(session, args.org):
                chain = verify_chain(session, org_id)
                checkpoints = verify_checkpoints(session, org_id)
                line: dict[str, object] = {
                    "organization_id": org_id,
                    "events": chain.events,
                    "intact": chain.intact and checkpoints.intact,
                    "checkpoints": checkpoints.checked,
                }
                if not chain.intact:
                    line["first_broken_seq"] = chain.first_broken_seq
                if not checkpoints.intact:
                    line["checkpoint_mismatch_seq"] = checkpoints.first_mismatch_seq
                    line["checkpoint_detail"] = checkpoints.detail
                broken = broken or not line["intact"]
                print(json.dumps(line))
    finally:
        rt.close()
    return 1 if broken else 0


def cmd_audit_checkpoint(args: argparse.Namespace) -> int:
    """Fold pending events into the log and publish a checkpoint now."""
    from medsign.cli.main import _settings
    from medsign.runtime import Runtime

    rt = Runtime.build(_settings())
    try:
        size = sequence_pending(rt, wait=True)
    finally:
        rt.close()
    print(json.dumps({"tree_size": size, "checkpointed": size is not None}))
    return 0


def add_audit_parser(
    sub: argparse._SubParsersAction,  # type: ignore[type-arg]
) -> None:
    """Register ``medsign audit ...`` on the top-level subcommands."""
    audit = sub.add_parser("audit", help="audit log commands")
    audit_sub = audit.add_subparsers(dest="audit_command", required=True)
    commands: list[tuple[str, str, Callable[[argparse.Namespace], int]]] = [
        ("verify", "check the audit log and old chains; exit 1 if broken", cmd_audit_verify),
        ("checkpoint", "fold pending events into the log; checkpoint it", cmd_audit_checkpoint),
    ]
    for name, help_text, func in commands:
        parser = audit_sub.add_parser(name, help=help_text)
        parser.add_argument(
            "--org", default=None, help="only this organization's old chain (default: all)"
        )
        if name == "verify":
            parser.add_argument(
                "--previous-key",
                action="append",
                default=[],
                metavar="VERIFIER_KEY",
                help="a log verifier key from before a rotation of MEDSIGN_SECRET_KEY "
                "(as published with the checkpoints); repeatable",
            )
        parser.set_defaults(func=func)
