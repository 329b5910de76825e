"""Wall-clock arithmetic in clinics' zones: DST (Europe/Berlin, Asia/Tehran before 2022),
none (Europe/Moscow), quiet hours across midnight, 29 February."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from medsign.domain.local_time import (
    format_local,
    minus_offset,
    next_birthday,
    plus_offset,
    quiet_until,
    zone,
)

BERLIN, TEHRAN, MOSCOW = zone("Europe/Berlin"), zone("Asia/Tehran"), zone("Europe/Moscow")


def utc(year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=UTC)


def test_a_day_before_keeps_the_local_time_across_berlins_dst_change() -> None:
    # Monday 30 March 2026 10:00 CEST (08:00 UTC); clocks went forward on Sunday 29 March.
    appointment = utc(2026, 3, 30, 8, 0)
    due = minus_offset(appointment, 24 * 60, BERLIN)
    assert due.astimezone(BERLIN).hour == 10  # Sunday 10:00 CEST
    assert due == utc(2026, 3, 29, 8, 0)
    # the day before that, still winter time: 10:00 CET is 09:00 UTC (25 h earlier)
    assert minus_offset(appointment, 2 * 24 * 60, BERLIN) == utc(2026, 3, 28, 9, 0)
    # minutes are elapsed time, not wall-clock
    assert minus_offset(appointment, 120, BERLIN) == utc(2026, 3, 30, 6, 0)


def test_tehran_had_dst_until_2022() -> None:
    # 2021: +04:30 in summer; 2023: +03:30 all year.
    summer_2021 = utc(2021, 7, 1, 5, 30)
    assert format_local(summer_2021, TEHRAN) == "2021-07-01 10:00 +04:30"
    assert format_local(utc(2023, 7, 1, 6, 30), TEHRAN) == "2023-07-01 10:00 +03:30"
    # Iran's DST ended on 21 September 2021 (midnight, back to +03:30): a day-before
    # reminder of a 10:00 appointment on the 22nd is at 10:00 local on the 21st.
    appointment = datetime(2021, 9, 22, 10, 0, tzinfo=TEHRAN).astimezone(UTC)
    due = minus_offset(appointment, 24 * 60, TEHRAN)
    assert due.astimezone(TEHRAN).strftime("%d %H:%M") == "21 10:00"
    assert (appointment - due).total_seconds() == 25 * 3600


def test_moscow_has_no_dst() -> None:
    winter, summer = utc(2026, 1, 10, 7, 0), utc(2026, 7, 10, 7, 0)
    assert format_local(winter, MOSCOW).endswith("10:00 +03:00")
    assert format_local(summer, MOSCOW).endswith("10:00 +03:00")
    assert plus_offset(winter, 3 * 24 * 60, MOSCOW) == utc(2026, 1, 13, 7, 0)


def test_birthdays_are_on_the_clinics_calendar() -> None:
    birth = date(1990, 12, 5)
    # 4 December 22:00 UTC is already 5 December 01:00 in Moscow: today, at 10:00 local.
    now = utc(2026, 12, 4, 22, 0)
    assert next_birthday(birth, 600, MOSCOW, now) == utc(2026, 12, 5, 7, 0)
    # In UTC the birthday at 10:00 is later that day
    assert next_birthday(birth, 600, zone("UTC"), now) == utc(2026, 12, 5, 10, 0)
    # after today's greeting: next year
    assert next_birthday(birth, 600, MOSCOW, utc(2026, 12, 5, 7, 0)) == utc(2027, 12, 5, 7, 0)


def test_29_february_birthdays_fall_on_28_february_in_common_years() -> None:
    leap = date(2000, 2, 29)
    assert next_birthday(leap, 0, zone("UTC"), utc(2026, 1, 1)) == utc(2026, 2, 28)
    assert next_birthday(leap, 0, zone("UTC"), utc(2027, 3, 1)) == utc(2028, 2, 29)


def test_quiet_hours_across_midnight_end_in_the_morning_local_time() -> None:
    start, end = 21 * 60, 9 * 60
    # 22:30 Moscow -> 09:00 next morning Moscow (06:00 UTC)
    assert quiet_until(utc(2026, 5, 1, 19, 30), MOSCOW, start, end) == utc(2026, 5, 2, 6, 0)
    # 07:00 Moscow -> 09:00 the same morning
    assert quiet_until(utc(2026, 5, 2, 4, 0), MOSCOW, start, end) == utc(2026, 5, 2, 6, 0)
    # 12:00: not quiet; exactly 09:00: not quiet; exactly 21:00: quiet
    assert quiet_until(utc(2026, 5, 2, 9, 0), MOSCOW, start, end) is None
    assert quiet_until(utc(2026, 5, 2, 6, 0), MOSCOW, start, end) is None
    assert quiet_until(utc(2026, 5, 2, 18, 0), MOSCOW, start, end) is not None
    # none unless set
    assert quiet_until(utc(2026, 5, 1, 23, 0), MOSCOW, None, None) is None


def test_quiet_hours_end_on_the_local_clock_across_dst() -> None:
    # Berlin, night of 28-29 March 2026: 23:00 CET; quiet until 08:00 CEST (06:00 UTC).
    assert quiet_until(utc(2026, 3, 28, 22, 0), BERLIN, 22 * 60, 8 * 60) == utc(2026, 3, 29, 6, 0)
    # same-day window (13:00-14:00)
    assert quiet_until(utc(2026, 6, 1, 11, 30), BERLIN, 13 * 60, 14 * 60) == utc(2026, 6, 1, 12, 0)


@pytest.mark.parametrize("name", ["Mars/Base", "../etc/passwd", "", "x" * 65])
def test_unknown_zones_are_refused(name: str) -> None:
    if not name:
        assert zone(name).key == "UTC"
        return
    with pytest.raises(ValueError, match="IANA"):
        zone(name)
