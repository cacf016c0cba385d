"""The viewer's time zone: the one way every page state that shows times learns it.

Every page's head carries `TZ_COOKIE_SCRIPT` (added app-wide in `tutor_app.py`), which writes
the browser's IANA zone to the plain, non-credential `tz` cookie while the prerendered HTML is
parsed, before the app's scripts open the websocket. The handshake therefore carries it, and a
page's first event (its on_load) reads it from `router.headers.cookie` with no round trip.
Only when it is missing or invalid (cookies off, an odd browser) is the browser asked with
`call_script(TZ_SCRIPT)`, whose answer comes back to the state's `set_viewer_tz`. A signed-in
student who has a time zone on their account (detected once, or chosen on `/account`) sees
their lessons in that zone instead: the state passes it to `_detect_viewer_tz`.

`ViewerZoneMixin` is a Reflex mixin, not a parent state, on purpose: a state's cached vars
derive from `viewer_tz`, and a var declared on a parent (say `AuthState`) makes every substate
whose cached vars read it "potentially dirty" for that parent, so with Redis every event of
every page would load all of those substates. Mixed in, the code lives here once while each
state keeps its own copy of the (tiny) var, next to the vars derived from it.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Protocol

import reflex as rx
from reflex.event import EventSpec

from tutor_app.core import timefmt

# What the browser evaluates when asked; its value is the callback's argument. `Temporal`
# answers in well under a millisecond; the first `Intl.DateTimeFormat` of a page loads the
# browser's locale data, 30-80 ms in Chromium while the page's head is still being parsed, so
# `Intl` is only the fallback of browsers without `Temporal`.
TZ_SCRIPT = (
    "(typeof Temporal!=='undefined'?Temporal.Now.timeZoneId()"
    ":Intl.DateTimeFormat().resolvedOptions().timeZone)"
)
TZ_COOKIE_SCRIPT = (
    "try{document.cookie='" + timefmt.TZ_COOKIE + "='+encodeURIComponent(" + TZ_SCRIPT + ")"
    "+';path=/;max-age=31536000;SameSite=Lax'}catch(e){}"
)


def tz_cookie_script() -> rx.Component:
    """The head script that writes the `tz` cookie (for `rx.App(head_components=...)`).

    Inline, so it runs while the HTML is parsed; React never runs it again on client renders.
    """
    return rx.el.script(custom_attrs={"dangerouslySetInnerHTML": {"__html": TZ_COOKIE_SCRIPT}})


class ViewerZoneMixin(rx.State, mixin=True):
    """`viewer_tz` (an IANA name, "UTC" until known), how it is learned, and how it is set.

    A state that formats times outside cached vars overrides `_viewer_tz_changed` to
    re-format them; cached vars that read `viewer_tz` follow it by themselves.
    """

    viewer_tz: str = timefmt.DEFAULT_ZONE
    tz_detected: bool = False  # the browser's zone is known (from the cookie or the browser)

    def _detect_viewer_tz(self, saved_zone: str | None = None) -> EventSpec | None:
        """For an on_load, before anything is formatted: the signed-in account's saved zone
        (`User.timezone`, pass it) when it has one, else the zone of the `tz` cookie; without
        either, the event that asks the browser (return or yield it).

        The account's zone wins so that a student sees their lessons at the times their emails
        and calendar files say, whichever device they look from.
        """
        zone = saved_zone if saved_zone and timefmt.safe_zone(saved_zone) == saved_zone else None
        zone = zone or timefmt.zone_from_cookie_header(self.router.headers.cookie)
        if zone is None:
            return rx.call_script(TZ_SCRIPT, callback=type(self).set_viewer_tz)
        if zone != self.viewer_tz:  # every assignment resends the var
            self.viewer_tz = zone
        if not self.tz_detected:
            self.tz_detected = True
        return None

    @rx.event
    def set_viewer_tz(self, tz: Any) -> None:
        """The browser's IANA zone (from `Intl`), validated; an unknown one means UTC."""
        zone = timefmt.safe_zone(tz if isinstance(tz, str) else None)
        self.tz_detected = True
        if zone != self.viewer_tz:
            self.viewer_tz = zone
            self._viewer_tz_changed()

    def _viewer_tz_changed(self) -> None:
        """Re-format what was formatted for the previous zone (nothing by default)."""


class LessonTimes(Protocol):
    """What `LessonTimesMixin` formats: a lesson's span and its tutor's zone."""

    @property
    def start(self) -> datetime: ...
    @property
    def end(self) -> datetime: ...
    @property
    def tutor_timezone(self) -> str: ...


class LessonTimesMixin(ViewerZoneMixin, mixin=True):
    """`when` (the viewer's zone) and `when_tutor` (the tutor's) of the one lesson a page
    shows, re-formatted whenever the viewer's zone becomes known.

    The state says which lesson through `_times_lesson`; nothing changes while it has none.
    """

    when: str = ""
    when_tutor: str = ""

    def _times_lesson(self) -> LessonTimes | None:
        """The lesson whose times are shown (override)."""
        return None

    def _format_times(self) -> None:
        lesson = self._times_lesson()
        if lesson is None:
            return
        self.when = timefmt.format_range(lesson.start, lesson.end, self.viewer_tz)
        self.when_tutor = timefmt.format_range(lesson.start, lesson.end, lesson.tutor_timezone)

    def _viewer_tz_changed(self) -> None:
        self._format_times()
