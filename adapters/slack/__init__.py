"""The Slack adapter: Bolt ``AsyncApp`` in front of the platform-neutral engine."""

from __future__ import annotations

from adapters.slack.adapter import SlackAdapter
from adapters.slack.config import SlackConfig
from adapters.slack.manifest import build_manifest

__all__ = ["SlackAdapter", "SlackConfig", "build_manifest"]
