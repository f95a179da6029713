"""What a file costs an answer, by kind (prints figures; not a test).

For each kind of file, one message with that file is answered by the real engine (an
in-memory store, a model that answers at once), and compared with the same message
without it:

- extra latency: median time to the end of the answer, minus the plain message's;
- extra peak memory: each kind runs in a fresh process, and its peak resident memory
  (``VmHWM``) is compared with the peak of a process that answered plain messages.

    .venv/bin/python bench/attachments_bench.py [--repeat 5]
"""

from __future__ import annotations

import argparse
import asyncio
import io
import json
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import date
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from core.attachments import IncomingFile  # noqa: E402
from core.engine import Engine, EngineConfig  # noqa: E402
from core.model.fake import ScriptedChatModel  # noqa: E402
from core.store.memory import InMemoryStore  # noqa: E402
from core.tokens import EstimatingCounter  # noqa: E402
from core.types import ConversationRef, FileRef, IncomingMessage, Persona  # noqa: E402
from tests.core.attachments import samples  # noqa: E402

__all__ = ["main"]


def _photo(size: tuple[int, int], quality: int = 90) -> bytes:
    out = io.BytesIO()
    samples.colourful(size).save(out, "JPEG", quality=quality)
    return out.getvalue()


def _screenshot() -> bytes:
    return samples.saved(samples.colourful((1920, 1080)), "PNG")


def _log(lines: int) -> bytes:
    return "".join(f"2026-11-30T10:00:{i % 60:02d}Z INFO worker-{i % 7} handled request {i}\n"
                   for i in range(lines)).encode()


def _pdf(pages: int) -> bytes:
    return samples.pdf([[f"Page {p}, line {i}: the quarterly figures rose again." for i in range(40)]
                        for p in range(pages)])


# name: (what it is, a maker of its bytes)
KINDS = {
    "none": ("no file (the baseline)", lambda: b""),
    "tiny": ("a one-line text file", lambda: b"hello\n"),
    "png": ("1920×1080 PNG screenshot", _screenshot),
    "jpeg": ("4000×3000 JPEG photo", lambda: _photo((4000, 3000))),
    "text": ("5,000-line log (330 KB)", lambda: _log(5000)),
    "pdf": ("20-page PDF", lambda: _pdf(20)),
    "zip": ("2 MB zip (named, not read)", lambda: b"PK\x03\x04" + bytes(2 * 1024 * 1024)),
}


class _Source:
    def __init__(self, data: bytes) -> None:
        self.data = data

    async def fetch(self, ref: FileRef, max_bytes: int) -> IncomingFile:
        return IncomingFile(ref.name, ref.mime_type, self.data)


async def _answer_times(kind: str, path: Path, repeat: int) -> list[float]:
    data = path.read_bytes()
    store = InMemoryStore()
    await store.open()
    engine = Engine(store=store, model=ScriptedChatModel(lambda m, p: "ok"),
                    config=EngineConfig(default_persona=Persona("You help."), model="m",
                                        context_token_budget=16_000),
                    counter=EstimatingCounter(), today=lambda: date(2026, 11, 30))
    files = () if kind == "none" else (FileRef(f"file.{kind}", "", len(data), "mem://"),)
    times = []
    for i in range(repeat):
        # A conversation each: the file is read for its own question, not remembered.
        conversation = ConversationRef("bench", "W", f"C{i}")
        message = IncomingMessage(conversation, "U", "u", "what is in this?", event_id=str(i), files=files)
        started = time.perf_counter()
        async with engine.reply(message, files=_Source(data)) as reply:
            async for _ in reply:
                pass
        times.append(time.perf_counter() - started)
    await store.aclose()
    return times


def _one(kind: str, path: Path, repeat: int) -> None:
    times = asyncio.run(_answer_times(kind, path, repeat))
    # VmHWM, not ru_maxrss: a child's ru_maxrss starts from its parent's size at fork.
    status = Path("/proc/self/status").read_text()
    peak_kib = int(next(line.split()[1] for line in status.splitlines() if line.startswith("VmHWM:")))
    print(json.dumps({"median": statistics.median(times), "peak_kib": peak_kib}))


def _measure(kind: str, folder: Path, repeat: int) -> dict[str, float]:
    # The bytes are made here, so that making them costs the measured process nothing.
    path = folder / kind
    path.write_bytes(KINDS[kind][1]())
    command = [sys.executable, __file__, "--one", kind, "--file", str(path), "--repeat", str(repeat)]
    out = subprocess.run(command, check=True, capture_output=True, text=True).stdout
    return json.loads(out.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--one", choices=sorted(KINDS), help=argparse.SUPPRESS)
    parser.add_argument("--file", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.one:
        _one(args.one, args.file, args.repeat)
        return
    with tempfile.TemporaryDirectory() as folder:
        _report(Path(folder), args.repeat)


def _report(folder: Path, repeat: int) -> None:
    base = _measure("none", folder, repeat)
    print(f"baseline (no file): {base['median'] * 1000:.1f} ms an answer, peak RSS {base['peak_kib'] / 1024:.0f} MiB")
    print(f"{'kind':<32} {'extra latency':>14} {'extra peak memory':>18}")
    for kind, (label, _) in KINDS.items():
        if kind == "none":
            continue
        figures = _measure(kind, folder, repeat)
        extra_ms = (figures["median"] - base["median"]) * 1000
        extra_mib = (figures["peak_kib"] - base["peak_kib"]) / 1024
        print(f"{label:<32} {extra_ms:>11.1f} ms {extra_mib:>14.1f} MiB")


if __name__ == "__main__":
    main()
