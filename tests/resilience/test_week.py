"""A simulated week, scaled down: faults, a kill -9 mid-dispatch and a downtime, all accounted.

The scenario and its accounting are bench/bench_week.py's, run smaller and faster: the real
`glutebot run` in its own process on a fast clock (GLUTEBOT_CLOCK_SPEED, tests only), the
local Telegram over HTTP here. Two tests pin down what the week found: a kill -9 between
Telegram taking a message and its receipt must not repeat the message (the message in
flight is marked missed instead), and a tap whose handling a crash cut short must count
when Telegram delivers it again.
"""

from __future__ import annotations

import asyncio
import importlib
import os
import subprocess
import sys
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
from sqlalchemy import select, update

from bot.clock import FakeClock
from bot.db.models import Nudge, NudgeKind
from bot.localtelegram import LocalTelegram
from bot.services.nudging import Nudges
from tests.e2e.harness import active_user, running_bot
from tests.e2e.test_delivery import MONDAY, nudges_of

BENCH = Path(__file__).resolve().parents[2] / "bench"
GLUTEBOT = str(Path(sys.executable).parent / "glutebot")


@pytest.fixture(scope="module")
def week() -> ModuleType:
    """bench/bench_week.py, imported as the benchmark imports its neighbours."""
    sys.path.insert(0, str(BENCH))
    try:
        return importlib.import_module("bench_week")
    finally:
        sys.path.remove(str(BENCH))


async def simulate(week: ModuleType, tmp_path: Path, **scenario: Any) -> tuple[Any, Any]:
    """Run the scenario; the run and its accounting."""
    run = await week.run_week(week.Scenario(**scenario), tmp_path, say=lambda line: None)
    return run, await week.account(run)


async def test_a_day_with_faults_a_kill_and_a_downtime_loses_and_repeats_nothing(
    week: ModuleType, tmp_path: Path
) -> None:
    run, report = await simulate(
        week,
        tmp_path,
        users=200,
        days=9.5 / 24,  # Monday 08:30 to 18:00 UTC: Europe's working day, then the Americas'
        speed=2400.0,  # 40 minutes a second: the bot's start (about 3 s) takes two hours
        start_lead=0,  # so it begins with a backlog, sent late (it is newer than 150 min)
        kills=("held",),
        kill_at=(0.01,),  # armed at 08:36: inside the first batch, at about 10:30
        burst_at=(0.45,),  # 12:45: a 429 (its real second is 40 minutes here)
        burst_size=1,
        downtime_at=0.53,  # 13:30 to 15:10, sending again at about 17:10
        downtime_hours=1.67,
        missed_after_minutes=150,  # so what fell due from 13:30 to about 14:40 is missed
        slow_hours=0,
    )
    lines = "\n".join(week.table(run, report, "tests/resilience/test_week.py"))

    # The scenario happened: faults of every kind, a kill inside a batch, a downtime.
    assert {"server_error", "timeout", "flood"} <= set(run.faults), lines
    (kill,) = run.kills
    assert kill.kind == "held" and kill.claims_left > 0, lines
    assert kill.users_without_next > 0, lines  # sent, their next nudge not yet planned
    assert report.states["missed during downtime"] > 0, lines
    assert run.stops == [0, 0], lines  # the downtime's and the end's SIGTERM: clean
    assert run.taps["z"] and run.taps["skip"], lines
    assert run.caught_up, lines

    # Every row accounted for; nothing lost; nothing received twice or from nowhere.
    assert report.accounted == report.rows, lines
    assert report.lost == 0, lines
    assert report.duplicates == 0 and report.unmatched == 0 and report.unrecorded == 0, lines
    assert report.phantoms == 0 and report.with_two_next == 0, lines
    # Enough traffic to mean something, even when a loaded machine slows the restarts (each
    # real second is 40 minutes here, so more of the day is missed while the bot starts).
    assert report.matched == report.received > 50, lines
    assert report.states["sent"] > 40 and report.users == 200, lines
    assert week.log_problems(run.logs)[0] == {}, lines


async def test_a_kill_after_delivery_before_the_receipt_does_not_repeat_the_message(
    week: ModuleType, tmp_path: Path
) -> None:
    run, report = await simulate(
        week,
        tmp_path,
        users=100,
        days=2.5 / 24,
        speed=1200.0,  # the restart takes about an hour: long past the claim time-out
        start_lead=0,
        kills=("delivered",),
        kill_at=(0.0,),  # the first nudge to arrive
        downtime_hours=0,
        flood_bursts=0,
        server_errors=0,
        timeouts=0,
        slow_hours=0,
    )
    lines = "\n".join(week.table(run, report, "tests/resilience/test_week.py"))
    (kill,) = run.kills
    assert kill.kind == "delivered" and kill.claims_left > 0, lines
    assert report.lost == 0 and report.accounted == report.rows, lines
    assert report.unmatched == 0 and report.phantoms == 0, lines
    assert report.duplicates == 0, lines  # the message in flight was not sent again
    assert report.states["missed: a kill interrupted its send (not sent again)"] == 1, lines
    assert report.unrecorded == 1, lines  # which the user did get


async def test_a_tap_whose_handling_a_crash_cut_short_counts_when_it_comes_again(
    sqlite_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    clock = FakeClock(MONDAY)
    telegram = LocalTelegram(clock=clock)
    async with running_bot(sqlite_url, tmp_path, telegram=telegram, clock=clock) as bot:
        user = await active_user(bot, 71, weekends=True)
        async with bot.runtime.sessions.begin() as session:
            await session.execute(
                update(Nudge).where(Nudge.user_id == 71).values(due_at=clock.now())
            )
        await bot.dispatcher.tick()
        (nudge,) = nudges_of(user)

        async def dies(self: Nudges, data: str) -> None:
            raise RuntimeError("the process is killed here, before the tap's transaction")

        monkeypatch.setattr(Nudges, "press", dies)
        tap = await user.press("Not now", message=nudge)
        await user.wait_for(lambda: telegram.pending_update_count == 0)
        await asyncio.sleep(0.3)  # the handler ran and failed
    monkeypatch.undo()
    # The crashed bot never confirmed the update, so Telegram delivers it again on restart.
    telegram.redeliver(tap)
    async with running_bot(sqlite_url, tmp_path, telegram=telegram, clock=clock) as bot:
        await user.wait_for(lambda: telegram.pending_update_count == 0)
        await asyncio.sleep(0.3)
        async with bot.runtime.sessions() as session:
            responses = list(
                await session.scalars(
                    select(Nudge.response).where(
                        Nudge.user_id == 71,
                        Nudge.kind == NudgeKind.NUDGE,
                        Nudge.sent_at.is_not(None),
                    )
                )
            )
    assert responses == ["not_now"], f"the tap left {responses} after it came again"


@pytest.mark.parametrize(
    "clock",
    [
        {"GLUTEBOT_CLOCK_SPEED": "fast"},
        {"GLUTEBOT_CLOCK_SPEED": "0"},
        {"GLUTEBOT_CLOCK_SPEED": "100", "GLUTEBOT_CLOCK_START": "2026-03-02 08:30"},  # no offset
        {"GLUTEBOT_CLOCK_SPEED": "100", "GLUTEBOT_CLOCK_ORIGIN": "yesterday"},
    ],
)
def test_a_bad_test_clock_stops_glutebot_run_with_one_line(
    tmp_path: Path, clock: dict[str, str]
) -> None:
    env = {key: value for key, value in os.environ.items() if not key.startswith("GLUTEBOT_")}
    env.update(
        clock,
        TELEGRAM_BOT_TOKEN="5550001234:AAHsecret-token-for-tests_only",
        TELEGRAM_API_BASE_URL="http://127.0.0.1:9/bot",  # never reached
        DATABASE_URL=f"sqlite:///{tmp_path / 'glutebot.db'}",
        STATUS_PORT="0",
    )
    done = subprocess.run(
        [GLUTEBOT, "run"], env=env, cwd=tmp_path, capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 2
    assert (
        done.stderr.strip()
        .splitlines()[-1]
        .startswith("glutebot: configuration problem: GLUTEBOT_CLOCK_SPEED needs a positive number")
    )
