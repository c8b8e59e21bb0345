"""Logging set-up: plain lines on stderr, with the bot token scrubbed from every record."""

from __future__ import annotations

import logging
import sys

REDACTED = "[token]"
# Libraries that log every HTTP request at INFO, with the token in the URL.
CHATTY_LOGGERS = ("httpx", "httpcore", "apscheduler", "aiosqlite", "tornado.access")


class TokenFilter(logging.Filter):
    """Replaces the token wherever it would appear in a log line."""

    def __init__(self, token: str | None) -> None:
        super().__init__()
        self.token = token

    def filter(self, record: logging.LogRecord) -> bool:
        if self.token:
            message = record.getMessage()
            if self.token in message:
                record.msg = message.replace(self.token, REDACTED)
                record.args = None
            if record.exc_info and record.exc_info[1] is not None:
                # Render the traceback now so the token can be scrubbed from it too.
                text = logging.Formatter().formatException(record.exc_info)
                record.exc_text = text.replace(self.token, REDACTED)
                record.exc_info = None
        return True


def configure_logging(level: str, token: str | None, stream: object = None) -> None:
    """Send log lines at `level` to stderr (or `stream`), never showing the token."""
    handler = logging.StreamHandler(stream or sys.stderr)  # type: ignore[arg-type]
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    handler.addFilter(TokenFilter(token))
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
