"""Importing this package registers every page (each module uses `@rx.page`)."""

from tutor_app.pages import directory  # noqa: F401
