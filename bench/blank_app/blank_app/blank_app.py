"""The framework's floor: one page, one counter button, nothing else.

`bench/wizard.py` measures it exactly like the booking wizard (click to rendered, navigation
to the first answered interaction), so the wizard's figures read as a ratio to what any Reflex
app costs on this machine.
"""

import reflex as rx


class CounterState(rx.State):
    """One integer, changed by one event: the smallest state round trip Reflex can make."""

    count: int = 0

    @rx.event
    def increment(self) -> None:
        self.count += 1


def index() -> rx.Component:
    return rx.center(
        rx.vstack(
            rx.heading("Blank"),
            rx.text(CounterState.count, id="count"),
            rx.button("Add one", id="increment", on_click=CounterState.increment),
        ),
        padding="2em",
    )


app = rx.App()
app.add_page(index, route="/", title="Blank")
