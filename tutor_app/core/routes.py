"""Page routes, named once: pages, links and redirects all use these constants."""

DIRECTORY = "/"
PUBLIC_TUTOR_PROFILE = "/tutors/[tutor_id]"  # what students see; links: `tutor_profile(id)`
BOOK_NOW = "/book-now"
PAYMENT_SUCCESS = "/payment/success"
PAYMENT_CANCEL = "/payment/cancel"
DASHBOARD = "/dashboard"
LOGIN = "/login"
SIGNUP = "/signup"
VERIFY_EMAIL = "/verify-email"  # ?token=: a mailed verification link
FORGOT_PASSWORD = "/forgot-password"
RESET_PASSWORD = "/reset-password"  # ?token=: a mailed reset link
ACCOUNT = "/account"
TUTOR_PORTAL = "/tutor"  # the tutor's lessons
TUTOR_JOIN = "/tutor/join"  # ?token=: a mailed tutor invitation
TUTOR_PROFILE = "/tutor/profile"  # the tutor edits their public profile (?tutor= for admins)
TUTOR_AVAILABILITY = "/tutor/availability"  # hours, date overrides, booking rules
TUTOR_EARNINGS = "/tutor/earnings"
ADMIN_PORTAL = "/admin"  # the overview
ADMIN_BOOKINGS = "/admin/bookings"
ADMIN_BOOKING = "/admin/bookings/[booking_id]"  # links: `admin_booking(id)`
ADMIN_TUTORS = "/admin/tutors"
ADMIN_USERS = "/admin/users"
ADMIN_PAYMENTS = "/admin/payments"
ADMIN_AUDIT = "/admin/audit"
DEV_CHECKOUT = "/dev/checkout"
DEV_OUTBOX = "/dev/outbox"  # ?mail=: the mails the app would have sent (local dev only)

# Not pages: the paths the backend answers itself (the API, stored photos). In development
# the frontend dev server forwards them to the backend (`tutor_app.dev_server`).
BACKEND_PREFIXES = ("/api/", "/media/")
# Local dev only: gives the browser its pre-sign-in cookie (the dev server's pages ask it).
DEV_PRE_SIGN_IN = "/api/dev/pre-sign-in"


def tutor_profile(tutor_id: str) -> str:
    return f"/tutors/{tutor_id}"


def book_now(tutor_id: str | None = None) -> str:
    return f"{BOOK_NOW}?tutor={tutor_id}" if tutor_id else BOOK_NOW


def book_consultation(tutor_id: str) -> str:
    """The wizard with the tutor's free 15-minute consultation chosen as the length."""
    return f"{BOOK_NOW}?tutor={tutor_id}&intro=1"


def admin_booking(booking_id: str) -> str:
    """The admin's page of one booking."""
    return f"/admin/bookings/{booking_id}"
