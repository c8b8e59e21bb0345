"""getUpdates as Telegram does it: long polling, offsets, limits, conflicts, allowed_updates."""

from __future__ import annotations

import asyncio
import time
from datetime import timedelta

import pytest
from telegram import Bot, InlineKeyboardButton, InlineKeyboardMarkup
from telegram.error import Conflict

from bot.localtelegram import LocalTelegram


async def test_long_poll_returns_nothing_after_its_timeout(bot: Bot) -> None:
    started = time.monotonic()
    updates = await bot.get_updates(timeout=timedelta(seconds=0.3))
    elapsed = time.monotonic() - started
    assert updates == ()
    assert 0.3 <= elapsed < 1.0


async def test_long_poll_wakes_as_soon_as_a_user_writes(tg: LocalTelegram, bot: Bot) -> None:
    poll = asyncio.create_task(bot.get_updates(timeout=10))
    await asyncio.sleep(0.05)
    assert not poll.done()
    started = time.monotonic()
    await tg.user(42).send("hi")
    updates = await asyncio.wait_for(poll, 1)
    assert time.monotonic() - started < 0.5
    assert [update.message.text for update in updates if update.message] == ["hi"]


async def test_updates_stay_until_confirmed_by_offset(tg: LocalTelegram, bot: Bot) -> None:
    alex = tg.user(42)
    for text in ("one", "two", "three"):
        await alex.send(text)

    first = await bot.get_updates()
    again = await bot.get_updates()
    assert [update.update_id for update in first] == [update.update_id for update in again]
    assert [update.message.text for update in first if update.message] == ["one", "two", "three"]
    assert len(await bot.get_updates(limit=2)) == 2

    confirmed = await bot.get_updates(offset=first[1].update_id + 1)
    assert [update.message.text for update in confirmed if update.message] == ["three"]
    assert await bot.get_updates(offset=first[2].update_id + 1) == ()
    assert tg.pending_update_count == 0


async def test_negative_offset_keeps_only_the_latest_updates(tg: LocalTelegram, bot: Bot) -> None:
    alex = tg.user(42)
    for text in ("one", "two", "three"):
        await alex.send(text)
    latest = await bot.get_updates(offset=-1)
    assert [update.message.text for update in latest if update.message] == ["three"]
    assert tg.pending_update_count == 1


async def test_a_second_poller_terminates_the_first_with_conflict(bot: Bot) -> None:
    first = asyncio.create_task(bot.get_updates(timeout=10))
    await asyncio.sleep(0.05)
    second = asyncio.create_task(bot.get_updates(timeout=0))
    with pytest.raises(Conflict, match="terminated by other getUpdates request"):
        await asyncio.wait_for(first, 1)
    assert await second == ()


async def test_webhook_blocks_polling_until_deleted(tg: LocalTelegram, bot: Bot) -> None:
    await tg.user(42).send("hi")
    # Nothing listens on port 1: the update stays pending while the double retries.
    assert await bot.set_webhook("https://127.0.0.1:1/hook", secret_token="s3cret")
    info = await bot.get_webhook_info()
    assert (info.url, info.pending_update_count) == ("https://127.0.0.1:1/hook", 1)
    assert tg.webhook.secret_token == "s3cret"
    with pytest.raises(Conflict, match="can't use getUpdates method while webhook is active"):
        await bot.get_updates()

    assert await bot.delete_webhook(drop_pending_updates=True)
    assert await bot.get_updates() == ()
    assert (await bot.get_webhook_info()).url == ""


async def test_allowed_updates_filter_what_is_delivered(tg: LocalTelegram, bot: Bot) -> None:
    alex = tg.user(42)
    await alex.send("hi")
    await bot.send_message(
        42,
        "Tap",
        reply_markup=InlineKeyboardMarkup([[InlineKeyboardButton("Go", callback_data="go")]]),
    )
    updates = await bot.get_updates(allowed_updates=["message"])
    await alex.press("Go")
    await bot.get_updates(offset=updates[-1].update_id + 1)
    assert tg.pending_update_count == 0  # the callback query was not wanted, so not queued

    await bot.get_updates(allowed_updates=[])  # back to Telegram's default set
    await alex.press("Go")
    [update] = await bot.get_updates()
    assert update.callback_query is not None and update.callback_query.data == "go"
