"""Settings: usage of a month (signatures by method, SMS messages and segments, emails;
per branch), the plan limits with what is used of them, and the CSV download, through
:mod:`medsign.usage.service` as ``/api/v1/usage`` does. A branch's admin sees their
branch only."""

from __future__ import annotations

from datetime import date
from typing import Annotated

from fastapi import APIRouter, Query, Request
from fastapi.responses import Response

from medsign.errors import InvalidInput
from medsign.usage.service import (
    allowance,
    csv_text,
    local_day,
    month_range,
    per_branch,
    usage_rows,
)
from medsign.web.deps import runtime
from medsign.web.pages.console.session import answer
from medsign.web.pages.console.settings_forms import (
    BASE,
    branch_choices,
    settings_page,
    settings_read,
)

router = APIRouter(prefix=BASE, include_in_schema=False)
Month = Annotated[str, Query(max_length=40, description="YYYY-MM")]


def _month(value: str, today: date) -> tuple[date, date]:
    if not value:
        return month_range(today)
    try:
        first = date.fromisoformat(f"{value}-01")
    except ValueError:
        raise InvalidInput("Choose a month as YYYY-MM, e.g. 2026-12.", field="month") from None
    return month_range(first)


@router.get("/usage")
def usage(request: Request, month: Month = "") -> Response:
    """The month's figures per metric and branch, and the plan limits."""
    rt = runtime(request)

    def run() -> Response:
        today = local_day(rt.clock(), rt.settings.time_zone)
        first, last = _month(month, today)
        with settings_read(request) as (session, actor):
            rows = usage_rows(session, actor.organization_id, actor.branch_id, first, last)
            names = dict(branch_choices(session, actor))
            limits = allowance(session, actor.organization_id, today)
        totals = per_branch(rows)
        metrics = sorted({m for by_metric in totals.values() for m in by_metric})
        return settings_page(
            request,
            "console/settings_usage.html",
            actor,
            month=first.strftime("%Y-%m"),
            metrics=metrics,
            totals=sorted(totals.items(), key=lambda item: names.get(item[0] or "", "")),
            branch_names=names,
            limits=limits,
        )

    return answer(request, run)


@router.get("/usage.csv")
def usage_csv(request: Request, month: Month = "") -> Response:
    """The month as CSV (RFC 4180): one line per day, branch and metric."""
    rt = runtime(request)

    def run() -> Response:
        first, last = _month(month, local_day(rt.clock(), rt.settings.time_zone))
        with settings_read(request) as (session, actor):
            rows = usage_rows(session, actor.organization_id, actor.branch_id, first, last)
        name = f"usage-{first:%Y-%m}.csv"
        return Response(
            csv_text(rows),
            media_type="text/csv; charset=utf-8",
            headers={
                "Content-Disposition": f'attachment; filename="{name}"',
                "Cache-Control": "private, no-store",
            },
        )

    return answer(request, run)
