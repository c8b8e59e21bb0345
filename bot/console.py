"""The console chat: talk to the real bot in a terminal through the local Telegram.

Bot messages are printed as they arrive; inline buttons are shown numbered and pressed by
typing their number; photos and documents are saved to files whose paths are printed.
"""

from __future__ import annotations

import asyncio
import logging
import sys
import threading
from pathlib import Path
from typing import Any, TextIO

from bot.app import build_application, start_application, stop_application
from bot.clock import Clock, ScaledClock, SystemClock
from bot.config import Settings
from bot.localtelegram import LocalTelegram
from bot.logs import configure_logging
from bot.runtime import Runtime

GUIDE = """\
You are {name} (user id {user_id}), chatting with Glutebot through the local Telegram.
Type a message and press Enter. Buttons appear as [1] [2] ...: type the number to press one
(where buttons are themselves numbers, like pain 0-10, typing the number presses that one).
To send a number as a plain message while buttons are shown, start it with a quote: '12
!location LAT LON shares a location, !help shows this again, !quit (or Ctrl-D) leaves.
Clock speed: {speed}x. Log: {log_path}"""


class ConsoleChat:
    """Turns bot events into printed lines and typed lines into user actions."""

    def __init__(
        self, telegram: LocalTelegram, user_id: int, first_name: str, files_dir: Path, out: TextIO
    ) -> None:
        self.telegram = telegram
        self.user = telegram.user(user_id, first_name)
        self.user_id = user_id
        self.files_dir = files_dir
        self.out = out
        telegram.add_listener(self.on_event)

    # What the bot does, printed.
    def on_event(self, event: Any) -> None:
        """Print one thing the bot did in our chat."""
        if event.chat_id != self.user_id:
            return
        kind, message = event.kind, event.message
        if kind == "toast":
            if event.text:
                self._print(f"  (Glutebot shows: {event.text})")
            return
        if kind == "delete":
            self._print(f"  (Glutebot deleted message {message.message_id})")
            return
        label = "Glutebot (edited)" if kind == "edit" else "Glutebot"
        body = message.text or message.caption or ""
        if message.photo is not None:
            body = f"[photo saved to {self._save(message, 'png')}] {body}".rstrip()
        elif message.document is not None:
            body = f"[document saved to {self._save(message, None)}] {body}".rstrip()
        self._print(f"{label}: {body}")
        buttons = self._numbered_buttons(message)
        if buttons:
            self._print("   " + "  ".join(f"[{n}] {text}" for n, text in buttons))

    def _save(self, message: Any, extension: str | None) -> Path:
        self.files_dir.mkdir(parents=True, exist_ok=True)
        name = message.file_name or f"message-{message.message_id}.{extension or 'bin'}"
        path = self.files_dir / f"{message.message_id}-{Path(name).name}"
        data = message.photo if message.photo is not None else message.document
        path.write_bytes(data)
        return path.resolve()

    def _print(self, line: str) -> None:
        print(line, file=self.out, flush=True)

    @staticmethod
    def _numbered_buttons(message: Any) -> list[tuple[int, str]]:
        texts = [text for row in message.buttons for text in row]
        return list(enumerate(texts, start=1))

    def _open_keyboard(self) -> Any | None:
        """The newest message in the chat that still shows buttons."""
        for message in reversed(self.user.messages):
            if not message.deleted and message.buttons:
                return message
        return None

    # What the person types, acted on.
    async def handle_line(self, line: str) -> bool:
        """Act on one typed line; False when the person wants to leave."""
        text = line.strip()
        if not text:
            return True
        if text in ("!quit", "!exit"):
            return False
        if text == "!help":
            self._print("Type a message, a number to press a button, !location LAT LON, !quit.")
            return True
        if text.startswith("!location"):
            await self._share_location(text)
            return True
        if text.startswith("'"):
            await self.user.send(text[1:])
            return True
        keyboard = self._open_keyboard()
        if keyboard is not None and text.isdigit():
            labels = [label for _, label in self._numbered_buttons(keyboard)]
            if text in labels:  # buttons labelled with numbers (pain 0-10) win
                await self.user.press(text, message=keyboard)
                return True
            if 1 <= int(text) <= len(labels):
                await self.user.press(labels[int(text) - 1], message=keyboard)
                return True
        await self.user.send(text)
        return True

    async def _share_location(self, text: str) -> None:
        parts = text.split()[1:]
        try:
            latitude, longitude = (float(part.rstrip(",")) for part in parts)
        except ValueError:
            self._print("  Usage: !location 52.52 13.40 (latitude, then longitude)")
            return
        if not (-90 <= latitude <= 90 and -180 <= longitude <= 180):
            self._print("  Latitude goes from -90 to 90 and longitude from -180 to 180.")
            return
        await self.user.share_location(latitude, longitude)


def _read_lines(
    stream: TextIO, queue: asyncio.Queue[str | None], loop: asyncio.AbstractEventLoop
) -> None:
    """Feed typed lines into the loop from a daemon thread (None at end of input)."""
    for line in stream:
        loop.call_soon_threadsafe(queue.put_nowait, line)
    loop.call_soon_threadsafe(queue.put_nowait, None)


async def chat_in_console(
    settings: Settings,
    *,
    speed: float,
    user_id: int,
    first_name: str,
    files_dir: Path,
    stdin: TextIO | None = None,
    stdout: TextIO | None = None,
) -> None:
    """Run the bot against the local Telegram and chat with it until !quit or end of input."""
    stdin, stdout = stdin or sys.stdin, stdout or sys.stdout
    log_path = settings.data_dir / "console.log"
    log_path.parent.mkdir(parents=True, exist_ok=True)
    with log_path.open("a", encoding="utf-8") as log_file:
        configure_logging(settings.log_level, settings.token, stream=log_file)
        clock: Clock = ScaledClock(speed) if speed != 1 else SystemClock()
        telegram = LocalTelegram(clock=clock)
        # A faster clock needs more frequent ticks, or nudges would arrive late (or missed).
        settings = settings.model_copy(
            update={"tick_seconds": max(0.5, settings.tick_seconds / speed)}
        )
        application = build_application(
            Runtime.open(settings, clock),
            request=telegram.request(),
            get_updates_request=telegram.request(),
        )
        chat = ConsoleChat(telegram, user_id, first_name, files_dir, stdout)
        print(
            GUIDE.format(
                name=first_name, user_id=user_id, speed=f"{speed:g}", log_path=log_path.resolve()
            ),
            file=stdout,
            flush=True,
        )
        await start_application(application, poll_timeout=1)
        try:
            queue: asyncio.Queue[str | None] = asyncio.Queue()
            reader = threading.Thread(
                target=_read_lines, args=(stdin, queue, asyncio.get_running_loop()), daemon=True
            )
            reader.start()
            while (line := await queue.get()) is not None:
                if not await chat.handle_line(line):
                    break
            await asyncio.sleep(0.3)  # let the last replies arrive before leaving
        finally:
            await stop_application(application)
        logging.shutdown()
    print("Bye!", file=stdout, flush=True)
