"""Faults at random rates, as soak tests and benchmarks ask for them."""

from __future__ import annotations

import pytest

from bot.localtelegram import LocalTelegram

from .conftest import TOKEN


async def outcomes(tg: LocalTelegram, calls: int) -> list[int]:
    tg.user(42).open_chat()
    return [
        (await tg.call(TOKEN, "sendMessage", {"chat_id": 42, "text": "hi"}))[0]
        for _ in range(calls)
    ]


async def test_calls_fail_at_the_rates_asked_and_are_counted(tg: LocalTelegram) -> None:
    tg.inject_random_faults(
        "sendMessage", {"server_error": 0.2, "flood": 0.1}, retry_after=3, seed=7
    )
    statuses = await outcomes(tg, 2000)
    assert 300 <= statuses.count(500) <= 500
    assert 130 <= statuses.count(429) <= 270
    assert tg.stats.faults == {"server_error": statuses.count(500), "flood": statuses.count(429)}
    assert tg.stats.messages_sent == statuses.count(200)  # failed calls deliver nothing
    assert tg.stats.calls["sendMessage"] == 2000


async def test_the_same_seed_fails_the_same_calls() -> None:
    runs = []
    for _ in range(2):
        tg = LocalTelegram(token=TOKEN)
        tg.inject_random_faults("sendMessage", {"server_error": 0.3}, seed=11)
        runs.append(await outcomes(tg, 200))
    assert runs[0] == runs[1] and 500 in runs[0]


async def test_counted_faults_come_first_and_empty_rates_stop_random_ones(
    tg: LocalTelegram,
) -> None:
    tg.inject_random_faults("sendMessage", {"server_error": 1.0})
    tg.inject_fault("sendMessage", "flood", times=2)
    assert await outcomes(tg, 3) == [429, 429, 500]
    tg.inject_random_faults("sendMessage", {})
    assert await outcomes(tg, 3) == [200, 200, 200]
    assert tg.stats.faults == {"flood": 2, "server_error": 1}


async def test_random_timeouts_give_no_answer(tg: LocalTelegram) -> None:
    from bot.localtelegram.protocol import NoResponse

    tg.user(42).open_chat()
    tg.inject_random_faults("sendMessage", {"timeout": 1.0})
    with pytest.raises(NoResponse):
        await tg.call(TOKEN, "sendMessage", {"chat_id": 42, "text": "hi"})
    assert tg.user(42).messages == []


@pytest.mark.parametrize(
    "rates",
    [{"gremlins": 0.1}, {"timeout": 1.5}, {"timeout": -0.1}, {"timeout": 0.6, "flood": 0.6}],
)
def test_nonsense_rates_are_refused(tg: LocalTelegram, rates: dict[str, float]) -> None:
    with pytest.raises(ValueError):
        tg.inject_random_faults("sendMessage", rates)  # type: ignore[arg-type]
