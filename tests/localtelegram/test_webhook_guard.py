"""Glutebot's webhook handler in a real PTB webhook server: 403 and one safe line per refusal."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from dataclasses import dataclass

import httpx
import pytest
from telegram import Update
from telegram.ext import Application, ApplicationBuilder, ContextTypes, MessageHandler, filters

from bot.localtelegram import LocalTelegram, LocalUser
from bot.webhook import SECRET_HEADER, check_webhook_secrets

from .conftest import TOKEN
from .test_webhook import free_port

SECRET = "the-Right_secret-123"
PRIVATE = "PRIVATE-words-about-my-back"


@dataclass
class Hook:
    app: Application  # type: ignore[type-arg]
    url: str
    alex: LocalUser


@pytest.fixture
async def hook(tg: LocalTelegram) -> AsyncIterator[Hook]:
    async def echo(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        assert update.message is not None
        await update.message.reply_text(f"You said: {update.message.text}")

    check_webhook_secrets()
    port = free_port()
    url = f"http://127.0.0.1:{port}/telegram"
    app = ApplicationBuilder().token(TOKEN).request(tg.request()).build()
    app.add_handler(MessageHandler(filters.TEXT, echo))
    await app.initialize()
    assert app.updater is not None
    await app.updater.start_webhook(
        listen="127.0.0.1", port=port, url_path="telegram", webhook_url=url, secret_token=SECRET
    )
    await app.start()
    alex = tg.user(42)
    alex.open_chat()
    try:
        yield Hook(app, url, alex)
    finally:
        await app.updater.stop()
        await app.stop()
        await app.shutdown()


def update_from(alex: LocalUser, update_id: int, text: str) -> dict[str, object]:
    return {
        "update_id": update_id,
        "message": {
            "message_id": 100 + update_id,
            "date": 0,
            "chat": alex.chat.user.as_private_chat(),
            "from": alex.chat.user.as_user(),
            "text": text,
        },
    }


async def test_refusals_are_403_and_logged_once_without_body_or_token_values(
    hook: Hook, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)  # not even DEBUG shows the body or a token value
    body = update_from(hook.alex, 1, PRIVATE)
    async with httpx.AsyncClient() as client:
        missing = await client.post(hook.url, json=body)
        wrong = await client.post(hook.url, json=body, headers={SECRET_HEADER: "the-Wrong-one"})
        empty = await client.post(hook.url, json=body, headers={SECRET_HEADER: ""})
        right = await client.post(
            hook.url, json=update_from(hook.alex, 2, "hello"), headers={SECRET_HEADER: SECRET}
        )
    reply = await hook.alex.next_reply()

    assert [r.status_code for r in (missing, wrong, empty, right)] == [403, 403, 403, 200]
    assert reply.text == "You said: hello"
    assert [m.text for m in hook.alex.messages] == ["You said: hello"]  # PRIVATE not handled
    refusals = [r for r in caplog.records if r.getMessage().startswith("Refused a webhook")]
    assert [r.levelname for r in refusals] == ["WARNING"] * 3
    assert [r.getMessage().split(" with ")[1].split(" (")[0] for r in refusals] == [
        "no secret token",
        "a wrong secret token",
        "no secret token",
    ]
    assert "from 127.0.0.1" in refusals[0].getMessage()
    for leak in (PRIVATE, "the-Wrong-one", SECRET):
        assert leak not in caplog.text


async def test_an_unreadable_update_is_logged_without_its_body(
    hook: Hook, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    broken = {"update_id": 3, "message": {"text": PRIVATE}}  # no chat, no date, no id
    async with httpx.AsyncClient() as client:
        response = await client.post(hook.url, json=broken, headers={SECRET_HEADER: SECRET})
    assert response.status_code == 400
    assert "could not be read and was not processed" in caplog.text
    assert PRIVATE not in caplog.text
