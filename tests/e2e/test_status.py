"""The status server of a running bot: /metrics counts what happened, /health says whether
the bot works, and `glutebot health` reads it the way a Docker HEALTHCHECK does."""

from __future__ import annotations

import asyncio
import gc
import os
import signal
import socket
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import timedelta
from pathlib import Path

import httpx
import pytest
from click.testing import CliRunner
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy import select
from telegram import Update

from bot.app import build_application, dispatcher_of, start_application, stop_application
from bot.cli import cli
from bot.clock import FakeClock
from bot.config import ENV_NAMES
from bot.db.models import Nudge, NudgeState, ProcessedUpdate
from bot.localtelegram import LocalTelegram, serve_http
from bot.runtime import Runtime
from bot.status import (
    BACKLOG_LIMIT,
    Outbox,
    StatusServer,
    StatusServerError,
    check_health,
    lag_limit,
    outbox_check,
    scheduler_check,
    serve_status,
)
from tests.e2e.harness import RunningBot, active_user, ask, run_clock, settings_for_test
from tests.e2e.test_delivery import MONDAY

GLUTEBOT = str(Path(sys.executable).parent / "glutebot")
TOKEN = "5550009876:AAHstatus-token-for-tests_only"
Samples = dict[tuple[str, frozenset[tuple[str, str]]], float]


@asynccontextmanager
async def bot_with_status(
    database_url: str, data_dir: Path
) -> AsyncIterator[tuple[RunningBot, StatusServer]]:
    """The harness's running bot, plus its status server on a free port (port 0 picks one)."""
    clock = FakeClock(MONDAY)
    telegram = LocalTelegram(clock=clock)
    runtime = Runtime.open(settings_for_test(database_url, data_dir), clock)
    application = build_application(
        runtime, request=telegram.request(), get_updates_request=telegram.request(), deliver=False
    )
    server = serve_status(application, dispatcher_of(application), listen="127.0.0.1", port=0)
    await start_application(application, poll_timeout=1)  # post_init starts the server
    try:
        yield RunningBot(telegram, application, runtime, clock), server
    finally:
        await stop_application(application)  # post_shutdown stops it


async def get(server: StatusServer, path: str) -> httpx.Response:
    async with httpx.AsyncClient(trust_env=False, timeout=10) as client:
        return await client.get(server.url + path)


async def scrape(server: StatusServer) -> Samples:
    response = await get(server, "/metrics")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain; version=")
    return {
        (sample.name, frozenset(sample.labels.items())): sample.value
        for family in text_string_to_metric_families(response.text)
        for sample in family.samples
    }


def value(samples: Samples, name: str, **labels: str) -> float:
    return samples[(name, frozenset(labels.items()))]


async def glutebot_health(port: int, database_url: str, cwd: Path) -> tuple[int, str]:
    """`glutebot health` as a separate process, so this event loop keeps serving /health."""
    env = {key: value for key, value in os.environ.items() if key not in ENV_NAMES.values()}
    env.update(STATUS_LISTEN="127.0.0.1", STATUS_PORT=str(port), GLUTEBOT_DATA_DIR=str(cwd))
    env["DATABASE_URL"] = database_url  # empty: the default database in GLUTEBOT_DATA_DIR
    process = await asyncio.create_subprocess_exec(
        GLUTEBOT,
        "health",
        cwd=cwd,
        env=env,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    output, _ = await asyncio.wait_for(process.communicate(), timeout=60)
    assert process.returncode is not None
    return process.returncode, output.decode()


async def recorded(bot: RunningBot, update_id: int) -> None:
    """Wait until the bot has recorded this update id as handled."""
    for _ in range(500):
        async with bot.runtime.sessions() as session:
            if await session.get(ProcessedUpdate, update_id) is not None:
                return
        await asyncio.sleep(0.01)
    raise AssertionError(f"update {update_id} was never recorded as handled")


def closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


async def test_metrics_count_updates_and_reports(database_url: str, tmp_path: Path) -> None:
    async with bot_with_status(database_url, tmp_path) as (bot, server):
        before = await scrape(server)
        user = await active_user(bot, 301)
        await run_clock(bot, MONDAY + timedelta(hours=4), step=timedelta(minutes=10))
        nudge = next(m for m in reversed(user.messages) if "\n• " in (m.text or ""))
        done = next(label for row in nudge.buttons for label in row if label.startswith("✅"))
        asked = await user.tap(done, message=nudge)  # a report by button
        await user.tap("0", message=asked)
        await ask(user, "did 4, pain 2/10")  # a report by text
        log = await ask(user, "/log")  # a report by /log
        assert (log.text or "").startswith("Which exercise was it")
        sent_by_user = 4
        # A redelivered update (same update_id) is not counted again.
        seen = len(user.messages)
        replay = await user.send("/help")
        await user.wait_for(lambda: len(user.messages) > seen, what="the /help answer")
        sent_by_user += 1
        await recorded(bot, replay["update_id"])  # handled in full, id written after the answer
        await bot.application.process_update(Update.de_json(replay, bot.application.bot))

        bot.clock.advance(timedelta(hours=3))  # the next nudge is now due, not yet sent
        after = await scrape(server)
        async with bot.runtime.sessions() as session:
            rows = (await session.scalars(select(Nudge))).all()
        now = bot.clock.now()
        due = sum(1 for n in rows if n.state is NudgeState.SCHEDULED and n.due_at <= now)
        claimed = sum(1 for n in rows if n.state is NudgeState.CLAIMED)

    def moved(name: str, **labels: str) -> float:
        return value(after, name, **labels) - value(before, name, **labels)

    assert moved("glutebot_updates_processed_total") == sent_by_user
    assert moved("glutebot_reports_received_total", source="button") == 1
    assert moved("glutebot_reports_received_total", source="text") == 1
    assert moved("glutebot_reports_received_total", source="log") == 1
    assert due >= 1
    assert value(after, "glutebot_outbox_depth", state="scheduled") == due
    assert value(after, "glutebot_outbox_depth", state="claimed") == claimed
    # Every metric the operator's dashboards use is there from the start.
    for reason in ("blocked", "rejected", "gave_up"):
        assert ("glutebot_nudges_failed_total", frozenset({("reason", reason)})) in before
    assert ("glutebot_nudges_sent_total", frozenset({("kind", "nudge")})) in before
    assert ("glutebot_tick_duration_seconds_count", frozenset()) in before


async def test_health_is_200_when_working_and_503_when_the_tick_is_stale(
    database_url: str, tmp_path: Path
) -> None:
    async with bot_with_status(database_url, tmp_path) as (bot, server):
        await bot.dispatcher.tick()
        bot.clock.advance(timedelta(seconds=20))
        response = await get(server, "/health")
        assert response.status_code == 200
        assert response.headers["content-type"].startswith("application/json")
        body = response.json()
        assert body["ok"] is True and body["status"] == "ok"
        assert set(body["checks"]) == {"database", "scheduler", "outbox"}
        assert all(check["ok"] for check in body["checks"].values())
        assert body["tick_lag_seconds"] == 20.0
        assert body["tick_lag_limit_seconds"] == lag_limit(1.0, bot.dispatcher.max_tick_seconds)
        assert body["outbox"] == {"due": 0, "overdue": 0, "claimed": 0, "oldest_due_seconds": None}

        code, output = await glutebot_health(
            server.port, bot.runtime.settings.database_url, tmp_path
        )
        assert code == 0, output
        lines = output.strip().splitlines()
        assert [line.split(":")[0] for line in lines] == ["database", "scheduler", "outbox"]
        assert all(": ok - " in line for line in lines)

        # The tick stopped: the last one started far longer ago than the limit.
        assert bot.dispatcher.last_tick_at is not None
        bot.dispatcher.last_tick_at = bot.clock.now() - timedelta(minutes=30)
        response = await get(server, "/health")
        assert response.status_code == 503
        body = response.json()
        assert body["ok"] is False and body["status"] == "unhealthy"
        assert body["checks"]["scheduler"]["ok"] is False
        assert body["checks"]["database"]["ok"] is True
        assert body["tick_lag_seconds"] == 1800.0

        code, output = await glutebot_health(
            server.port, bot.runtime.settings.database_url, tmp_path
        )
        assert code == 1
        assert "scheduler: FAILING - last tick started 1800 s ago" in output
        assert "Traceback" not in output

        await bot.dispatcher.tick()  # ticking again makes it healthy again
        assert (await get(server, "/health")).status_code == 200
        assert (await get(server, "/nothing-here")).status_code == 404
        port = server.port
    with pytest.raises(httpx.ConnectError):  # stopped with the application
        async with httpx.AsyncClient(trust_env=False) as client:
            await client.get(f"http://127.0.0.1:{port}/health")


async def test_glutebot_run_serves_the_status_page(tmp_path: Path) -> None:
    """The real `glutebot run` process: status server up with the bot, down after SIGTERM."""
    telegram = LocalTelegram(token=TOKEN)
    api = await serve_http(telegram)
    port = closed_port()
    env = {key: value for key, value in os.environ.items() if key not in ENV_NAMES.values()}
    env.update(
        TELEGRAM_BOT_TOKEN=TOKEN,
        TELEGRAM_API_BASE_URL=api.base_url,
        GLUTEBOT_DATA_DIR=str(tmp_path),
        STATUS_LISTEN="127.0.0.1",
        STATUS_PORT=str(port),
    )
    process = await asyncio.create_subprocess_exec(
        GLUTEBOT,
        "run",
        cwd=tmp_path,
        env=env,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    try:
        pat = telegram.user(321, "Pat")
        await pat.send("/start")
        assert ((await pat.next_reply(timeout=60)).text or "").startswith("Hi Pat!")
        async with httpx.AsyncClient(trust_env=False, timeout=10) as client:
            health = await client.get(f"http://127.0.0.1:{port}/health")
            metrics = await client.get(f"http://127.0.0.1:{port}/metrics")
        assert health.status_code == 200, health.text
        assert health.json()["checks"]["database"]["ok"] is True
        samples = {
            (s.name, frozenset(s.labels.items())): s.value
            for family in text_string_to_metric_families(metrics.text)
            for s in family.samples
        }
        assert value(samples, "glutebot_updates_processed_total") == 1  # a fresh process
        code, output = await glutebot_health(port, "", tmp_path)
        assert code == 0, output
    finally:
        process.send_signal(signal.SIGTERM)
        _, stderr = await asyncio.wait_for(process.communicate(), timeout=30)
        await api.stop()
    assert process.returncode == 0, stderr.decode()
    with pytest.raises(httpx.ConnectError):  # stopped with the bot
        async with httpx.AsyncClient(trust_env=False) as client:
            await client.get(f"http://127.0.0.1:{port}/health")


async def test_health_is_503_when_the_database_is_unreachable() -> None:
    # Nothing listens on port 1: every connection is refused at once.
    settings = settings_for_test("postgresql://glutebot@127.0.0.1:1/none", Path("unused"))
    runtime = Runtime.open(settings, FakeClock(MONDAY))
    server = StatusServer(runtime, None, listen="127.0.0.1", port=0)
    await server.start()
    try:
        health = await check_health(runtime, None)
        response = await get(server, "/health")
        # /metrics still answers, so counters are not lost while the database is down.
        metrics = await get(server, "/metrics")
    finally:
        await server.stop()
        await runtime.close()
    assert not health.ok
    assert [check.ok for check in health.checks] == [False, True, False]
    assert health.checks[0].line().startswith("database: FAILING - unreachable: ")
    assert response.status_code == 503
    body = response.json()
    assert body["ok"] is False and body["outbox"] is None
    assert body["checks"]["database"]["ok"] is False
    assert body["checks"]["database"]["detail"].startswith("unreachable: ")
    assert body["checks"]["outbox"] == {"ok": False, "detail": "not counted (database unreachable)"}
    assert metrics.status_code == 200 and "glutebot_updates_processed_total" in metrics.text


@pytest.mark.filterwarnings("ignore::ResourceWarning")  # tornado leaves the failed socket to gc
async def test_a_taken_port_is_one_clear_error(tmp_path: Path) -> None:
    runtime = Runtime.open(
        settings_for_test(f"sqlite+aiosqlite:///{tmp_path}/x.db", tmp_path), FakeClock()
    )
    first = StatusServer(runtime, None, listen="127.0.0.1", port=0)
    try:
        with pytest.raises(StatusServerError, match=rf"127\.0\.0\.1:{first.port} .*STATUS_PORT"):
            StatusServer(runtime, None, listen="127.0.0.1", port=first.port)
    finally:
        await first.stop()
        await runtime.close()
        gc.collect()  # so the warning, if any, comes (ignored) during this test


def test_glutebot_health_without_a_running_bot(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    database = tmp_path / "glutebot.db"
    port = closed_port()
    result = CliRunner().invoke(
        cli,
        ["health"],
        env={
            "STATUS_PORT": str(port),
            "STATUS_LISTEN": "127.0.0.1",
            "DATABASE_URL": f"sqlite:///{database}",
        },
    )
    assert result.exit_code == 1
    unreachable, database_line = result.output.splitlines()
    assert unreachable.startswith(
        f"status server: FAILING - nothing answers at http://127.0.0.1:{port}/health ("
    )
    assert unreachable.endswith("); is the bot running?")  # the reason is in the brackets
    assert database_line == (
        f"database: FAILING - there is no database at {database} yet; start the bot or run "
        "`glutebot db upgrade` (or set DATABASE_URL to the bot's database)"
    )
    assert not database.exists()


def test_glutebot_health_with_the_status_server_off(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    runner = CliRunner()
    env = {"STATUS_PORT": "0", "DATABASE_URL": f"sqlite:///{tmp_path / 'glutebot.db'}"}
    assert runner.invoke(cli, ["db", "upgrade"], env=env).exit_code == 0
    result = runner.invoke(cli, ["health"], env=env)
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert lines[0] == "status server: off (STATUS_PORT=0), so only the database is checked"
    assert lines[1].startswith("database: ok - answered in ")


# ---- the rules, with numbers -----------------------------------------------------------------


def test_lag_limit() -> None:
    assert lag_limit(5.0) == 60.0  # the floor
    assert lag_limit(30.0) == 180.0  # six ticks
    assert lag_limit(5.0, 240.0) == 250.0  # a long catch-up tick, and the next one starting


def test_scheduler_check_threshold() -> None:
    assert scheduler_check(timedelta(seconds=60), 60.0, ticked=True).ok
    late = scheduler_check(timedelta(seconds=61), 60.0, ticked=True)
    assert not late.ok and late.line() == (
        "scheduler: FAILING - last tick started 61 s ago (limit 60 s)"
    )
    assert scheduler_check(None, 60.0, ticked=False).ok
    never = scheduler_check(timedelta(seconds=90), 60.0, ticked=False)
    assert never.line() == "scheduler: FAILING - no tick in the 90 s since the start (limit 60 s)"


def test_a_backlog_fails_only_when_both_large_and_old() -> None:
    now = MONDAY
    old_after = timedelta(minutes=35)

    def outbox(overdue: int, age: timedelta) -> Outbox:
        return Outbox(due=overdue, overdue=overdue, claimed=0, oldest_due_at=now - age)

    assert outbox_check(outbox(BACKLOG_LIMIT * 100, timedelta(minutes=20)), now, old_after).ok
    assert outbox_check(outbox(BACKLOG_LIMIT - 1, timedelta(hours=5)), now, old_after).ok
    stuck = outbox_check(outbox(BACKLOG_LIMIT, timedelta(minutes=36)), now, old_after)
    assert not stuck.ok and stuck.detail.endswith("(delivery is stuck)")
