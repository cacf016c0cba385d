"""Showing UTC instants to people: in the viewer's zone, and in the tutor's.

Every time inside the app is a UTC-aware datetime; this module is the one place that turns
them into wall-clock text ("Tue 1 Dec 2026, 10:00 (America/New_York)") and back from the ISO
strings that travel in URLs and browser state. Zone names come from browsers and URLs, so
they are validated here with `zoneinfo` and fall back to UTC rather than failing a page.
No Reflex here: pages and states call these helpers with plain values.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from functools import lru_cache
from urllib.parse import unquote
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from tutor_app.core import clock
from tutor_app.core.cookies import read_cookie

DEFAULT_ZONE = "UTC"
# The browser's zone as a plain (non-credential) cookie, written by a tiny inline script in
# every page's head before the websocket connects (see `state/viewer_zone.py`).
TZ_COOKIE = "tz"
EN_DASH = "\u2013"  # between the start and the end of a range



def safe_zone(name: str | None) -> str:
    """`name` when it is a known IANA zone, else "UTC".

    The browser reports its zone (`Temporal` or `Intl`), which can be missing, odd
    ("Etc/Unknown") or tampered with; a bad value must degrade the display to UTC, not break
    the page.
    """
    if not name or not isinstance(name, str) or len(name) > 64:
        return DEFAULT_ZONE
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return DEFAULT_ZONE
    return name


def zone_from_cookie_header(cookie_header: str | None) -> str | None:
    """The viewer's IANA zone from the `tz` cookie of a raw `Cookie:` header, validated.

    None when the cookie is missing or names no known zone (then the page asks the browser).
    Read like the session cookie (`core.cookies.read_cookie`): one malformed cookie must not
    hide the others.
    """
    value = read_cookie(cookie_header, TZ_COOKIE)
    if value is None:
        return None
    raw = unquote(value)
    name = safe_zone(raw)
    return name if name == raw else None


@lru_cache(maxsize=256)
def zone(name: str) -> ZoneInfo:
    """The zone `name` names (UTC when it names none), kept: slot lists convert hundreds of
    instants per event, and validating the name for each one was most of their cost."""
    return ZoneInfo(safe_zone(name))


def _aware(value: datetime) -> datetime:
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError(f"expected a timezone-aware datetime, got {value.isoformat()}")
    return value


def local(value: datetime, tz: str) -> datetime:
    """`value` on the wall clock of `tz` (an invalid zone reads as UTC)."""
    return _aware(value).astimezone(zone(tz))


def to_utc_iso(value: datetime) -> str:
    """The wire form of an instant: `2026-12-01T15:00:00Z` (seconds, UTC, a trailing Z).

    One canonical spelling, so that a start read back from a URL compares equal, as a string,
    to the one in the slot list.
    """
    # isoformat, not strftime: twice as fast (a slot list converts hundreds per read) and it
    # pads years below 1000, which strftime leaves short on glibc.
    utc = _aware(value).astimezone(UTC).replace(microsecond=0, tzinfo=None)
    return utc.isoformat() + "Z"


def parse_utc_iso(text: str | None) -> datetime | None:
    """An aware UTC datetime from an ISO-8601 string with a zone (`Z` or an offset), else None.

    A value without a zone is refused: guessing whose wall clock it meant is how lessons end
    up an hour off.
    """
    if not text or not isinstance(text, str) or len(text) > 40:
        return None
    raw = text.strip()
    if raw.endswith(("Z", "z")):
        raw = raw[:-1] + "+00:00"
    try:
        parsed = datetime.fromisoformat(raw)
    except ValueError:
        return None
    if parsed.tzinfo is None or parsed.utcoffset() is None:
        return None
    return parsed.astimezone(UTC)


def day_key(value: datetime, tz: str) -> str:
    """The `YYYY-MM-DD` date of `value` in `tz`: how the picker groups starts into days."""
    return local(value, tz).date().isoformat()


def parse_day_key(text: str | None) -> date | None:
    """The date of a `YYYY-MM-DD` key, or None when it is not one."""
    if not text or not isinstance(text, str) or len(text) != 10:
        return None
    try:
        return date.fromisoformat(text)
    except ValueError:
        return None


def format_time(value: datetime, tz: str) -> str:
    """`10:00` — the 24-hour wall-clock time in `tz`."""
    return local(value, tz).strftime("%H:%M")


def format_day(day: date) -> str:
    """`Tue 1 Dec 2026` — a calendar date, spelled the same way everywhere."""
    return f"{day:%a} {day.day} {day:%b %Y}"


def format_datetime(value: datetime, tz: str) -> str:
    """`Tue 1 Dec 2026, 10:00` in `tz`."""
    moment = local(value, tz)
    return f"{format_day(moment.date())}, {moment:%H:%M}"


def format_with_zone(value: datetime, tz: str) -> str:
    """`Tue 1 Dec 2026, 10:00 (America/New_York)`: the zone named, so nobody has to guess."""
    return f"{format_datetime(value, tz)} ({safe_zone(tz)})"


def format_range(start: datetime, end: datetime, tz: str) -> str:
    """`Tue 1 Dec 2026, 10:00-11:00 (America/New_York)`, with an en dash between the times.

    The end's date is added when it differs from the start's.

    The end is converted from its own instant rather than computed as start + length on the
    wall clock, so a lesson across a DST change shows the end the clock will really read.
    """
    first = local(start, tz)
    last = local(end, tz)
    end_text = f"{last:%H:%M}"
    if last.date() != first.date():
        end_text = f"{format_day(last.date())}, {end_text}"
    return f"{format_datetime(start, tz)}{EN_DASH}{end_text} ({safe_zone(tz)})"


def zone_label(tz: str, at: datetime | None = None) -> str:
    """`America/New_York (EST, UTC-05:00)` — the zone's name with its offset at `at` (now)."""
    name = safe_zone(tz)
    moment = (at or clock.now()).astimezone(ZoneInfo(name))
    offset = moment.utcoffset() or timedelta(0)
    total = int(offset.total_seconds()) // 60
    sign = "+" if total >= 0 else "-"
    hours, minutes = divmod(abs(total), 60)
    abbreviation = moment.tzname() or ""
    utc_text = f"UTC{sign}{hours:02d}:{minutes:02d}"
    if not abbreviation or abbreviation.startswith(("+", "-")) or abbreviation == "UTC":
        return f"{name} ({utc_text})"
    return f"{name} ({abbreviation}, {utc_text})"


def format_duration(minutes: int) -> str:
    """`30 min`, `1 hour`, `1 h 30 min`."""
    hours, rest = divmod(int(minutes), 60)
    if hours and rest:
        return f"{hours} h {rest} min"
    if hours:
        return "1 hour" if hours == 1 else f"{hours} hours"
    return f"{rest} min"
