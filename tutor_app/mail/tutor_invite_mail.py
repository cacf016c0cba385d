"""The tutor invitation email: one single-use link (`tutors.invites`) to `/tutor/join`.

Sent at once, in the inviter's thread, and never stored: the inviter is told when it did not
go out and can invite again. `send_invite` is the mailer `tutor_app.wiring` registers with
`tutors.invites`; it raises `MailError` when the SMTP server cannot take the message.
"""

from __future__ import annotations

from datetime import timedelta

from tutor_app.core import routes
from tutor_app.core.settings import PRODUCT_NAME
from tutor_app.integrations.mail_transport import send_mail
from tutor_app.mail.account_mail import LinkContent, link_url, render_link_mail
from tutor_app.mail.notifications import Email
from tutor_app.tutors.invites import INVITE_LIFETIME, OutgoingInvite


def invite_url(token: str) -> str:
    """The absolute address of the invitation page of `token`."""
    return link_url(routes.TUTOR_JOIN, token)


def compose(invite: OutgoingInvite) -> Email:
    """The invitation, in plain text and HTML."""
    days = INVITE_LIFETIME // timedelta(days=1)
    what = (f"to run the tutor profile of {invite.profile_name}" if invite.profile_name
            else "to create your tutor profile")
    content = LinkContent(
        subject=f"You are invited to teach on {PRODUCT_NAME}",
        paragraphs=(
            f"{invite.inviter} invited you {what} on {PRODUCT_NAME}, where students book and "
            "pay for lessons with you.",
            "Open the link below to accept: create your account with a password or with "
            "Google, or, if you already have an account with this email address, sign in. "
            f"The link works once, for {days} days.",
        ),
        button="Accept the invitation",
        after=("If you were not expecting this, ignore this email: nothing happens without "
               "the link.",),
    )
    return render_link_mail(to=invite.to, name="", content=content, url=invite_url(invite.token))


def send_invite(invite: OutgoingInvite) -> None:
    """Send the invitation now; MailError when the server cannot take it."""
    message = compose(invite)
    send_mail(to=message.to, subject=message.subject, text=message.text, html=message.html)
