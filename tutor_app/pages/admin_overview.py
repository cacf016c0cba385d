"""`/admin`: the overview's figures and charts over a chosen range (Reflex's recharts).

Ids for the browser tests: `#overview-presets` (`#preset-<key>`), `#overview-range` (`#from-day`,
`#to-day`, `#show-range`), `#range-error`, `#overview-zone`, `#figure-<key>` each,
`#chart-bookings`, `#chart-revenue` (`#chart-currency`), `#chart-tutors`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, cast

import reflex as rx
from reflex.vars import Var

from tutor_app.admin import overview
from tutor_app.components import style
from tutor_app.components.admin_nav import admin_page
from tutor_app.core import routes
from tutor_app.core.settings import PRODUCT_NAME
from tutor_app.pages.login import field_error
from tutor_app.state.admin_overview import AdminOverviewState
from tutor_app.state.typed import Row, array, cond_value, handler, page

V = AdminOverviewState
DEFINITIONS = (
    "Bookings: lessons and free consultations made in the range. Revenue: what students paid "
    "for the lessons booked in the range (consultations are free, never revenue), per "
    "currency. Refunds: refunds Stripe confirmed in the range. New students: student accounts "
    "created in the range. Lessons per tutor: lessons booked in the range and not canceled."
)
_INPUT_STYLE = {
    "padding": "0.375rem 0.625rem",
    "border": f"1px solid {rx.color('gray', 7)}",
    "border_radius": "var(--radius-3)",
    "background": style.SURFACE,
    "font_size": "0.9rem",
}
_CHART_HEIGHT = 260


def _series(field: Sequence[Mapping[str, Any]]) -> Var[Sequence[dict[str, Any]]]:
    """A state's list of chart points read on its class: the Var recharts takes as `data`
    (the points are TypedDicts, which mypy does not count as `dict[str, Any]`)."""
    return cast(Var[Sequence[dict[str, Any]]], field)


def _presets() -> rx.Component:
    return rx.hstack(
        *[
            rx.button(label, size="2", id=f"preset-{key}",
                      variant=cond_value(V.preset == key, "solid", "soft"),
                      on_click=handler(V.choose_preset)(key))
            for key, label in overview.PRESETS.items()
        ],
        spacing="2", wrap="wrap", id="overview-presets",
    )


def _day_field(label: str, name: str, value: Var[str] | str) -> rx.Component:
    return rx.vstack(
        rx.el.label(label, html_for=f"{name}-day", font_size="0.8rem", font_weight="500"),
        rx.el.input(type="date", id=f"{name}-day", name=name, default_value=value, key=value,
                    style=_INPUT_STYLE),
        spacing="1",
    )


def _range_form() -> rx.Component:
    return rx.form(
        rx.vstack(
            rx.hstack(
                _day_field("From", "from", V.first_day),
                _day_field("To", "to", V.last_day),
                rx.button("Show", type="submit", size="2", id="show-range"),
                spacing="3", align="end", wrap="wrap",
            ),
            field_error(V.range_error, "range-error"),
            spacing="2",
        ),
        on_submit=V.apply_custom, no_validate=True, id="overview-range",
    )


def _figure(figure: Row) -> rx.Component:
    return rx.card(
        rx.vstack(
            rx.text(figure["label"], size="2", color=style.MUTED_TEXT),
            rx.text(figure["value"], size="5", weight="bold"),
            spacing="1",
        ),
        id="figure-" + figure["key"].to(str),
    )


def _chart_card(title: str, chart: rx.Component, chart_id: str,
                *extra: rx.Component) -> rx.Component:
    return rx.card(
        rx.vstack(rx.hstack(rx.heading(title, as_="h2", size="4"), *extra, justify="between",
                            width="100%"),
                  chart, spacing="3", width="100%"),
        id=chart_id, width="100%",
    )


def _bookings_chart() -> rx.Component:
    return rx.recharts.bar_chart(
        rx.recharts.cartesian_grid(stroke_dasharray="3 3"),
        rx.recharts.x_axis(data_key="day"),
        rx.recharts.y_axis(allow_decimals=False),
        rx.recharts.graphing_tooltip(),
        rx.recharts.legend(),
        rx.recharts.bar(data_key="lessons", name="Lessons", stack_id="b",
                        fill=rx.color("accent", 9)),
        rx.recharts.bar(data_key="consultations", name="Consultations", stack_id="b",
                        fill=rx.color("gray", 8)),
        data=_series(V.per_day), width="100%", height=_CHART_HEIGHT,
    )


def _money_chart() -> rx.Component:
    return rx.recharts.bar_chart(
        rx.recharts.cartesian_grid(stroke_dasharray="3 3"),
        rx.recharts.x_axis(data_key="week"),
        rx.recharts.y_axis(),
        rx.recharts.graphing_tooltip(),
        rx.recharts.legend(),
        rx.recharts.bar(data_key="revenue", name="Revenue", fill=rx.color("accent", 9)),
        rx.recharts.bar(data_key="refunds", name="Refunds", fill=rx.color("red", 9)),
        data=_series(V.per_week), width="100%", height=_CHART_HEIGHT,
    )


def _tutors_chart() -> rx.Component:
    return rx.recharts.bar_chart(
        rx.recharts.cartesian_grid(stroke_dasharray="3 3"),
        rx.recharts.x_axis(type_="number", allow_decimals=False),
        rx.recharts.y_axis(data_key="tutor", type_="category", width=140),
        rx.recharts.graphing_tooltip(),
        rx.recharts.bar(data_key="lessons", name="Lessons", fill=rx.color("accent", 9)),
        data=_series(V.per_tutor), layout="vertical", width="100%", height=_CHART_HEIGHT + 120,
    )


def _currency_select() -> rx.Component:
    return rx.cond(
        array(V.currencies).length() > 1,
        rx.select(V.currencies, value=V.chart_currency, on_change=V.choose_currency,
                  size="1", id="chart-currency"),
    )


def _body() -> rx.Component:
    return rx.vstack(
        _presets(),
        _range_form(),
        rx.text("Days are counted in ", rx.el.strong(V.days_zone), ", from ", V.first_day,
                " to ", V.last_day, ".", size="2", color=style.MUTED_TEXT, id="overview-zone"),
        rx.grid(rx.foreach(V.figures, _figure), columns=rx.breakpoints(initial="1", sm="2",
                                                                        md="4"),
                spacing="3", width="100%"),
        _chart_card("Bookings per day", _bookings_chart(), "chart-bookings"),
        _chart_card("Revenue and refunds per week", _money_chart(), "chart-revenue",
                    _currency_select()),
        _chart_card("Lessons per tutor", _tutors_chart(), "chart-tutors"),
        rx.text(DEFINITIONS, size="2", color=style.MUTED_TEXT, id="overview-definitions"),
        spacing="5", width="100%",
    )


@page(route=routes.ADMIN_PORTAL, title=f"Admin · {PRODUCT_NAME}", on_load=V.load)
def admin_overview() -> rx.Component:
    return admin_page(loaded=V.loaded, allowed=V.allowed, heading="Overview", body=_body())
