"""Glutebot: the Telegram side of the coach (handlers, delivery, storage, the local Telegram)."""

import os

# Opt in to python-telegram-bot's coming behaviour: durations such as RetryAfter.retry_after
# are datetime.timedelta (PTB 22 warns on every read until a program opts in).
os.environ.setdefault("PTB_TIMEDELTA", "true")
