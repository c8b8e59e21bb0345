"""Telegram's errors, worded as Telegram words them, and the PTB exceptions they become."""

from __future__ import annotations

import pytest
from telegram import Bot, InlineKeyboardButton, InlineKeyboardMarkup
from telegram.error import (
    BadRequest,
    EndPointNotFound,
    Forbidden,
    InvalidToken,
    NetworkError,
    RetryAfter,
    TimedOut,
)

from bot.localtelegram import LocalTelegram, Rate

from .conftest import TOKEN


def keyboard(data: str) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup([[InlineKeyboardButton("Go", callback_data=data)]])


@pytest.fixture
def alex(tg: LocalTelegram) -> int:
    """A user who has written to the bot, so the bot may write to them."""
    tg.user(42).open_chat()
    return 42


@pytest.mark.parametrize(
    ("params", "description"),
    [
        ({"text": ""}, "Bad Request: message text is empty"),
        ({"text": "   \n "}, "Bad Request: message text is empty"),
        ({"text": "x" * 4097}, "Bad Request: message is too long"),
        (
            {"text": "hi", "reply_markup": keyboard("x" * 65).to_dict()},
            "Bad Request: BUTTON_DATA_INVALID",
        ),
        (
            {"text": "Version 1.0", "parse_mode": "MarkdownV2"},
            "Bad Request: can't parse entities: Character '.' is reserved and must be escaped "
            "with the preceding '\\'",
        ),
        (
            {"text": "line<br>break", "parse_mode": "HTML"},
            'Bad Request: can\'t parse entities: Unsupported start tag "br" at byte offset 4',
        ),
        ({"text": "hi", "parse_mode": "BBCode"}, "Bad Request: unsupported parse_mode"),
        (
            {"text": "hi", "reply_parameters": {"message_id": 99}},
            "Bad Request: message to be replied not found",
        ),
    ],
)
async def test_bad_sends_are_refused_in_telegram_words(
    tg: LocalTelegram, alex: int, params: dict[str, object], description: str
) -> None:
    status, body = await tg.call(TOKEN, "sendMessage", {"chat_id": alex, **params})
    assert (status, body) == (400, {"ok": False, "error_code": 400, "description": description})
    assert tg.user(alex).messages == []


async def test_a_bad_request_raises_ptb_bad_request(bot: Bot, alex: int) -> None:
    with pytest.raises(BadRequest, match=r"^Message text is empty$"):
        await bot.send_message(alex, "")


async def test_edits_and_deletes_follow_telegram_rules(
    tg: LocalTelegram, bot: Bot, alex: int
) -> None:
    sent = await bot.send_message(alex, "Ready?", reply_markup=keyboard("go"))
    with pytest.raises(
        BadRequest, match=r"^Message is not modified: specified new message content"
    ):
        await bot.edit_message_text("Ready?", alex, sent.message_id, reply_markup=keyboard("go"))
    with pytest.raises(BadRequest, match=r"^Message to edit not found$"):
        await bot.edit_message_text("Go", alex, 999)

    await bot.edit_message_reply_markup(alex, sent.message_id, reply_markup=keyboard("again"))
    assert await bot.delete_message(alex, sent.message_id)
    with pytest.raises(BadRequest, match="Message to delete not found"):
        await bot.delete_message(alex, sent.message_id)
    with pytest.raises(BadRequest, match=r"^Message to edit not found$"):
        await bot.edit_message_text("Too late", alex, sent.message_id)

    [message] = tg.user(alex).messages
    assert message.deleted and message.button_data == [["again"]] and len(message.edits) == 1


async def test_unknown_chats_blocked_users_and_stale_queries(tg: LocalTelegram, bot: Bot) -> None:
    with pytest.raises(BadRequest, match="Chat not found"):
        await bot.send_message(7, "Hello stranger")
    tg.user(7)  # known to the double, but has never written to the bot
    with pytest.raises(BadRequest, match="Chat not found"):
        await bot.send_message(7, "Hello stranger")
    tg.user(7).open_chat()
    tg.user(7).block()
    with pytest.raises(Forbidden, match="bot was blocked by the user"):
        await bot.send_message(7, "Still there?")
    with pytest.raises(BadRequest, match="Query is too old"):
        await bot.answer_callback_query("12345")


async def test_wrong_token_is_unauthorized() -> None:
    tg = LocalTelegram(token=TOKEN)
    status, body = await tg.call("999:WRONG", "getMe", {})
    assert (status, body) == (401, {"ok": False, "error_code": 401, "description": "Unauthorized"})
    with pytest.raises(InvalidToken):
        async with Bot("999:WRONG", request=tg.request(), get_updates_request=tg.request()):
            pass


async def test_unknown_method_is_not_found(tg: LocalTelegram, bot: Bot) -> None:
    status, body = await tg.call(TOKEN, "sendTelepathy", {})
    assert (status, body["description"]) == (404, "Not Found: method not found")
    with pytest.raises(EndPointNotFound):
        await bot.do_api_request("sendTelepathy", api_kwargs={"chat_id": 1})


async def test_flood_limits_answer_429_and_deliver_nothing() -> None:
    now = [100.0]
    tg = LocalTelegram(
        token=TOKEN,
        flood_limits=True,
        overall_rate=Rate(3, 1.0),
        chat_rate=Rate(1, 1.0),
        monotonic=lambda: now[0],
    )
    async with Bot(TOKEN, request=tg.request(), get_updates_request=tg.request()) as bot:
        for user_id in (1, 2, 3, 4):
            tg.user(user_id).open_chat()
        await bot.send_message(1, "first")
        with pytest.raises(RetryAfter, match="Retry in 0:00:01"):
            await bot.send_message(1, "too soon")

        await bot.send_message(2, "two")
        await bot.send_message(3, "three")
        now[0] += 0.5
        with pytest.raises(RetryAfter):  # 3 sends within a second overall
            await bot.send_message(4, "four")

        now[0] += 0.6
        await bot.send_message(1, "later")
        await bot.send_message(4, "four")

    assert [message.text for message in tg.user(1).messages] == ["first", "later"]
    assert tg.stats.too_many_requests == 2
    assert tg.stats.messages_sent == 5
    assert tg.stats.calls["sendMessage"] == 7
    assert tg.stats.errors[429] == 2


async def test_per_chat_flood_control_tolerates_short_bursts_by_default() -> None:
    now = [0.0]
    tg = LocalTelegram(flood_limits=True, monotonic=lambda: now[0])
    async with Bot(TOKEN, request=tg.request(), get_updates_request=tg.request()) as bot:
        tg.user(1).open_chat()
        for text in ("a", "b", "c"):
            await bot.send_message(1, text)
        with pytest.raises(RetryAfter, match="Retry in 0:00:03"):
            await bot.send_message(1, "d")


@pytest.mark.parametrize(
    ("kind", "exception", "check"),
    [
        ("server_error", NetworkError, "Internal Server Error"),
        ("timeout", TimedOut, "Timed out"),
        ("blocked", Forbidden, "bot was blocked by the user"),
        ("flood", RetryAfter, "Retry in"),
    ],
)
async def test_injected_faults_raise_the_ptb_exception_and_deliver_nothing(
    tg: LocalTelegram,
    bot: Bot,
    alex: int,
    kind: str,
    exception: type[Exception],
    check: str,
) -> None:
    tg.inject_fault("sendMessage", kind, times=2)  # type: ignore[arg-type]
    for _ in range(2):
        with pytest.raises(exception, match=check) as error:
            await bot.send_message(alex, "Time to move!")
        assert type(error.value) is exception  # NetworkError, not one of its subclasses
    await bot.send_message(alex, "Time to move!")
    assert [message.text for message in tg.user(alex).messages] == ["Time to move!"]


async def test_faults_can_target_one_chat_and_carry_retry_after(
    tg: LocalTelegram, bot: Bot
) -> None:
    for user_id in (1, 2):
        tg.user(user_id).open_chat()
    tg.inject_fault("sendMessage", "flood", chat_id=2, retry_after=7)
    await bot.send_message(1, "fine")
    with pytest.raises(RetryAfter, match="Retry in 0:00:07"):
        await bot.send_message(2, "flooded")
    status, body = await tg.call(TOKEN, "sendMessage", {"chat_id": 2, "text": "x"})
    assert status == 200  # the fault was used up
    tg.inject_fault("sendMessage", "flood", retry_after=5)
    status, body = await tg.call(TOKEN, "sendMessage", {"chat_id": 2, "text": "x"})
    assert (status, body) == (
        429,
        {
            "ok": False,
            "error_code": 429,
            "description": "Too Many Requests: retry after 5",
            "parameters": {"retry_after": 5},
        },
    )
    await bot.send_message(2, "fine now")
    assert tg.stats.too_many_requests == 2


def test_unknown_fault_kinds_are_refused(tg: LocalTelegram) -> None:
    with pytest.raises(ValueError, match="unknown fault kind"):
        tg.inject_fault("sendMessage", "gremlins")  # type: ignore[arg-type]
