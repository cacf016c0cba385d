"""Every environment variable the app reads, typed, with dev defaults, in one place.

One immutable settings object, built from the environment once, that refuses to start in
production with missing or default secrets and names what is missing.

A `.env` file in the project root (or the file `ENV_FILE` names; `ENV_FILE=` with no value
reads none) fills in variables the environment does not set: `KEY=value` lines, `#` comments,
optional single or double quotes. The environment always wins, so a deployment's own variables
are never overridden by a forgotten file.
"""

from __future__ import annotations

import ipaddress
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import timedelta
from functools import lru_cache
from pathlib import Path
from urllib.parse import urlsplit

# The product's name, the one word pages, mails and calendar files call it by.
PRODUCT_NAME = "Tutorly"
PROJECT_ROOT = Path(__file__).resolve().parents[2]
DEFAULT_ENV_FILE = PROJECT_ROOT / ".env"
DEV_SECRET_KEY = "dev-insecure-secret-key-change-me"
# Signs the dev test-checkout page's events; never used when Stripe keys are configured.
DEV_WEBHOOK_SECRET = "whsec_dev_local_test_checkout"
# A scrape token shorter than this could be guessed.
MIN_METRICS_TOKEN = 16
PRODUCT_CATALOG_FILE = PROJECT_ROOT / "tutor_app" / "catalog" / "tutors.json"


class SettingsError(RuntimeError):
    """The environment cannot run the app (for example prod without its secrets)."""


def _bool(value: str) -> bool:
    return value.strip().lower() in {"1", "true", "yes", "on"}


def parse_env_file(text: str) -> dict[str, str]:
    """The variables of a `.env` file's text.

    Understands `KEY=value`, an optional leading `export `, blank lines, `#` comment lines,
    a ` #` comment after an unquoted value, and values in single or double quotes (kept
    verbatim, `#` included). Lines without `=` are ignored.
    """
    values: dict[str, str] = {}
    for raw_line in text.splitlines():
        line = raw_line.strip()
        if not line or line.startswith("#"):
            continue
        if line.startswith("export "):
            line = line[len("export "):].lstrip()
        key, sep, value = line.partition("=")
        key = key.strip()
        if not sep or not key:
            continue
        value = value.strip()
        if len(value) >= 2 and value[0] == value[-1] and value[0] in {"'", '"'}:
            value = value[1:-1]
        else:
            value = value.split(" #", 1)[0].rstrip()
        values[key] = value
    return values


def read_env_file(path: Path) -> dict[str, str]:
    """The variables of the `.env` file at `path`; none when there is no such file."""
    try:
        return parse_env_file(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return {}


def environment_with_env_file(environ: Mapping[str, str]) -> dict[str, str]:
    """`environ` over the `.env` file it points to: the file only fills in unset variables."""
    name = environ.get("ENV_FILE")
    if name is not None and not name.strip():
        return dict(environ)  # ENV_FILE set but empty: read no file (the tests do this)
    path = Path(name.strip()) if name else DEFAULT_ENV_FILE
    if not path.is_absolute():
        path = PROJECT_ROOT / path
    return {**read_env_file(path), **environ}


def sqlalchemy_url(url: str) -> str:
    """`url` with the PostgreSQL driver the app ships (psycopg 3) when it names none.

    `postgresql://` alone means psycopg2 to SQLAlchemy, which is not installed, and
    `postgres://` (what many hosts hand out) is not a name SQLAlchemy knows at all.
    """
    scheme, sep, rest = url.partition("://")
    if sep and scheme in {"postgres", "postgresql"}:
        return f"postgresql+psycopg://{rest}"
    return url


def url_origin(url: str) -> str:
    """The origin of `url` as a browser writes it in an `Origin` header: scheme and host in
    lower case, and the port only when it is not the scheme's default. "" when `url` has no
    scheme and host or an invalid port (an opaque "null" origin, a forged header)."""
    try:
        parts = urlsplit(url.strip())
        port = parts.port
    except ValueError:
        return ""
    scheme = parts.scheme.lower()
    host = (parts.hostname or "").lower()
    if not scheme or not host:
        return ""
    if ":" in host:  # an IPv6 address
        host = f"[{host}]"
    default_port = {"http": 80, "https": 443}.get(scheme)
    return f"{scheme}://{host}" + (f":{port}" if port and port != default_port else "")


def is_loopback_host(host: str) -> bool:
    """Whether `host` (as `urlsplit(...).hostname` gives it) names this machine only:
    `localhost` or a loopback address (127.0.0.0/8, ::1). Nobody else can reach such an
    address, which is what makes dev-only features and plain http safe there."""
    host = host.strip().lower().rstrip(".")
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


@dataclass(frozen=True)
class Settings:
    """The app's configuration. Build it with `Settings.from_env`; read it with `get_settings`."""

    app_env: str = "dev"
    app_url: str = "http://localhost:3000"
    secret_key: str = DEV_SECRET_KEY
    # Always with an explicit driver (see `sqlalchemy_url`), so that this app, Alembic and
    # Reflex's own engine all open the same database the same way.
    database_url: str = f"sqlite:///{PROJECT_ROOT / 'var' / 'tutor_app.db'}"
    redis_url: str | None = None
    stripe_secret_key: str | None = None
    stripe_webhook_secret: str | None = None
    stripe_api_base: str | None = None
    google_api_base: str | None = None  # tests only: a local fake of Google's Calendar API
    google_client_id: str | None = None
    google_client_secret: str | None = None
    oidc_discovery_url: str = "https://accounts.google.com/.well-known/openid-configuration"
    smtp_url: str | None = None
    mail_from: str = f"{PRODUCT_NAME} <no-reply@localhost>"
    outbox_dir: Path = field(default=PROJECT_ROOT / "var" / "outbox")
    # Where uploaded images (tutors' photos) are kept, each named after its content's hash.
    media_dir: Path = field(default=PROJECT_ROOT / "var" / "media")
    # The tutor catalog the seed loads; tests point it at their own copy.
    catalog_file: Path = PRODUCT_CATALOG_FILE
    # Cancellation policy: cancelling at least this many hours before the start refunds this
    # share of the price; later, nothing (too late for the tutor to fill the slot).
    refund_window_hours: int = 24
    refund_share_percent: int = 100
    # Dev and tests only: run the app's clock this far from the machine's (tutor_app.core.clock).
    # As configured; what the clock uses is `clock_shift`, zero unless `local_dev`.
    configured_clock_shift: timedelta = timedelta(0)
    # How many Argon2 hashes (tens of MiB each) one process computes at once; the rest wait.
    password_hash_concurrency: int = 4
    # Log lines: "json" (one object per line, for a log pipeline) or "text"; None means json in
    # prod, text elsewhere (`log_format`).
    configured_log_format: str | None = None
    # The bearer token `/api/metrics` asks for (api.metrics); without it only local dev may scrape.
    metrics_token: str | None = None
    # How many reverse proxies in front of the app append to X-Forwarded-For: the client's
    # address is the one the nearest of them saw (rate limits key on it). 0: no proxy is
    # trusted and the address is the connection's own; a node reachable by anyone else than its
    # proxy must keep it 0, or a client could name any address.
    trusted_proxy_hops: int = 0
    # How many Stripe events one worker handles at once (`api.stripe`); more wait their turn.
    webhook_concurrency: int = 4

    def __post_init__(self) -> None:
        object.__setattr__(self, "database_url", sqlalchemy_url(self.database_url))

    @property
    def is_prod(self) -> bool:
        return self.app_env == "prod"

    @property
    def serves_loopback(self) -> bool:
        """Whether APP_URL's host is localhost or a loopback address (see `is_loopback_host`)."""
        return is_loopback_host(urlsplit(self.app_url).hostname or "")

    @property
    def local_dev(self) -> bool:
        """A developer's own machine: APP_ENV=dev *and* APP_URL on localhost or loopback.

        The one switch of every dev-only feature (the test checkout and its webhook secret,
        CLOCK_SHIFT_SECONDS): a server reachable by others never runs them, even when it was
        started with the default APP_ENV=dev by mistake.
        """
        return not self.is_prod and self.serves_loopback

    @property
    def dev_payments(self) -> bool:
        """True when checkout goes to the app's own test-checkout page (local dev only)."""
        return self.local_dev and not self.stripe_secret_key

    @property
    def webhook_secret(self) -> str | None:
        """The secret webhook signatures are checked with: Stripe's, or the dev page's."""
        if self.stripe_webhook_secret:
            return self.stripe_webhook_secret
        return DEV_WEBHOOK_SECRET if self.dev_payments else None  # local dev only

    @property
    def clock_shift(self) -> timedelta:
        """How far the app's clock runs from the machine's: CLOCK_SHIFT_SECONDS in local dev
        (and the tests, which serve the app on localhost), otherwise zero."""
        return self.configured_clock_shift if self.local_dev else timedelta(0)

    @property
    def log_format(self) -> str:
        """LOG_FORMAT, else "json" in prod and "text" elsewhere (core.log_setup)."""
        return self.configured_log_format or ("json" if self.is_prod else "text")

    @property
    def google_login_enabled(self) -> bool:
        return bool(self.google_client_id)

    @property
    def app_origin(self) -> str:
        """APP_URL's origin: the only site whose pages may open the app's websocket or read
        its backend cross-origin (Reflex's `cors_allowed_origins`)."""
        return url_origin(self.app_url)

    @property
    def secure_cookies(self) -> bool:
        return self.app_url.startswith("https://")

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> Settings:
        """Read `env`, or else the process environment over the project's `.env` file;
        raise SettingsError when prod lacks a required secret."""
        env = environment_with_env_file(os.environ) if env is None else env

        def opt(name: str) -> str | None:
            value = env.get(name, "").strip()
            return value or None

        defaults = cls()
        app_env = (opt("APP_ENV") or "dev").lower()
        if app_env not in {"dev", "prod"}:
            raise SettingsError(f"APP_ENV must be 'dev' or 'prod', not {app_env!r}")
        settings = cls(
            app_env=app_env,
            app_url=(opt("APP_URL") or defaults.app_url).rstrip("/"),
            secret_key=opt("SECRET_KEY") or defaults.secret_key,
            database_url=opt("DATABASE_URL") or defaults.database_url,
            redis_url=opt("REDIS_URL"),
            stripe_secret_key=opt("STRIPE_SECRET_KEY"),
            stripe_webhook_secret=opt("STRIPE_WEBHOOK_SECRET"),
            stripe_api_base=opt("STRIPE_API_BASE"),
            google_api_base=opt("GOOGLE_API_BASE"),
            google_client_id=opt("GOOGLE_CLIENT_ID"),
            google_client_secret=opt("GOOGLE_CLIENT_SECRET"),
            oidc_discovery_url=opt("OIDC_DISCOVERY_URL") or defaults.oidc_discovery_url,
            smtp_url=opt("SMTP_URL"),
            mail_from=opt("MAIL_FROM") or defaults.mail_from,
            outbox_dir=Path(opt("OUTBOX_DIR") or defaults.outbox_dir),
            media_dir=Path(opt("MEDIA_DIR") or defaults.media_dir),
            catalog_file=Path(opt("CATALOG_FILE") or defaults.catalog_file),
            refund_window_hours=int(opt("REFUND_WINDOW_HOURS") or defaults.refund_window_hours),
            refund_share_percent=int(
                opt("REFUND_SHARE_PERCENT") or defaults.refund_share_percent
            ),
            configured_clock_shift=timedelta(seconds=float(opt("CLOCK_SHIFT_SECONDS") or 0)),
            password_hash_concurrency=int(
                opt("PASSWORD_HASH_CONCURRENCY") or defaults.password_hash_concurrency
            ),
            configured_log_format=(opt("LOG_FORMAT") or "").lower() or None,
            metrics_token=opt("METRICS_TOKEN"),
            trusted_proxy_hops=int(opt("TRUSTED_PROXY_HOPS") or 0),
            webhook_concurrency=int(
                opt("WEBHOOK_CONCURRENCY") or defaults.webhook_concurrency
            ),
        )
        settings.check()
        return settings

    def check(self) -> None:
        """Refuse configurations that would run insecurely or half-working."""
        if not 0 <= self.refund_share_percent <= 100:
            raise SettingsError("REFUND_SHARE_PERCENT must be between 0 and 100")
        if not 0 <= self.trusted_proxy_hops <= 5:
            raise SettingsError("TRUSTED_PROXY_HOPS must be between 0 and 5")
        if self.webhook_concurrency < 1:
            raise SettingsError("WEBHOOK_CONCURRENCY must be at least 1")
        if self.password_hash_concurrency < 1:
            raise SettingsError("PASSWORD_HASH_CONCURRENCY must be at least 1")
        if self.configured_log_format not in (None, "json", "text"):
            raise SettingsError("LOG_FORMAT must be 'json' or 'text'")
        if self.metrics_token is not None and len(self.metrics_token) < MIN_METRICS_TOKEN:
            raise SettingsError(f"METRICS_TOKEN must have at least {MIN_METRICS_TOKEN} characters")
        if self.google_client_id and not self.google_client_secret:
            raise SettingsError("GOOGLE_CLIENT_ID is set but GOOGLE_CLIENT_SECRET is missing")
        if not self.is_prod:
            return
        missing = []
        if self.secret_key == DEV_SECRET_KEY or len(self.secret_key) < 32:
            missing.append("SECRET_KEY (at least 32 characters)")
        if not self.stripe_secret_key:
            missing.append("STRIPE_SECRET_KEY")
        if not self.stripe_webhook_secret:
            missing.append("STRIPE_WEBHOOK_SECRET")
        if self.stripe_api_base:
            missing.append("no STRIPE_API_BASE (it is for tests only)")
        if self.google_api_base:
            missing.append("no GOOGLE_API_BASE (it is for tests only)")
        if self.configured_clock_shift:
            missing.append("no CLOCK_SHIFT_SECONDS (it is for dev and tests only)")
        if not self.secure_cookies and not self.serves_loopback:
            missing.append(f"an https:// APP_URL (plain http is for localhost, 127.0.0.1 and "
                           f"[::1] only; got {self.app_url})")
        if missing:
            raise SettingsError("APP_ENV=prod refuses to start; set: " + ", ".join(missing))


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """The process-wide settings, read from the environment (and `.env`) on first use."""
    return Settings.from_env()


def reload_settings() -> Settings:
    """Forget the cached settings and read the environment again (tests, CLI tools)."""
    get_settings.cache_clear()
    return get_settings()
