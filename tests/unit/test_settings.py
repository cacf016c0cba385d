"""Settings: dev defaults, and a production start refused with a message naming what is missing."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path

import pytest

from tutor_app.core import clock
from tutor_app.core.settings import (
    DEFAULT_ENV_FILE,
    DEV_SECRET_KEY,
    DEV_WEBHOOK_SECRET,
    PROJECT_ROOT,
    Settings,
    SettingsError,
    environment_with_env_file,
    parse_env_file,
    sqlalchemy_url,
)

GOOD_SECRET = "s" * 48
PROD = {
    "APP_ENV": "prod",
    "APP_URL": "https://tutors.example.com",
    "SECRET_KEY": GOOD_SECRET,
    "STRIPE_SECRET_KEY": "sk_live_x",
    "STRIPE_WEBHOOK_SECRET": "whsec_x",
}


def _refusal(env: dict[str, str]) -> str:
    with pytest.raises(SettingsError) as info:
        Settings.from_env(env)
    return str(info.value)


def test_an_empty_environment_runs_in_dev_with_safe_defaults() -> None:
    settings = Settings.from_env({})

    assert settings.app_env == "dev"
    assert not settings.is_prod
    assert settings.app_url == "http://localhost:3000"
    assert settings.secret_key == DEV_SECRET_KEY
    assert settings.database_url.startswith("sqlite:///")
    assert settings.redis_url is None
    assert settings.dev_payments is True  # no Stripe key in dev: the local test checkout
    assert settings.google_login_enabled is False
    assert settings.secure_cookies is False
    assert settings.oidc_discovery_url == (
        "https://accounts.google.com/.well-known/openid-configuration"
    )


def test_values_come_from_the_environment() -> None:
    settings = Settings.from_env({
        "APP_URL": "https://tutors.example.com/",
        "DATABASE_URL": "postgresql://u@db/tutor",
        "REDIS_URL": "redis://cache:6379",
        "GOOGLE_CLIENT_ID": "id.apps.googleusercontent.com",
        "GOOGLE_CLIENT_SECRET": "secret",
        "OIDC_DISCOVERY_URL": "https://idp.example/.well-known/openid-configuration",
    })

    assert settings.app_url == "https://tutors.example.com"  # no trailing slash
    assert settings.secure_cookies is True
    # The driver the app ships (psycopg 3) is named, for the app, Alembic and Reflex alike.
    assert settings.database_url == "postgresql+psycopg://u@db/tutor"
    assert settings.redis_url == "redis://cache:6379"
    assert settings.google_login_enabled is True
    assert settings.oidc_discovery_url.startswith("https://idp.example/")


def test_blank_values_count_as_unset() -> None:
    settings = Settings.from_env({"APP_URL": "  ", "GOOGLE_CLIENT_ID": " "})

    assert settings.app_url == "http://localhost:3000"
    assert settings.google_login_enabled is False


def test_a_complete_production_environment_starts() -> None:
    settings = Settings.from_env(PROD)

    assert settings.is_prod
    assert settings.secure_cookies is True


def test_prod_without_secret_key_refuses_and_names_it() -> None:
    env = {k: v for k, v in PROD.items() if k != "SECRET_KEY"}

    message = _refusal(env)

    assert "SECRET_KEY" in message
    assert "APP_ENV=prod" in message


@pytest.mark.parametrize("key", [DEV_SECRET_KEY, "too-short-key"])
def test_prod_refuses_the_dev_key_or_a_short_key(key: str) -> None:
    assert "SECRET_KEY" in _refusal({**PROD, "SECRET_KEY": key})


def test_prod_names_every_missing_secret_at_once() -> None:
    message = _refusal({"APP_ENV": "prod"})

    for name in ("SECRET_KEY", "STRIPE_SECRET_KEY", "STRIPE_WEBHOOK_SECRET"):
        assert name in message


def test_prod_refuses_the_test_only_stripe_api_base() -> None:
    assert "STRIPE_API_BASE" in _refusal({**PROD, "STRIPE_API_BASE": "http://127.0.0.1:1"})


def test_dev_payments_are_never_on_in_prod() -> None:
    settings = Settings.from_env(PROD)
    assert settings.dev_payments is False
    assert settings.webhook_secret == "whsec_x"
    # Even a hand-built prod settings object without a Stripe key never falls back to it.
    assert Settings(app_env="prod", stripe_secret_key=None).dev_payments is False
    assert Settings(app_env="prod", stripe_secret_key=None).webhook_secret is None


def test_dev_payments_are_off_in_dev_once_stripe_is_configured() -> None:
    assert Settings.from_env({"STRIPE_SECRET_KEY": "sk_test_x"}).dev_payments is False


@pytest.mark.parametrize("value", ["production", "staging", "test"])
def test_an_unknown_app_env_is_refused(value: str) -> None:
    message = _refusal({"APP_ENV": value})

    assert "APP_ENV" in message
    assert value in message


def test_app_env_is_case_insensitive() -> None:
    assert Settings.from_env({**PROD, "APP_ENV": "PROD"}).is_prod


def test_google_client_id_without_its_secret_is_refused() -> None:
    message = _refusal({"GOOGLE_CLIENT_ID": "id.apps.googleusercontent.com"})

    assert "GOOGLE_CLIENT_SECRET" in message


def test_refund_share_out_of_range_is_refused() -> None:
    assert "REFUND_SHARE_PERCENT" in _refusal({"REFUND_SHARE_PERCENT": "150"})


def test_password_hashing_runs_a_few_at_once_unless_told_otherwise() -> None:
    assert Settings.from_env({}).password_hash_concurrency == 4
    assert Settings.from_env(
        {"PASSWORD_HASH_CONCURRENCY": "8"}
    ).password_hash_concurrency == 8
    assert "PASSWORD_HASH_CONCURRENCY" in _refusal({"PASSWORD_HASH_CONCURRENCY": "0"})


def test_webhooks_are_handled_a_few_at_once_unless_told_otherwise() -> None:
    assert Settings.from_env({}).webhook_concurrency == 4
    assert Settings.from_env({"WEBHOOK_CONCURRENCY": "16"}).webhook_concurrency == 16
    assert "WEBHOOK_CONCURRENCY" in _refusal({"WEBHOOK_CONCURRENCY": "0"})


def test_get_settings_reads_the_environment_again_on_reload(
    configure: Callable[..., Settings],
) -> None:
    settings = configure(APP_URL="https://reloaded.example.com", APP_ENV="dev")

    assert settings.app_url == "https://reloaded.example.com"
    assert settings.secure_cookies is True


@pytest.mark.parametrize(
    ("given", "used"),
    [
        ("postgresql://postgres@127.0.0.1/tutor", "postgresql+psycopg://postgres@127.0.0.1/tutor"),
        ("postgres://u:p@db/tutor", "postgresql+psycopg://u:p@db/tutor"),
        ("postgresql+psycopg://u@db/tutor", "postgresql+psycopg://u@db/tutor"),
        ("sqlite:///var/tutor_app.db", "sqlite:///var/tutor_app.db"),
    ],
)
def test_a_postgresql_url_gets_the_installed_driver(given: str, used: str) -> None:
    assert sqlalchemy_url(given) == used
    assert Settings.from_env({"DATABASE_URL": given}).database_url == used


def test_the_default_database_is_var_tutor_app_db() -> None:
    assert Settings().database_url == f"sqlite:///{PROJECT_ROOT / 'var' / 'tutor_app.db'}"


ENV_FILE_TEXT = """
# a comment line, then a blank one

APP_URL=https://from-file.example.com
export SMTP_URL = smtp://mail.example.com:587?starttls=1
MAIL_FROM="Tutorly <hello@example.com>"
SECRET_KEY='a # inside quotes is kept'
REFUND_WINDOW_HOURS=48  # a trailing comment
EMPTY=
not a variable line
"""


def test_an_env_file_is_parsed_line_by_line() -> None:
    assert parse_env_file(ENV_FILE_TEXT) == {
        "APP_URL": "https://from-file.example.com",
        "SMTP_URL": "smtp://mail.example.com:587?starttls=1",
        "MAIL_FROM": "Tutorly <hello@example.com>",
        "SECRET_KEY": "a # inside quotes is kept",
        "REFUND_WINDOW_HOURS": "48",
        "EMPTY": "",
    }


def test_the_env_file_fills_in_only_what_the_environment_leaves_unset(tmp_path: Path) -> None:
    env_file = tmp_path / ".env"
    env_file.write_text(ENV_FILE_TEXT)

    merged = environment_with_env_file({
        "ENV_FILE": str(env_file), "APP_URL": "https://from-environment.example.com",
    })
    settings = Settings.from_env(merged)

    assert settings.app_url == "https://from-environment.example.com"  # the environment wins
    assert settings.mail_from == "Tutorly <hello@example.com>"  # the file fills the gap
    assert settings.refund_window_hours == 48


def test_the_project_env_file_is_read_by_default_and_may_be_missing(tmp_path: Path) -> None:
    assert DEFAULT_ENV_FILE == PROJECT_ROOT / ".env"
    missing = tmp_path / "no-such.env"

    assert environment_with_env_file({"ENV_FILE": str(missing), "A": "1"}) == {
        "ENV_FILE": str(missing), "A": "1",
    }


def test_an_empty_env_file_setting_reads_no_file(tmp_path: Path) -> None:
    env_file = tmp_path / ".env"
    env_file.write_text("APP_URL=https://from-file.example.com\n")

    assert environment_with_env_file({"ENV_FILE": ""}) == {"ENV_FILE": ""}
    assert environment_with_env_file({"ENV_FILE": str(env_file)})["APP_URL"] == (
        "https://from-file.example.com"
    )


def test_get_settings_reads_the_env_file_named_by_env_file(
    configure: Callable[..., Settings], tmp_path: Path
) -> None:
    env_file = tmp_path / "app.env"
    env_file.write_text("APP_URL=https://dotenv.example.com\nOUTBOX_DIR=outbox-from-file\n")

    settings = configure(ENV_FILE=str(env_file), APP_URL=None, OUTBOX_DIR=None)

    assert settings.app_url == "https://dotenv.example.com"
    assert settings.outbox_dir == Path("outbox-from-file")


def test_env_example_lists_every_variable_and_runs_as_is() -> None:
    """`.env.example` copied unchanged to `.env` gives the dev defaults, and names every
    variable `Settings.from_env` reads."""
    example = parse_env_file((PROJECT_ROOT / ".env.example").read_text())
    source = (PROJECT_ROOT / "tutor_app" / "core" / "settings.py").read_text()
    read = set(re.findall(r'opt\("([A-Z_]+)"\)', source))

    assert read <= set(example), read - set(example)
    assert Settings.from_env(example) == Settings.from_env({})


# -- plain http and dev-only features: on the developer's own machine only -----------------


@pytest.mark.parametrize("url", ["http://tutors.example.com", "http://10.0.0.5:3000"])
def test_prod_refuses_a_plain_http_app_url(url: str) -> None:
    message = _refusal({**PROD, "APP_URL": url})

    assert "APP_URL" in message
    assert url in message
    assert "https://" in message


@pytest.mark.parametrize(
    "url", ["http://localhost:3000", "http://127.0.0.1:8000", "http://[::1]:3000"]
)
def test_prod_accepts_plain_http_on_this_machine_only(url: str) -> None:
    assert Settings.from_env({**PROD, "APP_URL": url}).is_prod


@pytest.mark.parametrize(
    ("url", "local"),
    [
        ("http://localhost:3000", True),
        ("http://127.0.0.1:3000", True),
        ("http://127.8.9.10", True),
        ("http://[::1]:3000", True),
        ("https://localhost", True),
        ("http://tutors.example.com", False),
        ("https://tutors.example.com", False),
        ("http://localhost.example.com", False),
        ("http://192.168.1.20:3000", False),
        ("http://0.0.0.0:3000", False),
    ],
)
def test_local_dev_means_dev_on_a_loopback_app_url(url: str, local: bool) -> None:
    assert Settings.from_env({"APP_URL": url}).local_dev is local
    assert Settings(app_env="prod", app_url=url).local_dev is False


@pytest.mark.parametrize("url", ["http://tutors.example.com", "https://staging.example.com"])
def test_dev_features_are_off_when_app_url_is_not_this_machine(url: str) -> None:
    settings = Settings.from_env({"APP_ENV": "dev", "APP_URL": url, "CLOCK_SHIFT_SECONDS": "86400"})

    assert settings.dev_payments is False
    assert settings.webhook_secret is None
    assert settings.clock_shift == timedelta(0)


def test_dev_features_are_on_in_local_dev() -> None:
    settings = Settings.from_env({"APP_URL": "http://127.0.0.1:3000", "CLOCK_SHIFT_SECONDS": "60"})

    assert settings.dev_payments is True
    assert settings.webhook_secret == DEV_WEBHOOK_SECRET
    assert settings.clock_shift == timedelta(seconds=60)


def test_the_clock_ignores_clock_shift_seconds_unless_local_dev(
    configure: Callable[..., Settings],
) -> None:
    clock.reset()  # back to the configured shift, as the app runs
    configure(APP_ENV="dev", APP_URL="https://staging.example.com", CLOCK_SHIFT_SECONDS="86400")
    assert abs(clock.now() - clock.real_now()) < timedelta(minutes=1)

    configure(APP_URL="http://localhost:3000")
    assert clock.now() - clock.real_now() > timedelta(hours=23)


def test_prod_refuses_clock_shift_seconds() -> None:
    assert "CLOCK_SHIFT_SECONDS" in _refusal({**PROD, "CLOCK_SHIFT_SECONDS": "60"})
