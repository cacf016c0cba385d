"""The "sweep" job: expired OAuth states, long-quiet sign-in throttles, rate-limit counters
whose window closed long ago and long-expired email links go; fresh ones stay."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlmodel import Session, select

from tests.pinned_time import run_cli
from tutor_app import wiring
from tutor_app.accounts import email_links, users
from tutor_app.core import clock, rate_limits
from tutor_app.core.models import EmailLink, LoginThrottle, OAuthState, RateLimitCounter, User
from tutor_app.integrations import oauth


def _state(db: Session, name: str, created_at: datetime) -> None:
    db.add(OAuthState(state=name, purpose="login", provider="google", nonce="n",
                      code_verifier="v", created_at=created_at))


def _throttle(db: Session, email: str, last_failure_at: datetime, failures: int = 9) -> None:
    db.add(LoginThrottle(email=email, ip="203.0.113.7", failures=failures,
                         last_failure_at=last_failure_at))


def _counter(db: Session, key: str, window_start: datetime) -> None:
    db.add(RateLimitCounter(action="sign_in:ip", key=key, hits=99, window_start=window_start))


def _link(db: Session, user: User, name: str, expires_at: datetime) -> None:
    db.add(EmailLink(token_hash=name.ljust(64, "0"), user_id=user.id,
                     purpose=email_links.VERIFY_EMAIL, email=user.email,
                     expires_at=expires_at))


def _seed(db: Session) -> None:
    now = clock.now()
    # Minutes either side of the edge: a process started by the test reads the same clock,
    # give or take its start-up.
    _state(db, "expired", now - oauth.STATE_MAX_AGE - timedelta(minutes=5))
    _state(db, "fresh", now - oauth.STATE_MAX_AGE + timedelta(minutes=5))
    _throttle(db, "quiet@example.com", now - users.THROTTLE_RETENTION - timedelta(minutes=5))
    _throttle(db, "locked@example.com", now - timedelta(minutes=1))
    _throttle(db, "recent@example.com", now - users.THROTTLE_RETENTION + timedelta(hours=1),
              failures=1)
    _counter(db, "old", now - rate_limits.RETENTION - timedelta(minutes=5))
    _counter(db, "recent", now - rate_limits.RETENTION + timedelta(minutes=5))
    user = User(email="ann@example.com")
    db.add(user)
    db.flush()
    _link(db, user, "old", now - email_links.LINK_RETENTION - timedelta(minutes=5))
    _link(db, user, "recent", now - email_links.LINK_RETENTION + timedelta(minutes=5))
    db.commit()


def _left(db: Session) -> tuple[set[str], set[str], set[str], set[str]]:
    db.expire_all()
    states = set(db.exec(select(OAuthState.state)).all())
    throttles = set(db.exec(select(LoginThrottle.email)).all())
    counters = set(db.exec(select(RateLimitCounter.key)).all())
    links = {row.rstrip("0") for row in db.exec(select(EmailLink.token_hash)).all()}
    return states, throttles, counters, links


LEFT = ({"fresh"}, {"locked@example.com", "recent@example.com"}, {"recent"}, {"recent"})
DONE = ("1 expired oauth states, 1 stale login throttles, 1 stale rate-limit counters and "
        "1 stale email links deleted")


def test_sweep_deletes_old_rows_and_keeps_fresh_ones(session: Session) -> None:
    _seed(session)

    first = wiring.sweep()
    second = wiring.sweep()

    assert first == DONE
    assert second is None
    assert _left(session) == LEFT


def test_sweep_runs_from_the_command_line(session: Session) -> None:
    _seed(session)

    done = run_cli("run-job", "sweep")

    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == f"sweep: {DONE}"
    assert _left(session) == LEFT
