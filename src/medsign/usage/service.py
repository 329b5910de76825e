"""Counting usage in the transaction of what it counts, reading it back, plan limits.

What is counted (docs/integration.md "Usage and plan limits"):

- ``signatures.<method>``: one per signature applied to the PDF by the seal job
  (:mod:`medsign.envelopes.sealing`), keyed by the signer, on the day it was signed;
- ``sms.messages`` / ``sms.segments``: one message and its segments
  (:func:`medsign.domain.sms_segments.sms_size`) per SMS handed to the gateway;
- ``emails``: one per email handed to the SMTP server;
  messages are keyed by the job id and counted after the first successful hand-off
  only, so a retried or re-claimed job counts once (the gateway deduplicates by the
  same id, docs/sms-gateway.md).

Days are calendar days in ``MEDSIGN_TIME_ZONE``; months for plan limits too.
"""

from __future__ import annotations

import csv
import io
from collections import defaultdict
from collections.abc import Mapping, Sequence
from datetime import date, datetime, timedelta
from typing import Any, cast
from zoneinfo import ZoneInfo

from sqlalchemy import Table, func, insert, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from medsign.domain.sms_segments import sms_size
from medsign.errors import InvalidInput, PlanLimitReached
from medsign.usage.models import PlanLimit, UsageRecord
from medsign.usage.schemas import SmsUsage, UsageOut, UsageRow

SIGNATURES = "signatures"  # prefix: signatures.<method>
SMS_MESSAGES = "sms.messages"
SMS_SEGMENTS = "sms.segments"
EMAILS = "emails"
MAX_RANGE_DAYS = 366
LIMIT_METRICS = ("signatures", "sms")  # plan limits: all signatures; SMS messages


def local_day(moment: datetime, time_zone: str) -> date:
    """The calendar day of ``moment`` in ``time_zone`` (the clinic's day)."""
    return moment.astimezone(ZoneInfo(time_zone)).date()


def record_usage(
    session: Session,
    *,
    organization_id: str,
    branch_id: str | None,
    day: date,
    key: str,
    amounts: Mapping[str, int],
    now: datetime,
) -> bool:
    """Insert one record per metric of ``amounts`` in the caller's transaction; False
    when ``key`` was counted before (nothing is inserted then, nothing waits)."""
    rows = usage_entries(
        organization_id=organization_id,
        branch_id=branch_id,
        day=day,
        key=key,
        amounts=amounts,
        now=now,
    )
    return insert_usage(session, rows)


def usage_entries(
    *,
    organization_id: str,
    branch_id: str | None,
    day: date,
    key: str,
    amounts: Mapping[str, int],
    now: datetime,
) -> list[dict[str, Any]]:
    """The ``usage_records`` rows of one event (one per metric), for :func:`insert_usage`."""
    return [
        {
            "organization_id": organization_id,
            "branch_id": branch_id,
            "day": day,
            "metric": metric,
            "amount": amount,
            "key": key,
            "created_at": now,
        }
        for metric, amount in amounts.items()
    ]


def insert_usage(session: Session, rows: Sequence[Mapping[str, Any]]) -> bool:
    """Insert usage rows of any number of events in one statement; a (key, metric)
    counted before is skipped. False when nothing was new."""
    if not rows:
        return False
    dialect = session.get_bind().dialect.name
    table = cast(Table, UsageRecord.__table__)
    if dialect == "postgresql":
        stmt: Any = postgresql.insert(table).on_conflict_do_nothing(
            index_elements=["key", "metric"]
        )
    elif dialect == "sqlite":
        stmt = sqlite.insert(table).on_conflict_do_nothing(index_elements=["key", "metric"])
    else:  # pragma: no cover - medsign runs on SQLite and PostgreSQL only
        stmt = insert(table)
    # The rows reference only the organization and branch, which exist: no need to
    # flush the caller's pending changes first (medsign.db.one_flush keeps them for one).
    with session.no_autoflush:
        result = session.execute(stmt, list(rows))
    return bool(getattr(result, "rowcount", 0))


def count_signature(
    session: Session,
    *,
    organization_id: str,
    branch_id: str | None,
    signer_id: str,
    method: str,
    day: date,
    now: datetime,
) -> bool:
    """Count one applied signature of ``method`` (once per signer)."""
    return record_usage(
        session,
        organization_id=organization_id,
        branch_id=branch_id,
        day=day,
        key=f"signature:{signer_id}",
        amounts={f"{SIGNATURES}.{method}": 1},
        now=now,
    )


def message_amounts(channel: str, text: str) -> dict[str, int]:
    """What one message handed off on ``channel`` counts as (push and Telegram messages
    cost nothing and are not metered: an empty mapping)."""
    if channel == "sms":
        return {SMS_MESSAGES: 1, SMS_SEGMENTS: sms_size(text).segments}
    if channel == "email":
        return {EMAILS: 1}
    return {}


def parse_day(value: str, name: str) -> date:
    """A ``YYYY-MM-DD`` query value (ISO 8601 calendar date), or a 422 problem."""
    try:
        if len(value) != 10:
            raise ValueError(value)
        return date.fromisoformat(value)
    except ValueError:
        raise InvalidInput(
            f"'{name}' must be a date as YYYY-MM-DD, e.g. 2026-12-01.", field=name
        ) from None


def parse_range(start: str, end: str) -> tuple[date, date]:
    """``from`` and ``to`` (both included), at most :data:`MAX_RANGE_DAYS` days apart."""
    first, last = parse_day(start, "from"), parse_day(end, "to")
    if first > last:
        raise InvalidInput("'from' must not be after 'to'.", field="from")
    if (last - first).days + 1 > MAX_RANGE_DAYS:
        raise InvalidInput(
            f"A range covers at most {MAX_RANGE_DAYS} days; ask for it in parts.", field="to"
        )
    return first, last


def usage_rows(
    session: Session, organization_id: str, branch_id: str | None, first: date, last: date
) -> list[UsageRow]:
    """Totals per day, branch and metric in the range (``branch_id``: only that branch)."""
    query = (
        select(
            UsageRecord.day,
            UsageRecord.branch_id,
            UsageRecord.metric,
            func.sum(UsageRecord.amount),
        )
        .where(
            UsageRecord.organization_id == organization_id,
            UsageRecord.day >= first,
            UsageRecord.day <= last,
        )
        .group_by(UsageRecord.day, UsageRecord.branch_id, UsageRecord.metric)
        .order_by(UsageRecord.day, UsageRecord.branch_id, UsageRecord.metric)
    )
    if branch_id is not None:
        query = query.where(UsageRecord.branch_id == branch_id)
    return [
        UsageRow(day=day, branch_id=branch, metric=metric, amount=int(total))
        for day, branch, metric, total in session.execute(query)
    ]


def usage_summary(
    session: Session, organization_id: str, branch_id: str | None, first: date, last: date
) -> UsageOut:
    """The totals of the range in the shape of ``GET /api/v1/usage``."""
    totals: dict[str, int] = defaultdict(int)
    for row in usage_rows(session, organization_id, branch_id, first, last):
        totals[row.metric] += row.amount
    signatures = {
        metric.removeprefix(f"{SIGNATURES}."): n
        for metric, n in sorted(totals.items())
        if metric.startswith(f"{SIGNATURES}.")
    }
    return UsageOut(
        signatures=signatures,
        sms=SmsUsage(messages=totals[SMS_MESSAGES], segments=totals[SMS_SEGMENTS]),
        emails=totals[EMAILS],
        from_=first,
        to=last,
        branch_id=branch_id,
    )


def csv_text(rows: list[UsageRow]) -> str:
    """The rows as CSV (RFC 4180): a header, then one line per day, branch and metric."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")  # RFC 4180 §2: CRLF line breaks
    writer.writerow(["day", "branch_id", "metric", "amount"])
    for row in rows:
        writer.writerow([row.day.isoformat(), row.branch_id or "", row.metric, row.amount])
    return out.getvalue()


def month_range(today: date) -> tuple[date, date]:
    """The first and last day of ``today``'s calendar month."""
    return today.replace(day=1), _next_month(today) - timedelta(days=1)


def per_branch(rows: list[UsageRow]) -> dict[str | None, dict[str, int]]:
    """Totals by branch (None: the organization itself) and metric."""
    totals: dict[str | None, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    for row in rows:
        totals[row.branch_id][row.metric] += row.amount
    return {branch: dict(metrics) for branch, metrics in totals.items()}


def allowance(session: Session, organization_id: str, today: date) -> dict[str, tuple[int, int]]:
    """Each monthly plan limit of the organization: (used this month, limit)."""
    return {
        metric: (_used_this_month(session, organization_id, metric, today), limit)
        for metric, limit in get_limits(session, organization_id).items()
    }


def set_limits(session: Session, organization_id: str, limits: Mapping[str, int | None]) -> None:
    """Set (a number) or remove (None) monthly limits; metrics not named stay as they are."""
    for metric, value in limits.items():
        if metric not in LIMIT_METRICS:
            raise InvalidInput(f"No plan limit for {metric!r}; use one of {LIMIT_METRICS}.")
        if value is not None and value < 0:
            raise InvalidInput("A plan limit is a number of 0 or more.", metric=metric)
        row = session.get(PlanLimit, (organization_id, metric))
        if value is None:
            if row is not None:
                session.delete(row)
        elif row is None:
            session.add(
                PlanLimit(organization_id=organization_id, metric=metric, monthly_limit=value)
            )
        else:
            row.monthly_limit = value
    session.flush()


def get_limits(session: Session, organization_id: str) -> dict[str, int]:
    """The organization's monthly limits by metric (absent: unlimited)."""
    rows = session.scalars(select(PlanLimit).where(PlanLimit.organization_id == organization_id))
    return {row.metric: row.monthly_limit for row in rows}


def _next_month(day: date) -> date:
    return date(day.year + day.month // 12, day.month % 12 + 1, 1)


def _used_this_month(session: Session, organization_id: str, metric: str, today: date) -> int:
    pattern = UsageRecord.metric.like(f"{SIGNATURES}.%") if metric == SIGNATURES else None
    condition = pattern if pattern is not None else UsageRecord.metric == SMS_MESSAGES
    used = session.scalar(
        select(func.coalesce(func.sum(UsageRecord.amount), 0)).where(
            UsageRecord.organization_id == organization_id,
            UsageRecord.day >= today.replace(day=1),
            UsageRecord.day <= today,
            condition,
        )
    )
    return int(used or 0)


def check_limits(session: Session, organization_id: str, *, sends_sms: bool, today: date) -> None:
    """Refuse a new envelope when this month's allowance is used up (402 ``plan-limit``).

    The signature limit applies to every envelope, the SMS limit to envelopes that
    reach a signer by SMS. Usage is counted when it happens, so envelopes already sent
    may still take the total a little past the limit; no new one starts then.
    """
    limits = get_limits(session, organization_id)
    for metric in LIMIT_METRICS:
        if metric not in limits or (metric == "sms" and not sends_sms):
            continue
        used = _used_this_month(session, organization_id, metric, today)
        if used >= limits[metric]:
            what = "signatures" if metric == SIGNATURES else "SMS messages"
            resets = _next_month(today)
            raise PlanLimitReached(
                f"This month's limit of {limits[metric]} {what} is used up ({used} used); "
                f"it resets on {resets.isoformat()}, or the operator can raise it.",
                metric=metric,
                limit=limits[metric],
                used=used,
                resets_on=resets.isoformat(),
            )
