"""Prometheus metrics; served at ``/metrics`` by the bot's HTTP server (or on
``METRICS_PORT``). The README's "Metrics" section lists them."""

from __future__ import annotations

from functools import lru_cache

from prometheus_client import Counter, Gauge, Histogram
from prometheus_client.metrics import MetricWrapperBase

__all__ = [
    "EVENTS_RECEIVED", "REPLIES", "ERRORS", "MODEL_LATENCY", "FILES_LATENCY", "TOKENS", "FEEDBACK",
    "TIME_TO_FIRST_TOKEN", "ANSWER_DURATION", "ANSWERS_IN_FLIGHT", "MODEL_RETRIES", "TOOL_CALLS",
    "COST_USD", "ACCESS_REFUSED", "child",
]

_ANSWER_BUCKETS = (0.1, 0.25, 0.5, 1, 2, 4, 8, 16, 32, 64, 128)

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
# ``kind``: prompt, completion, cached (of prompt: read from the provider's cache), reasoning.
TOKENS = Counter("chatwright_tokens", "Tokens used", ["kind"])
# Clicks on the 👍/👎 under answers; ``value`` is "helpful" or "unhelpful".
FEEDBACK = Counter("chatwright_feedback", "Feedback on answers", ["platform", "value"])
TIME_TO_FIRST_TOKEN = Histogram(
    "chatwright_time_to_first_token_seconds",
    "Time from the start of an answer to its first text",
    ["model"],
    buckets=_ANSWER_BUCKETS,
)
ANSWER_DURATION = Histogram(
    "chatwright_answer_duration_seconds",
    "Time from the start of an answer to its end (tools included)",
    ["model"],
    buckets=_ANSWER_BUCKETS,
)
ANSWERS_IN_FLIGHT = Gauge("chatwright_answers_in_flight", "Answers being written now")
# ``reason``: rate_limited, unavailable, network, server_asked (x-should-retry: true):
# what made the chat client try again.
MODEL_RETRIES = Counter("chatwright_model_retries", "Chat API calls tried again", ["reason"])
# ``outcome``: ok, error, timeout, refused.
TOOL_CALLS = Counter("chatwright_tool_calls", "Tool calls run", ["tool", "outcome"])
COST_USD = Counter("chatwright_cost_usd", "What answers cost, at the configured prices", ["model"])
ACCESS_REFUSED = Counter("chatwright_access_refused", "Messages not answered by the access policy",
                         ["platform", "reason"])


@lru_cache(maxsize=1024)
def child(metric: MetricWrapperBase, *labels: str) -> MetricWrapperBase:
    """``metric.labels(*labels)``, looked up once: ``labels`` takes a lock and builds a
    key on every call (about 5 µs), and every answer records several. Label values are
    few (platforms, models, kinds), and the cache is bounded all the same."""
    return metric.labels(*labels)
