"""Sampling another process with py-spy while a benchmark runs (``pip install py-spy``).

py-spy reads the target's stacks from outside, so the bot runs unchanged; it pauses the
bot for each sample (for whole stacks), so profiled runs are slower. The output is
py-spy's ``raw`` format (collapsed stacks, one line per stack with its sample count),
which speedscope and flamegraph tools read, and which ``sort`` and ``grep`` can summarise.
"""

from __future__ import annotations

import asyncio
import shutil
import signal
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

__all__ = ["py_spy"]

_ATTACHED = b"Sampling process"


@asynccontextmanager
async def py_spy(pid: int, output: Path, rate: int = 100) -> AsyncIterator[None]:
    """Sample ``pid`` from entering until leaving; the profile is written to ``output``."""
    executable = shutil.which("py-spy") or str(Path(sys.executable).with_name("py-spy"))
    process = await asyncio.create_subprocess_exec(
        executable, "record", "--pid", str(pid), "--rate", str(rate),
        "--format", "raw", "--output", str(output),
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT,
    )
    assert process.stdout is not None
    try:
        # Sampling starts once py-spy says so; anything earlier would go unrecorded.
        async with asyncio.timeout(10):
            while _ATTACHED not in (line := await process.stdout.readline()):
                if not line:
                    raise RuntimeError(f"py-spy could not attach to {pid} (exit {await process.wait()})")
        yield
    finally:
        if process.returncode is None:
            # Ctrl-C is how py-spy is told to stop and write its output.
            process.send_signal(signal.SIGINT)
            await process.communicate()
