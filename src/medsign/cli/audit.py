"""``medsign audit verify|checkpoint``: check the per-organization hash chains.

``verify`` recomputes every link (:func:`medsign.audit.service.verify_chain`) and
compares the stored checkpoints with the chain; it prints one line per organization
and exits 1 at the first broken one it reports (all organizations are still walked).
``checkpoint`` records the current head of each chain with an RFC 3161 time-stamp
from the deployment's TSA (:mod:`medsign.audit.checkpoints`); run it periodically
(cron, or a worker schedule) so that rewriting history is detectable even by
someone who controls the database afterwards.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable

from sqlalchemy import select

from medsign.audit.checkpoints import make_checkpoint, verify_checkpoints
from medsign.audit.service import verify_chain
from medsign.organizations.models import Organization


def _org_ids(session: object, only: str | None) -> list[str]:
    from sqlalchemy.orm import Session

    assert isinstance(session, Session)
    if only is not None:
        return [only] if session.get(Organization, only) is not None else []
    return list(session.scalars(select(Organization.id).order_by(Organization.id)))


def cmd_audit_verify(args: argparse.Namespace) -> int:
    """Walk every chain (or ``--org``); exit 1 when a link or checkpoint is broken."""
    from medsign.cli.main import _settings
    from medsign.runtime import Runtime

    rt = Runtime.build(_settings())
    broken = False
    try:
        with rt.transaction() as session:
            orgs = _org_ids(session, args.org)
            if args.org is not None and not orgs:
                print(f"medsign: no organization {args.org}", file=sys.stderr)
                return 2
            for org_id in orgs:
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
    """Record a time-stamped checkpoint of each chain head (or of ``--org``)."""
    from medsign.cli.main import _settings
    from medsign.runtime import Runtime

    rt = Runtime.build(_settings())
    try:
        stamper = rt.seal_keys.timestamper()
        with rt.transaction() as session:
            for org_id in _org_ids(session, args.org):
                cp = make_checkpoint(session, org_id, stamper, now=rt.clock())
                if cp is not None:
                    print(json.dumps({"organization_id": org_id, "seq": cp.seq}))
    finally:
        rt.close()
    return 0


def add_audit_parser(
    sub: argparse._SubParsersAction,  # type: ignore[type-arg]
) -> None:
    """Register ``medsign audit ...`` on the top-level subcommands."""
    audit = sub.add_parser("audit", help="audit log commands")
    audit_sub = audit.add_subparsers(dest="audit_command", required=True)
    commands: list[tuple[str, str, Callable[[argparse.Namespace], int]]] = [
        ("verify", "walk the hash chains; exit 1 at a broken link", cmd_audit_verify),
        ("checkpoint", "time-stamp the current chain heads", cmd_audit_checkpoint),
    ]
    for name, help_text, func in commands:
        parser = audit_sub.add_parser(name, help=help_text)
        parser.add_argument("--org", default=None, help="one organization id (default: all)")
        parser.set_defaults(func=func)
