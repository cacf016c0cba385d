"""Single-use links mailed to a person: email verification, password reset, email change.

A link carries a random token; the database holds only its SHA-256 (as for sign-in sessions),
so a leaked copy of the table opens nothing. Each link has a purpose and lives for that
purpose's lifetime. Issuing a link voids the user's earlier unused links of the same purpose,
so only the newest one mailed works. Opening one (`consume_link`) is a single conditional
UPDATE (`... WHERE used_at IS NULL AND expires_at > now`): of two clicks racing, on any
workers, exactly one gets the link; expired, used, voided and unknown tokens all give the same
None, so an answer never says which.

Mail is a layer above accounts, so the message itself is sent through a mailer that
`tutor_app.wiring` registers at start-up (`mail.account_mail.send_link`): `mail_link` sends it
now, in the caller's thread, and logs a failure instead of raising (the person can ask again);
`mail_link_soon` hands it to a worker thread, for an answer that must take the same time
whether or not a mail goes out.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from concurrent.futures import wait as wait_futures
from dataclasses import dataclass
from datetime import datetime, timedelta

import sqlalchemy as sa
from sqlmodel import Session, col, select

from tutor_app.accounts.sign_in_sessions import hash_token, new_token
from tutor_app.core import clock
from tutor_app.core import db as app_db
from tutor_app.core.hooks import Hook
from tutor_app.core.models import EmailLink, EmailLinkPurpose

log = logging.getLogger(__name__)

VERIFY_EMAIL = EmailLinkPurpose.VERIFY_EMAIL
RESET_PASSWORD = EmailLinkPurpose.RESET_PASSWORD
CHANGE_EMAIL = EmailLinkPurpose.CHANGE_EMAIL
VERIFY_EMAIL_LIFETIME = timedelta(hours=48)
RESET_PASSWORD_LIFETIME = timedelta(hours=1)
CHANGE_EMAIL_LIFETIME = timedelta(hours=48)
# Not a link's purpose: the notice mailed to the old address when a change is asked for. It
# carries no token (its only link is to the forgotten-password page), so nothing is stored.
EMAIL_CHANGE_NOTICE = "email_change_notice"
# A link row is deleted this long after it expired (used or not): it can do nothing any more,
# and the delay keeps a recent one around for a support question ("did the mail go out?").
LINK_RETENTION = timedelta(days=7)
LIFETIMES: dict[str, timedelta] = {
    VERIFY_EMAIL: VERIFY_EMAIL_LIFETIME,
    RESET_PASSWORD: RESET_PASSWORD_LIFETIME,
    CHANGE_EMAIL: CHANGE_EMAIL_LIFETIME,
}


@dataclass(frozen=True)
class OutgoingLink:
    """A link to mail, with what its message needs; built after the link's row is stored.

    An EMAIL_CHANGE_NOTICE is mailed the same way, with no token.
    """

    purpose: str
    to: str
    token: str
    name: str = ""
    # A sign-up's password waits on the link: the message says opening it creates the account.
    sets_password: bool = False
    # The notice to the old address names the address asked for (the message masks it).
    new_email: str = ""


def issue_link(
    db: Session,
    *,
    user_id: str,
    purpose: str,
    email: str,
    pending_password_hash: str | None = None,
    now: datetime | None = None,
) -> str:
    """Store a new link for the user and return its token (only its hash is kept).

    The user's earlier unused links of this purpose are voided first, so the newest one mailed
    is the only one that works. Caller commits.
    """
    if purpose not in LIFETIMES:
        raise ValueError(f"unknown email link purpose {purpose!r}")
    now = now or clock.now()
    void_links(db, user_id=user_id, purposes=(purpose,), now=now)
    token = new_token()
    db.add(
        EmailLink(
            token_hash=hash_token(token), user_id=user_id, purpose=purpose, email=email,
            pending_password_hash=pending_password_hash, created_at=now,
            expires_at=now + LIFETIMES[purpose],
        )
    )
    db.flush()
    return token


def void_links(
    db: Session,
    *,
    user_id: str,
    purposes: tuple[str, ...] | None = None,
    now: datetime | None = None,
) -> int:
    """Mark the user's unused links of these purposes (all when None) as used; how many.

    A voided link answers like a used one. Caller commits.
    """
    now = now or clock.now()
    conditions = [col(EmailLink.user_id) == user_id, col(EmailLink.used_at).is_(None)]
    if purposes is not None:
        conditions.append(col(EmailLink.purpose).in_([str(p) for p in purposes]))
    result = db.execute(
        sa.update(EmailLink)
        .where(*conditions)
        .values(used_at=now)
        .execution_options(synchronize_session=False)
    )
    return int(result.rowcount or 0)  # type: ignore[attr-defined]


def live_link(
    db: Session, *, token: str, purpose: str, now: datetime | None = None
) -> EmailLink | None:
    """The link of this token when it is of `purpose`, unused and unexpired; else None.

    Only looks (a page deciding whether to show its form): `consume_link` is what uses it.
    """
    if not token:
        return None
    now = now or clock.now()
    return db.exec(
        select(EmailLink).where(
            col(EmailLink.token_hash) == hash_token(token),
            col(EmailLink.purpose) == purpose,
            col(EmailLink.used_at).is_(None),
            col(EmailLink.expires_at) > now,
        )
    ).first()


def consume_link(
    db: Session, *, token: str, purpose: str | tuple[str, ...], now: datetime | None = None
) -> EmailLink | None:
    """Use the link of this token, once: the link, or None when it is unknown, of another
    purpose, expired, used or voided (one answer for all, so none of them is told apart).

    Several purposes are for a page that opens links of each (the link's `purpose` says which
    it was).

    One conditional UPDATE is the arbiter: a concurrent consume of the same token waits for
    this transaction (PostgreSQL's row lock, SQLite's write lock) and then matches no row.
    Caller commits; a rollback gives the link back.
    """
    if not token:
        return None
    now = now or clock.now()
    token_hash = hash_token(token)
    purposes = (purpose,) if isinstance(purpose, str) else purpose
    result = db.execute(
        sa.update(EmailLink)
        .where(
            col(EmailLink.token_hash) == token_hash,
            col(EmailLink.purpose).in_([str(p) for p in purposes]),
            col(EmailLink.used_at).is_(None),
            col(EmailLink.expires_at) > now,
        )
        .values(used_at=now)
        .execution_options(synchronize_session=False)
    )
    if result.rowcount != 1:  # type: ignore[attr-defined]
        return None
    link = db.exec(select(EmailLink).where(col(EmailLink.token_hash) == token_hash)).one()
    db.refresh(link)  # the UPDATE bypassed the ORM: read used_at as written
    return link


def newest_link(db: Session, *, user_id: str, purpose: str) -> EmailLink | None:
    """The user's most recently issued link of `purpose`, used or not."""
    return db.exec(
        select(EmailLink)
        .where(col(EmailLink.user_id) == user_id, col(EmailLink.purpose) == purpose)
        .order_by(col(EmailLink.created_at).desc())
    ).first()


def delete_stale(*, now: datetime | None = None) -> int:
    """Delete the links that expired more than LINK_RETENTION ago; how many. Owns its
    transaction; the periodic "sweep" job calls it."""
    cutoff = (now or clock.now()) - LINK_RETENTION
    with app_db.write_session() as db:
        result = db.execute(sa.delete(EmailLink).where(col(EmailLink.expires_at) < cutoff))
        db.commit()
    return int(result.rowcount or 0)  # type: ignore[attr-defined]


# -- delivery ---------------------------------------------------------------------------------

Mailer = Callable[[OutgoingLink], object]

_mailer: Hook[Mailer] = Hook("the sender of mailed links")
_lock = threading.Lock()
_pool: ThreadPoolExecutor | None = None
_pending: set[Future[None]] = set()


def register_mailer(fn: Mailer) -> None:
    """Send every link through `fn` (which raises when the message could not go out).
    Registering again replaces it."""
    _mailer.register(fn)


def mailer() -> Mailer | None:
    """The registered mailer, if any."""
    return _mailer.get()


def mail_link(link: OutgoingLink) -> bool:
    """Send the link's message now; whether it went out. Never raises: the link is stored and
    the page must still answer, so a failure is logged and the person can ask again."""
    fn = mailer()
    if fn is None:
        log.error("no mailer registered: %s link for a user not sent", link.purpose)
        return False
    try:
        fn(link)
    except Exception:
        log.exception("%s link could not be mailed", link.purpose)
        return False
    log.info("%s link mailed", link.purpose)
    return True


def mail_link_soon(link: OutgoingLink) -> None:
    """Send the link's message on a worker thread and return at once.

    For answers that must not take longer when a mail goes out (a password reset request for
    an address with an account answers like one without). `wait_idle` waits for what is on
    its way.
    """
    global _pool
    with _lock:
        if _pool is None:
            _pool = ThreadPoolExecutor(max_workers=2, thread_name_prefix="link-mail")
        future: Future[None] = _pool.submit(_mail_quietly, link)
        _pending.add(future)
    future.add_done_callback(_forget)


def _mail_quietly(link: OutgoingLink) -> None:
    mail_link(link)


def _forget(future: Future[None]) -> None:
    with _lock:
        _pending.discard(future)


def wait_idle(timeout: float = 30.0) -> None:
    """Wait until every mail handed to `mail_link_soon` has been tried."""
    with _lock:
        pending = list(_pending)
    if pending:
        wait_futures(pending, timeout=timeout)
