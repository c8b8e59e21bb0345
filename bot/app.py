"""Building the python-telegram-bot Application: the one place where everything is wired."""

from __future__ import annotations

import asyncio
import gc
import logging

from telegram.ext import AIORateLimiter, Application, ApplicationBuilder
from telegram.request import BaseRequest, HTTPXRequest

from bot.commands import bot_commands
from bot.db.migrate import upgrade
from bot.delivery.dispatcher import RECONCILE_EVERY, Dispatcher
from bot.handlers import register
from bot.handlers.updates import ConfirmWhenHandled, OnceApplication
from bot.runtime import RUNTIME_KEY, Runtime, get_runtime
from bot.services.broadcast import resume_after_restart
from bot.status import start_status, stop_status

log = logging.getLogger(__name__)

# Any well-formed token works against the local Telegram; it never leaves the process.
LOCAL_TOKEN = "1000000001:local-telegram-token"
DISPATCHER_KEY = "dispatcher"


async def _post_init(application: Application) -> None:  # type: ignore[type-arg]
    """Bring the database schema up to date and publish the command menu."""
    runtime = get_runtime(application)
    await upgrade(runtime.settings.database_url)
    # Broadcasts held up by downtime are spaced out again; an interrupted Send finishes.
    await resume_after_restart(
        runtime.sessions, runtime.clock.now(), runtime.settings.nudges_per_second
    )
    await application.bot.set_my_commands(bot_commands())
    log.info(
        "Glutebot is ready as @%s (database: %s)",
        application.bot.username,
        runtime.settings.database_label,
    )
    await start_status(application)  # /health and /metrics, when `serve_status` attached it
    # What start-up built (handlers, the exercise library, SQLAlchemy's and PTB's classes)
    # lives as long as the process: keep it out of the collector's full passes, which
    # otherwise stop the bot for 100 ms and more every minute or so under load.
    gc.freeze()


async def _post_shutdown(application: Application) -> None:  # type: ignore[type-arg]
    """Stop the status server and close the database when the application stops."""
    await stop_status(application)
    await get_runtime(application).close()


def build_application(
    runtime: Runtime,
    *,
    request: BaseRequest | None = None,
    get_updates_request: BaseRequest | None = None,
    rate_limited: bool = False,
    deliver: bool = True,
    time_scale: float = 1.0,
) -> Application:  # type: ignore[type-arg]
    """The real Application with Glutebot's handlers and the delivery tick.

    Without `request` it talks HTTP to Telegram (or TELEGRAM_API_BASE_URL); with one (the
    local Telegram's) it stays in-process. `rate_limited` adds PTB's AIORateLimiter, which
    keeps replies under Telegram's flood limits. `deliver=False` leaves the tick out, for
    tests that drive `dispatcher_of(application).tick()` themselves. `time_scale` is for
    tests and benchmarks on a clock running that many times faster (`glutebot run` with
    GLUTEBOT_CLOCK_SPEED): the rate limiter's windows shrink with it.
    """
    token = runtime.settings.token or LOCAL_TOKEN
    builder = (
        ApplicationBuilder()
        .application_class(OnceApplication)
        .token(token)
        .base_url(runtime.settings.telegram_api_base_url)
        .post_init(_post_init)
        .post_shutdown(_post_shutdown)
    )
    # Polling confirms to Telegram only updates already handled (see ConfirmWhenHandled).
    update_queue: asyncio.Queue[object] = asyncio.Queue()
    polling = get_updates_request or request or HTTPXRequest(connection_pool_size=1)
    builder = builder.update_queue(update_queue).get_updates_request(
        ConfirmWhenHandled(polling, update_queue)
    )
    if request is not None:
        builder = builder.request(request)
    if rate_limited:
        # PTB types the builder for no rate limiter; AIORateLimiter is its own documented one.
        limiter = AIORateLimiter(
            overall_time_period=1 / time_scale, group_time_period=60 / time_scale, max_retries=2
        )
        builder = builder.rate_limiter(limiter)  # type: ignore[arg-type]
    application = builder.build()
    application.bot_data[RUNTIME_KEY] = runtime
    register(application)
    dispatcher = Dispatcher(application.bot, runtime)
    application.bot_data[DISPATCHER_KEY] = dispatcher
    if deliver:
        assert application.job_queue is not None
        every = runtime.settings.tick_seconds
        application.job_queue.run_repeating(
            dispatcher.run_job,
            interval=every,
            first=1.0,
            name="delivery",
            # A late tick still runs (coalesced into one); ticks never overlap.
            job_kwargs={
                "misfire_grace_time": int(every * 4) + 1,
                "coalesce": True,
                "max_instances": 1,
            },
        )
        # Closes gaps a crash can leave in the schedule; at start, then now and again.
        application.job_queue.run_repeating(
            dispatcher.run_reconcile_job,
            interval=RECONCILE_EVERY,
            first=2.0,
            name="reconcile",
            job_kwargs={"coalesce": True, "max_instances": 1},
        )
    return application


def dispatcher_of(application: Application) -> Dispatcher:  # type: ignore[type-arg]
    """The application's delivery dispatcher."""
    dispatcher = application.bot_data[DISPATCHER_KEY]
    assert isinstance(dispatcher, Dispatcher)
    return dispatcher


async def start_application(application: Application, *, poll_timeout: int = 10) -> None:  # type: ignore[type-arg]
    """Start what `run_polling` starts, inside an already running event loop.

    The console, the tests and the benchmarks use this with the local Telegram; the
    production path is `Application.run_polling`, which does the same steps itself.
    """
    await application.initialize()
    if application.post_init is not None:
        await application.post_init(application)
    assert application.updater is not None
    await application.updater.start_polling(poll_interval=0, timeout=poll_timeout)
    await application.start()


async def stop_application(application: Application) -> None:  # type: ignore[type-arg]
    """Stop polling, finish handlers, and close the database: `start_application` undone."""
    if application.updater is not None and application.updater.running:
        await application.updater.stop()
    if application.running:
        await application.stop()
    await application.shutdown()
    if application.post_shutdown is not None:
        await application.post_shutdown(application)
