"""An admin on a tutor's own pages (`/tutor/profile?tutor=<id>`, `/tutor/availability?...`):
every save there needs a reason and is kept in the audit log (`admin.tutors.edit_as_admin`).

A Reflex mixin, so the tutor portal's states keep their own parent (`AuthState`) and gain the
reason field only; a tutor on their own pages never sees it (`admin_editing` stays False).
"""

from __future__ import annotations

import reflex as rx

from tutor_app.admin import audit


class AdminEditMixin(rx.State, mixin=True):
    """`admin_editing` (set on load), the reason typed for the audit log, and its message."""

    admin_editing: bool = False
    edit_reason: str = ""
    reason_error: str = ""

    @rx.event
    def set_edit_reason(self, value: str) -> None:
        self.edit_reason = value
        self.reason_error = ""

    def _reason_missing(self, refused: audit.ReasonRequired) -> None:
        self.reason_error = str(refused)
