"""Shared look: spacing, widths and colours every page draws from.

Colours are Radix theme tokens (`rx.color(...)`), never hex values, so the app keeps working
in dark mode and follows the accent colour chosen once in `rx.theme(...)` in tutor_app.py.
"""

from __future__ import annotations

from typing import Any

import reflex as rx

TAGLINE = "Lessons with tutors who care, booked in a minute."

# Widths: one content column, centred, so long lines stay readable on wide screens.
CONTENT_MAX_WIDTH = "72rem"
NARROW_MAX_WIDTH = "48rem"

# Horizontal page padding per breakpoint (phone, tablet, desktop).
PAGE_PADDING_X = ["1rem", "1.5rem", "2rem"]
SECTION_GAP = "6"  # Radix spacing scale
CARD_GAP = "4"

MUTED_TEXT = rx.color("gray", 11)
SUBTLE_BORDER = f"1px solid {rx.color('gray', 5)}"
PAGE_BACKGROUND = rx.color("gray", 2)
SURFACE = rx.color("gray", 1)
ACCENT_SOFT = rx.color("accent", 3)

# Radix sizes used consistently: text of cards and secondary lines.
AVATAR_SIZE_CARD = "6"
AVATAR_SIZE_PROFILE = rx.breakpoints(initial="7", sm="8")


def content_column(max_width: str = CONTENT_MAX_WIDTH) -> dict[str, Any]:
    """Style of a centred content column with the page's responsive side padding."""
    return {
        "width": "100%",
        "max_width": max_width,
        "margin_x": "auto",
        "padding_x": PAGE_PADDING_X,
    }


def line_clamp(lines: int) -> dict[str, Any]:
    """Cut text after `lines` lines with an ellipsis (the card's short bio)."""
    return {
        "display": "-webkit-box",
        "-webkit-line-clamp": str(lines),
        "-webkit-box-orient": "vertical",
        "overflow": "hidden",
    }


# The visually hidden "Skip to content" link becomes visible when focused by keyboard.
SKIP_LINK: dict[str, Any] = {
    "position": "absolute",
    "left": "-9999px",
    "top": "0.5rem",
    "z_index": "100",
    "padding": "0.5rem 1rem",
    "border_radius": "var(--radius-3)",
    "background": SURFACE,
    "&:focus": {"left": "0.5rem"},
}
