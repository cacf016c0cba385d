"""GET /api/metrics over HTTP: who may scrape, and the business counters moving after real work."""

from __future__ import annotations

from collections.abc import Callable

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families
from sqlmodel import Session

from tests.factories import TUTOR, first_free, make_user, session_cookie
from tests.fakes.fake_stripe import FakeStripe
from tests.fakes.server import ThreadedServer
from tests.stripe_helpers import WEBHOOK_PATH, WEBHOOK_SECRET
from tutor_app.booking import consultations, lesson_events
from tutor_app.core.settings import Settings
from tutor_app.core.timefmt import to_utc_iso

ConfigureFn = Callable[..., Settings]
TOKEN = "scrape-token-0123456789abcdef"


def sample(text: str, name: str, **labels: str) -> float:
    """The value of sample `name` with exactly `labels` in an exposition; 0 when absent."""
    for family in text_string_to_metric_families(text):
        for s in family.samples:
            if s.name == name and s.labels == labels:
                return float(s.value)
    return 0.0


def scrape(client: httpx.Client) -> str:
    response = client.get("/api/metrics", headers={"Authorization": f"Bearer {TOKEN}"})
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/plain")
    return response.text


def test_with_a_token_only_the_bearer_of_it_scrapes(
    client: httpx.Client, configure: ConfigureFn
) -> None:
    configure(METRICS_TOKEN=TOKEN)
    assert client.get("/api/metrics").status_code == 401
    wrong = client.get("/api/metrics", headers={"Authorization": f"Bearer {TOKEN}x"})
    assert wrong.status_code == 401 and wrong.headers["www-authenticate"].startswith("Bearer")
    basic = client.get("/api/metrics", headers={"Authorization": f"Basic {TOKEN}"})
    assert basic.status_code == 401
    assert "tutorly_bookings_created" in scrape(client)


def test_without_a_token_only_local_dev_on_loopback_scrapes(
    client: httpx.Client, configure: ConfigureFn, api_server: ThreadedServer
) -> None:
    configure(METRICS_TOKEN=None)  # the API server is on 127.0.0.1, APP_ENV=dev: local dev
    assert client.get("/api/metrics").status_code == 200
    configure(METRICS_TOKEN=None, APP_URL="https://tutorly.example")  # reachable by others
    response = client.get("/api/metrics")
    assert response.status_code == 404
    assert "tutorly" not in response.text


def test_a_short_token_is_refused_at_start(configure: ConfigureFn) -> None:
    with pytest.raises(Exception, match="METRICS_TOKEN"):
        configure(METRICS_TOKEN="short")


def test_a_paid_booking_moves_the_counters(
    fake: FakeStripe, client: httpx.Client, session: Session, api_server: ThreadedServer,
    configure: ConfigureFn,
) -> None:
    configure(METRICS_TOKEN=TOKEN)
    before = scrape(client)
    user = make_user(session, email="counted@example.com")
    body = {"tutorId": TUTOR, "startDateTimeISO": to_utc_iso(first_free(session)),
            "durationMinutes": 60}
    created = client.post("/api/stripe/checkout", json=body,
                          headers={"cookie": session_cookie(session, user)})
    paid = fake.complete_session(created.json()["id"])
    event = fake.build_event("checkout.session.completed", paid)
    for _ in range(2):  # Stripe delivers twice: one booking
        delivered = fake.send_event(event, api_server.url + WEBHOOK_PATH, WEBHOOK_SECRET)
        assert delivered.status_code == 200
    bad = fake.send_event(event, api_server.url + WEBHOOK_PATH, "whsec_not_ours")
    assert bad.status_code == 400
    assert lesson_events.wait_idle(30)
    after = scrape(client)

    def moved(name: str, **labels: str) -> float:
        return sample(after, name, **labels) - sample(before, name, **labels)

    assert moved("tutorly_bookings_created_total", kind="lesson", source="webhook") == 1
    assert moved("tutorly_paid_sessions_total", outcome="created") == 1
    assert moved("tutorly_stripe_webhook_seconds_count", result="ok") == 2
    assert moved("tutorly_stripe_webhook_seconds_count", result="refused") == 1
    assert moved("tutorly_stripe_webhook_seconds_sum", result="ok") > 0
    assert moved("tutorly_bookings_created_total", kind="consultation",
                 source="consultation") == 0


def test_a_consultation_moves_its_counter(
    client: httpx.Client, session: Session, configure: ConfigureFn
) -> None:
    configure(METRICS_TOKEN=TOKEN)
    assert consultations.set_offers_consultation(tutor_id=TUTOR, offers=True)
    before = scrape(client)
    consultations.book_consultation(
        user=make_user(session), tutor_id=TUTOR, start=first_free(session, minutes=15),
        ip="203.0.113.8",
    )
    after = scrape(client)
    labels = {"kind": "consultation", "source": "consultation"}
    assert (sample(after, "tutorly_bookings_created_total", **labels)
            - sample(before, "tutorly_bookings_created_total", **labels)) == 1
