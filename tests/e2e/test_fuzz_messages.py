"""Fuzzing the whole message path: whatever a user types, the bot answers and never breaks."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bot.clock import FakeClock
from bot.localtelegram import LocalUser
from tests.e2e.harness import RunningBot, active_user, ask, running_bot
from tests.e2e.test_delivery import MONDAY

INJECTIONS = [
    "'; DROP TABLE users; --",
    "<script>alert(1)</script>",
    "{{7*7}}",
    "%s%s%n",
    "\x00",
    "$(rm -rf /)",
    "../../etc/passwd",
    "NaN reps",
    "1e309 reps",
    "-5 reps",
    "0x10 reps",
    "999999999999999999999999 reps, pain 99999999999",
    "pain -3",
    "reps " * 800,
    "🍑" * 1000,
    "‮right-to-left‬",
    "12\u200b reps",
    "١٢ reps",
    "Ⅻ reps",
    "½ rep",
]

messages = st.one_of(
    st.text(min_size=1, max_size=200),
    st.text(alphabet=st.characters(codec="utf-8"), min_size=3500, max_size=4096),
    st.sampled_from(INJECTIONS),
    st.integers(min_value=-(10**30), max_value=10**30).map(str),
    st.tuples(
        st.integers(-50, 600),
        st.sampled_from(["reps", "x", "sets of", "pain", "p", "/10"]),
        st.integers(-5, 20),
    ).map(lambda t: f"{t[0]} {t[1]} {t[2]}"),
).filter(lambda text: text.strip() != "" and len(text) <= 4096)


@pytest.fixture(scope="module")
def fuzzed(
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[tuple[asyncio.AbstractEventLoop, RunningBot, LocalUser]]:
    """One bot for all examples, on its own event loop (hypothesis drives it from sync code)."""
    loop = asyncio.new_event_loop()
    folder: Path = tmp_path_factory.mktemp("fuzz")
    context = running_bot(
        f"sqlite+aiosqlite:///{folder / 'fuzz.db'}", folder, clock=FakeClock(MONDAY)
    )
    bot = loop.run_until_complete(context.__aenter__())
    user = loop.run_until_complete(active_user(bot, 999))
    try:
        yield loop, bot, user
    finally:
        loop.run_until_complete(context.__aexit__(None, None, None))
        loop.close()


@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(text=messages)
def test_every_message_gets_a_friendly_reply(
    fuzzed: tuple[asyncio.AbstractEventLoop, RunningBot, LocalUser], text: str
) -> None:
    loop, _, user = fuzzed
    reply = loop.run_until_complete(ask(user, text))
    body = reply.text or reply.caption or ""
    assert body.strip()
    assert not body.startswith("Sorry, something went wrong")  # no handler crashed
