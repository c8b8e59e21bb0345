"""The bot's health, and the status server that shows it: GET /health and GET /metrics.

Health rules (`check_health`):
- database: answers `SELECT 1` within DATABASE_TIMEOUT seconds.
- scheduler: the last delivery tick started at most `lag_limit` ago, that is
  max(60 s, 6 × TICK_SECONDS, the dispatcher's max_tick_seconds + 2 × TICK_SECONDS): a
  busy tick may run up to max_tick_seconds while catching up, and the next one starts
  right after it. Before the first tick, the lag counts from when the status server started.
- outbox: always reported (messages due more than a minute ago, and claimed ones). It
  fails only when BACKLOG_LIMIT or more messages are overdue AND the oldest has waited
  longer than MISSED_AFTER_MINUTES plus the lag limit: a working tick marks such messages
  missed, so both at once mean ticks start but delivery is stuck.
Healthy means all three pass. A throughput problem alone (a big but young backlog) is
reported, not failed: restarting the bot would not make Telegram send faster.

The server runs inside the bot's event loop (tornado, as PTB's webhook server does) on
STATUS_LISTEN:STATUS_PORT; `glutebot run` attaches it with `serve_status`, and the
Application starts it in post_init and stops it in post_shutdown.
"""

from __future__ import annotations

import asyncio
import json
import logging
import socket
import time
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Protocol

from prometheus_client import CONTENT_TYPE_LATEST
from sqlalchemy import func, select, text
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession
from telegram.ext import Application
from tornado.httpserver import HTTPServer
from tornado.netutil import bind_sockets
from tornado.web import Application as WebApplication
from tornado.web import RequestHandler

from bot.db.models import Nudge, NudgeState
from bot.metrics import METRICS, Metrics
from bot.runtime import Runtime, get_runtime

log = logging.getLogger(__name__)

STATUS_KEY = "status_server"
DATABASE_TIMEOUT = 3.0  # seconds for SELECT 1 (and for the outbox counts)
OVERDUE_AFTER = timedelta(minutes=1)  # a message due longer ago than this is late
BACKLOG_LIMIT = 50  # overdue messages that, when also old, mean delivery is stuck
MIN_LAG_LIMIT = 60.0
WILDCARDS = {"", "0.0.0.0", "::", "[::]"}


class Ticking(Protocol):
    """What the health check reads from the delivery dispatcher."""

    @property
    def last_tick_at(self) -> datetime | None: ...


@dataclass(frozen=True)
class Check:
    """One health check: its name, whether it passed, and one line about it."""

    name: str
    ok: bool
    detail: str

    def line(self) -> str:
        return f"{self.name}: {'ok' if self.ok else 'FAILING'} - {self.detail}"


@dataclass(frozen=True)
class Outbox:
    """The outbox as counted now: due and overdue scheduled messages, and claimed ones."""

    due: int
    overdue: int
    claimed: int
    oldest_due_at: datetime | None


@dataclass(frozen=True)
class Health:
    """The checks, and the figures behind them (None when they could not be measured)."""

    checks: tuple[Check, ...]
    tick_lag_seconds: float | None
    lag_limit_seconds: float
    outbox: Outbox | None
    at: datetime

    @property
    def ok(self) -> bool:
        return all(check.ok for check in self.checks)

    def as_json(self) -> dict[str, Any]:
        """The body of GET /health."""
        outbox = self.outbox
        oldest = None
        if outbox is not None and outbox.oldest_due_at is not None:
            oldest = round((self.at - outbox.oldest_due_at).total_seconds(), 1)
        return {
            "ok": self.ok,
            "status": "ok" if self.ok else "unhealthy",
            "at": self.at.isoformat(),
            "checks": {
                check.name: {"ok": check.ok, "detail": check.detail} for check in self.checks
            },
            "tick_lag_seconds": (
                None if self.tick_lag_seconds is None else round(self.tick_lag_seconds, 1)
            ),
            "tick_lag_limit_seconds": self.lag_limit_seconds,
            "outbox": None
            if outbox is None
            else {
                "due": outbox.due,
                "overdue": outbox.overdue,
                "claimed": outbox.claimed,
                "oldest_due_seconds": oldest,
            },
        }


# ---- the checks ------------------------------------------------------------------------------


def lag_limit(tick_seconds: float, max_tick_seconds: float = 0.0) -> float:
    """How long ago the last tick may have started before the scheduler counts as stuck."""
    return max(MIN_LAG_LIMIT, 6 * tick_seconds, max_tick_seconds + 2 * tick_seconds)


def scheduler_check(lag: timedelta | None, limit: float, *, ticked: bool) -> Check:
    """The scheduler passes when the last tick (or the start, before any) is recent enough."""
    if lag is None:
        return Check("scheduler", True, "no tick yet (just started)")
    seconds = lag.total_seconds()
    if ticked:
        detail = f"last tick started {seconds:.0f} s ago (limit {limit:.0f} s)"
    else:
        detail = f"no tick in the {seconds:.0f} s since the start (limit {limit:.0f} s)"
    return Check("scheduler", seconds <= limit, detail)


def outbox_check(outbox: Outbox, now: datetime, old_after: timedelta) -> Check:
    """Backlog is reported; it fails only when large (BACKLOG_LIMIT) and old (`old_after`)."""
    detail = f"{outbox.overdue} overdue by more than a minute, {outbox.claimed} claimed"
    oldest = now - outbox.oldest_due_at if outbox.oldest_due_at is not None else None
    if oldest is not None and outbox.due:
        detail += f", oldest due {oldest.total_seconds():.0f} s ago"
    stuck = outbox.overdue >= BACKLOG_LIMIT and oldest is not None and oldest > old_after
    if stuck:
        return Check("outbox", False, detail + " (delivery is stuck)")
    return Check("outbox", True, detail)


async def database_check(engine: AsyncEngine) -> Check:
    """SELECT 1 within DATABASE_TIMEOUT seconds; the reason in one line when it fails."""
    started = time.monotonic()
    try:
        async with asyncio.timeout(DATABASE_TIMEOUT), engine.connect() as connection:
            await connection.execute(text("SELECT 1"))
    except TimeoutError:
        return Check("database", False, f"no answer within {DATABASE_TIMEOUT:g} s")
    except Exception as exc:  # whatever it is, the database is not usable: say why
        lines = str(getattr(exc, "orig", None) or exc).strip().splitlines()
        reason = lines[0] if lines else type(exc).__name__
        return Check("database", False, f"unreachable: {reason}")
    elapsed = (time.monotonic() - started) * 1000
    return Check("database", True, f"answered in {elapsed:.0f} ms")


async def count_outbox(session: AsyncSession, now: datetime) -> Outbox:
    """Count the outbox with the (state, due_at) index: cheap even with many users."""
    scheduled_due = (Nudge.state == NudgeState.SCHEDULED, Nudge.due_at <= now)
    due, oldest = (
        await session.execute(select(func.count(), func.min(Nudge.due_at)).where(*scheduled_due))
    ).one()
    overdue = await session.scalar(
        select(func.count()).where(
            Nudge.state == NudgeState.SCHEDULED, Nudge.due_at <= now - OVERDUE_AFTER
        )
    )
    claimed = await session.scalar(select(func.count()).where(Nudge.state == NudgeState.CLAIMED))
    return Outbox(int(due or 0), int(overdue or 0), int(claimed or 0), oldest)


async def check_health(
    runtime: Runtime, dispatcher: Ticking | None, *, started_at: datetime | None = None
) -> Health:
    """Is the bot working: database, scheduler lag and outbox backlog (rules: module doc)."""
    settings = runtime.settings
    now = runtime.clock.now()
    limit = lag_limit(settings.tick_seconds, float(getattr(dispatcher, "max_tick_seconds", 0.0)))
    last_tick = dispatcher.last_tick_at if dispatcher is not None else None
    since = last_tick or started_at
    lag = max(now - since, timedelta(0)) if since is not None else None
    checks = [await database_check(runtime.engine)]
    checks.append(scheduler_check(lag, limit, ticked=last_tick is not None))
    outbox: Outbox | None = None
    if checks[0].ok:
        try:
            async with asyncio.timeout(DATABASE_TIMEOUT), runtime.sessions() as session:
                outbox = await count_outbox(session, now)
        except Exception as exc:  # the database answered SELECT 1 but not this: report it
            checks.append(Check("outbox", False, f"cannot count: {type(exc).__name__}"))
        else:
            old_after = timedelta(minutes=settings.missed_after_minutes, seconds=limit)
            checks.append(outbox_check(outbox, now, old_after))
    else:
        checks.append(Check("outbox", False, "not counted (database unreachable)"))
    seconds = lag.total_seconds() if lag is not None else None
    return Health(tuple(checks), seconds, limit, outbox, now)


# ---- the HTTP server --------------------------------------------------------------------------


class StatusServerError(Exception):
    """The status server cannot listen where configured; the message says what to do."""


class StatusServer:
    """GET /health (JSON; 200 healthy, 503 not) and GET /metrics (Prometheus); else 404.

    The socket is bound at once (so a taken port fails before the bot starts, and port 0
    picks a free one, shown in `port`); requests are served between `start` and `stop`.
    """

    def __init__(
        self,
        runtime: Runtime,
        dispatcher: Ticking | None,
        *,
        listen: str,
        port: int,
        metrics: Metrics = METRICS,
    ) -> None:
        self.runtime = runtime
        self.dispatcher = dispatcher
        self.metrics = metrics
        self.listen = listen
        try:
            self._sockets = bind_sockets(port, address=listen or None)
        except (OSError, socket.gaierror) as exc:
            raise StatusServerError(
                f"cannot serve the status page on {listen}:{port} ({exc.strerror or exc}); "
                "set STATUS_PORT to a free port, or to 0 to turn it off"
            ) from None
        self.port: int = self._sockets[0].getsockname()[1]
        self._server: HTTPServer | None = None
        self.started_at: datetime | None = None

    @property
    def url(self) -> str:
        """Where to reach it from this machine."""
        return f"http://{local_host(self.listen)}:{self.port}"

    async def start(self) -> None:
        """Serve requests in the running event loop."""
        if self._server is not None:
            return
        routes = [
            (r"/health", _HealthHandler, {"status": self}),
            (r"/metrics", _MetricsHandler, {"status": self}),
        ]
        web = WebApplication(
            routes,
            default_handler_class=_NotFoundHandler,
            log_function=_log_request,
        )
        self._server = HTTPServer(web)
        self._server.add_sockets(self._sockets)
        self.started_at = self.runtime.clock.now()
        log.info("Status page at %s/health and %s/metrics", self.url, self.url)

    async def stop(self) -> None:
        """Stop listening and close open connections."""
        if self._server is None:
            for sock in self._sockets:
                sock.close()
            return
        server, self._server = self._server, None
        server.stop()
        await server.close_all_connections()

    async def health(self) -> Health:
        return await check_health(self.runtime, self.dispatcher, started_at=self.started_at)

    async def refresh_outbox(self) -> None:
        """Count the outbox for the gauge; on a database problem the last values stay."""
        try:
            async with asyncio.timeout(DATABASE_TIMEOUT), self.runtime.sessions() as session:
                outbox = await count_outbox(session, self.runtime.clock.now())
        except Exception:  # /metrics must answer even when the database does not
            log.debug("Could not count the outbox for /metrics", exc_info=True)
            return
        self.metrics.set_outbox_depth(scheduled=outbox.due, claimed=outbox.claimed)


def local_host(listen: str) -> str:
    """The address to connect to for a server listening on `listen` on this machine."""
    if listen in WILDCARDS:
        return "127.0.0.1"
    if ":" in listen and not listen.startswith("["):
        return f"[{listen}]"  # an IPv6 address in a URL
    return listen


class _StatusHandler(RequestHandler):
    def initialize(self, status: StatusServer) -> None:
        self.status = status

    def set_default_headers(self) -> None:
        self.set_header("Cache-Control", "no-store")


class _HealthHandler(_StatusHandler):
    async def get(self) -> None:
        health = await self.status.health()
        self.set_status(200 if health.ok else 503)
        self.set_header("Content-Type", "application/json; charset=utf-8")
        self.finish(json.dumps(health.as_json()) + "\n")


class _MetricsHandler(_StatusHandler):
    async def get(self) -> None:
        await self.status.refresh_outbox()
        self.set_header("Content-Type", CONTENT_TYPE_LATEST)
        self.finish(self.status.metrics.exposition())


class _NotFoundHandler(RequestHandler):
    def prepare(self) -> None:
        self.set_status(404)
        self.set_header("Content-Type", "text/plain; charset=utf-8")
        self.finish("Not found. Try /health or /metrics.\n")


def _log_request(handler: RequestHandler) -> None:
    # Health checks every few seconds would flood INFO; errors stay visible.
    status = handler.get_status()
    level = logging.WARNING if status >= 500 and status != 503 else logging.DEBUG
    request = handler.request
    log.log(level, "%d %s %s", status, request.method, request.uri)


# ---- wiring into the Application -------------------------------------------------------------


def serve_status(
    application: Application,  # type: ignore[type-arg]
    dispatcher: Ticking | None,
    *,
    listen: str,
    port: int,
) -> StatusServer:
    """Bind the status server now; it serves while the application runs.

    Raises StatusServerError when it cannot listen there. Port 0 picks a free port.
    """
    server = StatusServer(get_runtime(application), dispatcher, listen=listen, port=port)
    application.bot_data[STATUS_KEY] = server
    return server


def status_server_of(application: Application) -> StatusServer | None:  # type: ignore[type-arg]
    """The status server attached to the application, if any."""
    server = application.bot_data.get(STATUS_KEY)
    return server if isinstance(server, StatusServer) else None


async def start_status(application: Application) -> None:  # type: ignore[type-arg]
    """post_init: start the attached status server (nothing when none is attached)."""
    server = status_server_of(application)
    if server is not None:
        await server.start()


async def stop_status(application: Application) -> None:  # type: ignore[type-arg]
    """post_shutdown: stop the attached status server."""
    server = status_server_of(application)
    if server is not None:
        await server.stop()
