"""The `glutebot` command: run the bot, chat with it in a terminal, manage the database."""

from __future__ import annotations

import asyncio
import errno
import logging
import math
import os
import socket
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import NoReturn

import click
from sqlalchemy.exc import DBAPIError, OperationalError
from telegram import Bot
from telegram.error import InvalidToken, NetworkError, TelegramError

from bot.clock import Clock, ScaledClock, SystemClock
from bot.config import ConfigError, Settings, load_settings
from bot.logs import configure_logging

log = logging.getLogger(__name__)


class Problem(click.ClickException):
    """A mistake or outage the operator can fix: one line on stderr, no traceback."""

    exit_code = 1

    def show(self, file: object = None) -> None:
        click.echo(f"glutebot: {self.message}", err=True)


class SettingsProblem(Problem):
    """A missing or wrong setting: exit code 2, like a usage error."""

    exit_code = 2


def _settings(**overrides: object) -> Settings:
    try:
        return load_settings(**overrides)
    except ConfigError as exc:
        lines = str(exc).splitlines()
        raise SettingsProblem("configuration problem: " + "; ".join(lines)) from None


def _explain_startup_failure(exc: BaseException, settings: Settings) -> NoReturn:
    """Turn the usual start-up failures into one clear line."""
    if isinstance(exc, InvalidToken):
        hint = "Telegram rejected TELEGRAM_BOT_TOKEN; copy it again from @BotFather"
        raise Problem(hint) from None
    if isinstance(exc, NetworkError):
        raise Problem(
            f"cannot reach the Bot API at {settings.telegram_api_base_url} ({exc.message})"
        ) from None
    if isinstance(exc, OperationalError | DBAPIError | OSError):
        reason = str(getattr(exc, "orig", None) or exc).splitlines()[0]
        raise Problem(f"cannot open the database {settings.database_label}: {reason}") from None
    raise exc


@click.group(invoke_without_command=True)
@click.pass_context
def cli(ctx: click.Context) -> None:
    """Glutebot wakes up glutes that long sitting has switched off.

    Without a command: run on Telegram when TELEGRAM_BOT_TOKEN is set, otherwise open
    the console chat against the local Telegram.
    """
    if ctx.invoked_subcommand is not None:
        return
    settings = _settings()
    if settings.token:
        click.echo("TELEGRAM_BOT_TOKEN is set: starting Glutebot on Telegram (polling).")
        ctx.invoke(run)
    else:
        click.echo(
            "No TELEGRAM_BOT_TOKEN set: opening the console chat with the local Telegram "
            "(nothing leaves this machine)."
        )
        ctx.invoke(console)


@cli.command()
@click.option(
    "--webhook",
    is_flag=True,
    help="Take updates on a webhook (needs WEBHOOK_URL and WEBHOOK_SECRET) instead of polling.",
)
@click.option("--url", metavar="URL", help="The public URL Telegram posts to [WEBHOOK_URL].")
@click.option(
    "--listen",
    metavar="ADDRESS",
    help="Where the webhook server listens [WEBHOOK_LISTEN, or 0.0.0.0].",
)
@click.option(
    "--port",
    type=click.IntRange(min=1, max=65535),
    help="The webhook server's port [WEBHOOK_PORT, or 8443].",
)
def run(webhook: bool, url: str | None, listen: str | None, port: int | None) -> None:
    """Run the bot on Telegram (or TELEGRAM_API_BASE_URL): long polling, or a webhook.

    SIGTERM or Ctrl-C stops it cleanly: the message being sent is finished, the rest stays
    queued for the next start, and the exit code is 0.
    """
    from bot.app import build_application, dispatcher_of
    from bot.runtime import Runtime
    from bot.serving import run_polling, run_webhook
    from bot.status import StatusServerError, serve_status

    if not webhook and (url or listen or port):
        raise click.UsageError("--url, --listen and --port go with --webhook")
    given = {"webhook_url": url, "webhook_listen": listen, "webhook_port": port}
    settings = _settings(**{name: value for name, value in given.items() if value is not None})
    if not settings.token:
        raise SettingsProblem(
            "TELEGRAM_BOT_TOKEN is not set; get one from @BotFather, or try `glutebot console`"
        )
    if webhook:
        _check_webhook_settings(settings)
    configure_logging(
        settings.log_level,
        settings.token,
        log_format=settings.log_format,
        secret=settings.secret,
    )
    clock, speed = clock_for_run()
    mode = "webhook" if webhook else "polling"
    log.info("Starting Glutebot (%s) against %s", mode, settings.telegram_api_base_url)
    try:
        username = asyncio.run(_preflight(settings, settings.token))
    except Exception as exc:
        _explain_startup_failure(exc, settings)
    log.info("Connected to the Bot API as @%s", username)
    if speed != 1:  # as the console does: a faster clock needs more frequent ticks
        settings = settings.model_copy(
            update={"tick_seconds": max(0.5, settings.tick_seconds / speed)}
        )
    application = build_application(
        Runtime.open(settings, clock), rate_limited=True, time_scale=speed
    )
    if settings.status_port:  # GET /health and /metrics while the bot runs
        try:
            serve_status(
                application,
                dispatcher_of(application),
                listen=settings.status_listen,
                port=settings.status_port,
            )
        except StatusServerError as exc:
            raise Problem(str(exc)) from None
    try:
        if not webhook:
            run_polling(application)
        else:
            assert settings.secret is not None  # checked above
            run_webhook(
                application,
                url=settings.webhook_url,
                listen=settings.webhook_listen,
                port=settings.webhook_port,
                secret=settings.secret,
            )
    except OSError as exc:
        if not webhook or not _cannot_listen(exc):
            _explain_startup_failure(exc, settings)
        where = f"{settings.webhook_listen}:{settings.webhook_port}"
        raise Problem(f"cannot serve the webhook on {where}: {exc.strerror or exc}") from None
    except TelegramError as exc:
        if not webhook or isinstance(exc, InvalidToken | NetworkError):
            _explain_startup_failure(exc, settings)
        webhook_url = settings.webhook_url
        raise Problem(f"Telegram refused the webhook {webhook_url}: {exc.message}") from None
    except Exception as exc:
        _explain_startup_failure(exc, settings)


# For tests and benchmarks only, never in production: `glutebot run` on a faster clock, so a
# bot in its own process (which a test can kill -9) lives through a simulated week in minutes.
CLOCK_SPEED = "GLUTEBOT_CLOCK_SPEED"  # how many times faster than real time
CLOCK_START = "GLUTEBOT_CLOCK_START"  # what it shows at CLOCK_ORIGIN (ISO 8601, with offset)
CLOCK_ORIGIN = "GLUTEBOT_CLOCK_ORIGIN"  # a real Unix time; default: when the bot starts


def clock_for_run() -> tuple[Clock, float]:
    """The real clock and 1, or (tests and benchmarks only) a faster clock and its speed.

    With GLUTEBOT_CLOCK_SPEED=N the clock runs N times faster and shows GLUTEBOT_CLOCK_START
    (default: the real time) at the real Unix time GLUTEBOT_CLOCK_ORIGIN (default: now).
    Giving both lets bots started one after another, and the test that drives them, share
    one simulated timeline. Telegram's limits follow it (see `build_application`); its
    time-outs and retry_after stay real seconds.
    """
    raw = os.environ.get(CLOCK_SPEED, "").strip()
    if not raw:
        return SystemClock(), 1.0
    try:
        speed = float(raw)
        start_text = os.environ.get(CLOCK_START, "").strip()
        start = datetime.fromisoformat(start_text) if start_text else datetime.now(UTC)
        origin = float(os.environ.get(CLOCK_ORIGIN, "").strip() or time.time())
    except ValueError:
        speed, start = math.nan, datetime.now(UTC)
    if not (math.isfinite(speed) and speed > 0) or start.tzinfo is None:
        raise SettingsProblem(
            f"configuration problem: {CLOCK_SPEED} needs a positive number, {CLOCK_START} an "
            f"ISO 8601 time with its UTC offset and {CLOCK_ORIGIN} a Unix time (tests only)"
        )
    now = start + timedelta(seconds=(time.time() - origin) * speed)
    log.warning("Test clock: %gx real time, now %s (%s is for tests only)", speed, now, CLOCK_SPEED)
    return ScaledClock(speed, now), speed


def _cannot_listen(exc: OSError) -> bool:
    """Whether binding the webhook server failed (address taken, unknown or not allowed)."""
    return isinstance(exc, socket.gaierror) or exc.errno in (
        errno.EADDRINUSE,
        errno.EADDRNOTAVAIL,
        errno.EACCES,
    )


def _check_webhook_settings(settings: Settings) -> None:
    """Webhook mode needs a public URL and a secret: one line naming what is missing."""
    missing = []
    if not settings.webhook_url:
        missing.append("WEBHOOK_URL is not set (or pass --url): the public https URL to post to")
    if not settings.secret:
        missing.append(
            "WEBHOOK_SECRET is not set: webhook mode needs it so that only Telegram's requests "
            "are taken (1-256 of A-Z, a-z, 0-9, _ and -, e.g. from `openssl rand -hex 32`)"
        )
    if missing:
        raise SettingsProblem("configuration problem: " + "; ".join(missing))


async def _preflight(settings: Settings, token: str) -> str:
    """Migrate the database and check the token, so start-up problems are one clear line."""
    from bot.db.migrate import upgrade

    await upgrade(settings.database_url)
    async with Bot(token, base_url=settings.telegram_api_base_url) as probe:
        return probe.username


@cli.command()
@click.option(
    "--speed",
    type=click.FloatRange(min=0.1, max=100_000),
    default=1.0,
    show_default=True,
    help="Run the clock this many times faster.",
)
@click.option(
    "--user-id",
    type=click.IntRange(min=1),
    default=1001,
    show_default=True,
    help="Your Telegram user id in the console.",
)
@click.option("--name", default="Alex", show_default=True, help="Your first name.")
@click.option(
    "--files",
    "files_dir",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="Where photos and documents are saved [data dir/console-files].",
)
def console(speed: float, user_id: int, name: str, files_dir: Path | None) -> None:
    """Chat with the bot in this terminal through the local Telegram."""
    from bot.console import chat_in_console
    from bot.serving import run as run_on_loop

    settings = _settings()
    try:
        run_on_loop(
            chat_in_console(
                settings,
                speed=speed,
                user_id=user_id,
                first_name=name,
                files_dir=files_dir or settings.data_dir / "console-files",
            )
        )
    except KeyboardInterrupt:
        click.echo("\nBye!")
    except Exception as exc:
        _explain_startup_failure(exc, settings)


@cli.group()
def db() -> None:
    """Database maintenance."""


@db.command("upgrade")
def db_upgrade() -> None:
    """Apply every pending migration to DATABASE_URL."""
    from bot.db.migrate import current_revision, upgrade

    settings = _settings()

    async def _upgrade() -> str | None:
        await upgrade(settings.database_url)
        return await current_revision(settings.database_url)

    try:
        revision = asyncio.run(_upgrade())
    except Exception as exc:
        _explain_startup_failure(exc, settings)
    click.echo(f"Database {settings.database_label} is at revision {revision}.")


@db.command("copy")
@click.option("--from", "source", required=True, metavar="URL", help="The database to copy.")
@click.option("--to", "target", required=True, metavar="URL", help="An empty database.")
def db_copy(source: str, target: str) -> None:
    """Copy every row from one database into an empty one (SQLite <-> PostgreSQL).

    URLs take the forms DATABASE_URL takes: sqlite:///data/glutebot.db or
    postgresql://user:password@host/dbname. Stop the bot first (every process using either
    database): rows written during the copy would be missed.

    The source is only read, and must be at the latest migration (run `glutebot db
    upgrade` on it first). The target is migrated, then filled in one transaction: if
    anything fails it keeps no copied row. A target that already holds rows is refused.
    Afterwards the rows of every table are counted on both sides.
    """
    from bot.db.copy import CopyError, copy_database, head_revision, label, normalise_url

    try:
        source, target = normalise_url(source, "--from"), normalise_url(target, "--to")
        click.echo(f"Copying {label(source)} to {label(target)} (revision {head_revision()}).")
        report = asyncio.run(copy_database(source, target))
    except CopyError as exc:
        raise Problem(str(exc)) from None
    width = max(len("table"), *(len(name) for name, _ in report.counts))
    click.echo(f"{'table':<{width}}  {'rows':>9}")
    for name, rows in report.counts:
        click.echo(f"{name:<{width}}  {rows:>9,}")
    click.echo(f"All {report.total:,} rows copied and counted.")


@cli.command()
def health() -> None:
    """Check the running bot through its status page; exit 0 when healthy, 1 when not.

    Prints one line per check (database, scheduler, outbox). Asks the bot at
    http://STATUS_LISTEN:STATUS_PORT/health, which is what a Docker HEALTHCHECK runs; when
    nothing answers there, it says so and checks the database directly. With STATUS_PORT=0
    (no status page) only the database is checked.
    """
    import httpx

    from bot.status import local_host

    settings = _settings()
    if not settings.status_port:
        click.echo("status server: off (STATUS_PORT=0), so only the database is checked")
        _exit_unless(_check_database_directly(settings))
    url = f"http://{local_host(settings.status_listen)}:{settings.status_port}/health"
    try:
        # trust_env=False: a proxy from the environment must not answer for the bot.
        response = httpx.get(url, timeout=HEALTH_TIMEOUT, trust_env=False)
    except httpx.HTTPError as exc:
        reason = str(exc).strip() or type(exc).__name__
        click.echo(
            f"status server: FAILING - nothing answers at {url} ({reason}); is the bot running?"
        )
        _check_database_directly(settings)
        _exit_unless(False)
    try:
        report = response.json()
        checks = [
            (str(name), bool(c["ok"]), str(c["detail"])) for name, c in report["checks"].items()
        ]
    except (ValueError, KeyError, TypeError, AttributeError):
        click.echo(
            f"status server: FAILING - {url} answered {response.status_code} "
            "without a health report; is STATUS_PORT the bot's status port?"
        )
        _exit_unless(False)
    for name, ok, detail in checks:
        click.echo(f"{name}: {'ok' if ok else 'FAILING'} - {detail}")
    _exit_unless(response.status_code == 200 and report.get("ok") is True)


HEALTH_TIMEOUT = 10.0  # seconds; the bot's own database check gives up after 3


def _exit_unless(healthy: bool) -> NoReturn:
    click.get_current_context().exit(0 if healthy else 1)
    raise AssertionError("unreachable")  # Context.exit raises; this keeps mypy informed


def _missing_database(settings: Settings) -> str | None:
    """Why there is no database to read (a SQLite file that does not exist), or None.

    Checked first so that reading commands never create an empty database file.
    """
    from sqlalchemy.engine import make_url

    url = make_url(settings.database_url)
    if url.get_backend_name() != "sqlite" or not url.database or url.database == ":memory:":
        return None
    if Path(url.database).is_file():
        return None
    return (
        f"there is no database at {url.database} yet; start the bot or run "
        "`glutebot db upgrade` (or set DATABASE_URL to the bot's database)"
    )


def _check_database_directly(settings: Settings) -> bool:
    """Print the database check done from this process; True when it passed."""
    from bot.db.engine import create_engine
    from bot.status import database_check

    missing = _missing_database(settings)
    if missing is not None:
        click.echo(f"database: FAILING - {missing}")
        return False

    async def _check() -> str:
        engine = create_engine(settings.database_url)
        try:
            return (await database_check(engine)).line()
        finally:
            await engine.dispose()

    line = asyncio.run(_check())
    click.echo(line)
    return line.startswith("database: ok")


@cli.command()
def stats() -> None:
    """Print the operator's numbers for DATABASE_URL: users, nudges, replies, pain trend."""
    from sqlalchemy import inspect

    from bot.db.engine import create_engine, session_factory
    from bot.services.stats import collect_stats, stats_text

    settings = _settings()
    missing = _missing_database(settings)
    if missing is not None:
        raise Problem(missing)

    async def _collect() -> str | None:
        engine = create_engine(settings.database_url)
        try:
            async with engine.connect() as connection:
                tables = await connection.run_sync(
                    lambda sync: set(inspect(sync).get_table_names())
                )
            if not {"users", "nudges", "reports"} <= tables:
                return None
            async with session_factory(engine)() as session:
                return stats_text(await collect_stats(session, SystemClock().now()))
        finally:
            await engine.dispose()

    try:
        text = asyncio.run(_collect())
    except Exception as exc:
        _explain_startup_failure(exc, settings)
    if text is None:
        raise Problem(
            f"the database {settings.database_label} has no Glutebot tables yet; "
            "start the bot or run `glutebot db upgrade`"
        )
    click.echo(text)


def main() -> None:
    """Entry point of the `glutebot` console script."""
    cli(prog_name="glutebot")


if __name__ == "__main__":
    main()
