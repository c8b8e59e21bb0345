"""A python-telegram-bot request class that calls a `LocalTelegram` in-process, with no network."""

from __future__ import annotations

import json
from typing import IO, TYPE_CHECKING
from urllib.parse import urlsplit

from telegram._utils.types import ODVInput
from telegram.error import TimedOut
from telegram.request import BaseRequest, RequestData

from bot.localtelegram.protocol import ApiError, NoResponse, UploadedFile

if TYPE_CHECKING:
    from bot.localtelegram.server import LocalTelegram


def split_bot_url(url: str) -> tuple[str, str] | None:
    """(token, method) of a Bot API URL ".../bot<token>/<method>", or None for any other URL."""
    head, _, method = urlsplit(url).path.rpartition("/")
    token_part = head.rpartition("/")[2]
    if not method or not token_part.startswith("bot"):
        return None
    return token_part.removeprefix("bot"), method


class LocalTelegramRequest(BaseRequest):
    """Sends PTB's Bot API calls straight to a `LocalTelegram` and returns its JSON answer.

    Use two of them, as PTB wants: `ApplicationBuilder().request(tg.request())
    .get_updates_request(tg.request())`.
    """

    def __init__(self, telegram: LocalTelegram, *, read_timeout: float | None = 5.0) -> None:
        self._telegram = telegram
        self._read_timeout = read_timeout

    @property
    def read_timeout(self) -> float | None:
        """The default read timeout PTB adds the long-poll timeout to."""
        return self._read_timeout

    async def initialize(self) -> None:
        """Nothing to open: there is no connection."""

    async def shutdown(self) -> None:
        """Nothing to close: there is no connection."""

    async def do_request(
        self,
        url: str,
        method: str,
        request_data: RequestData | None = None,
        read_timeout: ODVInput[float] = BaseRequest.DEFAULT_NONE,
        write_timeout: ODVInput[float] = BaseRequest.DEFAULT_NONE,
        connect_timeout: ODVInput[float] = BaseRequest.DEFAULT_NONE,
        pool_timeout: ODVInput[float] = BaseRequest.DEFAULT_NONE,
    ) -> tuple[int, bytes]:
        """Answer the call in-process: (HTTP status, JSON payload); TimedOut if it gets none."""
        target = split_bot_url(url)
        if target is None:
            status, body = 404, ApiError(404, "Not Found").body()
        else:
            token, api_method = target
            params = request_data.parameters if request_data else {}
            files = {
                name: UploadedFile(filename, _read(content), mime_type)
                for name, (filename, content, mime_type) in (
                    request_data.multipart_data if request_data else {}
                ).items()
            }
            try:
                status, body = await self._telegram.call(token, api_method, params, files)
            except NoResponse:
                raise TimedOut("Timed out: the local Telegram gave no answer") from None
        return status, json.dumps(body).encode()


def _read(content: bytes | IO[bytes]) -> bytes:
    """The bytes of a multipart part, which PTB gives as bytes or as an open file."""
    return content if isinstance(content, bytes) else content.read()
