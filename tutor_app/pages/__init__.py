"""Importing this package registers every page (each module uses `@page`, the typed `@rx.page`)."""

from tutor_app.pages import (  # noqa: F401
    account,
    book_now,
    dashboard,
    dev_checkout,
    directory,
    login,
    not_found,
    payment,
    signup,
    tutor_portal,
    tutor_profile,
)
