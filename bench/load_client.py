"""One simulated student over Reflex 0.10.1's websocket protocol, as the compiled frontend
speaks it (`reflex_base/.templates/web/utils/state.js`).

The browser opens Socket.IO at `/_event` with `?token=<tab token>` in the URL and the page's
first event in the CONNECT packet's auth (`{"event": hydrate_and_load + router_data}`), so the
state arrives without an extra round trip; every later event is an `event` message
`{name: "<state path>.<handler>", payload, router_data}`; the backend answers with `event`
messages `{delta: {state path: {var_rx_state_: value}}, events: [...]}`. The cookies (the
sign-in session, the `tz` zone) and the `Origin` ride on the websocket handshake, as a
browser's do. A client-side navigation (`_redirect` to one of the app's own pages) sends the
new page's `on_load_internal` on the same socket.

Each student has its own loopback source address (127.0.x.y, all of 127/8 is this machine):
the app counts sign-ups and checkouts per client address, so 200 students from one address
would measure its rate limits, not its speed.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
import uuid
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import aiohttp
import socketio

VAR = "_rx_state_"
# The frontend connects to `<backend>/_event`: Socket.IO's path, and its namespace too.
NAMESPACE = "/_event"
ROOT_STATE = "reflex___state____state"
HYDRATE = f"{ROOT_STATE}.hydrate_and_load"
ON_LOAD = f"{ROOT_STATE}.reflex___state____on_load_internal_state.on_load_internal"
PASSWORD = "load-bench-password-1"


def state_names() -> tuple[str, str]:
    """The full state paths of the booking wizard and of the dev test checkout."""
    from tutor_app.state.booking import BookingWizardState
    from tutor_app.state.dev_checkout import DevCheckoutState

    return BookingWizardState.get_full_name(), DevCheckoutState.get_full_name()


def source_address(index: int) -> str:
    """A loopback address of its own for student `index` (127.0.1.1 onwards)."""
    n = 256 + index + 1
    return f"127.0.{n // 256}.{n % 256 or 1}"


@dataclass
class Tally:
    """What every student of one run saw: round trips per event, errors, outcomes."""

    round_trips: dict[str, list[float]] = field(default_factory=lambda: defaultdict(list))
    errors: list[str] = field(default_factory=list)
    outcomes: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    paid_sessions: list[str] = field(default_factory=list)
    tokens: list[str] = field(default_factory=list)

    def all_round_trips(self) -> list[float]:
        return [t for times in self.round_trips.values() for t in times]


class StudentError(RuntimeError):
    """A step did not get the answer it waits for (timeout, refusal, disconnect)."""


class Tab:
    """One browser tab: a Socket.IO connection, the state it was sent, and timed events."""

    def __init__(self, base_url: str, origin: str, cookie: str, local_addr: str,
                 tally: Tally, timeout: float, think: float = 0.0) -> None:
        self.base_url, self.origin, self.cookie = base_url, origin, cookie
        self.think = think
        self.local_addr, self.tally, self.timeout = local_addr, tally, timeout
        self.token = str(uuid.uuid4())
        self.state: dict[str, dict[str, Any]] = defaultdict(dict)
        self.redirects: list[str] = []
        self._changed = asyncio.Condition()
        self._http: aiohttp.ClientSession | None = None
        self.sio: socketio.AsyncClient | None = None

    async def _on_update(self, update: dict[str, Any]) -> None:
        async with self._changed:
            for substate, values in (update.get("delta") or {}).items():
                self.state[substate].update(values)
            for event in update.get("events") or []:
                if event.get("name") == "_redirect":
                    self.redirects.append(str((event.get("payload") or {}).get("path", "")))
            self._changed.notify_all()

    def var(self, substate: str, name: str) -> Any:
        return self.state.get(substate, {}).get(name + VAR)

    async def _wait(self, what: str, until: Any) -> None:
        async with self._changed:
            try:
                await asyncio.wait_for(self._changed.wait_for(until), self.timeout)
            except TimeoutError:
                raise StudentError(f"{what}: no answer in {self.timeout:.0f} s") from None

    @staticmethod
    def _router_data(path: str) -> dict[str, Any]:
        parts = urlsplit(path)
        data: dict[str, Any] = {"pathname": parts.path, "asPath": path}
        query = dict(parse_qsl(parts.query))
        if query:
            data["query"] = query
        return data

    async def open(self, path: str, until: Any) -> None:
        """Connect on page `path` (hydrate + its on_load in the handshake) and wait for `until`,
        timed as "open"."""
        connector = aiohttp.TCPConnector(local_addr=(self.local_addr, 0), limit=1)
        self._http = aiohttp.ClientSession(connector=connector)
        self.sio = socketio.AsyncClient(http_session=self._http, reconnection=False,
                                        handle_sigint=False)
        self.sio.on("event", self._on_update, namespace=NAMESPACE)
        boot = {"name": HYDRATE, "payload": {}, "router_data": self._router_data(path)}
        started = time.perf_counter()
        await self.sio.connect(
            f"{self.base_url}?token={self.token}", transports=["websocket"],
            socketio_path=NAMESPACE, namespaces=[NAMESPACE], auth={"event": boot},
            headers={"Origin": self.origin, "Cookie": self.cookie},
            wait_timeout=self.timeout,
        )
        await self._wait("open " + path, until)
        self.tally.round_trips["open"].append(time.perf_counter() - started)

    async def call(self, label: str, name: str, payload: dict[str, Any], until: Any,
                   path: str) -> None:
        """Emit event `name` and wait for the delta that answers it (`until` holds); timed."""
        assert self.sio is not None
        await asyncio.sleep(self.think)  # the student reads the page before the next click
        event = {"name": name, "payload": payload, "router_data": self._router_data(path)}
        started = time.perf_counter()
        await self.sio.emit("event", event, namespace=NAMESPACE)
        await self._wait(label, until)
        self.tally.round_trips[label].append(time.perf_counter() - started)

    async def close(self) -> None:
        if self.sio is not None:
            await self.sio.disconnect()
        if self._http is not None:
            await self._http.close()


async def sign_up(base_url: str, origin: str, index: int, run_tag: str,
                  timeout: float) -> tuple[str, str]:
    """The real sign-up (`POST /api/auth/signup`) from the student's own address: the Cookie
    header value of the new session and the email. Retries while the app says it is busy
    hashing passwords (503) or asks to wait (429)."""
    email = f"load-{run_tag}-{index:04d}@example.test"
    body = {"email": email, "password": PASSWORD, "name": f"Load Student {index}"}
    connector = aiohttp.TCPConnector(local_addr=(source_address(index), 0))
    deadline = time.monotonic() + timeout
    async with aiohttp.ClientSession(connector=connector) as http:
        while True:
            async with http.post(base_url + "/api/auth/signup", json=body,
                                 headers={"Origin": origin}) as response:
                if response.status == 200:
                    cookies = "; ".join(f"{k}={m.value}" for k, m in response.cookies.items())
                    return cookies, email
                text = await response.text()
                if response.status not in (429, 503) or time.monotonic() > deadline:
                    raise StudentError(f"sign-up {response.status}: {text[:200]}")
                wait = float(response.headers.get("Retry-After", "1") or 1)
            await asyncio.sleep(min(wait, 5.0))


@dataclass(frozen=True)
class Plan:
    """What student `index` books: a tutor, a lesson length, the n-th free day and a start
    position on it. Students share a (tutor, day, position) only when the run asks for a
    collision; the wizard's free list already leaves out other students' holds."""

    index: int
    tutor_id: str
    minutes: int
    day_pick: int
    time_pick: int


async def walk(plan: Plan, *, base_url: str, origin: str, cookie: str, names: tuple[str, str],
               tally: Tally, timeout: float, done: asyncio.Event, think: float,
               arrived: list[int]) -> None:
    """Open `/book-now?tutor=…`, choose length, day and time, review, pay in the dev test
    checkout, `think` seconds between steps; then count itself in `arrived` and stay connected
    until `done` (memory is read with everyone on)."""
    wizard, checkout = names
    tab = Tab(base_url, origin, cookie + "; tz=America/New_York", source_address(plan.index),
              tally, timeout, think)
    tally.tokens.append(tab.token)
    page = f"/book-now?tutor={plan.tutor_id}"
    try:
        await tab.open(page, lambda: tab.var(wizard, "loaded") and tab.var(wizard, "step") == 2)
        await tab.call(
            "choose_duration", f"{wizard}.choose_duration", {"minutes": plan.minutes},
            lambda: tab.var(wizard, "step") == 3 and bool(tab.var(wizard, "slots_loaded"))
            and tab.var(wizard, "calendar") is not None, page)
        days = [c["key"] for c in tab.var(wizard, "calendar") or [] if c.get("enabled")]
        if not days:
            tally.outcomes["no free day"] += 1
            return
        day = days[plan.day_pick % len(days)]
        if tab.var(wizard, "day") != day:
            await tab.call("choose_day", f"{wizard}.choose_day", {"key": day},
                           lambda: tab.var(wizard, "day") == day, page)
        times = [t["start"] for t in tab.var(wizard, "day_times") or []]
        if not times:
            raise StudentError(f"no times on {day}")
        start = times[plan.time_pick % len(times)]
        await tab.call("choose_start", f"{wizard}.choose_start", {"iso": start},
                       lambda: tab.var(wizard, "start") == start, page)
        await tab.call("next_step", f"{wizard}.next_step", {},
                       lambda: tab.var(wizard, "step") == 4, page)
        await tab.call("to_payment", f"{wizard}.next_step", {},
                       lambda: tab.var(wizard, "step") == 5, page)
        if tab.var(wizard, "pay_error"):
            tally.outcomes["taken at review"] += 1
            return
        await tab.call("pay", f"{wizard}.pay", {},
                       lambda: bool(tab.redirects) or bool(tab.var(wizard, "pay_error")), page)
        if not tab.redirects:
            error = str(tab.var(wizard, "pay_error"))
            if "taken" in error.lower() or tab.var(wizard, "alternatives"):
                tally.outcomes["taken at pay"] += 1
                return
            raise StudentError(f"pay refused: {error}")
        target = tab.redirects.pop()
        if "/dev/checkout" not in target or "cs_dev_" not in target:
            raise StudentError(f"pay went to {target}")
        parts = urlsplit(target)  # same host: the browser navigates in the page
        target = f"{parts.path}?{parts.query}"
        session_id = dict(parse_qsl(parts.query))["session_id"]
        await tab.call("checkout_load", ON_LOAD, {},
                       lambda: bool(tab.var(checkout, "found")), target)
        await tab.call("checkout_pay", f"{checkout}.pay", {},
                       lambda: bool(tab.redirects) or bool(tab.var(checkout, "error")), target)
        if not tab.redirects or "/payment/success" not in tab.redirects[-1]:
            raise StudentError(f"dev pay: {tab.var(checkout, 'error') or tab.redirects}")
        tally.paid_sessions.append(session_id)
        tally.outcomes["paid"] += 1
    except (StudentError, socketio.exceptions.SocketIOError, aiohttp.ClientError,
            OSError) as exc:
        tally.errors.append(f"student {plan.index}: {type(exc).__name__}: {exc}")
    finally:
        arrived[0] += 1
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(done.wait(), timeout * 20)
        await tab.close()


def sign_up_in_database(database_url: str, indexes: range, run_tag: str) -> list[tuple[str, str]]:
    """Students made directly in the database, each with a sign-in session minted by
    `accounts.sign_in_sessions` (what the sign-up route does after its checks): the Cookie
    header value and the email of each. For layouts behind a proxy, where every HTTP sign-up
    comes from the proxy's address and the per-address sign-up limit (20 an hour) would refuse
    the rest."""
    from sqlmodel import Session

    from tutor_app.accounts import sign_in_sessions
    from tutor_app.core import db as app_db
    from tutor_app.core.models import User

    engine = app_db.build_engine(database_url)
    out: list[tuple[str, str]] = []
    try:
        with Session(engine) as db:
            for index in indexes:
                email = f"load-{run_tag}-{index:04d}@example.test"
                user = User(email=email, name=f"Load Student {index}")
                db.add(user)
                db.flush()
                token = sign_in_sessions.create_session(db, user_id=user.id)
                out.append((f"{sign_in_sessions.session_cookie_name()}={token}", email))
            db.commit()
    finally:
        engine.dispose()
    return out
