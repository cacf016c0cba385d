"""What a lesson costs, computed in whole minor units (cents) so no float ever touches money.

The quote is the single place the amount is decided: checkout charges `total_cents`, and its
breakdown travels in the Stripe session metadata so the webhook can book from what was
actually paid rather than from anything the browser says.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

# Every lesson length the product sells, in minutes; each tutor offers a subset of them
# (`Tutor.lesson_durations`, read through `tutor_catalog.lesson_lengths`).
ALLOWED_DURATIONS: tuple[int, ...] = (30, 45, 60, 90, 120)
# The free intro a tutor may offer (`Tutor.offers_consultation`): never priced, never paid.
CONSULTATION_MINUTES = 15

_SYMBOLS = {"usd": "$", "eur": "€", "gbp": "£"}
# Stripe's zero-decimal currencies: their amounts are whole units, not hundredths.
_ZERO_DECIMAL = frozenset(
    {"bif", "clp", "djf", "gnf", "jpy", "kmf", "krw", "mga"}
    | {"pyg", "rwf", "ugx", "vnd", "vuv", "xaf", "xof", "xpf"}
)
_CURRENCY = re.compile(r"[A-Za-z]{3}")


class InvalidDuration(ValueError):
    """A lesson length no tutor can offer; the message lists the ones the product sells."""


@dataclass(frozen=True)
class Quote:
    """The price of one lesson, with the inputs it came from kept for the receipt."""

    tutor_id: str
    duration_minutes: int
    hourly_rate_cents: int
    currency: str
    total_cents: int

    def metadata(self) -> dict[str, str]:
        """The pricing breakdown for Stripe Checkout metadata, whose values must be strings.

        The key names are a fixed contract: checkout sessions already at Stripe carry them,
        and the webhook reads every session by them, so they never change.
        """
        return {
            "priceCents": str(self.total_cents),
            "currency": self.currency,
            "hourlyRateCents": str(self.hourly_rate_cents),
            "durationMinutes": str(self.duration_minutes),
        }


def quote(*, tutor_id: str, hourly_rate_cents: int, currency: str, duration_minutes: int) -> Quote:
    """Price a lesson: the hourly rate pro rata, rounded half-up to a whole cent.

    Integer arithmetic keeps the rounding exact (a float would turn 2499.5 into 2499.49...);
    half-up is what a person checking the receipt by hand expects. Durations are a closed
    list, and `"60"`, `60.0` or `True` are refused rather than coerced, because a duration that
    arrives with the wrong type has not been through the form that offers the valid ones.
    """
    if (
        isinstance(duration_minutes, bool)
        or not isinstance(duration_minutes, int)
        or duration_minutes not in ALLOWED_DURATIONS
    ):
        allowed = ", ".join(map(str, ALLOWED_DURATIONS))
        raise InvalidDuration(
            f"duration must be one of {allowed} minutes, not {duration_minutes!r}"
        )
    if (
        isinstance(hourly_rate_cents, bool)
        or not isinstance(hourly_rate_cents, int)
        or hourly_rate_cents <= 0
    ):
        raise ValueError(
            f"hourly rate must be a positive whole number of cents, not {hourly_rate_cents!r}"
        )
    if not isinstance(tutor_id, str) or not tutor_id:
        raise ValueError("tutor_id must be a non-empty string")
    if not isinstance(currency, str) or not _CURRENCY.fullmatch(currency):
        raise ValueError(f"currency must be a three-letter ISO code like 'usd', not {currency!r}")
    total = (2 * hourly_rate_cents * duration_minutes + 60) // 120  # half-up of rate * min / 60
    return Quote(
        tutor_id=tutor_id,
        duration_minutes=duration_minutes,
        hourly_rate_cents=hourly_rate_cents,
        currency=currency.lower(),  # Stripe's spelling
        total_cents=total,
    )


def format_money(cents: int, currency: str) -> str:
    """An amount for people: "$45.00", "€30.50", "£12.00", otherwise "12.00 CHF".

    `cents` is in the currency's smallest unit, as Stripe counts it, so a zero-decimal
    currency such as yen is shown without a decimal part ("1,200 JPY"), not divided by 100.
    """
    code = currency.lower()
    sign = "-" if cents < 0 else ""
    units = abs(cents)
    number = f"{units:,}" if code in _ZERO_DECIMAL else f"{units // 100:,}.{units % 100:02d}"
    symbol = _SYMBOLS.get(code)
    return f"{sign}{symbol}{number}" if symbol else f"{sign}{number} {code.upper()}"


def plain_amount(cents: int, currency: str) -> str:
    """An amount for spreadsheets: "45.00", "-12.50", "1200" (a zero-decimal currency); no
    symbol, no thousands separator."""
    sign = "-" if cents < 0 else ""
    units = abs(cents)
    if currency.lower() in _ZERO_DECIMAL:
        return f"{sign}{units}"
    return f"{sign}{units // 100}.{units % 100:02d}"
