"""Prometheus metrics; served at ``/metrics`` by the bot's HTTP server."""

from __future__ import annotations

from prometheus_client import Counter, Histogram

__all__ = ["EVENTS_RECEIVED", "REPLIES", "ERRORS", "MODEL_LATENCY", "FILES_LATENCY", "TOKENS", "FEEDBACK"]

EVENTS_RECEIVED = Counter(
    "chatwright_events_received", "Platform events received", ["platform"]
)
REPLIES = Counter("chatwright_replies", "Replies completed", ["platform"])
ERRORS = Counter("chatwright_errors", "Replies that failed, by error type", ["platform", "error"])
MODEL_LATENCY = Histogram(
    "chatwright_model_latency_seconds",
    "Time from the model request to the end of its answer",
    buckets=(0.1, 0.25, 0.5, 1, 2, 4, 8, 16, 32, 64),
)
FILES_LATENCY = Histogram(
    "chatwright_files_latency_seconds",
    "Time to fetch and read the files of one message",
    buckets=(0.01, 0.05, 0.1, 0.25, 0.5, 1, 2, 4, 8, 16, 32),
)
TOKENS = Counter("chatwright_tokens", "Tokens used", ["kind"])
# Clicks on the 👍/👎 under answers; ``value`` is "helpful" or "unhelpful".
FEEDBACK = Counter("chatwright_feedback", "Feedback on answers", ["platform", "value"])
