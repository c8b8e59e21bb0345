"""Logging set-up: lines on stderr, as text or one JSON object each, with secrets scrubbed.

The bot token and the webhook secret are replaced wherever they would appear in a record:
its message, its arguments and its exception text (which is rendered early to scrub it).
User message text is logged at DEBUG only, never at INFO or above.
"""

from __future__ import annotations

import logging
import sys
from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Any

from pythonjsonlogger.json import JsonFormatter

REDACTED = "[token]"
REDACTED_SECRET = "[secret]"
TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"
# Libraries that log every HTTP request at INFO, with the token in the URL.
CHATTY_LOGGERS = ("httpx", "httpcore", "apscheduler", "aiosqlite", "tornado.access")


class SecretFilter(logging.Filter):
    """Replaces each secret (with its label) wherever it would appear in a log record."""

    def __init__(self, secrets: Iterable[tuple[str | None, str]]) -> None:
        super().__init__()
        self.secrets = [(value, label) for value, label in secrets if value]

    def filter(self, record: logging.LogRecord) -> bool:
        if not self.secrets:
            return True
        try:
            message = record.getMessage()
        except Exception:  # a broken format string: let the handler report it as usual
            return True
        if self._has_secret(message):
            record.msg, record.args = self._scrub(message), None
        if record.exc_info and record.exc_info[1] is not None:
            # Render the traceback now so the secrets can be scrubbed from it too.
            record.exc_text = logging.Formatter().formatException(record.exc_info)
            record.exc_info = None
        if record.exc_text and self._has_secret(record.exc_text):
            record.exc_text = self._scrub(record.exc_text)
        if record.stack_info and self._has_secret(record.stack_info):
            record.stack_info = self._scrub(record.stack_info)
        return True

    def _has_secret(self, text: str) -> bool:
        return any(value in text for value, _ in self.secrets)

    def _scrub(self, text: str) -> str:
        for value, label in self.secrets:
            text = text.replace(value, label)
        return text


class TokenFilter(SecretFilter):
    """Replaces the bot token wherever it would appear in a log line."""

    def __init__(self, token: str | None) -> None:
        super().__init__([(token, REDACTED)])


class JsonLineFormatter(JsonFormatter):
    """One JSON object per line: time (ISO 8601, UTC), level, logger, message, exc_info."""

    def __init__(self) -> None:
        super().__init__(
            "%(asctime)s %(levelname)s %(name)s %(message)s",
            rename_fields={"asctime": "time", "levelname": "level", "name": "logger"},
            json_ensure_ascii=False,
        )

    def formatTime(self, record: logging.LogRecord, datefmt: str | None = None) -> str:
        moment = datetime.fromtimestamp(record.created, UTC)
        return moment.isoformat(timespec="milliseconds").replace("+00:00", "Z")

    def process_log_record(self, log_data: dict[str, Any]) -> dict[str, Any]:
        """Leave out empty optional fields (exc_info is there only with an exception)."""
        return {key: value for key, value in log_data.items() if value is not None}


def configure_logging(
    level: str,
    token: str | None,
    stream: object = None,
    *,
    log_format: str = "text",
    secret: str | None = None,
) -> None:
    """Send log lines at `level` to stderr (or `stream`), never showing the token or secret.

    `log_format` is "text" (the default, for people) or "json" (one object per line, for
    log collectors); `secret` is the webhook secret token, scrubbed like the bot token.
    """
    handler = logging.StreamHandler(stream or sys.stderr)  # type: ignore[arg-type]
    formatter = JsonLineFormatter() if log_format == "json" else logging.Formatter(TEXT_FORMAT)
    handler.setFormatter(formatter)
    handler.addFilter(SecretFilter([(token, REDACTED), (secret, REDACTED_SECRET)]))
    root = logging.getLogger()
    for old in list(root.handlers):
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(level)
    for name in CHATTY_LOGGERS:
        logging.getLogger(name).setLevel(max(logging.WARNING, logging.getLevelName(level)))
    # A busy delivery tick runs longer than its interval on purpose; the skipped runs
    # APScheduler warns about are expected, not a problem.
    logging.getLogger("apscheduler.scheduler").setLevel(logging.ERROR)
