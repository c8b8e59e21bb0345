"""The local Telegram over real HTTP, driven by PTB's own HTTPXRequest and by raw requests."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator

import httpx
import pytest
from telegram import Bot, Update
from telegram.error import TimedOut
from telegram.ext import ApplicationBuilder, ContextTypes, MessageHandler, filters
from telegram.request import HTTPXRequest

from bot.localtelegram import LocalTelegram, LocalTelegramServer, serve_http

from .conftest import TOKEN, png


@pytest.fixture
async def server(tg: LocalTelegram) -> AsyncIterator[LocalTelegramServer]:
    server = await serve_http(tg)
    yield server
    await server.stop()


async def test_a_ptb_application_answers_a_user_over_http(
    tg: LocalTelegram, server: LocalTelegramServer
) -> None:
    async def echo(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        assert update.message is not None and update.effective_chat is not None
        await update.message.reply_text(f"You said: {update.message.text}")
        await context.bot.send_photo(update.effective_chat.id, png(32, 16), caption="chart")

    app = ApplicationBuilder().token(TOKEN).base_url(server.base_url).build()
    app.add_handler(MessageHandler(filters.TEXT, echo))
    await app.initialize()
    await app.start()
    assert app.updater is not None
    await app.updater.start_polling(poll_interval=0, timeout=30)
    alex = tg.user(42)
    try:
        await alex.send("123")  # looks like a number, must stay text
        text_reply, photo_reply = await alex.replies(2)
    finally:
        started = time.monotonic()
        await app.updater.stop()
        await app.stop()
        await app.shutdown()
        stop_seconds = time.monotonic() - started

    assert text_reply.text == "You said: 123"
    assert photo_reply.photo == png(32, 16)
    assert photo_reply.caption == "chart"
    assert stop_seconds < 1.0
    assert tg.pending_update_count == 0


async def test_injected_timeout_makes_httpx_time_out(
    tg: LocalTelegram, server: LocalTelegramServer
) -> None:
    tg.user(42).open_chat()
    tg.inject_fault("sendMessage", "timeout")
    request = HTTPXRequest(read_timeout=0.3)
    async with Bot(TOKEN, base_url=server.base_url, request=request) as bot:
        with pytest.raises(TimedOut):
            await bot.send_message(42, "lost")
        await bot.send_message(42, "delivered")
    assert [message.text for message in tg.user(42).messages] == ["delivered"]


async def test_raw_form_json_and_query_requests_are_read_like_telegram_reads_them(
    tg: LocalTelegram, server: LocalTelegramServer
) -> None:
    tg.user(42).open_chat()
    url = f"{server.base_url}{TOKEN}"
    markup = {"inline_keyboard": [[{"text": "Go", "callback_data": "7"}]]}
    async with httpx.AsyncClient() as client:
        form = await client.post(
            f"{url}/sendMessage",
            data={"chat_id": "42", "text": "007", "reply_markup": json.dumps(markup)},
        )
        as_json = await client.post(f"{url}/sendmessage", json={"chat_id": 42, "text": "0.50"})
        query = await client.get(f"{url}/getMe")
        bad = await client.post(f"{url}/sendMessage", data={"chat_id": "42", "text": ""})
        elsewhere = await client.get(f"http://{server.host}:{server.port}/robots.txt")

    assert form.status_code == 200
    assert form.json()["result"]["text"] == "007"
    assert form.json()["result"]["reply_markup"] == markup
    assert as_json.json()["result"]["text"] == "0.50"
    assert query.json()["result"]["username"] == "glutebot_bot"
    assert (bad.status_code, bad.json()["description"]) == (
        400,
        "Bad Request: message text is empty",
    )
    assert elsewhere.status_code == 404
    assert [message.text for message in tg.user(42).messages] == ["007", "0.50"]


async def test_stopping_the_server_ends_a_waiting_long_poll(
    tg: LocalTelegram, server: LocalTelegramServer
) -> None:
    async with httpx.AsyncClient() as client:
        poll = asyncio.create_task(
            client.post(f"{server.base_url}{TOKEN}/getUpdates", data={"timeout": "30"}, timeout=60)
        )
        await asyncio.sleep(0.1)
        started = time.monotonic()
        await server.stop()
        with pytest.raises(httpx.HTTPError):
            await poll
    assert time.monotonic() - started < 1.0
