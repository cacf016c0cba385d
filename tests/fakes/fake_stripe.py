"""A local fake of the parts of the Stripe API the app uses, reachable over real HTTP.

The real `stripe` SDK talks to it unchanged, configured either way:

    client = stripe.StripeClient("sk_test_fake", base_addresses={"api": fake.url})
    stripe.api_key = "sk_test_fake"; stripe.api_base = fake.url

Covered: checkout sessions (create / retrieve / list / expire), Refunds (create / retrieve /
list), PaymentIntents and Customers (retrieve), Stripe's error JSON, `Authorization` checks and
`Idempotency-Key` replay. Test-side helpers change state the way the customer would on Stripe's
side (`complete_session`, `pay_session`, `expire_session`), build Event JSON (`build_event`),
sign it like Stripe (`signature_header`) and deliver it to a webhook URL (`send_event`).

A session's `url` serves a tiny payment page (`/pay/{id}`): "Pay" completes the session, sends
`checkout.session.completed` to `webhook_url` (when set) and redirects to `success_url`;
"Cancel" redirects to `cancel_url`. That lets a browser test walk through checkout.

    with FakeStripe() as fake:
        ...
"""

from __future__ import annotations

import asyncio
import copy
import hashlib
import hmac
import html
import json
import re
import secrets
import string
import threading
import time
import urllib.parse
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

import httpx
from starlette.applications import Starlette
from starlette.datastructures import Headers
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from starlette.routing import Route

from tests.fakes.server import StartStop, ThreadedServer

__all__ = [
    "EVENT_API_VERSION",
    "FakeStripe",
    "RecordedRequest",
    "StripeError",
    "decode_stripe_params",
    "signature_header",
]

EVENT_API_VERSION = "2024-06-20"
SESSION_LIFETIME_DEFAULT = 24 * 3600
SESSION_LIFETIME_MIN = 30 * 60
SESSION_LIFETIME_MAX = 24 * 3600
_CLOCK_SLACK = 10  # seconds of tolerance on expires_at bounds

_ALPHABET = string.ascii_letters + string.digits


def _rand(n: int) -> str:
    return "".join(secrets.choice(_ALPHABET) for _ in range(n))


def _new_id(prefix: str, n: int = 24) -> str:
    return f"{prefix}{_rand(n)}"


# ---------------------------------------------------------------------------------------------
# Form decoding


_KEY_RE = re.compile(r"^([^\[\]]+)((?:\[[^\[\]]*\])*)$")
_SEGMENT_RE = re.compile(r"\[([^\[\]]*)\]")


def decode_stripe_params(pairs: Iterable[tuple[str, str]]) -> dict[str, Any]:
    """Decode Stripe's bracketed form keys into nested dicts and lists.

    `line_items[0][price_data][unit_amount]=6000&metadata[tutorId]=x&expand[]=a` becomes
    `{"line_items": [{"price_data": {"unit_amount": "6000"}}], "metadata": {"tutorId": "x"},
    "expand": ["a"]}`. Values stay strings, as on the wire; a dict whose keys are all
    integers becomes a list ordered by index.
    """
    root: dict[str, Any] = {}
    for raw_key, value in pairs:
        match = _KEY_RE.match(raw_key)
        if match is None:
            root[raw_key] = value
            continue
        segments = [match.group(1), *_SEGMENT_RE.findall(match.group(2))]
        node: dict[str, Any] = root
        for i, seg in enumerate(segments):
            if seg == "":  # `key[]`: append
                seg = str(len(node))
            last = i == len(segments) - 1
            if last:
                node[seg] = value
            else:
                child = node.get(seg)
                if not isinstance(child, dict):
                    child = {}
                    node[seg] = child
                node = child
    return _listify(root)


def _listify(value: Any) -> Any:
    if not isinstance(value, dict):
        return value
    converted = {k: _listify(v) for k, v in value.items()}
    if converted and all(k.isdigit() for k in converted):
        return [converted[k] for k in sorted(converted, key=int)]
    return converted


# ---------------------------------------------------------------------------------------------
# Errors, records


class StripeError(Exception):
    """An API error, rendered as Stripe's `{"error": {...}}` JSON."""

    def __init__(
        self,
        status: int,
        message: str,
        *,
        type: str = "invalid_request_error",
        code: str | None = None,
        param: str | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.type = type
        self.code = code
        self.param = param

    def body(self) -> dict[str, Any]:
        err: dict[str, Any] = {"type": self.type, "message": self.message}
        if self.code is not None:
            err["code"] = self.code
            err["doc_url"] = f"https://stripe.com/docs/error-codes/{self.code.replace('_', '-')}"
        if self.param is not None:
            err["param"] = self.param
        return {"error": err}


def _missing(kind: str, obj_id: str, param: str = "id") -> StripeError:
    return StripeError(404, f"No such {kind}: '{obj_id}'", code="resource_missing", param=param)


@dataclass
class RecordedRequest:
    """One request the fake received. `headers` is case-insensitive."""

    method: str
    path: str
    headers: Headers
    params: dict[str, Any]
    query: str = ""
    status: int = 0
    response: Any = None
    replayed: bool = False

    @property
    def idempotency_key(self) -> str | None:
        return self.headers.get("idempotency-key")

    @property
    def api_key(self) -> str | None:
        auth = self.headers.get("authorization", "")
        return auth[7:] if auth.startswith("Bearer ") else None


@dataclass
class _IdempotentResult:
    method: str
    path: str
    params: dict[str, Any]
    status: int
    body: Any


@dataclass
class _Route:
    method: str
    pattern: re.Pattern[str]
    handler: Callable[..., tuple[int, Any]]
    names: list[str] = field(default_factory=list)


def signature_header(payload: bytes | str, secret: str, timestamp: int | None = None) -> str:
    """The `Stripe-Signature` header Stripe would send with `payload` for endpoint `secret`."""
    ts = int(time.time()) if timestamp is None else timestamp
    body = payload.decode() if isinstance(payload, bytes) else payload
    mac = hmac.new(secret.encode(), f"{ts}.{body}".encode(), hashlib.sha256).hexdigest()
    return f"t={ts},v1={mac}"


# ---------------------------------------------------------------------------------------------
# Param helpers


def _int_param(params: Mapping[str, Any], name: str, *, path: str | None = None) -> int | None:
    value = params.get(name)
    if value is None or value == "":
        return None
    try:
        return int(value)
    except (TypeError, ValueError):
        raise StripeError(
            400, f"Invalid integer: {value}", code="parameter_invalid_integer", param=path or name
        ) from None


def _str_param(params: Mapping[str, Any], name: str) -> str | None:
    value = params.get(name)
    if value is None or value == "":
        return None
    if not isinstance(value, str):
        raise StripeError(400, f"Invalid string: {value!r}", param=name)
    return value


def _metadata(params: Mapping[str, Any], name: str = "metadata") -> dict[str, str]:
    value = params.get(name)
    if value is None or value == "":
        return {}
    if not isinstance(value, dict):
        raise StripeError(400, "Invalid object", code="parameter_invalid_empty", param=name)
    return {str(k): str(v) for k, v in value.items() if v != ""}


def _expand(params: Mapping[str, Any]) -> list[str]:
    value = params.get("expand")
    if value is None:
        return []
    return value if isinstance(value, list) else [value]


# ---------------------------------------------------------------------------------------------
# The fake


class FakeStripe(StartStop):
    """In-memory Stripe over HTTP. All state is guarded by one lock.

    Public state (read it, don't mutate it from tests; use the helpers):
      `sessions`: id -> checkout session dict (the JSON the API returns)
      `line_items`: session id -> decoded `line_items` param it was created with
      `payment_intents`, `customers`: id -> object dict
      `refunds`: list of Refund dicts, oldest first
      `events`: every Event built by `build_event`, oldest first
      `requests`: every request received, oldest first
    """

    def __init__(
        self,
        *,
        webhook_url: str | None = None,
        webhook_secret: str | None = None,
        clock: Callable[[], float] = time.time,
        port: int | None = None,
    ) -> None:
        self.webhook_url = webhook_url
        self.webhook_secret = webhook_secret
        self.clock = clock
        self.lock = threading.RLock()
        self.sessions: dict[str, dict[str, Any]] = {}
        self.line_items: dict[str, list[Any]] = {}
        self.payment_intents: dict[str, dict[str, Any]] = {}
        self.customers: dict[str, dict[str, Any]] = {}
        self.refunds: list[dict[str, Any]] = []
        self.events: list[dict[str, Any]] = []
        self.requests: list[RecordedRequest] = []
        self._idempotency: dict[tuple[str, str], _IdempotentResult] = {}
        self._pi_metadata: dict[str, dict[str, str]] = {}
        self._seq = 0
        self._order: dict[str, int] = {}
        self._answer_delays: dict[tuple[str, str], float] = {}
        self._routes = self._build_routes()
        self.app = Starlette(
            routes=[
                Route("/pay/{session_id}", self._pay_page, methods=["GET"]),
                Route("/pay/{session_id}", self._pay_submit, methods=["POST"]),
                Route("/{path:path}", self._api, methods=["GET", "POST", "DELETE"]),
            ]
        )
        self._server = ThreadedServer(self.app, port=port)

    # -- lifecycle ------------------------------------------------------------------------------

    def start(self) -> FakeStripe:
        self._server.start()
        return self

    def stop(self) -> None:
        self._server.stop()

    @property
    def url(self) -> str:
        """Base address, e.g. `http://127.0.0.1:54321` (no trailing slash)."""
        return self._server.url

    @property
    def port(self) -> int:
        return self._server.port


    def reset(self) -> None:
        """Forget every object, request, event and idempotency key; the server keeps running."""
        with self.lock:
            self.sessions.clear()
            self.line_items.clear()
            self.payment_intents.clear()
            self.customers.clear()
            self.refunds.clear()
            self.events.clear()
            self.requests.clear()
            self._idempotency.clear()
            self._pi_metadata.clear()
            self._order.clear()
            self._seq = 0
            self._answer_delays.clear()

    def now(self) -> int:
        return int(self.clock())

    # -- test-side helpers ----------------------------------------------------------------------

    def answer_slowly(self, method: str, path: str, seconds: float) -> None:
        """Hold every answer to `method path` (e.g. "POST", "/v1/refunds") for `seconds`, as a
        slow Stripe would. The request is recorded and carried out at once; only the answer
        waits (on the fake's own event loop, so other requests are served meanwhile).
        `reset()` makes every answer prompt again."""
        with self.lock:
            self._answer_delays[(method.upper(), path)] = seconds

    def complete_session(
        self, session_id: str, *, paid: bool = True, email: str | None = None
    ) -> dict[str, Any]:
        """The customer finishes checkout: status "complete", payment_status "paid" (or
        "unpaid", as with a delayed payment method), a PaymentIntent `pi_…` and a Customer
        `cus_…` are created. Returns a copy of the session."""
        with self.lock:
            session = self._session(session_id)
            if session["status"] != "open":
                raise ValueError(f"session {session_id} is {session['status']}, not open")
            email = email or session["customer_email"] or "customer@example.com"
            customer_id = session["customer"]
            if customer_id is None:
                customer_id = _new_id("cus_", 14)
                self.customers[customer_id] = {
                    "id": customer_id,
                    "object": "customer",
                    "created": self.now(),
                    "email": email,
                    "name": None,
                    "metadata": {},
                    "livemode": False,
                }
            pi_id = _new_id("pi_", 24)
            self.payment_intents[pi_id] = {
                "id": pi_id,
                "object": "payment_intent",
                "amount": session["amount_total"],
                "amount_received": session["amount_total"] if paid else 0,
                "currency": session["currency"],
                "customer": customer_id,
                "created": self.now(),
                "status": "succeeded" if paid else "processing",
                "latest_charge": _new_id("ch_", 24) if paid else None,
                "metadata": dict(self._pi_metadata.get(session_id, {})),
                "livemode": False,
            }
            session.update(
                status="complete",
                payment_status="paid" if paid else "unpaid",
                payment_intent=pi_id,
                customer=customer_id,
                url=None,
            )
            session["customer_details"] = {
                **(session.get("customer_details") or {}),
                "email": email,
            }
            return copy.deepcopy(session)

    def pay_session(self, session_id: str) -> dict[str, Any]:
        """A delayed payment (completed with paid=False) succeeds: payment_status "paid"."""
        with self.lock:
            session = self._session(session_id)
            if session["status"] != "complete" or session["payment_status"] != "unpaid":
                raise ValueError(f"session {session_id} is not complete and unpaid")
            session["payment_status"] = "paid"
            pi = self.payment_intents[session["payment_intent"]]
            pi.update(
                status="succeeded",
                amount_received=pi["amount"],
                latest_charge=_new_id("ch_", 24),
            )
            return copy.deepcopy(session)

    def expire_session(self, session_id: str) -> dict[str, Any]:
        """Expire an open session as Stripe does at `expires_at`. Returns a copy."""
        with self.lock:
            session = self._session(session_id)
            if session["status"] != "open":
                raise ValueError(f"session {session_id} is {session['status']}, not open")
            session.update(status="expired", url=None)
            return copy.deepcopy(session)

    def build_event(
        self,
        type: str,
        obj: Mapping[str, Any],
        *,
        event_id: str | None = None,
        created: int | None = None,
    ) -> dict[str, Any]:
        """A Stripe Event JSON dict carrying `obj` (deep-copied); also kept in `events`."""
        event = {
            "id": event_id or _new_id("evt_", 24),
            "object": "event",
            "api_version": EVENT_API_VERSION,
            "created": self.now() if created is None else created,
            "type": type,
            "data": {"object": copy.deepcopy(dict(obj))},
            "livemode": False,
            "pending_webhooks": 1,
            "request": {"id": None, "idempotency_key": None},
        }
        with self.lock:
            self.events.append(event)
        return copy.deepcopy(event)

    def send_event(
        self,
        event: Mapping[str, Any],
        url: str | None = None,
        secret: str | None = None,
        *,
        timestamp: int | None = None,
        timeout: float = 10.0,
    ) -> httpx.Response:
        """POST `event` to the webhook URL, signed like Stripe (`Stripe-Signature`)."""
        target = url or self.webhook_url
        key = secret or self.webhook_secret
        if target is None or key is None:
            raise ValueError("send_event needs a url and a secret (or webhook_url/secret)")
        payload = json.dumps(event, indent=2)
        headers = {
            "Content-Type": "application/json; charset=utf-8",
            "Stripe-Signature": signature_header(payload, key, timestamp),
            "User-Agent": "Stripe/1.0 (+https://stripe.com/docs/webhooks)",
        }
        return httpx.post(target, content=payload.encode(), headers=headers, timeout=timeout)

    # -- internals: state -----------------------------------------------------------------------

    def _session(self, session_id: str) -> dict[str, Any]:
        session = self.sessions.get(session_id)
        if session is None:
            raise KeyError(session_id)
        self._auto_expire(session)
        return session

    def _auto_expire(self, session: dict[str, Any]) -> None:
        if session["status"] == "open" and self.now() >= session["expires_at"]:
            session.update(status="expired", url=None)

    # -- internals: HTTP ------------------------------------------------------------------------

    def _build_routes(self) -> list[_Route]:
        table: list[tuple[str, str, Callable[..., tuple[int, Any]]]] = [
            ("POST", "/v1/checkout/sessions", self._create_session),
            ("GET", "/v1/checkout/sessions", self._list_sessions),
            ("GET", "/v1/checkout/sessions/{session}", self._retrieve_session),
            ("POST", "/v1/checkout/sessions/{session}/expire", self._expire_session),
            ("POST", "/v1/refunds", self._create_refund),
            ("GET", "/v1/refunds", self._list_refunds),
            ("GET", "/v1/refunds/{refund}", self._retrieve_refund),
            ("GET", "/v1/payment_intents/{intent}", self._retrieve_payment_intent),
            ("GET", "/v1/customers/{customer}", self._retrieve_customer),
        ]
        routes = []
        for method, template, handler in table:
            names = re.findall(r"\{(\w+)\}", template)
            regex = "^" + re.sub(r"\{\w+\}", r"([^/]+)", template) + "$"
            routes.append(_Route(method, re.compile(regex), handler, names))
        return routes

    async def _api(self, request: Request) -> Response:
        body = await request.body()
        params: dict[str, Any]
        if request.method == "POST":
            ctype = request.headers.get("content-type", "")
            if ctype.startswith("application/json"):
                params = json.loads(body or b"{}")
            else:
                pairs = urllib.parse.parse_qsl(body.decode(), keep_blank_values=True)
                params = decode_stripe_params(pairs)
        else:
            params = decode_stripe_params(request.query_params.multi_items())
        path = request.url.path
        record = RecordedRequest(
            method=request.method,
            path=path,
            headers=Headers(raw=list(request.headers.raw)),
            params=params,
            query=request.url.query,
        )
        with self.lock:
            self.requests.append(record)
            status, payload, replayed = self._dispatch(record)
            record.status, record.response, record.replayed = status, payload, replayed
            delay = self._answer_delays.get((request.method, path), 0.0)
        if delay > 0:
            await asyncio.sleep(delay)
        headers = {
            "Request-Id": _new_id("req_", 14),
            "Stripe-Version": request.headers.get("stripe-version", EVENT_API_VERSION),
        }
        if record.idempotency_key:
            headers["Idempotency-Key"] = record.idempotency_key
        if replayed:
            headers["Idempotent-Replayed"] = "true"
        return JSONResponse(payload, status_code=status, headers=headers)

    def _dispatch(self, rec: RecordedRequest) -> tuple[int, Any, bool]:
        try:
            api_key = self._authenticate(rec)
            route, args = self._match(rec.method, rec.path)
            idem_key = rec.idempotency_key if rec.method == "POST" else None
            if idem_key:
                previous = self._idempotency.get((api_key, idem_key))
                if previous is not None:
                    same = (previous.method, previous.path, previous.params) == (
                        rec.method,
                        rec.path,
                        rec.params,
                    )
                    if not same:
                        raise StripeError(
                            400,
                            "Keys for idempotent requests can only be used with the same "
                            "parameters they were first used with. Try using a key other than "
                            f"'{idem_key}' if you meant to execute a different request.",
                            type="idempotency_error",
                        )
                    return previous.status, copy.deepcopy(previous.body), True
            status, payload = route.handler(rec.params, *args)
            # Stripe saves the result once the endpoint started executing; requests that
            # failed validation (4xx) are not saved, so a retry with the key runs again.
            if idem_key and status < 400:
                self._idempotency[(api_key, idem_key)] = _IdempotentResult(
                    rec.method, rec.path, copy.deepcopy(rec.params), status, copy.deepcopy(payload)
                )
            return status, payload, False
        except StripeError as err:
            return err.status, err.body(), False

    def _authenticate(self, rec: RecordedRequest) -> str:
        auth = rec.headers.get("authorization")
        if not auth:
            raise StripeError(
                401,
                "You did not provide an API key. You need to provide your API key in the "
                "Authorization header, using Bearer auth (e.g. 'Authorization: Bearer "
                "YOUR_SECRET_KEY').",
            )
        key = rec.api_key
        if not key or not (key.startswith("sk_") or key.startswith("rk_")):
            shown = key or auth
            raise StripeError(401, f"Invalid API Key provided: {shown[:12]}***")
        return key

    def _match(self, method: str, path: str) -> tuple[_Route, list[str]]:
        for route in self._routes:
            m = route.pattern.match(path)
            if m and route.method == method:
                return route, [urllib.parse.unquote(g) for g in m.groups()]
        raise StripeError(404, f"Unrecognized request URL ({method}: {path}).")

    # -- checkout sessions ----------------------------------------------------------------------

    def _create_session(self, params: dict[str, Any]) -> tuple[int, Any]:
        mode = _str_param(params, "mode")
        if mode is None:
            raise StripeError(
                400, "Missing required param: mode.", code="parameter_missing", param="mode"
            )
        if mode not in ("payment", "setup", "subscription"):
            raise StripeError(
                400,
                "Invalid mode: must be one of payment, setup, or subscription",
                code="parameter_invalid_string",
                param="mode",
            )
        raw_items = params.get("line_items") or []
        if not isinstance(raw_items, list):
            raise StripeError(400, "Invalid array", param="line_items")
        if mode != "setup" and not raw_items:
            raise StripeError(
                400,
                f"line_items is required in `{mode}` mode.",
                code="parameter_missing",
                param="line_items",
            )
        currency: str | None = _str_param(params, "currency")
        subtotal = 0
        for i, item in enumerate(raw_items):
            base = f"line_items[{i}]"
            if not isinstance(item, dict):
                raise StripeError(400, "Invalid object", param=base)
            if "price" in item:
                raise _missing("price", str(item["price"]), f"{base}[price]")
            price_data = item.get("price_data")
            if not isinstance(price_data, dict):
                raise StripeError(
                    400,
                    f"You must specify either `price` or `price_data` in {base}.",
                    code="parameter_missing",
                    param=base,
                )
            item_currency = _str_param(price_data, "currency")
            if item_currency is None:
                raise StripeError(
                    400,
                    "Missing required param: currency.",
                    code="parameter_missing",
                    param=f"{base}[price_data][currency]",
                )
            item_currency = item_currency.lower()
            if currency is not None and currency.lower() != item_currency:
                raise StripeError(
                    400,
                    "All line items must use the same currency.",
                    param=f"{base}[price_data][currency]",
                )
            currency = item_currency
            unit_amount = _int_param(
                price_data, "unit_amount", path=f"{base}[price_data][unit_amount]"
            )
            if unit_amount is None or unit_amount < 0:
                raise StripeError(
                    400,
                    "Missing required param: unit_amount.",
                    code="parameter_missing",
                    param=f"{base}[price_data][unit_amount]",
                )
            product_data = price_data.get("product_data")
            if "product" not in price_data and not (
                isinstance(product_data, dict) and product_data.get("name")
            ):
                raise StripeError(
                    400,
                    "Missing required param: product_data[name].",
                    code="parameter_missing",
                    param=f"{base}[price_data][product_data][name]",
                )
            quantity = _int_param(item, "quantity", path=f"{base}[quantity]")
            if quantity is None:
                raise StripeError(
                    400,
                    "Missing required param: quantity.",
                    code="parameter_missing",
                    param=f"{base}[quantity]",
                )
            if quantity < 1:
                raise StripeError(400, "Quantity must be at least 1.", param=f"{base}[quantity]")
            subtotal += unit_amount * quantity
        minimum = {"usd": 50, "eur": 50, "gbp": 30}.get(currency or "", 0)
        if mode == "payment" and subtotal < minimum:
            raise StripeError(
                400,
                "The Checkout Session's total amount due must add up to at "
                f"least {minimum / 100:.2f} {currency}",
                param="line_items",
            )

        now = self.now()
        expires_at = _int_param(params, "expires_at")
        if expires_at is None:
            expires_at = now + SESSION_LIFETIME_DEFAULT
        elif not (
            now + SESSION_LIFETIME_MIN - _CLOCK_SLACK
            <= expires_at
            <= now + SESSION_LIFETIME_MAX + _CLOCK_SLACK
        ):
            raise StripeError(
                400,
                "The `expires_at` timestamp must be between 30 minutes and "
                "24 hours from Checkout Session creation.",
                param="expires_at",
            )
        ui_mode = _str_param(params, "ui_mode") or "hosted"
        success_url = _str_param(params, "success_url")
        if ui_mode == "hosted" and success_url is None:
            raise StripeError(
                400,
                "Missing required param: success_url.",
                code="parameter_missing",
                param="success_url",
            )
        customer = _str_param(params, "customer")
        if customer is not None and customer not in self.customers:
            raise _missing("customer", customer, "customer")
        customer_email = _str_param(params, "customer_email")
        if customer is not None and customer_email is not None:
            raise StripeError(
                400,
                "You may only specify one of these parameters: customer, customer_email.",
                param="customer_email",
            )

        session_id = _new_id("cs_test_", 58)
        pi_data = params.get("payment_intent_data")
        if isinstance(pi_data, dict):
            self._pi_metadata[session_id] = _metadata(pi_data)
        session: dict[str, Any] = {
            "id": session_id,
            "object": "checkout.session",
            "amount_subtotal": subtotal,
            "amount_total": subtotal,
            "cancel_url": _str_param(params, "cancel_url"),
            "client_reference_id": _str_param(params, "client_reference_id"),
            "created": now,
            "currency": currency,
            "customer": customer,
            "customer_details": {"email": customer_email} if customer_email else None,
            "customer_email": customer_email,
            "expires_at": expires_at,
            "livemode": False,
            "metadata": _metadata(params),
            "mode": mode,
            "payment_intent": None,
            "payment_status": "no_payment_required" if mode == "setup" else "unpaid",
            "status": "open",
            "success_url": success_url,
            "ui_mode": ui_mode,
            "url": f"{self.url}/pay/{session_id}",
        }
        self.sessions[session_id] = session
        self.line_items[session_id] = copy.deepcopy(raw_items)
        self._seq += 1
        self._order[session_id] = self._seq
        return 200, copy.deepcopy(session)

    def _session_or_404(self, session_id: str) -> dict[str, Any]:
        try:
            return self._session(session_id)
        except KeyError:
            raise _missing("checkout.session", session_id) from None

    def _render_session(self, session: dict[str, Any], expand: list[str]) -> dict[str, Any]:
        out = copy.deepcopy(session)
        if "payment_intent" in expand and out["payment_intent"]:
            out["payment_intent"] = copy.deepcopy(self.payment_intents[out["payment_intent"]])
        if "customer" in expand and out["customer"]:
            out["customer"] = copy.deepcopy(self.customers[out["customer"]])
        return out

    def _retrieve_session(self, params: dict[str, Any], session_id: str) -> tuple[int, Any]:
        session = self._session_or_404(session_id)
        return 200, self._render_session(session, _expand(params))

    def _expire_session(self, params: dict[str, Any], session_id: str) -> tuple[int, Any]:
        session = self._session_or_404(session_id)
        if session["status"] != "open":
            raise StripeError(
                400,
                f'Only Checkout Sessions with a status in ["open"] can be '
                f"expired. This Checkout Session has a status of "
                f'"{session["status"]}".',
            )
        session.update(status="expired", url=None)
        return 200, copy.deepcopy(session)

    def _list_sessions(self, params: dict[str, Any]) -> tuple[int, Any]:
        for s in self.sessions.values():
            self._auto_expire(s)
        items = sorted(
            self.sessions.values(),
            key=lambda s: (s["created"], self._order[s["id"]]),
            reverse=True,
        )
        items = [s for s in items if _created_matches(s["created"], params.get("created"))]
        for name in ("status", "payment_intent", "customer"):
            wanted = _str_param(params, name)
            if wanted is not None:
                items = [s for s in items if s[name] == wanted]
        data = _paginate(items, params, "/v1/checkout/sessions")
        data["data"] = [self._render_session(s, _expand_list(params)) for s in data["data"]]
        return 200, data

    # -- refunds --------------------------------------------------------------------------------

    def _create_refund(self, params: dict[str, Any]) -> tuple[int, Any]:
        pi_id = _str_param(params, "payment_intent")
        if pi_id is None:
            if params.get("charge"):
                raise StripeError(
                    400, "This fake only supports refunds by payment_intent.", param="charge"
                )
            raise StripeError(
                400,
                "One of the following params should be provided for this "
                "request: payment_intent or charge.",
                code="parameter_missing",
                param="payment_intent",
            )
        pi = self.payment_intents.get(pi_id)
        if pi is None:
            raise _missing("payment_intent", pi_id, "payment_intent")
        if pi["status"] != "succeeded":
            raise StripeError(
                400,
                f"This PaymentIntent ({pi_id}) does not have a successful charge to refund.",
                code="payment_intent_unexpected_state",
                param="payment_intent",
            )
        already = sum(
            r["amount"]
            for r in self.refunds
            if r["payment_intent"] == pi_id and r["status"] in ("succeeded", "pending")
        )
        remaining = pi["amount"] - already
        amount = _int_param(params, "amount")
        if amount is not None and amount < 1:
            raise StripeError(
                400, "Invalid positive integer", param="amount", code="parameter_invalid_integer"
            )
        if remaining <= 0 or (amount is not None and amount > remaining):
            message = (
                f"Charge {pi['latest_charge']} has already been refunded."
                if remaining <= 0
                else f"Refund amount ({amount}) is greater than unrefunded amount on charge "
                f"({remaining})."
            )
            raise StripeError(
                400,
                message,
                code="charge_already_refunded",
                param="amount" if remaining > 0 else None,
            )
        reason = _str_param(params, "reason")
        if reason is not None and reason not in (
            "duplicate",
            "fraudulent",
            "requested_by_customer",
        ):
            raise StripeError(
                400, "Invalid reason", code="parameter_invalid_string", param="reason"
            )
        refund = {
            "id": _new_id("re_", 24),
            "object": "refund",
            "amount": remaining if amount is None else amount,
            "charge": pi["latest_charge"],
            "created": self.now(),
            "currency": pi["currency"],
            "metadata": _metadata(params),
            "payment_intent": pi_id,
            "reason": reason,
            "status": "succeeded",
        }
        self.refunds.append(refund)
        return 200, copy.deepcopy(refund)

    def _retrieve_refund(self, params: dict[str, Any], refund_id: str) -> tuple[int, Any]:
        for refund in self.refunds:
            if refund["id"] == refund_id:
                return 200, copy.deepcopy(refund)
        raise _missing("refund", refund_id)

    def _list_refunds(self, params: dict[str, Any]) -> tuple[int, Any]:
        items = list(reversed(self.refunds))
        pi_id = _str_param(params, "payment_intent")
        if pi_id is not None:
            items = [r for r in items if r["payment_intent"] == pi_id]
        items = [r for r in items if _created_matches(r["created"], params.get("created"))]
        data = _paginate(items, params, "/v1/refunds")
        data["data"] = copy.deepcopy(data["data"])
        return 200, data

    # -- other objects --------------------------------------------------------------------------

    def _retrieve_payment_intent(self, params: dict[str, Any], pi_id: str) -> tuple[int, Any]:
        pi = self.payment_intents.get(pi_id)
        if pi is None:
            raise _missing("payment_intent", pi_id)
        return 200, copy.deepcopy(pi)

    def _retrieve_customer(self, params: dict[str, Any], customer_id: str) -> tuple[int, Any]:
        customer = self.customers.get(customer_id)
        if customer is None:
            raise _missing("customer", customer_id)
        return 200, copy.deepcopy(customer)

    # -- hosted payment page --------------------------------------------------------------------

    async def _pay_page(self, request: Request) -> Response:
        session_id = request.path_params["session_id"]
        with self.lock:
            session = self.sessions.get(session_id)
            if session is not None:
                self._auto_expire(session)
                session = copy.deepcopy(session)
        if session is None:
            return HTMLResponse("<h1>Checkout session not found</h1>", status_code=404)
        if session["status"] != "open":
            return HTMLResponse(
                f"<h1>This checkout session is {html.escape(session['status'])}</h1>",
                status_code=410,
            )
        amount = f"{session['amount_total'] / 100:.2f} {str(session['currency']).upper()}"
        cancel = session["cancel_url"]
        cancel_link = f'<a id="cancel" href="{html.escape(cancel)}">Cancel</a>' if cancel else ""
        page = f"""<!doctype html>
<html><head><title>Fake Stripe Checkout</title></head>
<body>
<h1>Fake Stripe Checkout</h1>
<p id="amount">{html.escape(amount)}</p>
<form method="post">
  <input name="email" type="email" value="{html.escape(session["customer_email"] or "")}">
  <button id="pay" type="submit" name="outcome" value="paid">Pay</button>
  <button id="pay-delayed" type="submit" name="outcome" value="unpaid">Pay later</button>
</form>
{cancel_link}
</body></html>"""
        return HTMLResponse(page)

    async def _pay_submit(self, request: Request) -> Response:
        session_id = request.path_params["session_id"]
        form = await request.form()
        paid = form.get("outcome", "paid") == "paid"
        email = str(form.get("email") or "") or None
        try:
            session = self.complete_session(session_id, paid=paid, email=email)
        except KeyError:
            return HTMLResponse("<h1>Checkout session not found</h1>", status_code=404)
        except ValueError as err:
            return HTMLResponse(f"<h1>{html.escape(str(err))}</h1>", status_code=410)
        if self.webhook_url and self.webhook_secret:
            event = self.build_event("checkout.session.completed", session)
            payload = json.dumps(event, indent=2)
            async with httpx.AsyncClient(timeout=10.0) as client:
                await client.post(
                    self.webhook_url,
                    content=payload.encode(),
                    headers={
                        "Content-Type": "application/json; charset=utf-8",
                        "Stripe-Signature": signature_header(payload, self.webhook_secret),
                    },
                )
        target = (session["success_url"] or "/").replace("{CHECKOUT_SESSION_ID}", session_id)
        return RedirectResponse(target, status_code=303)


# ---------------------------------------------------------------------------------------------
# Listing


def _expand_list(params: Mapping[str, Any]) -> list[str]:
    return [e.removeprefix("data.") for e in _expand(params)]


def _created_matches(created: int, spec: Any) -> bool:
    if spec is None or spec == "":
        return True
    if not isinstance(spec, dict):
        return created == int(spec)
    checks: dict[str, Callable[[int, int], bool]] = {
        "gt": lambda a, b: a > b,
        "gte": lambda a, b: a >= b,
        "lt": lambda a, b: a < b,
        "lte": lambda a, b: a <= b,
    }
    for op, value in spec.items():
        if op not in checks:
            raise StripeError(
                400,
                f"Received unknown parameter: created[{op}]",
                code="parameter_unknown",
                param=f"created[{op}]",
            )
        try:
            bound = int(value)
        except (TypeError, ValueError):
            raise StripeError(
                400,
                f"Invalid integer: {value}",
                param=f"created[{op}]",
                code="parameter_invalid_integer",
            ) from None
        if not checks[op](created, bound):
            return False
    return True


def _paginate(items: list[dict[str, Any]], params: Mapping[str, Any], url: str) -> dict[str, Any]:
    limit = _int_param(params, "limit")
    limit = 10 if limit is None else limit
    if not 1 <= limit <= 100:
        raise StripeError(400, "Invalid limit: must be between 1 and 100", param="limit")
    after = _str_param(params, "starting_after")
    before = _str_param(params, "ending_before")
    ids = [item["id"] for item in items]
    if after is not None:
        if after not in ids:
            raise _missing("object", after, "starting_after")
        window = items[ids.index(after) + 1 :]
        page = window[:limit]
        has_more = len(window) > limit
    elif before is not None:
        if before not in ids:
            raise _missing("object", before, "ending_before")
        window = items[: ids.index(before)]
        page = window[-limit:]
        has_more = len(window) > limit
    else:
        page = items[:limit]
        has_more = len(items) > limit
    return {"object": "list", "data": page, "has_more": has_more, "url": url}
