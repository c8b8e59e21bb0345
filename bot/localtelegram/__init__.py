"""The local Telegram: an in-process Bot API double for tests, the console and benchmarks.

    tg = LocalTelegram()
    app = (
        ApplicationBuilder().token("123:ABC")
        .request(tg.request()).get_updates_request(tg.request())
        .build()
    )
    ...start the Application and its polling...
    alex = tg.user(42, "Alex")
    await alex.send("/start")
    reply = await alex.next_reply()
    await alex.press("Yes")

`serve_http(tg)` puts the same double behind real HTTP for a bot in another process.
A bot that calls setWebhook gets each update POSTed to its URL instead, as from Telegram.
"""

from bot.localtelegram.chat import ChatMessage, Event, Version
from bot.localtelegram.faults import FaultKind
from bot.localtelegram.http import LocalTelegramServer, serve_http
from bot.localtelegram.limits import Rate
from bot.localtelegram.request import LocalTelegramRequest
from bot.localtelegram.server import LocalTelegram, Stats
from bot.localtelegram.users import LocalUser

__all__ = [
    "ChatMessage",
    "Event",
    "FaultKind",
    "LocalTelegram",
    "LocalTelegramRequest",
    "LocalTelegramServer",
    "LocalUser",
    "Rate",
    "Stats",
    "Version",
    "serve_http",
]
