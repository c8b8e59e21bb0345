"""Fixtures for the local Telegram tests: a fresh double, and a real PTB Application on it."""

from __future__ import annotations

import struct
import time
import zlib
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager

import pytest
from telegram import Bot
from telegram.ext import Application, ApplicationBuilder, BaseHandler

from bot.clock import FakeClock
from bot.localtelegram import LocalTelegram

TOKEN = "123:ABC"

RunApp = Callable[..., AbstractAsyncContextManager[Application]]  # type: ignore[type-arg]


def png(width: int, height: int) -> bytes:
    """A valid, tiny, one-colour PNG image of the given size."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    header = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    pixels = zlib.compress(b"".join(b"\x00" + b"\x80" * width for _ in range(height)))
    return (
        b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", pixels) + chunk(b"IEND", b"")
    )


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def tg(clock: FakeClock) -> LocalTelegram:
    return LocalTelegram(token=TOKEN, clock=clock)


@pytest.fixture
async def bot(tg: LocalTelegram) -> AsyncIterator[Bot]:
    """A bare PTB Bot talking to the double (no Application, no polling)."""
    async with Bot(TOKEN, request=tg.request(), get_updates_request=tg.request()) as bot:
        yield bot


@pytest.fixture
def run_app(tg: LocalTelegram) -> RunApp:
    """Start a real PTB Application with the given handlers, polling the double.

    On leaving the block it stops the Application and checks that shutdown was quick.
    """

    @asynccontextmanager
    async def run(*handlers: BaseHandler, poll_timeout: float = 10) -> AsyncIterator[Application]:  # type: ignore[type-arg]
        app = (
            ApplicationBuilder()
            .token(TOKEN)
            .request(tg.request())
            .get_updates_request(tg.request())
            .build()
        )
        app.add_handlers(handlers)
        await app.initialize()
        await app.start()
        assert app.updater is not None
        await app.updater.start_polling(poll_interval=0, timeout=int(poll_timeout))
        try:
            yield app
        finally:
            started = time.monotonic()
            await app.updater.stop()
            await app.stop()
            await app.shutdown()
            assert time.monotonic() - started < 1.0, "stopping the Application took too long"

    return run
