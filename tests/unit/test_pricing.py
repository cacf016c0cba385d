"""Lesson prices: pro-rata totals with half-up rounding, the closed list of durations, the
Stripe metadata breakdown and the display format."""

from __future__ import annotations

from typing import Any

import pytest

from tutor_app.catalog.pricing import ALLOWED_DURATIONS, InvalidDuration, Quote, format_money, quote


def price(rate: int, minutes: int, currency: str = "usd") -> Quote:
    return quote(
        tutor_id="maria-garcia",
        hourly_rate_cents=rate,
        currency=currency,
        duration_minutes=minutes,
    )


def test_allowed_durations() -> None:
    assert ALLOWED_DURATIONS == (30, 45, 60, 90, 120)


@pytest.mark.parametrize(
    ("minutes", "total"), [(30, 2250), (45, 3375), (60, 4500), (90, 6750), (120, 9000)]
)
def test_totals_for_each_duration(minutes: int, total: int) -> None:
    assert price(4500, minutes).total_cents == total


@pytest.mark.parametrize(
    ("rate", "minutes", "total"),
    [
        (4999, 30, 2500),  # 2499.5 rounds up
        (4999, 90, 7499),  # 7498.5 rounds up
        (3333, 90, 5000),  # 4999.5 rounds up
        (3331, 90, 4997),  # 4996.5 rounds up
        (4501, 30, 2251),  # 2250.5 rounds up
        (4997, 30, 2499),  # 2498.5 rounds up
        (1001, 60, 1001),
        (1, 30, 1),  # half a cent rounds up to one
        (4998, 45, 3749),  # 3748.5 rounds up
        (4999, 45, 3749),  # 3749.25 rounds down
        (4997, 45, 3748),  # 3747.75 rounds up
        (4999, 120, 9998),
        (1, 45, 1),  # three quarters of a cent is one
        (2, 45, 2),  # 1.5 rounds up
    ],
)
def test_totals_round_half_up(rate: int, minutes: int, total: int) -> None:
    assert price(rate, minutes).total_cents == total


def test_quote_keeps_its_inputs() -> None:
    assert price(6000, 90, "USD") == Quote(
        tutor_id="maria-garcia",
        duration_minutes=90,
        hourly_rate_cents=6000,
        currency="usd",
        total_cents=9000,
    )


@pytest.mark.parametrize(
    "minutes", [0, 15, 40, 75, 150, -30, True, False, "60", 60.0, None]
)
def test_invalid_durations_are_refused(minutes: Any) -> None:
    with pytest.raises(InvalidDuration, match="30, 45, 60, 90, 120"):
        price(4500, minutes)


def test_invalid_duration_is_a_value_error() -> None:
    assert issubclass(InvalidDuration, ValueError)


@pytest.mark.parametrize("rate", [0, -4500, True, 45.0, "4500"])
def test_non_positive_or_non_integer_rate_is_refused(rate: Any) -> None:
    with pytest.raises(ValueError) as info:
        price(rate, 60)
    assert not isinstance(info.value, InvalidDuration)


@pytest.mark.parametrize(
    "overrides", [{"tutor_id": ""}, {"currency": "dollars"}, {"currency": ""}, {"currency": "u$d"}]
)
def test_bad_tutor_or_currency_is_refused(overrides: dict[str, Any]) -> None:
    args: dict[str, Any] = {
        "tutor_id": "t1",
        "hourly_rate_cents": 4500,
        "currency": "usd",
        "duration_minutes": 60,
    }
    with pytest.raises(ValueError):
        quote(**{**args, **overrides})


def test_metadata_is_the_pricing_breakdown_as_strings() -> None:
    metadata = price(4999, 30).metadata()
    assert metadata == {
        "priceCents": "2500",
        "currency": "usd",
        "hourlyRateCents": "4999",
        "durationMinutes": "30",
    }
    assert list(metadata) == ["priceCents", "currency", "hourlyRateCents", "durationMinutes"]


@pytest.mark.parametrize(
    ("cents", "currency", "shown"),
    [
        (4500, "usd", "$45.00"),
        (3050, "eur", "€30.50"),
        (1200, "gbp", "£12.00"),
        (1200, "chf", "12.00 CHF"),
        (1200, "USD", "$12.00"),
        (5, "usd", "$0.05"),
        (0, "eur", "€0.00"),
        (123456, "usd", "$1,234.56"),
        (-4500, "usd", "-$45.00"),
        (1200, "jpy", "1,200 JPY"),  # zero-decimal: already whole yen
    ],
)
def test_format_money(cents: int, currency: str, shown: str) -> None:
    assert format_money(cents, currency) == shown


def test_format_money_of_a_quote() -> None:
    q = price(4999, 90, "eur")
    assert format_money(q.total_cents, q.currency) == "€74.99"
