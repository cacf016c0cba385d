"""Rate limits: how often one client (an address, an email, an account) may do one action.

The counters live in the database, not in a worker's memory or in Redis (which may not be
configured): every worker and node counts the same hits. One hit is one upsert, atomic on
SQLite and PostgreSQL alike, so concurrent hits are all counted. A window opens at a key's
first hit and lasts the limit's `window`; the hit after `max_hits` within it is refused with
`RateLimited`, saying how long until the window closes. Counters whose window closed long ago
are deleted by the hourly "sweep" job (`delete_stale`).

Every limit the app applies is one of the constants below, so this module is the one list of
them. The client's address is what the server saw (`request.client.host` in the API,
`router.session.client_ip` in Reflex states). Behind a reverse proxy that is the proxy's own
address, so every visitor would share one counter, unless `TRUSTED_PROXY_HOPS` says how many
proxies append to X-Forwarded-For (`api.deps.client_ip`, and Reflex's `trusted_proxy_hops`).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlmodel import Session, col

from tutor_app.core import clock
from tutor_app.core import db as app_db
from tutor_app.core.models import RateLimitCounter

# Keys are stored at most this long; an address longer than that is no real client's.
MAX_ADDRESS_LENGTH = 64
MAX_KEY_LENGTH = 320
UNKNOWN_ADDRESS = "unknown"


@dataclass(frozen=True)
class Limit:
    """At most `max_hits` of `action` per key within `window` (from the window's first hit)."""

    action: str
    max_hits: int
    window: timedelta


# Sign-in: an address may try many emails (a school shares one address), but not thousands
# (credential stuffing); an email's attempts are counted once the (email, address) throttle
# in `accounts.users` let them through, so a single address cannot use up the email's budget
# and lock its owner out. The email's budget is high on purpose: it stops a botnet guessing one
# password from thousands of addresses, while locking an owner out would take some twenty
# addresses each spending its five free failures every 15 minutes.
SIGN_IN_PER_ADDRESS = Limit("sign_in:ip", 50, timedelta(minutes=15))
SIGN_IN_PER_EMAIL = Limit("sign_in:email", 100, timedelta(minutes=15))
# Sign-up: each attempt costs an Argon2 hash and may probe whether an email has an account.
SIGN_UP_PER_ADDRESS = Limit("sign_up:ip", 20, timedelta(hours=1))
SIGN_UP_PER_EMAIL = Limit("sign_up:email", 5, timedelta(hours=1))
# Password reset: each request may send a mail to someone's inbox.
PASSWORD_RESET_PER_ADDRESS = Limit("password_reset:ip", 10, timedelta(hours=1))
PASSWORD_RESET_PER_EMAIL = Limit("password_reset:email", 3, timedelta(hours=1))
# Email change: each request mails a link to the new address and a notice to the old one, and
# checks the password (which the sign-in throttle also counts).
EMAIL_CHANGE_PER_ADDRESS = Limit("email_change:ip", 10, timedelta(hours=1))
EMAIL_CHANGE_PER_ACCOUNT = Limit("email_change:user", 5, timedelta(hours=1))
# Checkout start: each may write a hold and call Stripe.
CHECKOUT_PER_ADDRESS = Limit("checkout:ip", 60, timedelta(minutes=10))
CHECKOUT_PER_ACCOUNT = Limit("checkout:user", 20, timedelta(minutes=10))
# Free consultation bookings: each writes a booking and sends mail to a student and a tutor
# with nobody paying for it; an honest student needs a few tries at most (a slot just taken).
CONSULTATION_PER_ADDRESS = Limit("consultation:ip", 30, timedelta(hours=1))
CONSULTATION_PER_ACCOUNT = Limit("consultation:user", 10, timedelta(hours=1))

LIMITS: tuple[Limit, ...] = (
    SIGN_IN_PER_ADDRESS, SIGN_IN_PER_EMAIL, SIGN_UP_PER_ADDRESS, SIGN_UP_PER_EMAIL,
    PASSWORD_RESET_PER_ADDRESS, PASSWORD_RESET_PER_EMAIL, EMAIL_CHANGE_PER_ADDRESS,
    EMAIL_CHANGE_PER_ACCOUNT, CHECKOUT_PER_ADDRESS, CHECKOUT_PER_ACCOUNT,
    CONSULTATION_PER_ADDRESS, CONSULTATION_PER_ACCOUNT,
)
# A counter is deleted once its window opened this long ago: the longest window plus an hour,
# so only windows that closed for good go.
RETENTION = max(limit.window for limit in LIMITS) + timedelta(hours=1)


def retry_message(seconds: int) -> str:
    """ "Too many attempts. Try again in 4 minutes." (in seconds under a minute): what a person
    is told when refused for trying too often, by a rate limit or the sign-in throttle."""
    if seconds < 60:
        count, unit = max(seconds, 1), "second"
    else:
        count, unit = math.ceil(seconds / 60), "minute"
    return f"Too many attempts. Try again in {count} {unit}{'' if count == 1 else 's'}."


class RateLimited(Exception):
    """Over a rate limit; `retry_after` is whole seconds until the window closes."""

    def __init__(self, retry_after: int) -> None:
        super().__init__(retry_message(retry_after))
        self.retry_after = retry_after


def address_key(address: str | None) -> str:
    """The key a client's address is counted under ("unknown" when the server has none)."""
    return (address or "").strip().lower()[:MAX_ADDRESS_LENGTH] or UNKNOWN_ADDRESS


def _key(value: str) -> str:
    return value.strip().lower()[:MAX_KEY_LENGTH]


def check(db: Session, *hits: tuple[Limit, str], now: datetime | None = None) -> None:
    """Count one hit on each (limit, key), commit, and raise RateLimited (the longest wait)
    when any of them is over its limit.

    Commits `db` at once (call it before other work in the transaction): a hit must count
    whatever the caller does next, rolling back on an error included. Keys are compared
    trimmed and lower-case, so "Ann@X.com" and "ann@x.com" share a counter.
    """
    now = now or clock.now()
    waits = [_hit(db, limit, _key(key), now) for limit, key in hits]
    db.commit()
    over = [wait for wait in waits if wait is not None]
    if over:
        raise RateLimited(max(over))


def _hit(db: Session, limit: Limit, key: str, now: datetime) -> int | None:
    """One upsert: count a hit (opening a new window when the last one closed); seconds to
    wait when it is over the limit, else None."""
    table = RateLimitCounter.__table__  # type: ignore[attr-defined]
    dialect = db.get_bind().dialect.name
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    stmt = insert(table).values(action=limit.action, key=key, hits=1, window_start=now)
    window_open = table.c.window_start > now - limit.window
    upsert = stmt.on_conflict_do_update(
        index_elements=[table.c.action, table.c.key],
        set_={
            "hits": sa.case((window_open, table.c.hits + 1), else_=sa.literal(1)),
            "window_start": sa.case(
                (window_open, table.c.window_start), else_=stmt.excluded.window_start
            ),
        },
    ).returning(table.c.hits, table.c.window_start)
    hits, window_start = db.execute(upsert).one()
    if int(hits) <= limit.max_hits:
        return None
    remaining: float = (window_start + limit.window - now).total_seconds()
    return max(math.ceil(remaining), 1)


def limit_sign_up(db: Session, *, email: str, ip: str, now: datetime | None = None) -> None:
    """Count a sign-up attempt per address and per email; RateLimited when over. Commits."""
    check(db, (SIGN_UP_PER_ADDRESS, ip), (SIGN_UP_PER_EMAIL, email), now=now)


def limit_password_reset(
    db: Session, *, email: str, ip: str, now: datetime | None = None
) -> None:
    """Count a password-reset request per address and per email; RateLimited when over.
    Commits."""
    check(db, (PASSWORD_RESET_PER_ADDRESS, ip), (PASSWORD_RESET_PER_EMAIL, email), now=now)


def limit_email_change(
    db: Session, *, user_id: str, ip: str, now: datetime | None = None
) -> None:
    """Count an email-change request per address and per account; RateLimited when over.
    Commits."""
    check(db, (EMAIL_CHANGE_PER_ADDRESS, ip), (EMAIL_CHANGE_PER_ACCOUNT, user_id), now=now)


def limit_checkout(db: Session, *, user_id: str, ip: str, now: datetime | None = None) -> None:
    """Count a checkout start per address and per account; RateLimited when over. Commits."""
    check(db, (CHECKOUT_PER_ADDRESS, ip), (CHECKOUT_PER_ACCOUNT, user_id), now=now)


def limit_consultation(
    db: Session, *, user_id: str, ip: str, now: datetime | None = None
) -> None:
    """Count a free consultation booking per address and per account; RateLimited when over.
    Commits."""
    check(db, (CONSULTATION_PER_ADDRESS, ip), (CONSULTATION_PER_ACCOUNT, user_id), now=now)


def delete_stale(*, now: datetime | None = None) -> int:
    """Delete the counters whose window opened more than RETENTION ago; how many. Owns its
    transaction; the periodic "sweep" job calls it."""
    cutoff = (now or clock.now()) - RETENTION
    with app_db.write_session() as db:
        result = db.execute(
            sa.delete(RateLimitCounter).where(col(RateLimitCounter.window_start) < cutoff)
        )
        db.commit()
    return int(result.rowcount or 0)  # type: ignore[attr-defined]
