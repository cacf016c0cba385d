"""Command-line tasks: `python -m tutor_app.cli <command>` (the Makefile wraps them)."""

from __future__ import annotations

import argparse
import logging
import sys

from alembic import command
from alembic.config import Config

from tutor_app import wiring
from tutor_app.accounts.users import RoleError, grant_role
from tutor_app.catalog.tutor_catalog import seed_catalog
from tutor_app.core import db as app_db
from tutor_app.core.jobs import run_job as run_one_job
from tutor_app.core.settings import PROJECT_ROOT, SettingsError, get_settings
from tutor_app.payments.reconcile import reconcile_command

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


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="tutor_app.cli")
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("prestart", help="migrate the database and seed an empty tutor catalog")
    sub.add_parser("check-settings", help="fail with a message when the settings cannot run")
    grant = sub.add_parser("grant-role", help="give a user a role")
    grant.add_argument("email")
    grant.add_argument("role", choices=["student", "tutor", "admin"])
    grant.add_argument("--tutor", help="catalog tutor id, required for the tutor role")
    run_job = sub.add_parser("run-job", help="run one periodic job once (e.g. reminders)")
    run_job.add_argument("name")
    recon = sub.add_parser("reconcile", help="book paid checkout sessions the webhook missed")
    recon.add_argument("--hours", type=int, default=72, help="how far back to look (72)")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    try:
        get_settings()
    except SettingsError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
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
    elif args.command == "run-job":
        try:
            print(f"{args.name}: {run_one_job(args.name)}")
        except KeyError as exc:
            print(f"error: {exc.args[0]}", file=sys.stderr)
            return 2
    elif args.command == "reconcile":
        code, message = reconcile_command(hours=args.hours)
        print(message, file=sys.stderr if code else sys.stdout)
        return code
    return 0


if __name__ == "__main__":
    sys.exit(main())
