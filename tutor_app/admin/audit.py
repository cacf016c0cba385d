"""The admin audit log: every admin action, recorded append-only in `audit_log`.

`record` is the only writer and it only inserts, in the caller's transaction, so an action and
its entry commit or roll back together. Every admin action asks for a reason; `record` refuses
an empty one (`ReasonRequired`), so no action can skip it.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlmodel import Session, col, select

from tutor_app.core import clock
from tutor_app.core.models import AuditEntry, User

MAX_REASON_LENGTH = 500
REASON_REQUIRED = "Please give a reason: it goes into the audit log."


class ReasonRequired(ValueError):
    """An admin action without a reason."""

    def __init__(self) -> None:
        super().__init__(REASON_REQUIRED)


def clean_reason(reason: str) -> str:
    """The reason as stored (trimmed, at most MAX_REASON_LENGTH); ReasonRequired when empty."""
    cleaned = " ".join((reason or "").split())[:MAX_REASON_LENGTH]
    if not cleaned:
        raise ReasonRequired
    return cleaned


def record(
    db: Session,
    *,
    actor: User,
    action: str,
    target_type: str,
    target_id: str,
    reason: str,
    before: dict[str, Any] | None = None,
    after: dict[str, Any] | None = None,
    now: datetime | None = None,
) -> AuditEntry:
    """Add one entry for `actor`'s `action` on a target. Caller commits (with the action)."""
    entry = AuditEntry(
        actor_id=actor.id, actor_email=actor.email, action=action, target_type=target_type,
        target_id=target_id, reason=clean_reason(reason), before=before, after=after,
        created_at=now or clock.now(),
    )
    db.add(entry)
    db.flush()
    return entry


def entries(
    db: Session,
    *,
    action: str | None = None,
    target_type: str | None = None,
    target_id: str | None = None,
    actor_email: str | None = None,
    limit: int = 100,
    before: datetime | None = None,
    before_id: str | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
) -> Sequence[AuditEntry]:
    """The newest entries first, filtered; `before` pages back in time (with `before_id`, the
    last entry shown: entries of the same instant are not skipped); `since` / `until` bound
    the time (until: excluded)."""
    query = select(AuditEntry)
    if action:
        query = query.where(col(AuditEntry.action) == action)
    if target_type:
        query = query.where(col(AuditEntry.target_type) == target_type)
    if target_id:
        query = query.where(col(AuditEntry.target_id) == target_id)
    if actor_email:
        query = query.where(col(AuditEntry.actor_email) == actor_email.strip().lower())
    if before is not None and before_id:
        query = query.where(sa.or_(
            col(AuditEntry.created_at) < before,
            sa.and_(col(AuditEntry.created_at) == before, col(AuditEntry.id) < before_id),
        ))
    elif before is not None:
        query = query.where(col(AuditEntry.created_at) < before)
    if since is not None:
        query = query.where(col(AuditEntry.created_at) >= since)
    if until is not None:
        query = query.where(col(AuditEntry.created_at) < until)
    query = query.order_by(col(AuditEntry.created_at).desc(), col(AuditEntry.id).desc())
    return db.exec(query.limit(max(1, min(limit, 500)))).all()


def changes(before: dict[str, Any] | None, after: dict[str, Any] | None
            ) -> list[tuple[str, str, str]]:
    """A compact diff of an entry: (field, before, after) for each field that differs, by
    name; a field missing on one side shows as "" there."""
    old, new = before or {}, after or {}
    return [
        (key, _shown(old.get(key)), _shown(new.get(key)))
        for key in sorted(set(old) | set(new))
        if old.get(key) != new.get(key)
    ]


def _shown(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, list | tuple):
        return ", ".join(str(v) for v in value)
    return str(value)
