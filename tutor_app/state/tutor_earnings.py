"""`/tutor/earnings`: a tutor's months (lessons completed, gross, refunds, net) and the CSV link.

Who may look is `tutors.access.tutor_for_user`, as on `/tutor` (an admin adds `?tutor=<id>`);
anyone else gets the not-found page. The figures and their definitions are
`tutors.earnings`'; months are the tutor's own (their profile's zone). The range is chosen as
two months (YYYY-MM), the last twelve by default; the CSV link carries the same range to
`GET /api/tutor/earnings.csv`.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from datetime import date
from typing import Any, TypedDict
from urllib.parse import urlencode

import reflex as rx
from reflex.event import EventSpec

from tutor_app.catalog import pricing
from tutor_app.core import db as app_db
from tutor_app.core.models import User
from tutor_app.state.auth import AuthState, login_url
from tutor_app.tutors import earnings
from tutor_app.tutors.access import tutor_for_user

CSV_ROUTE = "/api/tutor/earnings.csv"


class EarningsRow(TypedDict):
    """One month (and currency) as the table shows it."""

    month: str  # "2026-06"
    label: str  # "June 2026"
    lessons: str
    gross: str
    refunds: str
    net: str


@dataclass(frozen=True)
class EarningsRead:
    """What one read found: the tutor (or "" when the visitor may not look) and the months."""

    tutor_id: str
    tutor_name: str
    first: date | None
    last: date | None
    months: list[earnings.MonthEarnings]
    error: str = ""


def read_earnings(user: User, requested_tutor: str | None, first: str | None,
                  last: str | None) -> EarningsRead:
    """The visitor's tutor and their months in the range asked (blocking: run in a thread)."""
    with app_db.session() as db:
        tutor = tutor_for_user(db, user, tutor_id=requested_tutor or None)
        if tutor is None:
            return EarningsRead("", "", None, None, [])
        try:
            start, end = earnings.read_range(first, last, tutor.timezone)
        except earnings.InvalidRange as exc:
            return EarningsRead(tutor.id, tutor.name, None, None, [], str(exc))
        months = earnings.monthly_earnings(db, tutor=tutor, first=start, last=end)
        return EarningsRead(tutor.id, tutor.name, start, end, months)


def earnings_row(month: earnings.MonthEarnings) -> EarningsRow:
    def money(cents: int) -> str:
        return pricing.format_money(cents, month.currency)

    parsed = earnings.parse_month(month.month)
    return {
        "month": month.month,
        "label": f"{parsed:%B %Y}" if parsed else month.month,
        "lessons": str(month.lessons_completed),
        "gross": money(month.gross_cents),
        "refunds": money(month.refunds_cents),
        "net": money(month.net_cents),
    }


def totals(months: list[earnings.MonthEarnings]) -> list[EarningsRow]:
    """One "Total" row per currency over the range."""
    by_currency: dict[str, list[int]] = {}
    for m in months:
        sums = by_currency.setdefault(m.currency, [0, 0, 0])
        sums[0] += m.lessons_completed
        sums[1] += m.gross_cents
        sums[2] += m.refunds_cents
    return [
        earnings_row(earnings.MonthEarnings("", currency, lessons, gross, refunded))
        | {"label": "Total" if len(by_currency) == 1 else f"Total ({currency.upper()})"}
        for currency, (lessons, gross, refunded) in sorted(by_currency.items())
    ]


def _field(form_data: dict[str, Any], name: str) -> str:
    value = form_data.get(name, "")
    return value.strip() if isinstance(value, str) else ""


class TutorEarningsState(AuthState):
    """The earnings table of the tutor whose portal this is."""

    loaded: bool = False
    found: bool = False
    own_portal: bool = False
    tutor_id: str = ""
    tutor_name: str = ""
    first_month: str = ""  # YYYY-MM
    last_month: str = ""
    range_error: str = ""
    months: list[EarningsRow] = []
    total_rows: list[EarningsRow] = []

    @rx.var
    def csv_url(self) -> str:
        """The CSV of the range shown ("" until there is one)."""
        if not self.found or not self.first_month:
            return ""
        query = {"from": self.first_month, "to": self.last_month}
        if not self.own_portal:
            query["tutor"] = self.tutor_id
        return f"{CSV_ROUTE}?{urlencode(query)}"

    def _requested_tutor(self) -> str:
        return self.router.url.query_parameters.get("tutor", "")

    async def _show(self, user: User, first: str | None, last: str | None) -> None:
        found = await asyncio.to_thread(read_earnings, user, self._requested_tutor(), first,
                                        last)
        self.found = bool(found.tutor_id)
        self.own_portal = self.found and user.tutor_id == found.tutor_id
        self.tutor_id, self.tutor_name = found.tutor_id, found.tutor_name
        self.range_error = found.error
        if found.error:
            return
        self.first_month = earnings.month_key(found.first) if found.first else ""
        self.last_month = earnings.month_key(found.last) if found.last else ""
        self.months = [earnings_row(m) for m in found.months]
        self.total_rows = totals(found.months)

    @rx.event
    async def load(self) -> EventSpec | None:
        """on_load: sign in first; then the last twelve months, or the not-found page."""
        user = await self._current_user_off_loop()
        self._show_user(user)
        if user is None:
            return rx.redirect(login_url(self._current_path()))
        self.first_month = self.last_month = self.range_error = ""
        self.months, self.total_rows = [], []
        await self._show(user, None, None)
        self.loaded = True
        return None

    @rx.event
    async def apply_range(self, form_data: dict[str, Any]) -> None:
        """The months chosen in the form (YYYY-MM each); a bad range is said by the fields."""
        user = await self._current_user_off_loop()
        if user is None:
            self.found = False
            return
        first, last = _field(form_data, "from"), _field(form_data, "to")
        if not first or not last:
            self.range_error = earnings.BAD_MONTH
            return
        await self._show(user, first, last)
