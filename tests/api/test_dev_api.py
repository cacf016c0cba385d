"""/api/dev: the pre-sign-in cookie for the dev server's pages and the outbox's downloads, on a
developer's own machine only; anywhere else each is a plain 404."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import httpx
import pytest
from starlette.testclient import TestClient

from tests.factories import browser_cookie
from tutor_app.accounts import pre_sign_in
from tutor_app.api import build_api, dev
from tutor_app.core import routes
from tutor_app.core.settings import Settings
from tutor_app.integrations import mail_outbox
from tutor_app.integrations.mail_transport import Attachment, send_mail

ConfigureFn = Callable[..., Settings]
PROD = {"APP_ENV": "prod", "SECRET_KEY": "p" * 40, "STRIPE_SECRET_KEY": "sk_live_x",
        "STRIPE_WEBHOOK_SECRET": "whsec_live", "APP_URL": "https://tutorly.example"}
ICS = b"BEGIN:VCALENDAR\r\nEND:VCALENDAR\r\n"


@pytest.fixture
def outbox(configure: ConfigureFn, tmp_path: Path) -> Path:
    """An empty outbox of this test's own, mail going there (no SMTP_URL)."""
    configure(SMTP_URL=None, OUTBOX_DIR=str(tmp_path / "outbox"))
    return tmp_path / "outbox"


def _mail(outbox: Path) -> str:
    send_mail(to="ann@example.com", subject="Lesson booked", text="See you then.",
              html="<p>See you then.</p>",
              attachments=[Attachment("lesson.ics", ICS, "text/calendar; method=REQUEST")])
    [entry] = mail_outbox.list_mails(outbox)
    return entry.mail_id


def test_pre_sign_in_route_gives_a_browser_its_cookie(client: httpx.Client) -> None:
    response = client.get(routes.DEV_PRE_SIGN_IN)

    assert response.status_code == 204
    value = response.cookies.get(pre_sign_in.pre_sign_in_cookie_name())
    assert value and pre_sign_in.from_cookie_header(browser_cookie(value)) == value
    header = response.headers["set-cookie"].lower()
    assert "httponly" in header and "samesite=lax" in header and "max-age=7200" in header
    assert response.headers["cache-control"] == "no-store"


def test_pre_sign_in_route_renews_the_browsers_own_value(client: httpx.Client) -> None:
    value = pre_sign_in.new_value()

    response = client.get(routes.DEV_PRE_SIGN_IN, headers={"cookie": browser_cookie(value)})

    assert response.cookies.get(pre_sign_in.pre_sign_in_cookie_name()) == value


def test_a_mail_and_its_attachment_download(client: httpx.Client, outbox: Path) -> None:
    mail_id = _mail(outbox)

    raw = client.get(dev.raw_mail_url(mail_id))
    attachment = client.get(dev.attachment_url(mail_id, 0))

    assert raw.status_code == 200
    assert raw.content == (outbox / f"{mail_id}.eml").read_bytes()
    assert raw.headers["content-type"] == "message/rfc822"
    assert attachment.status_code == 200
    assert attachment.content == ICS
    assert attachment.headers["content-type"].startswith("text/calendar")
    assert "filename*=UTF-8''lesson.ics" in attachment.headers["content-disposition"]


@pytest.mark.parametrize("path", [
    dev.attachment_url("20261130T120000000000Z-abc", 0),  # no such mail
    dev.raw_mail_url("20261130T120000000000Z-abc"),
    f"{dev.OUTBOX_PREFIX}..%2F..%2Fetc%2Fpasswd.eml",  # not a mail's name at all
    f"{dev.OUTBOX_PREFIX}%2Fetc%2Fhosts/attachments/0",
])
def test_anything_but_a_mail_of_the_outbox_is_not_found(
    client: httpx.Client, outbox: Path, path: str
) -> None:
    _mail(outbox)
    assert client.get(path).status_code == 404


def test_an_attachment_past_the_last_is_not_found(client: httpx.Client, outbox: Path) -> None:
    mail_id = _mail(outbox)
    assert client.get(dev.attachment_url(mail_id, 1)).status_code == 404


@pytest.mark.parametrize("env", [
    PROD,
    {"APP_ENV": "dev", "APP_URL": "https://tutorly.example"},  # reachable by others
])
def test_none_of_it_exists_off_a_developers_machine(
    client: httpx.Client, outbox: Path, configure: ConfigureFn, env: dict[str, str]
) -> None:
    mail_id = _mail(outbox)
    configure(**env)

    for path in (routes.DEV_PRE_SIGN_IN, dev.raw_mail_url(mail_id),
                 dev.attachment_url(mail_id, 0)):
        response = client.get(path)
        assert response.status_code == 404, path
        assert "set-cookie" not in response.headers
        assert ICS not in response.content



@pytest.mark.parametrize(("client_host", "status"), [
    ("192.168.1.20", 404),  # another machine on the network (`make run` listens on all)
    ("127.0.0.1", 200),
    ("::1", 200),
])
def test_the_outbox_opens_to_a_browser_on_this_machine_only(
    outbox: Path, configure: ConfigureFn, client_host: str, status: int
) -> None:
    configure(APP_ENV="dev", APP_URL="http://localhost:3000")
    mail_id = _mail(outbox)

    with TestClient(build_api(), client=(client_host, 50000)) as client:
        for path in (dev.raw_mail_url(mail_id), dev.attachment_url(mail_id, 0)):
            assert client.get(path).status_code == status, path
