"""The "sweep" job: expired OAuth states and long-quiet sign-in throttles go, fresh ones stay."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlmodel import Session, select

from tests.pinned_time import run_cli
from tutor_app import wiring
from tutor_app.accounts import users
from tutor_app.core import clock
from tutor_app.core.models import LoginThrottle, OAuthState
from tutor_app.integrations import oauth


def _state(db: Session, name: str, created_at: datetime) -> None:
    db.add(OAuthState(state=name, purpose="login", provider="google", nonce="n",
                      code_verifier="v", created_at=created_at))


def _throttle(db: Session, email: str, last_failure_at: datetime, failures: int = 9) -> None:
    db.add(LoginThrottle(email=email, failures=failures, last_failure_at=last_failure_at))


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
    db.commit()


def _left(db: Session) -> tuple[set[str], set[str]]:
    db.expire_all()
    states = set(db.exec(select(OAuthState.state)).all())
    throttles = set(db.exec(select(LoginThrottle.email)).all())
    return states, throttles


def test_sweep_deletes_old_rows_and_keeps_fresh_ones(session: Session) -> None:
    _seed(session)

    first = wiring.sweep()
    second = wiring.sweep()

    assert first == "1 expired oauth states and 1 stale login throttles deleted"
    assert second is None
    assert _left(session) == ({"fresh"}, {"locked@example.com", "recent@example.com"})


def test_sweep_runs_from_the_command_line(session: Session) -> None:
    _seed(session)

    done = run_cli("run-job", "sweep")

    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == (
        "sweep: 1 expired oauth states and 1 stale login throttles deleted"
    )
    assert _left(session) == ({"fresh"}, {"locked@example.com", "recent@example.com"})
