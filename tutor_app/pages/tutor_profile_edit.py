"""`/tutor/profile`: the tutor edits the profile students see, beside a live preview of its
card. (`pages/tutor_profile.py` is the public profile, `/tutors/<id>`.)

Ids the browser tests use: `#name`, `#headline`, `#bio`, `#subject-draft` and `#add-subject`
(tags `.subject-tag`, each with a remove button), `#hourly_rate`, `#currency`,
`#duration-<minutes>` checkboxes, `#timezone`, `#photo-upload`, `#save-profile`,
`#profile-notice`, each field's message `#<field>-error`, the preview `#profile-preview` and
the link to the public profile `#public-profile-link`. Anybody who does not run the profile
sees `#tutor-portal-not-found`.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import cast

import reflex as rx
from reflex.vars import StringVar

from tutor_app.components import style
from tutor_app.components.admin_forms import admin_edit_banner
from tutor_app.components.alerts import notice_callout
from tutor_app.components.tutor_card import tutor_avatar, tutor_card
from tutor_app.components.tutor_forms import editor_section, field_label, native_select
from tutor_app.components.tutor_nav import tutor_editor_page, tutor_nav
from tutor_app.core import routes, timefmt
from tutor_app.core.settings import PRODUCT_NAME
from tutor_app.pages.login import field_error, labelled_input
from tutor_app.state.tutor_profile_edit import PHOTO_UPLOAD_ID, TutorProfileEditState
from tutor_app.state.typed import Row, array, handler, page
from tutor_app.tutors import media, profile

S = TutorProfileEditState
ACCEPTED_PHOTOS: dict[str, Sequence[str]] = {"image/png": [".png"], "image/jpeg": [".jpg", ".jpeg"],
                   "image/webp": [".webp"]}


def _photo() -> rx.Component:
    return rx.hstack(
        tutor_avatar(cast(Row, S.preview), size="7"),
        rx.vstack(
            rx.upload.root(
                rx.button(
                    rx.icon("image-up", size=16, aria_hidden="true"),
                    "Upload a photo",
                    type="button",
                    variant="soft",
                    loading=S.uploading,
                ),
                id=PHOTO_UPLOAD_ID,
                accept=ACCEPTED_PHOTOS,
                max_files=1,
                multiple=False,
                max_size=media.MAX_PHOTO_BYTES,
                on_drop=handler(S.upload_photo)(rx.upload_files(upload_id=PHOTO_UPLOAD_ID)),
                on_drop_rejected=S.photo_rejected,
            ),
            rx.text("PNG, JPEG or WebP, up to 5 MB. We crop it to a square.", size="1",
                    color=style.MUTED_TEXT),
            field_error(S.photo_error, "photo-error"),
            spacing="2",
        ),
        spacing="4",
        align="center",
    )


def _bio() -> rx.Component:
    return rx.vstack(
        field_label("About you", "bio"),
        rx.text_area(
            id="bio",
            name="bio",
            value=S.bio,
            on_change=S.set_bio,
            rows="6",
            width="100%",
            max_length=profile.MAX_BIO_LENGTH,
            custom_attrs={"aria-describedby": "bio-error"},
        ),
        field_error(S.bio_error, "bio-error"),
        spacing="1",
        width="100%",
    )


def _subject_tag(subject: StringVar[str]) -> rx.Component:
    return rx.badge(
        subject,
        rx.icon_button(
            rx.icon("x", size=12),
            on_click=handler(S.remove_subject)(subject),
            size="1",
            variant="ghost",
            radius="full",
            aria_label="Remove " + subject,
            type="button",
        ),
        variant="soft",
        radius="full",
        size="2",
        class_name="subject-tag",
    )


def _subjects() -> rx.Component:
    return rx.vstack(
        field_label("Subjects", "subject-draft"),
        rx.flex(rx.foreach(array(S.subjects), _subject_tag), gap="0.5rem", wrap="wrap",
                id="subjects"),
        rx.hstack(
            rx.input(
                id="subject-draft",
                value=S.subject_draft,
                on_change=S.set_subject_draft,
                on_key_down=S.subject_key,
                placeholder="Add a subject, e.g. Algebra",
                list="subject-suggestions",
                max_length=profile.MAX_SUBJECT_LENGTH,
                custom_attrs={"aria-describedby": "subjects-error"},
                flex="1",
            ),
            rx.button("Add", type="button", variant="soft", on_click=S.add_subject,
                      id="add-subject"),
            width="100%",
        ),
        rx.el.datalist(
            rx.foreach(array(S.subject_suggestions), lambda s: rx.el.option(value=s)),
            id="subject-suggestions",
        ),
        rx.text(f"Up to {profile.MAX_SUBJECTS}. Press Enter or Add after each one.", size="1",
                color=style.MUTED_TEXT),
        field_error(S.subjects_error, "subjects-error"),
        spacing="2",
        width="100%",
    )


def _price() -> rx.Component:
    return rx.vstack(
        rx.hstack(
            rx.box(
                labelled_input(
                    "Hourly rate", "hourly_rate", value=S.hourly_rate,
                    on_change=S.set_hourly_rate, input_mode="decimal", error=S.rate_error,
                    hint=f"From 1.00 to {profile.MAX_RATE_CENTS // 100}.00 an hour.",
                ),
                flex="1",
            ),
            rx.vstack(
                field_label("Currency", "currency"),
                native_select(
                    [(c, c.upper()) for c in profile.CURRENCIES],
                    select_id="currency", value=S.currency, on_change=S.set_currency,
                    error=S.currency_error, height="2.5rem",
                ),
                field_error(S.currency_error, "currency-error"),
                spacing="1",
            ),
            align="start",
            spacing="3",
            width="100%",
        ),
        spacing="1",
        width="100%",
    )


def _duration_box(minutes: int) -> rx.Component:
    return rx.el.label(
        rx.checkbox(
            checked=array(S.durations).contains(minutes),
            on_change=lambda offered: handler(S.set_duration)(minutes, offered),
            id=f"duration-{minutes}",
        ),
        rx.text(timefmt.format_duration(minutes), size="2"),
        display="flex",
        align_items="center",
        gap="0.5rem",
    )


def _durations() -> rx.Component:
    return rx.el.fieldset(
        rx.el.legend("Lesson lengths you offer", font_weight="500", font_size="0.875rem",
                     margin_bottom="0.5rem"),
        rx.flex(*[_duration_box(m) for m in profile.LESSON_LENGTHS], gap="1.25rem",
                wrap="wrap"),
        field_error(S.durations_error, "lesson_durations-error"),
        border="0",
        padding="0",
        margin="0",
        custom_attrs={"aria-describedby": "lesson_durations-error"},
    )


def _consultation_switch() -> rx.Component:
    return rx.el.label(
        rx.switch(
            checked=S.offers_consultation,
            on_change=handler(S.set_offers_consultation),
            id="offers-consultation",
        ),
        rx.text("Offer a free 15-minute intro to new students", size="2"),
        display="flex",
        align_items="center",
        gap="0.5rem",
    )


def _zone_option(option: Row) -> rx.Component:
    return rx.el.option(option["label"].to(str), value=option["value"].to(str))


def _timezone() -> rx.Component:
    return rx.vstack(
        field_label("Time zone", "timezone"),
        native_select(
            rx.foreach(array(S.zone_options), _zone_option),
            select_id="timezone", value=S.timezone, on_change=S.set_timezone,
            error=S.timezone_error, width="100%",
        ),
        rx.text("Your weekly hours are read in this zone.", size="1", color=style.MUTED_TEXT),
        field_error(S.timezone_error, "timezone-error"),
        spacing="1",
        width="100%",
    )


def _form() -> rx.Component:
    return rx.vstack(
        editor_section(
            "About you",
            "profile-about",
            _photo(),
            labelled_input("Name", "name", value=S.name, on_change=S.set_name,
                           auto_complete="name", error=S.name_error,
                           max_length=profile.MAX_NAME_LENGTH),
            labelled_input("Headline", "headline", value=S.headline,
                           on_change=S.set_headline, error=S.headline_error,
                           max_length=profile.MAX_HEADLINE_LENGTH,
                           placeholder="e.g. Patient maths tutor for exams and beyond",
                           hint="One line under your name in the directory."),
            rx.text(S.headline_count, size="1", color=style.MUTED_TEXT, align_self="end",
                    margin_top="-0.5rem"),
            _bio(),
            _subjects(),
        ),
        editor_section("Lessons", "profile-lessons", _price(), _durations(),
                       _consultation_switch(), _timezone()),
        rx.hstack(
            rx.button("Save profile", type="button", size="3", on_click=S.save,
                      loading=S.saving, id="save-profile"),
            rx.text("Nothing is saved until you press Save.", size="1",
                    color=style.MUTED_TEXT),
            align="center",
            spacing="3",
        ),
        notice_callout(S.notice, "profile-notice"),
        spacing="4",
        width="100%",
    )


def _preview() -> rx.Component:
    return rx.vstack(
        rx.heading("Preview", as_="h2", size="4"),
        rx.text("How students see you in the directory.", size="2", color=style.MUTED_TEXT),
        rx.box(tutor_card(cast(Row, S.preview)), id="profile-preview", width="100%"),
        rx.link("Open your public profile", href=S.public_url, size="2",
                id="public-profile-link", is_external=False),
        spacing="3",
        width="100%",
        position=rx.breakpoints(initial="static", md="sticky"),
        top="5rem",
    )


def _editor() -> rx.Component:
    return rx.vstack(
        tutor_nav(),
        admin_edit_banner(S.admin_editing, S.edit_reason, S.set_edit_reason,
                          S.reason_error),
        rx.grid(
            _form(),
            _preview(),
            grid_template_columns=rx.breakpoints(initial="1fr", md="3fr 2fr"),
            gap="1.5rem",
            width="100%",
            align_items="start",
        ),
        spacing="5",
        width="100%",
    )


@page(route=routes.TUTOR_PROFILE, title=f"Your profile · {PRODUCT_NAME}", on_load=S.load)
def tutor_profile_edit() -> rx.Component:
    return tutor_editor_page(loaded=S.loaded, found=S.found, heading="Your tutor profile",
                             editor=_editor(), placeholder_height="10rem")

