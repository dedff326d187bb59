"""Business hours: is an inbox open now, and when does it open next. Pure functions."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError


def _zone(name: str) -> dt.tzinfo:
    try:
        return ZoneInfo(name or "UTC")
    except (ZoneInfoNotFoundError, ValueError):
        return dt.timezone.utc


def _ranges(hours: dict, weekday: int) -> list[tuple[dt.time, dt.time]]:
    result = []
    for start, end in hours.get(str(weekday), []) or []:
        try:
            result.append((dt.time.fromisoformat(start), dt.time.fromisoformat(end)))
        except (TypeError, ValueError):
            continue
    return result


def is_open(hours: dict | None, tz_name: str, now: dt.datetime) -> bool:
    """Empty ``hours`` means always open."""
    if not hours:
        return True
    local = now.astimezone(_zone(tz_name))
    return any(start <= local.time() < end for start, end in _ranges(hours, local.weekday()))


def next_opening(hours: dict | None, tz_name: str, now: dt.datetime) -> dt.datetime | None:
    """The next time the inbox opens (``now`` if open), or None when no hours are set at all."""
    if not hours or is_open(hours, tz_name, now):
        return now
    zone = _zone(tz_name)
    local = now.astimezone(zone)
    for day_offset in range(0, 8):
        day = (local + dt.timedelta(days=day_offset)).date()
        for start, _end in sorted(_ranges(hours, day.weekday())):
            candidate = dt.datetime.combine(day, start, tzinfo=zone)
            if candidate > local:
                return candidate
    return None


def business_duration(hours: dict | None, tz_name: str, start: dt.datetime, end: dt.datetime) -> dt.timedelta:
    """How much of ``[start, end)`` falls inside opening hours (all of it when no hours are set):
    a reply at Monday 09:10 to a message of Friday 18:00 took 10 business minutes, not 63 hours."""
    if end <= start:
        return dt.timedelta(0)
    if not hours:
        return end - start
    zone = _zone(tz_name)
    local_start, local_end = start.astimezone(zone), end.astimezone(zone)
    total = dt.timedelta(0)
    day = local_start.date()
    last = min(local_end.date(), day + dt.timedelta(days=400))  # a bound for absurd spans
    while day <= last:
        for open_at, close_at in _ranges(hours, day.weekday()):
            window_start = dt.datetime.combine(day, open_at, tzinfo=zone)
            window_end = dt.datetime.combine(day, close_at, tzinfo=zone)
            overlap = min(window_end, local_end) - max(window_start, local_start)
            if overlap > dt.timedelta(0):
                total += overlap
        day += dt.timedelta(days=1)
    return total
