"""The commands users see in Telegram's menu and in /help: one list for both."""

from __future__ import annotations

from telegram import BotCommand

COMMANDS: tuple[tuple[str, str], ...] = (
    ("start", "Start or restart your glute coaching"),
    ("rescreen", "Retake the screen and update your programme"),
    ("cancel", "Stop the screen you are in the middle of"),
    ("pause", "Pause nudges: /pause 3, /pause until 24 dec"),
    ("resume", "Start nudges again after a pause"),
    ("settings", "Change your hours, rhythm, time zone and moments"),
    ("log", "Log exercise you did without a nudge"),
    ("why", "Why your exercises stay, step up or step down"),
    ("progress", "A chart of your last four weeks"),
    ("history", "Your recent sessions as text"),
    ("export", "Download everything I have about you, and a physio report"),
    ("stop", "Stop all nudges (your history stays)"),
    ("delete", "Erase everything I have about you"),
    ("help", "What I can do and how to talk to me"),
)


def bot_commands() -> list[BotCommand]:
    """The menu for setMyCommands."""
    return [BotCommand(name, description) for name, description in COMMANDS]


def help_lines() -> str:
    """One line per command, for /help."""
    return "\n".join(f"/{name} - {description}" for name, description in COMMANDS)
