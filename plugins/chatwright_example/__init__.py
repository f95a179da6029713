"""An example chatwright plugin: a ``time`` tool, a ``fetch_url`` tool and a ``/time`` command.

Load it from the repository's root with ``PLUGINS=plugins.chatwright_example``, then
enable its tools where the model may use them (``/tools enable time`` in a channel, or
``TOOLS_ENABLED=time,fetch_url``). See README "Writing a plugin".

The loader collects what this module holds: the tools and commands imported below.
"""

from .clock import time, time_command
from .web import fetch_url

__all__ = ["fetch_url", "time", "time_command"]
