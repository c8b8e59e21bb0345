"""The local Telegram over real HTTP on loopback, so a bot in another process can use it.

Accepts what PTB's HTTPXRequest sends (form-encoded or multipart bodies, where every value is
text) as well as JSON bodies and query strings, and answers with Telegram's JSON. Point a bot
at it with `base_url=server.base_url`.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from typing import TYPE_CHECKING

import tornado.httpserver
import tornado.httputil
import tornado.netutil
import tornado.web

from bot.localtelegram.protocol import JSON, ApiError, NoResponse, UploadedFile, bad_request

if TYPE_CHECKING:
    from bot.localtelegram.server import LocalTelegram


class LocalTelegramServer:
    """A running HTTP front for a `LocalTelegram`; `base_url` is what PTB's base_url takes."""

    def __init__(self, http_server: tornado.httpserver.HTTPServer, host: str, port: int) -> None:
        self._http_server = http_server
        self.host = host
        self.port = port

    @property
    def base_url(self) -> str:
        """The Bot API base URL, e.g. "http://127.0.0.1:8081/bot" (the token follows it)."""
        return f"http://{self.host}:{self.port}/bot"

    async def stop(self) -> None:
        """Stop listening and drop open connections (a waiting long poll ends at once)."""
        self._http_server.stop()
        await self._http_server.close_all_connections()


async def serve_http(
    telegram: LocalTelegram, host: str = "127.0.0.1", port: int = 0, *, hang_seconds: float = 30.0
) -> LocalTelegramServer:
    """Serve `telegram` on http://host:port (port 0 picks a free one) until `stop()`.

    An injected "timeout" fault holds the call unanswered until the client gives up, or for
    `hang_seconds`, and then closes the connection.
    """
    application = tornado.web.Application(
        [
            (
                r"/bot([^/]*)/([^/]+)",
                _BotApiHandler,
                {"telegram": telegram, "hang_seconds": hang_seconds},
            )
        ],
        default_handler_class=_NotFoundHandler,
    )
    sockets = tornado.netutil.bind_sockets(port, host)
    http_server = tornado.httpserver.HTTPServer(application)
    http_server.add_sockets(sockets)
    return LocalTelegramServer(http_server, host, sockets[0].getsockname()[1])


class _JSONReplyHandler(tornado.web.RequestHandler):
    def reply(self, status: int, body: JSON) -> None:
        self.set_status(status)
        self.set_header("Content-Type", "application/json")
        self.finish(json.dumps(body))


class _NotFoundHandler(_JSONReplyHandler):
    """Anything that is not a Bot API call answers 404, as api.telegram.org does."""

    def prepare(self) -> None:
        self.reply(404, ApiError(404, "Not Found").body())


class _BotApiHandler(_JSONReplyHandler):
    """Answers POST/GET /bot<token>/<method> with the local Telegram's reply."""

    SUPPORTED_METHODS = ("GET", "POST")

    def initialize(self, telegram: LocalTelegram, hang_seconds: float) -> None:
        self._telegram = telegram
        self._hang_seconds = hang_seconds
        self._call: asyncio.Future[tuple[int, JSON]] | None = None
        self._client_gone = asyncio.Event()

    def on_connection_close(self) -> None:
        """The client gave up (or the server stops): stop working on its call."""
        self._client_gone.set()
        if self._call is not None:
            self._call.cancel()

    async def get(self, token: str, method: str) -> None:
        await self._answer(token, method)

    async def post(self, token: str, method: str) -> None:
        await self._answer(token, method)

    async def _answer(self, token: str, method: str) -> None:
        try:
            params, files = _read_call(self.request)
        except ApiError as error:
            self.reply(error.status, error.body())
            return
        self._call = asyncio.ensure_future(self._telegram.call(token, method, params, files))
        await asyncio.wait([self._call])
        if self._call.cancelled():
            return
        try:
            status, body = self._call.result()
        except NoResponse:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._client_gone.wait(), self._hang_seconds)
            self.request.connection.close()  # type: ignore[union-attr]
            return
        self.reply(status, body)


def _read_call(
    request: tornado.httputil.HTTPServerRequest,
) -> tuple[dict[str, object], dict[str, UploadedFile]]:
    """The call's parameters (query string, then body) and uploaded files."""
    values: dict[str, object] = {
        name: parts[-1].decode("utf-8", "replace")
        for name, parts in request.query_arguments.items()
    }
    if request.headers.get("Content-Type", "").startswith("application/json"):
        try:
            body = json.loads(request.body or b"{}")
        except ValueError:
            raise bad_request("can't parse request JSON object") from None
        if not isinstance(body, dict):
            raise bad_request("can't parse request JSON object")
        values.update(body)
    else:
        values.update(
            (name, parts[-1].decode("utf-8", "replace"))
            for name, parts in request.body_arguments.items()
        )
    files = {
        name: UploadedFile(parts[0].filename, parts[0].body, parts[0].content_type)
        for name, parts in request.files.items()
    }
    return values, files
