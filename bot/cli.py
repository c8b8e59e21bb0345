"""The `glutebot` command: run the bot, chat with it in a terminal, manage the database."""

from __future__ import annotations

import asyncio
import logging
from pathlib import Path
from typing import NoReturn

import click
from sqlalchemy.exc import DBAPIError, OperationalError
from telegram import Bot, Update
from telegram.error import InvalidToken, NetworkError

from bot.clock import SystemClock
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


def _settings() -> Settings:
    try:
        return load_settings()
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
def run() -> None:
    """Run the bot on Telegram (or TELEGRAM_API_BASE_URL) with long polling."""
    from bot.app import build_application
    from bot.runtime import Runtime

    settings = _settings()
    if not settings.token:
        raise SettingsProblem(
            "TELEGRAM_BOT_TOKEN is not set; get one from @BotFather, or try `glutebot console`"
        )
    configure_logging(settings.log_level, settings.token)
    log.info("Starting Glutebot (polling) against %s", settings.telegram_api_base_url)
    try:
        username = asyncio.run(_preflight(settings, settings.token))
    except Exception as exc:
        _explain_startup_failure(exc, settings)
    log.info("Connected to the Bot API as @%s", username)
    application = build_application(Runtime.open(settings, SystemClock()), rate_limited=True)
    try:
        application.run_polling(allowed_updates=Update.ALL_TYPES)
    except Exception as exc:
        _explain_startup_failure(exc, settings)


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

    settings = _settings()
    try:
        asyncio.run(
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


def main() -> None:
    """Entry point of the `glutebot` console script."""
    cli(prog_name="glutebot")


if __name__ == "__main__":
    main()
