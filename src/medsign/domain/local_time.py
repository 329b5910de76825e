"""Wall-clock arithmetic in a clinic's time zone (stdlib ``zoneinfo``, IANA tz data).

Instants are aware UTC datetimes; a clinic's zone turns them into local wall-clock
times and back. Where a local time does not exist (a DST gap) or exists twice (a DST
fold), PEP 495's ``fold=0`` picks the earlier reading, so results are still
deterministic.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

MINUTES_PER_DAY = 24 * 60


def zone(name: str | None) -> ZoneInfo:
    """The zone called ``name`` (None: UTC); ValueError when there is no such zone."""
    if not name:
        return ZoneInfo("UTC")
    if len(name) > 64 or name.startswith(("/", ".")) or ".." in name:
        raise ValueError(f"{name!r} is not an IANA time zone name")
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise ValueError(f"{name!r} is not an IANA time zone name") from exc


def at_local(day: date, minute_of_day: int, tz: ZoneInfo) -> datetime:
    """The UTC instant of ``day`` at ``minute_of_day`` on the clinic's clocks."""
    local = datetime.combine(day, time(minute_of_day // 60, minute_of_day % 60), tzinfo=tz)
    return local.astimezone(UTC)


def minus_offset(instant: datetime, offset_minutes: int, tz: ZoneInfo) -> datetime:
    """``offset_minutes`` before ``instant``: whole days on the clinic's wall clock (the
    day before at the same local time, across a DST change too), other offsets as
    elapsed minutes."""
    return plus_offset(instant, -offset_minutes, tz)


def plus_offset(instant: datetime, offset_minutes: int, tz: ZoneInfo) -> datetime:
    """``offset_minutes`` after ``instant`` (see :func:`minus_offset` for whole days)."""
    if offset_minutes % MINUTES_PER_DAY == 0:
        local = instant.astimezone(tz).replace(tzinfo=None)
        moved = local + timedelta(minutes=offset_minutes)
        return moved.replace(tzinfo=tz).astimezone(UTC)
    return instant + timedelta(minutes=offset_minutes)


def birthday_in(birth: date, year: int) -> date:
    """The birthday in ``year``; 29 February falls on 28 February in other years."""
    if birth.month == 2 and birth.day == 29:
        try:
            return date(year, 2, 29)
        except ValueError:
            return date(year, 2, 28)
    return birth.replace(year=year)


def next_birthday(birth: date, minute_of_day: int, tz: ZoneInfo, after: datetime) -> datetime:
    """The first instant later than ``after`` that is a birthday of ``birth`` at
    ``minute_of_day`` on the clinic's clocks."""
    year = after.astimezone(tz).year
    while True:
        instant = at_local(birthday_in(birth, year), minute_of_day, tz)
        if instant > after:
            return instant
        year += 1


def quiet_until(
    instant: datetime, tz: ZoneInfo, start_minute: int | None, end_minute: int | None
) -> datetime | None:
    """When the quiet hours around ``instant`` end (UTC), or None if it is outside them.

    Quiet hours run from ``start_minute`` to ``end_minute`` after local midnight and may
    span midnight (e.g. 21:00-09:00); equal bounds or None mean no quiet hours.
    """
    if start_minute is None or end_minute is None or start_minute == end_minute:
        return None
    local = instant.astimezone(tz)
    minute = local.hour * 60 + local.minute
    day = local.date()
    if start_minute < end_minute:
        inside = start_minute <= minute < end_minute
        end_day = day
    else:  # spans midnight
        inside = minute >= start_minute or minute < end_minute
        end_day = day + timedelta(days=1) if minute >= start_minute else day
    if not inside:
        return None
    return at_local(end_day, end_minute, tz)


def format_local(instant: datetime, tz: ZoneInfo) -> str:
    """``YYYY-MM-DD HH:MM`` with the UTC offset (ISO 8601 style), on the clinic's clocks."""
    local = instant.astimezone(tz)
    return local.strftime("%Y-%m-%d %H:%M ") + local.isoformat()[-6:]
