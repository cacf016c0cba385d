"""What every admin page state shares: the admin check, asked afresh on every event.

Each admin state subclasses `AdminState`; its handlers start with
`admin = await self._admin()` and do nothing when it is None (the page then shows the
ordinary not-found message). The check reads the database, so it runs off the event loop.
"""

from __future__ import annotations

from tutor_app.admin import access
from tutor_app.core.models import User
from tutor_app.state.auth import AuthState


class AdminState(AuthState):
    """`allowed`: the signed-in user is an admin; `loaded`: the page's first load is done."""

    allowed: bool = False
    loaded: bool = False

    async def _admin(self) -> User | None:
        """The signed-in admin, or None (then `allowed` is False and nothing may be shown)."""
        user = await self._current_user_off_loop()
        self._show_user(user)
        self.allowed = access.is_admin(user)
        return user if self.allowed else None
