"""Prometheus metrics: what the bot counts while it runs, served at GET /metrics.

One `Metrics` object per process (`METRICS`), on its own registry rather than
prometheus_client's global one, so nothing else in the process leaks into /metrics.
Counters only ever go up: tests compare values before and after (`Metrics.value`).
"""

from __future__ import annotations

from typing import Literal

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest

from bot.db.models import NudgeKind, ReportSource

FailReason = Literal["blocked", "rejected", "gave_up"]
FAIL_REASONS: tuple[FailReason, ...] = ("blocked", "rejected", "gave_up")
OUTBOX_STATES = ("scheduled", "claimed")
# A tick is milliseconds when idle and up to the dispatcher's max_tick_seconds when busy.
TICK_BUCKETS = (0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 240)


class Metrics:
    """Glutebot's counters, on a registry of their own."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        self._nudges_sent = Counter(
            "glutebot_nudges_sent",
            "Messages from the outbox delivered to Telegram, by kind.",
            ["kind"],
            registry=self.registry,
        )
        self._nudges_failed = Counter(
            "glutebot_nudges_failed",
            "Messages from the outbox that could not be delivered: blocked (403), "
            "rejected (400) or gave_up (retries exhausted).",
            ["reason"],
            registry=self.registry,
        )
        self._reports_received = Counter(
            "glutebot_reports_received",
            "Reports stored, by how they came in (button, text or /log).",
            ["source"],
            registry=self.registry,
        )
        self._updates_processed = Counter(
            "glutebot_updates_processed",
            "Telegram updates handled (first deliveries only; redeliveries are skipped).",
            registry=self.registry,
        )
        self._tick_duration = Histogram(
            "glutebot_tick_duration_seconds",
            "How long one delivery tick took.",
            buckets=TICK_BUCKETS,
            registry=self.registry,
        )
        self._outbox_depth = Gauge(
            "glutebot_outbox_depth",
            "Outbox messages waiting: scheduled and already due, or claimed by a tick. "
            "Counted from the database when /metrics is scraped.",
            ["state"],
            registry=self.registry,
        )
        # Every label value shows from the start (as 0), so rates and alerts have a series.
        for kind in NudgeKind:
            self._nudges_sent.labels(kind=kind.value)
        for reason in FAIL_REASONS:
            self._nudges_failed.labels(reason=reason)
        for source in ReportSource:
            self._reports_received.labels(source=source.value)
        for state in OUTBOX_STATES:
            self._outbox_depth.labels(state=state)

    def nudge_sent(self, kind: NudgeKind | str) -> None:
        """One message of this kind (nudge, morning_check, weekly_summary) reached Telegram."""
        self._nudges_sent.labels(kind=NudgeKind(kind).value).inc()

    def nudge_failed(self, reason: FailReason) -> None:
        """One message failed for good: "blocked", "rejected" or "gave_up"."""
        if reason not in FAIL_REASONS:
            raise ValueError(f"unknown failure reason {reason!r}; use one of {FAIL_REASONS}")
        self._nudges_failed.labels(reason=reason).inc()

    def report_received(self, source: ReportSource | str) -> None:
        """One report was stored (button, text or log)."""
        self._reports_received.labels(source=ReportSource(source).value).inc()

    def update_processed(self) -> None:
        """One Telegram update was handled for the first time."""
        self._updates_processed.inc()

    def tick_took(self, seconds: float) -> None:
        """One delivery tick ran for this many seconds."""
        self._tick_duration.observe(seconds)

    def set_outbox_depth(self, *, scheduled: int, claimed: int) -> None:
        """The outbox as last counted: due scheduled messages and claimed ones."""
        self._outbox_depth.labels(state="scheduled").set(scheduled)
        self._outbox_depth.labels(state="claimed").set(claimed)

    def exposition(self) -> bytes:
        """Every metric in the Prometheus text format (serve with CONTENT_TYPE_LATEST)."""
        return generate_latest(self.registry)

    def value(self, name: str, **labels: str) -> float:
        """The current value of one sample, e.g. value("glutebot_nudges_sent_total", kind="nudge").

        0.0 when there is no such sample yet.
        """
        found = self.registry.get_sample_value(name, labels)
        return found if found is not None else 0.0


# The process's metrics: the dispatcher, the handlers and the status server all use this one.
METRICS = Metrics()
