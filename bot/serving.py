"""The bot process: polling or a webhook until SIGTERM (or Ctrl-C), then a clean stop.

On a stop signal PTB's run_polling/run_webhook leave the event loop (their own handler
raises SystemExit) and then, in this order: Updater.stop (no more updates come in: polling
ends or the webhook server closes), Application.stop (updates already received are handled,
then the JobQueue stops and waits for the running delivery tick), post_stop, shutdown, and
post_shutdown (where Glutebot closes the database). Left alone, that running tick would send
the rest of its batch first. So Glutebot installs its own handler for the same signals: it
makes the dispatcher drain (finish the message in flight, hand the rest of the batch back to
the outbox, start no more work) and then leaves the loop the way PTB's handler does.
"""

from __future__ import annotations

import asyncio
import logging
import signal
from collections.abc import Coroutine
from typing import Any, TypeVar
from urllib.parse import urlsplit

from telegram import Update
from telegram.ext import Application

from bot.app import dispatcher_of
from bot.webhook import check_webhook_secrets

log = logging.getLogger(__name__)
T = TypeVar("T")

STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM, signal.SIGABRT)


def new_event_loop() -> asyncio.AbstractEventLoop:
    """uvloop's event loop where it is installed (everywhere but Windows), else asyncio's:
    its wake-ups and timers cost less CPU than asyncio's own."""
    try:
        import uvloop
    except ImportError:
        return asyncio.new_event_loop()
    return uvloop.new_event_loop()


def run(main: Coroutine[Any, Any, T]) -> T:
    """`asyncio.run(main)` on the loop `new_event_loop` makes."""
    with asyncio.Runner(loop_factory=new_event_loop) as runner:
        return runner.run(main)


def run_polling(application: Application) -> None:  # type: ignore[type-arg]
    """Fetch updates with long polling until a stop signal; then stop cleanly."""
    if _install_stop_signals(application):
        application.run_polling(allowed_updates=Update.ALL_TYPES, stop_signals=None)
    else:
        application.run_polling(allowed_updates=Update.ALL_TYPES)
    log.info("Stopped cleanly")


def run_webhook(
    application: Application,  # type: ignore[type-arg]
    *,
    url: str,
    listen: str,
    port: int,
    secret: str,
) -> None:
    """Register `url` with Telegram and serve it on listen:port until a stop signal.

    The local server answers on the URL's path (a reverse proxy forwards the public URL to
    it); a request without `secret` in its X-Telegram-Bot-Api-Secret-Token header gets 403.
    """
    check_webhook_secrets()
    path = urlsplit(url).path or "/"
    log.info("Serving the webhook on %s:%d%s for %s", listen, port, path, url)
    options = {
        "listen": listen,
        "port": port,
        "url_path": path,
        "webhook_url": url,
        "secret_token": secret,
        "allowed_updates": Update.ALL_TYPES,
    }
    if _install_stop_signals(application):
        application.run_webhook(**options, stop_signals=None)  # type: ignore[arg-type]
    else:
        application.run_webhook(**options)  # type: ignore[arg-type]
    log.info("Stopped cleanly")


def _install_stop_signals(application: Application) -> bool:  # type: ignore[type-arg]
    """Give PTB an event loop whose stop signals drain the dispatcher first.

    False where the loop cannot take signal handlers (Windows): PTB's own are used then.
    """
    loop = new_event_loop()
    asyncio.set_event_loop(loop)  # run_polling/run_webhook run on the current loop
    stopping = False

    def stop(signum: int) -> None:
        nonlocal stopping
        if stopping:  # a second signal while stopping: the stop is already under way
            log.info("Already stopping; the message in flight is being finished")
            return
        stopping = True
        log.info("Received %s: finishing the message in flight, then stopping", _name(signum))
        dispatcher_of(application).drain()
        raise SystemExit  # as PTB's own handler does: run_* then stop everything in order

    try:
        for signum in STOP_SIGNALS:
            loop.add_signal_handler(signum, stop, signum)
    except NotImplementedError:
        return False
    return True


def _name(signum: int) -> str:
    try:
        return signal.Signals(signum).name
    except ValueError:
        return f"signal {signum}"
