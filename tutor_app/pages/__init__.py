"""Importing this package registers every page (each module uses `@page`, the typed `@rx.page`)."""

from tutor_app.pages import (  # noqa: F401
    account,
    admin_bookings,
    book_now,
    dashboard,
    dev_checkout,
    dev_outbox,
    directory,
    forgot_password,
    login,
    not_found,
    payment,
    reset_password,
    signup,
    tutor_availability,
    tutor_earnings,
    tutor_join,
    tutor_portal,
    tutor_profile,
    tutor_profile_edit,
    verify_email,
)
