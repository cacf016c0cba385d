"""`/dev/outbox`: the mails the app would have sent, on a developer's own machine (render only;
see `state/dev_outbox.py`). Anywhere else it is the not-found page.

The open mail's HTML part is shown in a sandboxed frame (no scripts, no access to this page;
its links open in a new tab), under it the plain part, then the attachments as downloads.
Ids the tests use: `#outbox-list` with a `.outbox-mail` row each (`data-mail`), `#outbox-empty`,
`#mail-subject`, `#mail-html`, `#mail-text`, `#mail-attachments`, `#outbox-not-found`.
"""

from __future__ import annotations

import reflex as rx

from tutor_app.components import style
from tutor_app.components.alerts import error_callout
from tutor_app.components.layout import loading_placeholder, page_layout
from tutor_app.components.not_found import missing_page_message
from tutor_app.core import routes
from tutor_app.core.settings import PRODUCT_NAME
from tutor_app.state.dev_outbox import DevOutboxState
from tutor_app.state.typed import Row, array, cond_value, handler, page

S = DevOutboxState
# Allowed to the mail's frame: opening its links in a new tab, as a mail client does. No
# scripts, no same-origin rights, no navigating this page.
FRAME_SANDBOX = "allow-popups allow-popups-to-escape-sandbox"


def _mail_row(row: Row) -> rx.Component:
    current = row["id"] == S.mail_id
    return rx.box(
        rx.text(row["subject"], size="2", weight="medium", trim="end"),
        rx.text(row["to"], size="1", color=style.MUTED_TEXT),
        rx.text(row["when"], size="1", color=style.MUTED_TEXT),
        on_click=handler(S.open_mail)(row["id"].to(str)),
        class_name="outbox-mail",
        custom_attrs={"data-mail": row["id"].to(str), "role": "button"},
        tab_index=0,
        cursor="pointer",
        padding="0.625rem 0.75rem",
        border_bottom=style.SUBTLE_BORDER,
        background=cond_value(current, style.ACCENT_SOFT, "transparent"),
        width="100%",
    )


def _list() -> rx.Component:
    return rx.vstack(
        rx.hstack(
            rx.heading("Outbox", as_="h1", size="6"),
            rx.button(rx.icon("refresh-cw", size=14, aria_hidden="true"), "Refresh",
                      on_click=S.refresh, variant="soft", size="1", id="outbox-refresh"),
            justify="between",
            align="center",
            width="100%",
        ),
        rx.text("What the app would have sent: no SMTP_URL is set, so mails are written to "
                "OUTBOX_DIR instead.", size="1", color=style.MUTED_TEXT),
        rx.cond(
            S.empty_message != "",
            rx.text(S.empty_message, size="2", id="outbox-empty"),
            rx.box(rx.foreach(S.mails, _mail_row), id="outbox-list", width="100%",
                   border=style.SUBTLE_BORDER, border_radius="var(--radius-3)",
                   background=style.SURFACE, max_height="75vh", overflow_y="auto"),
        ),
        spacing="3",
        width="100%",
    )


def _header_line(label: str, value: rx.Var[str] | str) -> rx.Component:
    return rx.hstack(
        rx.text(label, size="2", color=style.MUTED_TEXT, min_width="4rem"),
        rx.text(value, size="2"),
        spacing="2",
    )


def _download_link(label: rx.Var[str] | str, *, href: rx.Var[str] | str,
                   filename: rx.Var[str] | str = "") -> rx.Component:
    """A plain link the browser follows itself (the file comes from the backend, not a page)."""
    return rx.el.a(label, href=href, download=filename, font_size="0.875rem",
                   color=rx.color("accent", 11))


def _attachment(row: Row) -> rx.Component:
    return rx.hstack(
        rx.icon("paperclip", size=14, aria_hidden="true"),
        _download_link(row["name"], href=row["url"].to(str), filename=row["name"].to(str)),
        rx.text(row["type"], " · ", row["size"], size="1", color=style.MUTED_TEXT),
        spacing="2",
        align="center",
    )


def _mail() -> rx.Component:
    return rx.vstack(
        rx.heading(S.subject, as_="h2", size="5", id="mail-subject"),
        _header_line("From", S.sender),
        _header_line("To", S.to),
        _header_line("Date", S.when),
        rx.hstack(
            rx.link("Link to this mail", href=S.mail_link, size="2"),
            _download_link("Download .eml", href=S.raw_url),
            spacing="4",
        ),
        rx.cond(
            S.html != "",
            rx.el.iframe(src_doc=S.html, sandbox=FRAME_SANDBOX, title="The mail's HTML part",
                         id="mail-html", width="100%", height="480px",
                         style={"border": style.SUBTLE_BORDER, "border_radius": "var(--radius-3)",
                                "background": "white"}),
        ),
        rx.heading("Plain text", as_="h3", size="3"),
        rx.el.pre(S.text, id="mail-text", white_space="pre-wrap", font_size="0.8rem",
                  padding="0.75rem", width="100%", border=style.SUBTLE_BORDER,
                  border_radius="var(--radius-3)", background=style.SURFACE),
        rx.cond(
            array(S.attachments).length() > 0,
            rx.vstack(
                rx.heading("Attachments", as_="h3", size="3"),
                rx.foreach(S.attachments, _attachment),
                id="mail-attachments",
                spacing="2",
            ),
        ),
        spacing="3",
        width="100%",
    )


def _outbox() -> rx.Component:
    return rx.grid(
        _list(),
        rx.vstack(
            error_callout(S.error, "mail-error"),
            rx.cond(S.mail_id != "", _mail(),
                    rx.text("Pick a mail to see it as its recipient would.", size="2",
                            color=style.MUTED_TEXT)),
            width="100%",
        ),
        columns=rx.breakpoints(initial="1", md="2"),
        grid_template_columns=["1fr", "1fr", "minmax(16rem, 22rem) 1fr"],
        gap="1.5rem",
        width="100%",
    )


@page(route=routes.DEV_OUTBOX, title=f"Outbox · {PRODUCT_NAME}", on_load=S.load)
def dev_outbox() -> rx.Component:
    return page_layout(
        rx.cond(
            S.loaded,
            rx.cond(S.available, _outbox(), missing_page_message(id="outbox-not-found")),
            loading_placeholder(rx.box(height="12rem", width="100%"), spacing="4"),
        ),
    )
