"""Log output: text or JSON lines, never the token, the webhook secret or what users typed."""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Iterator
from types import SimpleNamespace
from typing import Any

import pytest
from telegram import Update

from bot.handlers.basics import on_error
from bot.logs import configure_logging

TOKEN = "5550001234:AAHsecret-token-for-log-tests"
SECRET = "webhook-secret-for-log-tests"


@pytest.fixture
def restore_logging() -> Iterator[None]:
    """configure_logging changes the root logger; put it back afterwards."""
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    yield
    for handler in list(root.handlers):
        root.removeHandler(handler)
    for handler in handlers:
        root.addHandler(handler)
    root.setLevel(level)


def _log_everything(stream: io.StringIO) -> None:
    log = logging.getLogger("glutebot.test")
    log.info("Plain line")
    log.warning("Calling https://api.telegram.org/bot%s/getMe", TOKEN)
    log.info("Secret header was %s", SECRET)
    try:
        raise RuntimeError(f"request to /bot{TOKEN}/sendMessage with {SECRET} failed")
    except RuntimeError:
        log.exception("Sending failed")


def test_json_format_is_one_object_per_line_with_secrets_scrubbed(restore_logging: None) -> None:
    stream = io.StringIO()
    configure_logging("INFO", TOKEN, stream=stream, log_format="json", secret=SECRET)
    _log_everything(stream)

    output = stream.getvalue()
    records = [json.loads(line) for line in output.splitlines()]
    assert len(records) == 4
    for record in records:
        assert {"time", "level", "logger", "message"} <= record.keys()
        assert record["logger"] == "glutebot.test"
        assert record["time"].endswith("Z")
    assert [record["level"] for record in records] == ["INFO", "WARNING", "INFO", "ERROR"]
    assert records[0] == {k: records[0][k] for k in ("time", "level", "logger", "message")}
    assert records[1]["message"] == "Calling https://api.telegram.org/bot[token]/getMe"
    assert records[2]["message"] == "Secret header was [secret]"
    assert (
        "RuntimeError: request to /bot[token]/sendMessage with [secret] failed"
        in (records[3]["exc_info"])
    )
    assert "Traceback" in records[3]["exc_info"]
    assert TOKEN not in output and SECRET not in output


def test_text_format_is_unchanged_and_scrubbed_too(restore_logging: None) -> None:
    stream = io.StringIO()
    configure_logging("INFO", TOKEN, stream=stream, secret=SECRET)
    _log_everything(stream)

    output = stream.getvalue()
    lines = output.splitlines()
    assert lines[0].endswith(" INFO glutebot.test: Plain line")
    assert lines[1].endswith(
        " WARNING glutebot.test: Calling https://api.telegram.org/bot[token]/getMe"
    )
    assert "RuntimeError: request to /bot[token]/sendMessage with [secret] failed" in output
    assert TOKEN not in output and SECRET not in output


async def test_a_failing_handler_is_logged_without_what_the_user_wrote(
    caplog: pytest.LogCaptureFixture,
) -> None:
    update = Update.de_json(
        {
            "update_id": 77,
            "message": {
                "message_id": 5,
                "date": 0,
                "chat": {"id": 42, "type": "private"},
                "from": {"id": 42, "is_bot": False, "first_name": "Alex"},
                "text": "my private words about my pelvic floor",
            },
        },
        None,
    )
    sent: list[tuple[Any, ...]] = []

    async def send_message(*args: Any) -> None:
        sent.append(args)

    context = SimpleNamespace(
        error=RuntimeError("boom"), bot=SimpleNamespace(send_message=send_message)
    )
    with caplog.at_level(logging.INFO):
        await on_error(update, context)  # type: ignore[arg-type]

    [record] = [r for r in caplog.records if r.levelno >= logging.ERROR]
    shown = record.getMessage() + (caplog.text or "")
    assert "Handling update 77 failed" in shown
    assert "private words" not in shown
    assert sent and sent[0][0] == 42  # the user is told something went wrong
