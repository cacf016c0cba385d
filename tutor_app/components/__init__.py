"""Reusable pieces of pages: the shared frame, link-buttons, native forms, tutor cards."""

from tutor_app.components.layout import link_button, native_post_form, page_layout

__all__ = ["link_button", "native_post_form", "page_layout"]
