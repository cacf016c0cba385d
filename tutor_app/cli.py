"""Command-line tasks: `python -m tutor_app.cli <command>` (the Makefile wraps them)."""

from __future__ import annotations

import argparse
import logging
import sys

from alembic import command
from alembic.config import Config

from tutor_app import demo, wiring
from tutor_app.accounts import email_links, password_reset, users
from tutor_app.accounts.users import AuthError, RoleError, grant_role, normalize_email
from tutor_app.booking.consultations import set_offers_consultation
from tutor_app.catalog.tutor_catalog import seed_catalog
from tutor_app.core import db as app_db
from tutor_app.core import log_setup, routes
from tutor_app.core.jobs import run_job as run_one_job
from tutor_app.core.settings import PROJECT_ROOT, SettingsError, get_settings
from tutor_app.mail.tutor_invite_mail import invite_url
from tutor_app.payments.reconcile import reconcile_command
from tutor_app.tutors.invites import InviteError, InviteNotMailed, invite_tutor

log = logging.getLogger("tutor_app.cli")


def alembic_config(url: str | None = None) -> Config:
    """Alembic's config for this project, optionally aimed at another database."""
    config = Config(str(PROJECT_ROOT / "alembic.ini"))
    config.set_main_option("script_location", str(PROJECT_ROOT / "alembic"))
    if url:
        config.set_main_option("sqlalchemy.url", url)
    config.attributes["configure_logger"] = False  # keep the app's own logging set-up
    return config


def migrate_and_seed() -> None:
    """Bring the schema to head and, into an empty tutors table only, load the catalog file."""
    command.upgrade(alembic_config(get_settings().database_url), "head")
    with app_db.session() as db:
        result = seed_catalog(db)
        db.commit()
    if result.skipped:
        log.info("catalog: tutors already in the database; the catalog file was not loaded")
    else:
        log.info("catalog: %d tutors added from the catalog file", result.added)


def invite_command(email: str, tutor_id: str | None) -> int:
    """`invite-tutor`: store and mail an invitation; the exit code. The link itself is printed
    on a developer's own machine only (`Settings.local_dev`): anywhere else it is the
    invitee's mailbox that proves who they are, so the token never reaches a terminal or log."""
    try:
        with app_db.session() as db:
            token = invite_tutor(db, email=email, tutor_id=tutor_id)
    except InviteError as exc:
        print(f"error: {exc.message}", file=sys.stderr)
        return 2
    except InviteNotMailed as exc:
        print(f"error: {exc.message}", file=sys.stderr)
        token, code = exc.token, 1
    else:
        what = f"the tutor profile {tutor_id}" if tutor_id else "a new tutor profile"
        print(f"invitation to run {what} mailed to {normalize_email(email)}")
        code = 0
    if get_settings().local_dev:
        print(f"invitation link (local dev only): {invite_url(token)}")
    return code


def create_admin_command(email: str) -> int:
    """`create-admin`: make the account of `email` an admin, creating it when there is none;
    the exit code. An account nobody can sign in to yet (new, or made by a payment) gets a
    password reset link mailed, its way in (on a developer's machine, the mail is in the
    outbox)."""
    try:
        with app_db.session() as db:
            user = users.find_or_create_by_email(db, email=email)
            if users.is_disabled(user):
                print(f"error: {user.email} is disabled; enable it first", file=sys.stderr)
                return 2
            user = grant_role(db, email=user.email, role="admin")
            needs_password = users.is_unclaimed(db, user)
            db.commit()
    except (AuthError, RoleError) as exc:
        print(f"error: {getattr(exc, 'message', exc)}", file=sys.stderr)
        return 2
    print(f"{user.email} is now admin")
    if needs_password:
        password_reset.request_reset(user.email, ip="cli")
        email_links.wait_idle()
        print(f"a link to set a password was mailed to {user.email}")
        if get_settings().local_dev:
            print(f"(local dev: the mail is at {get_settings().app_url}{routes.DEV_OUTBOX})")
    return 0


def demo_command() -> int:
    """`demo`: load the demo data (once) and print its sign-ins; 2 when refused."""
    try:
        result = demo.load_demo()
    except demo.DemoRefused as exc:
        print(f"demo data not loaded: {exc}", file=sys.stderr)
        return 2
    if result.loaded:
        print(f"demo data loaded: {result.lessons} lessons")
    else:
        print("demo data is already loaded")
    print(f"sign in at {get_settings().app_url}/login with:")
    for sign_in in result.sign_ins:
        print(f"  {sign_in.email:<30} password {sign_in.password:<14} {sign_in.who}")
    print(f"  every other @{demo.DEMO_EMAIL_DOMAIN} student: password {demo.DEMO_PASSWORD}")
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="tutor_app.cli")
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("prestart", help="migrate the database and seed an empty tutor catalog")
    sub.add_parser("check-settings", help="fail with a message when the settings cannot run")
    grant = sub.add_parser("grant-role", help="give a user a role")
    grant.add_argument("email")
    grant.add_argument("role", choices=["student", "tutor", "admin"])
    grant.add_argument("--tutor", help="catalog tutor id, required for the tutor role")
    admin = sub.add_parser("create-admin",
                           help="make an email's account an admin (creating it if none)")
    admin.add_argument("email")
    invite = sub.add_parser("invite-tutor", help="mail someone an invitation to be a tutor")
    invite.add_argument("email")
    invite.add_argument("--tutor", help="the tutor profile to run (default: a new profile)")
    offer = sub.add_parser("offer-consultation",
                           help="let students book a tutor's free 15-minute consultation")
    offer.add_argument("tutor", help="catalog tutor id")
    offer.add_argument("--off", action="store_true",
                       help="stop offering it (consultations already booked stay)")
    run_job = sub.add_parser("run-job", help="run one periodic job once (e.g. reminders)")
    run_job.add_argument("name")
    sub.add_parser("demo", help="fill an empty local database with demo data; print sign-ins")
    recon = sub.add_parser("reconcile", help="book paid checkout sessions the webhook missed")
    recon.add_argument("--hours", type=int, default=72, help="how far back to look (72)")
    args = parser.parse_args(argv)
    try:
        get_settings()
    except SettingsError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    log_setup.configure_logging()  # LOG_FORMAT: JSON lines or text, as the app writes them
    wiring.register_all()  # the jobs `run-job` runs, and what a booking change sets off
    if args.command == "prestart":
        migrate_and_seed()
    elif args.command == "grant-role":
        try:
            with app_db.session() as db:
                user = grant_role(db, email=args.email, role=args.role, tutor_id=args.tutor)
                db.commit()
        except RoleError as exc:
            print(f"error: {exc}", file=sys.stderr)
            return 2
        print(f"{user.email} is now {user.role}" + (f" ({user.tutor_id})" if user.tutor_id else ""))
    elif args.command == "create-admin":
        return create_admin_command(args.email)
    elif args.command == "invite-tutor":
        return invite_command(args.email, args.tutor)
    elif args.command == "offer-consultation":
        if not set_offers_consultation(tutor_id=args.tutor, offers=not args.off):
            print(f"error: no tutor {args.tutor!r}", file=sys.stderr)
            return 2
        print(f"{args.tutor} {'no longer offers' if args.off else 'offers'} a free consultation")
    elif args.command == "run-job":
        try:
            print(f"{args.name}: {run_one_job(args.name)}")
        except KeyError as exc:
            print(f"error: {exc.args[0]}", file=sys.stderr)
            return 2
    elif args.command == "demo":
        return demo_command()
    elif args.command == "reconcile":
        code, message = reconcile_command(hours=args.hours)
        print(message, file=sys.stderr if code else sys.stdout)
        return code
    return 0


if __name__ == "__main__":
    sys.exit(main())
