"""Webhooks as Telegram does them: each update POSTed with the secret, in order, with retries."""

from __future__ import annotations

import asyncio
import json
import socket
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field

import httpx
import pytest
import tornado.httpserver
import tornado.netutil
import tornado.web
from telegram import Bot, InlineKeyboardButton, InlineKeyboardMarkup, Update
from telegram.error import BadRequest, Conflict
from telegram.ext import ApplicationBuilder, ContextTypes, MessageHandler, filters

from bot.clock import FakeClock
from bot.localtelegram import LocalTelegram

from .conftest import TOKEN

SECRET = "s3cret-Token_1"
GO = InlineKeyboardMarkup([[InlineKeyboardButton("Go", callback_data="go")]])


@dataclass
class Receiver:
    """A stand-in for a bot's webhook: records each POST and answers with scripted statuses."""

    port: int
    statuses: list[int] = field(default_factory=list)  # answered in turn, then 200
    posts: list[tuple[dict[str, str], dict[str, object]]] = field(default_factory=list)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/hook"

    @property
    def texts(self) -> list[object]:
        """The message texts of the updates that were posted, failed attempts included."""
        return [body.get("message", {}).get("text") for _, body in self.posts]  # type: ignore[union-attr]


class _HookHandler(tornado.web.RequestHandler):
    def initialize(self, receiver: Receiver) -> None:
        self.receiver = receiver

    def post(self) -> None:
        self.receiver.posts.append((dict(self.request.headers), json.loads(self.request.body)))
        self.set_status(self.receiver.statuses.pop(0) if self.receiver.statuses else 200)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def listen(receiver: Receiver) -> tornado.httpserver.HTTPServer:
    app = tornado.web.Application([(r"/hook", _HookHandler, {"receiver": receiver})])
    server = tornado.httpserver.HTTPServer(app)
    server.add_sockets(tornado.netutil.bind_sockets(receiver.port, "127.0.0.1"))
    return server


@pytest.fixture
async def receiver() -> AsyncIterator[Receiver]:
    hook = Receiver(free_port())
    server = listen(hook)
    yield hook
    server.stop()
    await server.close_all_connections()


async def eventually(check: Callable[[], bool], timeout: float = 3.0) -> None:
    """Wait until `check()` holds (the double posts in the background)."""
    async with asyncio.timeout(timeout):
        while not check():
            await asyncio.sleep(0.01)


async def test_each_update_is_posted_once_in_order_with_the_secret(
    tg: LocalTelegram, bot: Bot, receiver: Receiver
) -> None:
    assert await bot.set_webhook(receiver.url, secret_token=SECRET)
    alex = tg.user(42)
    for text in ("one", "two", "three"):
        await alex.send(text)
    await eventually(lambda: len(receiver.posts) == 3 and tg.pending_update_count == 0)
    await asyncio.sleep(0.05)  # nothing more arrives

    assert receiver.texts == ["one", "two", "three"]
    ids = [body["update_id"] for _, body in receiver.posts]
    assert ids == sorted(ids)
    for headers, _ in receiver.posts:
        assert headers["X-Telegram-Bot-Api-Secret-Token"] == SECRET
        assert headers["Content-Type"] == "application/json"
    assert tg.pending_update_count == 0
    assert (await bot.get_webhook_info()).last_error_message is None


async def test_get_updates_fails_with_conflict_while_a_webhook_is_set(
    tg: LocalTelegram, bot: Bot, receiver: Receiver
) -> None:
    waiting = asyncio.create_task(bot.get_updates(timeout=10))
    await asyncio.sleep(0.05)
    await bot.set_webhook(receiver.url, secret_token=SECRET)
    with pytest.raises(Conflict, match="can't use getUpdates method while webhook is active"):
        await asyncio.wait_for(waiting, 1)  # a poll already waiting ends too
    with pytest.raises(Conflict, match="use deleteWebhook to delete the webhook first"):
        await bot.get_updates()


async def test_a_failed_post_is_retried_and_later_updates_wait_their_turn(
    tg: LocalTelegram, bot: Bot, receiver: Receiver
) -> None:
    receiver.statuses = [500, 502]
    await bot.set_webhook(receiver.url, secret_token=SECRET)
    alex = tg.user(42)
    await alex.send("first")
    await alex.send("second")
    await eventually(lambda: len(receiver.posts) == 4 and tg.pending_update_count == 0)

    assert receiver.texts == ["first", "first", "first", "second"]
    info = await bot.get_webhook_info()
    assert info.pending_update_count == 0
    assert info.last_error_message == "Wrong response from the webhook: 502 Bad Gateway"
    assert info.last_error_date is not None
    assert tg.stats.webhook_given_up == 0


async def test_a_webhook_that_keeps_failing_is_given_up_after_a_few_attempts(
    clock: FakeClock, receiver: Receiver
) -> None:
    tg = LocalTelegram(token=TOKEN, clock=clock, webhook_attempts=3, webhook_backoff=0.01)
    receiver.statuses = [403] * 3
    async with Bot(TOKEN, request=tg.request()) as bot:
        await bot.set_webhook(receiver.url, secret_token="not-what-the-bot-expects")
        await tg.user(42).send("lost")
        await tg.user(42).send("delivered")
        # The receiver sees the last post a moment before the double counts it delivered.
        await eventually(lambda: len(receiver.posts) == 4 and tg.pending_update_count == 0)
        info = await bot.get_webhook_info()

    assert receiver.texts == ["lost", "lost", "lost", "delivered"]
    assert tg.stats.webhook_given_up == 1
    assert info.pending_update_count == 0
    assert info.last_error_message == "Wrong response from the webhook: 403 Forbidden"


async def test_posting_retries_until_the_bot_listens(tg: LocalTelegram, bot: Bot) -> None:
    late = Receiver(free_port())
    await bot.set_webhook(late.url, secret_token=SECRET)
    await tg.user(42).send("hello")
    # The first attempt finds nobody listening (waited for: a loaded machine is slower).
    for _ in range(300):
        info = await bot.get_webhook_info()
        if info.last_error_message is not None:
            break
        await asyncio.sleep(0.01)
    assert info.last_error_message == "Connection refused"
    server = listen(late)
    try:
        # The receiver sees the post a moment before the double counts it delivered.
        await eventually(lambda: late.texts == ["hello"] and tg.pending_update_count == 0)
    finally:
        server.stop()
        await server.close_all_connections()


async def test_delete_webhook_brings_back_polling_with_what_was_not_delivered(
    clock: FakeClock,
) -> None:
    tg = LocalTelegram(token=TOKEN, clock=clock, webhook_backoff=60)
    async with Bot(TOKEN, request=tg.request(), get_updates_request=tg.request()) as bot:
        await bot.set_webhook(f"http://127.0.0.1:{free_port()}/hook")  # nobody listens
        await tg.user(42).send("kept")
        await asyncio.sleep(0.05)
        assert (await bot.get_webhook_info()).pending_update_count == 1
        assert await bot.delete_webhook()
        [update] = await bot.get_updates()
    assert update.message is not None and update.message.text == "kept"
    assert tg.stats.webhook_posts == 1


async def test_set_webhook_can_drop_pending_updates_and_choose_update_kinds(
    tg: LocalTelegram, bot: Bot, receiver: Receiver
) -> None:
    alex = tg.user(42)
    await alex.send("before the webhook")
    await bot.set_webhook(
        receiver.url, drop_pending_updates=True, allowed_updates=["callback_query"]
    )
    await asyncio.sleep(0.05)
    assert receiver.posts == []

    await alex.send("not wanted")
    await bot.send_message(42, "Tap", reply_markup=GO)
    await alex.press("Go")
    await eventually(lambda: len(receiver.posts) == 1)
    assert receiver.posts[0][1]["callback_query"]["data"] == "go"  # type: ignore[index]
    assert "X-Telegram-Bot-Api-Secret-Token" not in receiver.posts[0][0]  # none was set
    assert (await bot.get_webhook_info()).allowed_updates == ("callback_query",)


@pytest.mark.parametrize(
    ("url", "accepted"),
    [
        ("https://bot.example.org/hook", True),
        ("http://127.0.0.1:8443/hook", True),  # loopback, as a local Bot API server allows
        ("http://localhost/hook", True),
        ("http://[::1]:8080/", True),
        ("http://bot.example.org/hook", False),
        ("http://10.0.0.5/hook", False),
        ("ftp://bot.example.org/hook", False),
    ],
)
async def test_webhook_urls_must_be_https_except_on_loopback(
    tg: LocalTelegram, bot: Bot, url: str, accepted: bool
) -> None:
    if accepted:
        assert await bot.set_webhook(url)
        assert (await bot.get_webhook_info()).url == url
    else:
        with pytest.raises(BadRequest, match=r"(?i)an https url must be provided for webhook"):
            await bot.set_webhook(url)
        assert (await bot.get_webhook_info()).url == ""


async def test_a_ptb_application_gets_updates_on_its_webhook_and_refuses_strangers(
    tg: LocalTelegram,
) -> None:
    async def echo(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        assert update.message is not None
        await update.message.reply_text(f"You said: {update.message.text}")

    port = free_port()
    app = ApplicationBuilder().token(TOKEN).request(tg.request()).build()
    app.add_handler(MessageHandler(filters.TEXT, echo))
    await app.initialize()
    assert app.updater is not None
    await app.updater.start_webhook(
        listen="127.0.0.1",
        port=port,
        url_path="hook",
        webhook_url=f"http://127.0.0.1:{port}/hook",
        secret_token=SECRET,
    )
    await app.start()
    alex = tg.user(42)
    stranger = tg.user(43)
    try:
        await alex.send("over the webhook")
        reply = await alex.next_reply()
        forged = {"update_id": 999, "message": {**alex.chat.bot_messages[0].to_api()}}
        async with httpx.AsyncClient() as client:
            refused = [
                await client.post(f"http://127.0.0.1:{port}/hook", json=forged, headers=headers)
                for headers in ({}, {"X-Telegram-Bot-Api-Secret-Token": "wrong"})
            ]
        await stranger.send("still fine")
        await asyncio.sleep(0.1)
    finally:
        await app.updater.stop()
        await app.stop()
        await app.shutdown()

    assert reply.text == "You said: over the webhook"
    assert tg.webhook.secret_token == SECRET
    assert [response.status_code for response in refused] == [403, 403]
    assert [message.text for message in alex.messages] == ["You said: over the webhook"]
    assert [message.text for message in stranger.messages] == ["You said: still fine"]
