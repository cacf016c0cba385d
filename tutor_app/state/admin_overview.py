"""`/admin`: the business's figures and charts over a chosen range (`admin.overview`).

Every handler asks `_admin()` first and shows nothing to anyone else. Days are the admin's
(the viewer's zone: the `tz` cookie, or the browser when asked), unless `admin.overview`
falls back to UTC for a zone off the hour; the page says which zone its days are in.
"""

from __future__ import annotations

import asyncio
from typing import Any, TypedDict

import reflex as rx
from reflex.event import EventSpec

from tutor_app.admin import overview
from tutor_app.catalog.pricing import format_money, plain_amount
from tutor_app.core import db as app_db
from tutor_app.state.admin_base import AdminState
from tutor_app.state.viewer_zone import ViewerZoneMixin

TOP_TUTORS = 20  # the lessons-per-tutor chart shows the busiest ones


class Figure(TypedDict):
    key: str
    label: str
    value: str


class DayPoint(TypedDict):
    day: str  # "Jun 3"
    lessons: int
    consultations: int


class WeekPoint(TypedDict):
    week: str  # the week's first day in the range, "Jun 1"
    revenue: float  # in the currency's major unit, for the chart's axis
    refunds: float


class TutorPoint(TypedDict):
    tutor: str
    lessons: int


def _major(cents: int, currency: str) -> float:
    return float(plain_amount(cents, currency))


def _figures(found: overview.Overview) -> list[Figure]:
    def money(items: list[overview.Money]) -> str:
        return " · ".join(format_money(m.cents, m.currency) for m in items)

    return [
        {"key": "bookings", "label": "Bookings",
         "value": f"{found.bookings} ({found.lessons} lessons, "
                  f"{found.consultations} consultations)"},
        {"key": "revenue", "label": "Revenue", "value": money(found.revenue)},
        {"key": "refunds", "label": "Refunds", "value": money(found.refunds)},
        {"key": "new-students", "label": "New students", "value": str(found.new_students)},
    ]


def read_overview(day_range: overview.DayRange) -> overview.Overview:
    """The range's overview (blocking: run in a thread)."""
    with app_db.session() as db:
        return overview.overview(db, day_range)


class AdminOverviewState(ViewerZoneMixin, AdminState):
    """The chosen range, its figures and the charts' series."""

    preset: str = overview.THIS_MONTH
    first_day: str = ""  # YYYY-MM-DD, the range shown
    last_day: str = ""
    days_zone: str = ""
    range_error: str = ""
    figures: list[Figure] = []
    per_day: list[DayPoint] = []
    per_tutor: list[TutorPoint] = []
    currencies: list[str] = []
    chart_currency: str = "usd"
    per_week: list[WeekPoint] = []
    _weeks: dict[str, list[WeekPoint]] = {}

    def _clear(self) -> None:
        self.figures, self.per_day, self.per_tutor, self.per_week = [], [], [], []
        self.currencies, self._weeks = [], {}

    async def _show(self, day_range: overview.DayRange) -> None:
        found = await asyncio.to_thread(read_overview, day_range)
        self.first_day, self.last_day = found.range.first.isoformat(), found.range.last.isoformat()
        self.days_zone = found.zone
        self.figures = _figures(found)
        self.per_day = [{"day": f"{d.day:%b} {d.day.day}", "lessons": d.lessons,
                         "consultations": d.consultations} for d in found.per_day]
        self.per_tutor = [{"tutor": t.name, "lessons": t.lessons}
                          for t in found.per_tutor[:TOP_TUTORS]]
        self.currencies = [m.currency for m in found.revenue]
        self._weeks = {
            c: [{"week": f"{w.week:%b} {w.week.day}", "revenue": _major(w.revenue_cents, c),
                 "refunds": _major(w.refunds_cents, c)}
                for w in found.per_week if w.currency == c]
            for c in self.currencies
        }
        if self.chart_currency not in self._weeks:
            self.chart_currency = self.currencies[0] if self.currencies else "usd"
        self.per_week = self._weeks.get(self.chart_currency, [])

    @rx.event
    async def load(self) -> EventSpec | None:
        """on_load: this month, in the viewer's zone; nothing at all for a non-admin."""
        admin = await self._admin()
        self._clear()
        self.range_error = ""
        ask_zone = self._detect_viewer_tz()
        if admin is not None:
            self.preset = overview.THIS_MONTH
            await self._show(overview.preset_range(self.preset, self.viewer_tz))
        self.loaded = True
        return ask_zone

    @rx.event
    async def choose_preset(self, preset: str) -> None:
        """A preset button: this month, the last 30 days or the last 12 months."""
        admin = await self._admin()
        if admin is None:
            self._clear()
            return
        self.preset = preset if preset in overview.PRESETS else overview.THIS_MONTH
        self.range_error = ""
        await self._show(overview.preset_range(self.preset, self.viewer_tz))

    @rx.event
    async def apply_custom(self, form_data: dict[str, Any]) -> None:
        """The custom from/to days (YYYY-MM-DD); a bad range is said under the fields."""
        admin = await self._admin()
        if admin is None:
            self._clear()
            return
        first, last = (str(form_data.get(name) or "").strip() for name in ("from", "to"))
        try:
            day_range = overview.custom_range(first, last, self.viewer_tz)
        except overview.InvalidRange as exc:
            self.range_error = str(exc)
            return
        self.preset, self.range_error = "", ""
        await self._show(day_range)

    @rx.event
    async def choose_currency(self, currency: str) -> None:
        """The currency of the revenue and refunds chart."""
        if await self._admin() is None:
            self._clear()
            return
        if currency in self._weeks:
            self.chart_currency = currency
            self.per_week = self._weeks[currency]
