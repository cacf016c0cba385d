"""Collision-resistant, roughly time-ordered string ids in the style of Prisma's cuid."""

from __future__ import annotations

import itertools
import os
import secrets
import threading
import time

_ALPHABET = "0123456789abcdefghijklmnopqrstuvwxyz"
_counter = itertools.count(secrets.randbelow(36**4))
_lock = threading.Lock()
_fingerprint = os.getpid() % (36**2)


def _base36(number: int, width: int) -> str:
    digits = []
    for _ in range(width):
        number, rem = divmod(number, 36)
        digits.append(_ALPHABET[rem])
    return "".join(reversed(digits))


def new_id() -> str:
    """A 25-character id: 'c', time, counter, process fingerprint and randomness."""
    with _lock:
        count = next(_counter) % (36**4)
    return (
        "c"
        + _base36(int(time.time() * 1000), 8)
        + _base36(count, 4)
        + _base36(_fingerprint, 2)
        + "".join(secrets.choice(_ALPHABET) for _ in range(10))
    )


# The id of a dev test-checkout session (no Stripe account): `cs_dev_<hex>`, never a real
# Stripe id, so refunds and the dev pay page can tell the two apart.
DEV_CHECKOUT_SESSION_PREFIX = "cs_dev_"

# The `stripe_checkout_session_id` of a free consultation: `free_<booking id>`. The column is
# unique and required, and a consultation has no checkout session; the prefix is never a Stripe
# id, so nothing that talks to Stripe (refunds, reconcile, the webhook, resume) can take one
# for a payment.
FREE_BOOKING_SESSION_PREFIX = "free_"
