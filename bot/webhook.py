"""Webhook mode's front door: PTB's webhook server, refusing requests without the secret.

PTB's own handler (telegram.ext._utils.webhookhandler.TelegramHandler) already answers 403
to a POST without the right X-Telegram-Bot-Api-Secret-Token and never logs a refused body,
but it says so only at DEBUG, with the wrong token's value in the line, and compares with
`!=`. Glutebot's handler checks first, in constant time, and logs one WARNING naming the
client and what was missing (never the body, never a token value); everything after the
check is PTB's.
"""

from __future__ import annotations

import hmac
import logging
from http import HTTPStatus
from types import TracebackType

import tornado.web
from telegram.ext import _updater as ptb_updater
from telegram.ext._utils import webhookhandler as ptb_webhook

log = logging.getLogger(__name__)

SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"


class SecretCheckingHandler(ptb_webhook.TelegramHandler):
    """PTB's webhook handler behind a secret check that logs refusals without their body."""

    def prepare(self) -> None:
        """Refuse (403) a request without the secret, before its body is parsed or logged."""
        expected: str | None = self.secret_token
        if not expected:  # PTB without a secret: nothing to check (Glutebot always sets one)
            return
        given = self.request.headers.get(SECRET_HEADER)
        if not given:
            problem = "no secret token"
        elif not hmac.compare_digest(given.encode(), expected.encode()):
            problem = "a wrong secret token"
        else:
            return
        log.warning(
            "Refused a webhook request from %s with %s (403; its %d-byte body was dropped)",
            self.request.remote_ip,
            problem,
            len(self.request.body or b""),
        )
        raise tornado.web.HTTPError(HTTPStatus.FORBIDDEN)

    def log_exception(
        self,
        typ: type[BaseException] | None,
        value: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        """A refusal is logged once, above; anything else goes to PTB's DEBUG line."""
        if isinstance(value, tornado.web.HTTPError) and value.status_code == HTTPStatus.FORBIDDEN:
            return
        super().log_exception(typ, value, tb)


class SecretCheckingWebhookApp(ptb_webhook.WebhookAppClass):
    """PTB's webhook application, serving its path with `SecretCheckingHandler`."""

    def __init__(
        self,
        webhook_path: str,
        bot: object,
        update_queue: object,
        secret_token: str | None = None,
    ) -> None:
        self.shared_objects = {
            "bot": bot,
            "update_queue": update_queue,
            "secret_token": secret_token,
        }
        handlers = [(rf"{webhook_path}/?", SecretCheckingHandler, self.shared_objects)]
        tornado.web.Application.__init__(self, handlers)


class NoUpdateBodies(logging.Filter):
    """Keeps the body of an update PTB could not read out of its CRITICAL log line.

    PTB logs "Received data was *not* processed! Received data was: {the update}"; the
    update holds what a user wrote, which Glutebot logs at DEBUG only.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        if record.levelno > logging.DEBUG and "Received data was" in str(record.msg):
            record.msg = "An update from Telegram could not be read and was not processed"
            record.args = None
        return True


def check_webhook_secrets() -> None:
    """Make PTB's Updater serve webhooks with `SecretCheckingWebhookApp` (once per process).

    PTB has no public hook for its webhook handler: `Updater.start_webhook` builds the
    application it imported from telegram.ext._utils.webhookhandler, so that name is
    replaced. A PTB that no longer has it fails here, loudly, rather than serve unchecked.
    """
    current = getattr(ptb_updater, "WebhookAppClass", None)
    if current is SecretCheckingWebhookApp:
        return
    if current is not ptb_webhook.WebhookAppClass:
        raise RuntimeError("this python-telegram-bot has no replaceable WebhookAppClass")
    ptb_updater.WebhookAppClass = SecretCheckingWebhookApp  # type: ignore[attr-defined]
    # PTB's webhook module logs as "telegram.ext.Updater".
    logging.getLogger("telegram.ext.Updater").addFilter(NoUpdateBodies())
