"""`/tutor/earnings`: a tutor's earnings per month, and the same range as a CSV download.

Ids the browser tests use: `#earnings-range` (`#from-month`, `#to-month`, `#show-range`),
`#range-error`, `#earnings-table` with a `.earnings-month` row each (`data-month`) and
`#earnings-total`, `#download-csv`, `#earnings-not-found`.
"""

from __future__ import annotations

import reflex as rx
from reflex.vars import Var
from reflex_components_core.react_router.dom import ReactRouterLink

from tutor_app.components import style
from tutor_app.components.layout import page_layout
from tutor_app.components.not_found import missing_page_message
from tutor_app.components.tutor_nav import tutor_nav
from tutor_app.core import routes
from tutor_app.core.settings import PRODUCT_NAME
from tutor_app.pages.login import field_error
from tutor_app.state.tutor_earnings import TutorEarningsState
from tutor_app.state.typed import Row, array, cond_value, page

E = TutorEarningsState
_INPUT_STYLE = {
    "padding": "0.375rem 0.625rem",
    "border": f"1px solid {rx.color('gray', 7)}",
    "border_radius": "var(--radius-3)",
    "background": style.SURFACE,
    "font_size": "0.9rem",
}
DEFINITIONS = (
    "Each lesson counts in the month it started, in your time zone. Completed: lessons that "
    "took place (over, or marked attended or no-show); canceled lessons never count. Gross: "
    "what students paid for them. Refunds: what was refunded of those lessons. Net: gross "
    "minus refunds."
)


def _month_field(label: str, name: str, value: Var[str] | str) -> rx.Component:
    return rx.vstack(
        rx.el.label(label, html_for=f"{name}-month", font_size="0.8rem", font_weight="500"),
        rx.el.input(type="month", id=f"{name}-month", name=name, default_value=value,
                    key=value, placeholder="YYYY-MM", style=_INPUT_STYLE),
        spacing="1",
    )


def _range_form() -> rx.Component:
    return rx.form(
        rx.vstack(
            rx.hstack(
                _month_field("From", "from", E.first_month),
                _month_field("To", "to", E.last_month),
                rx.button("Show", type="submit", size="2", id="show-range"),
                rx.cond(
                    E.csv_url != "",
                    rx.button(
                        ReactRouterLink.create(
                            rx.icon("download", size=14, aria_hidden="true"),
                            "Download CSV",
                            to=E.csv_url,
                            reload_document=True,
                            download="",
                            id="download-csv",
                        ),
                        as_child=True,
                        variant="soft",
                        size="2",
                    ),
                ),
                spacing="3",
                align="end",
                wrap="wrap",
            ),
            field_error(E.range_error, "range-error"),
            spacing="2",
            width="100%",
        ),
        on_submit=E.apply_range,
        no_validate=True,
        id="earnings-range",
        width="100%",
    )


def _cells(row: Row) -> list[rx.Component]:
    return [
        rx.table.cell(row["lessons"], text_align="right"),
        rx.table.cell(row["gross"], text_align="right"),
        rx.table.cell(row["refunds"], text_align="right"),
        rx.table.cell(row["net"], text_align="right", font_weight="500"),
    ]


def _month_row(row: Row) -> rx.Component:
    return rx.table.row(
        rx.table.row_header_cell(row["label"]),
        *_cells(row),
        class_name="earnings-month",
        custom_attrs={"data-month": row["month"].to(str)},
    )


def _total_row(row: Row) -> rx.Component:
    return rx.table.row(
        rx.table.row_header_cell(rx.text(row["label"], weight="bold")),
        *_cells(row),
        id="earnings-total",
        background=style.ACCENT_SOFT,
    )


def _table() -> rx.Component:
    return rx.box(
        rx.table.root(
            rx.table.header(
                rx.table.row(
                    rx.table.column_header_cell("Month"),
                    *[rx.table.column_header_cell(h, text_align="right")
                      for h in ("Lessons completed", "Gross", "Refunds", "Net")],
                )
            ),
            rx.table.body(rx.foreach(E.months, _month_row), rx.foreach(E.total_rows, _total_row)),
            variant="surface",
            width="100%",
        ),
        overflow_x="auto",
        width="100%",
        id="earnings-table",
    )


def _earnings() -> rx.Component:
    return rx.vstack(
        rx.heading(cond_value(E.own_portal, "Your earnings", "Earnings: " + E.tutor_name),
                   as_="h1", size="7"),
        tutor_nav(),
        _range_form(),
        rx.cond(array(E.months).length() > 0, _table()),
        rx.text(DEFINITIONS, size="2", color=style.MUTED_TEXT, id="earnings-definitions"),
        spacing="5",
        width="100%",
    )


@page(route=routes.TUTOR_EARNINGS, title=f"Earnings · {PRODUCT_NAME}", on_load=E.load)
def tutor_earnings() -> rx.Component:
    return page_layout(
        rx.cond(
            E.loaded,
            rx.cond(E.found, _earnings(), missing_page_message(id="earnings-not-found")),
            rx.skeleton(rx.box(height="8rem", width="100%"), loading=True),
        ),
        max_width=style.NARROW_MAX_WIDTH,
    )
