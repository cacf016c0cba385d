"""A tutor's Google Calendar connection: connect, use, notice it broke, disconnect.

One row per tutor user in `calendar_connections`, its OAuth token encrypted
(`token_crypto`). The row's `status` is what the tutor sees: "connected", or
"reconnect_needed" once Google refused the grant (revoked at myaccount.google.com, password
change, scope removed) or the token cannot be decrypted any more (SECRET_KEY changed). A
reconnect replaces the token and flips it back.

Writes that follow a Google call are conditional on the ciphertext the call started with, so a
slow sync that finishes after the tutor reconnected never overwrites the fresh grant with a
refreshed copy of the old one, nor marks the new one broken.

No Reflex here; the API routes and the tutor portal's state call these functions.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from tutor_app.core import clock
from tutor_app.core import db as app_db
from tutor_app.core.models import Booking, BookingStatus, CalendarConnection, Role, SyncStatus, User
from tutor_app.core.token_crypto import TokenDecryptError, decrypt_token, encrypt_token
from tutor_app.integrations import calendar_oauth, oauth
from tutor_app.integrations.google_calendar import (
    CalendarApiError,
    CalendarAuthError,
    CalendarClient,
    CalendarTransientError,
    credentials_from_token,
    token_from_credentials,
)

log = logging.getLogger(__name__)


class ConnectionStatus(StrEnum):
    CONNECTED = "connected"
    RECONNECT_NEEDED = "reconnect_needed"
    DISCONNECTED = "disconnected"  # no row (only ever reported, never stored)


class NotATutor(Exception):
    """Only a user with the tutor role and a catalog tutor can connect a calendar."""


@dataclass(frozen=True)
class ConnectionSummary:
    """What the tutor's account page says about the calendar."""

    status: ConnectionStatus
    google_email: str
    configured: bool  # GOOGLE_CLIENT_ID/SECRET set: "Connect" can be offered


def is_calendar_tutor(user: User | None) -> bool:
    return user is not None and user.role == Role.TUTOR and bool(user.tutor_id)


def get_connection(db: Session, *, user_id: str) -> CalendarConnection | None:
    return db.exec(
        select(CalendarConnection).where(col(CalendarConnection.user_id) == user_id)
    ).first()


def connection_for_tutor(db: Session, *, tutor_id: str) -> CalendarConnection | None:
    """The calendar of the catalog tutor `tutor_id` (via their tutor user), if any.

    Should two users be linked to one catalog tutor, a working connection wins over a broken
    one, then the most recently updated.
    """
    rows = db.exec(
        select(CalendarConnection)
        .join(User, col(User.id) == col(CalendarConnection.user_id))
        .where(col(User.tutor_id) == tutor_id, col(User.role) == Role.TUTOR)
        .order_by(col(CalendarConnection.updated_at).desc())
    ).all()
    for row in rows:
        if row.status == ConnectionStatus.CONNECTED:
            return row
    return rows[0] if rows else None


def summary(db: Session, *, user_id: str) -> ConnectionSummary:
    row = get_connection(db, user_id=user_id)
    configured = oauth.is_configured()
    if row is None:
        return ConnectionSummary(ConnectionStatus.DISCONNECTED, "", configured)
    return ConnectionSummary(ConnectionStatus(row.status), row.google_email, configured)


def save_connection(
    db: Session, *, user_id: str, google_email: str, token: dict[str, Any]
) -> CalendarConnection:
    """Store (or replace) the user's grant, encrypted, as "connected". The caller commits."""
    now = clock.now()
    row = get_connection(db, user_id=user_id)
    if row is None:
        row = CalendarConnection(
            user_id=user_id, google_email=google_email, encrypted_token=encrypt_token(token),
            status=ConnectionStatus.CONNECTED, created_at=now, updated_at=now,
        )
        try:
            with db.begin_nested():
                db.add(row)
            return row
        except IntegrityError:  # a concurrent callback for the same user inserted first
            row = get_connection(db, user_id=user_id)
            if row is None:
                raise
    row.google_email = google_email
    row.encrypted_token = encrypt_token(token)
    row.status = ConnectionStatus.CONNECTED
    row.updated_at = now
    db.add(row)
    db.flush()
    return row


def queue_upcoming_bookings(db: Session, *, tutor_id: str, now: datetime | None = None) -> int:
    """Put the tutor's upcoming lessons that are not in step with the calendar in the sync queue.

    Called when a calendar is (re)connected: a tutor expects the lessons already booked to
    appear, and those that failed while the grant was broken to be retried. The retry job
    picks them up. The caller commits.
    """
    now = now or clock.now()
    result = db.execute(
        sa.update(Booking)
        .where(
            col(Booking.tutor_id) == tutor_id,
            col(Booking.end_time) > now,
            sa.or_(
                sa.and_(
                    col(Booking.status) == BookingStatus.SCHEDULED,
                    col(Booking.calendar_sync_status) != SyncStatus.SYNCED,
                ),
                # Canceled while the grant was broken: its event must still be deleted.
                sa.and_(
                    col(Booking.status) == BookingStatus.CANCELED,
                    col(Booking.calendar_sync_status).in_([SyncStatus.PENDING, SyncStatus.FAILED]),
                ),
            ),
        )
        .values(
            calendar_sync_status=SyncStatus.PENDING,
            calendar_sync_attempts=0,
            calendar_sync_next_at=now,
            calendar_sync_error=None,
        )
        .execution_options(synchronize_session=False)
    )
    return int(result.rowcount)  # type: ignore[attr-defined]


def start_connect(*, user: User) -> str:
    """The Google consent URL for a tutor (records the single-use state). Owns its transaction."""
    if not is_calendar_tutor(user):
        raise NotATutor("only tutors can connect a calendar")
    with app_db.session() as db:
        url = calendar_oauth.start_authorization(db, user_id=user.id, login_hint=user.email)
        db.commit()
    return url


def complete_connect(*, user: User, state: str, code: str) -> CalendarConnection:
    """Finish the consent: check the state, exchange the code, store the grant encrypted.

    The state is consumed (committed) before Google is called, so it cannot be replayed even
    when the exchange fails. Raises `oauth.OAuthFlowError` or `NotATutor`.
    Owns its transactions.
    """
    if not is_calendar_tutor(user):
        raise NotATutor("only tutors can connect a calendar")
    with app_db.session() as db:
        pending = calendar_oauth.consume_state(db, state=state, user_id=user.id)
        db.commit()
    grant = calendar_oauth.exchange_code(code=code, pending=pending)
    with app_db.session() as db:
        previous = get_connection(db, user_id=user.id)
        replaced = (previous.google_email, previous.encrypted_token) if previous else None
        row = save_connection(
            db, user_id=user.id, google_email=grant.google_email, token=grant.token
        )
        queued = queue_upcoming_bookings(db, tutor_id=str(user.tutor_id))
        db.commit()
    log.info("calendar connected for user %s (%d lessons queued)", user.id, queued)
    if replaced is not None and replaced[0].casefold() != grant.google_email.casefold():
        _revoke_replaced(replaced[1])
    return row


def _revoke_replaced(ciphertext: str) -> None:
    """Switching to another Google account leaves the old one's grant unused: revoke it.

    Only for another account: Google revokes per account and app, so revoking the previous
    token of the same account would also kill the grant just received.
    """
    try:
        old = decrypt_token(ciphertext)
    except TokenDecryptError:
        return
    oauth.revoke(old)


def abandon_connect(*, user: User, state: str) -> None:
    """The tutor declined (or Google failed): use the state up so it cannot be replayed."""
    try:
        with app_db.session() as db:
            calendar_oauth.consume_state(db, state=state, user_id=user.id)
            db.commit()
    except oauth.OAuthFlowError:
        pass


def disconnect(*, user_id: str) -> bool:
    """Revoke the grant at Google (best effort) and delete it; True when there was one.

    Lessons waiting for a sync go back to "none": without a calendar there is nothing to do.
    Events already in the tutor's calendar stay there (the tutor owns them). Owns its
    transactions.
    """
    with app_db.session() as db:
        row = get_connection(db, user_id=user_id)
        if row is None:
            return False
        ciphertext = row.encrypted_token
        user = db.get(User, user_id)
        tutor_id = user.tutor_id if user else None
    try:
        revoked = oauth.revoke(decrypt_token(ciphertext))
    except TokenDecryptError:
        revoked = False  # unreadable: nothing we can revoke; deleting is all that is left
    with app_db.session() as db:
        db.execute(sa.delete(CalendarConnection).where(col(CalendarConnection.user_id) == user_id))
        if tutor_id:
            db.execute(
                sa.update(Booking)
                .where(
                    col(Booking.tutor_id) == tutor_id,
                    col(Booking.calendar_sync_status).in_([SyncStatus.PENDING, SyncStatus.FAILED]),
                )
                .values(
                    calendar_sync_status=SyncStatus.NONE,
                    calendar_sync_next_at=None,
                    calendar_sync_error=None,
                )
                .execution_options(synchronize_session=False)
            )
        db.commit()
    log.info("calendar disconnected for user %s (revoked at Google: %s)", user_id, revoked)
    return True


def mark_reconnect_needed(*, connection_id: str, ciphertext: str, reason: str) -> bool:
    """Flag the grant as broken, unless it was replaced meanwhile. Owns its transaction."""
    with app_db.session() as db:
        result = db.execute(
            sa.update(CalendarConnection)
            .where(
                col(CalendarConnection.id) == connection_id,
                col(CalendarConnection.encrypted_token) == ciphertext,
            )
            .values(status=ConnectionStatus.RECONNECT_NEEDED, updated_at=clock.now())
            .execution_options(synchronize_session=False)
        )
        db.commit()
    changed = bool(result.rowcount)  # type: ignore[attr-defined]
    if changed:
        log.warning("calendar connection %s needs reconnecting: %s", connection_id, reason)
    return changed


def _store_refreshed(*, connection_id: str, ciphertext: str, token: dict[str, Any]) -> None:
    with app_db.session() as db:
        db.execute(
            sa.update(CalendarConnection)
            .where(
                col(CalendarConnection.id) == connection_id,
                col(CalendarConnection.encrypted_token) == ciphertext,
            )
            .values(encrypted_token=encrypt_token(token), updated_at=clock.now())
            .execution_options(synchronize_session=False)
        )
        db.commit()


@dataclass(frozen=True)
class ConnectionRef:
    """The parts of a connection row a Google call needs, detached from any session."""

    id: str
    user_id: str
    google_email: str
    status: str
    ciphertext: str

    @classmethod
    def of(cls, row: CalendarConnection) -> ConnectionRef:
        return cls(row.id, row.user_id, row.google_email, row.status, row.encrypted_token)


@contextmanager
def open_calendar(conn: ConnectionRef, **client_options: Any) -> Iterator[CalendarClient]:
    """A Calendar client for one operation on the tutor's calendar.

    Decrypts the token and lets google-auth refresh it; afterwards a refreshed access token is
    stored (encrypted) even when the operation failed. An unusable grant (refresh refused,
    401 after a refresh, undecryptable token) marks the connection "reconnect needed" and is
    raised as `CalendarAuthError`. `client_options` go to `CalendarClient` (tests: `http=`).
    """
    try:
        token = decrypt_token(conn.ciphertext)
    except TokenDecryptError as exc:
        mark_reconnect_needed(connection_id=conn.id, ciphertext=conn.ciphertext,
                              reason="token cannot be decrypted")
        raise CalendarAuthError("stored token cannot be decrypted") from exc
    try:
        client_id, client_secret = oauth.client_credentials()
        token_uri = oauth.token_endpoint()
    except oauth.OAuthNotConfigured as exc:
        raise CalendarApiError("Google is not configured (GOOGLE_CLIENT_ID)") from exc
    except Exception as exc:  # discovery document unreachable or malformed
        raise CalendarTransientError(f"OAuth discovery failed: {type(exc).__name__}") from exc
    credentials = credentials_from_token(
        token, token_uri=token_uri, client_id=client_id, client_secret=client_secret
    )
    client = CalendarClient(credentials, **client_options)
    try:
        yield client
    except CalendarAuthError as exc:
        mark_reconnect_needed(connection_id=conn.id, ciphertext=conn.ciphertext, reason=str(exc))
        raise
    finally:
        refreshed = token_from_credentials(credentials, token)
        if refreshed is not None:
            _store_refreshed(connection_id=conn.id, ciphertext=conn.ciphertext, token=refreshed)
        client.close()
