"""``medsign staff create|list``: console accounts from the command line (shared/API.md
"Staff console"). ``create`` prints ``{"staff_id", "password"}``: a generated password
the person may change (and add TOTP to) after logging in at ``/console``."""

from __future__ import annotations

import argparse
import json
import sys

from sqlalchemy import select

from medsign.staff.models import StaffMember
from medsign.staff.schemas import StaffRole


def cmd_staff_create(args: argparse.Namespace) -> int:
    """Create a staff account with a generated password."""
    from medsign.cli.main import _settings
    from medsign.db.migrate import upgrade
    from medsign.runtime import Runtime
    from medsign.staff.service import create_staff

    s = _settings()
    rt = Runtime.build(s)
    try:
        upgrade(s.resolved_database_url)
        with rt.transaction() as session:
            created = create_staff(
                session,
                args.org,
                args.email,
                args.role,
                branch_id=args.branch,
                name=args.name or "",
                now=rt.clock(),
                actor="cli",
            )
    finally:
        rt.close()
    print(json.dumps({"staff_id": created.staff_id, "password": created.password}))
    return 0


def cmd_staff_list(args: argparse.Namespace) -> int:
    """Print the organization's staff as one JSON object with ``items``."""
    from medsign.cli.main import _settings
    from medsign.runtime import Runtime

    rt = Runtime.build(_settings())
    try:
        with rt.transaction(write=False) as session:
            rows = session.scalars(
                select(StaffMember)
                .where(StaffMember.organization_id == args.org)
                .order_by(StaffMember.email)
            ).all()
            items = [
                {
                    "staff_id": r.id,
                    "email": r.email,
                    "role": r.role,
                    "branch_id": r.branch_id,
                    "active": r.deactivated_at is None,
                    "totp": r.totp_enabled,
                }
                for r in rows
            ]
    finally:
        rt.close()
    json.dump({"items": items}, sys.stdout)
    print()
    return 0


def add_staff_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """``medsign staff ...``."""
    staff = sub.add_parser("staff", help="console accounts")
    staff_sub = staff.add_subparsers(dest="staff_command", required=True)
    create = staff_sub.add_parser("create", help="create an account; print its password")
    create.add_argument("--org", required=True, help="the organization's id")
    create.add_argument("--email", required=True)
    create.add_argument("--role", required=True, choices=[r.value for r in StaffRole])
    create.add_argument("--branch", default=None, help="limit the account to one branch")
    create.add_argument("--name", default=None, help="the person's name, shown in the console")
    create.set_defaults(func=cmd_staff_create)
    listing = staff_sub.add_parser("list", help="list an organization's accounts")
    listing.add_argument("--org", required=True)
    listing.set_defaults(func=cmd_staff_list)
