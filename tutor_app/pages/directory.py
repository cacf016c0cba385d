"""Placeholder directory page; replaced by the directory work."""

import reflex as rx


@rx.page(route="/", title="Find a tutor")
def directory() -> rx.Component:
    return rx.heading("Find a tutor")
