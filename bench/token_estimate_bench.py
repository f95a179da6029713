"""How far ``EstimatingCounter`` is from tiktoken's o200k_base, per kind of text.

The estimate is what the bot counts with when tiktoken's encoding is not cached (local
setups, tests). It must never under-count by more than ~20% (a context that overflows
the model's window fails the answer), and should not over-count prose by much (history
left out for nothing). This prints, for a mixed corpus made here (prose, code, numbers,
CJK, symbols…), the ratio estimate / o200k_base per kind and per sample, and the time
the estimate takes.

The o200k_base ranks are not in the repository (4 MB) and tiktoken cannot download them
here. Get them once from the npm package ``js-tiktoken``, which ships them::

    npm pack js-tiktoken@1.0.21 && tar xzf js-tiktoken-1.0.21.tgz
    python bench/token_estimate_bench.py --ranks package/dist/ranks/o200k_base.cjs

``--ranks`` also takes an ``o200k_base.tiktoken`` file (tiktoken's own format). Either
way the ranks are checked against the published SHA-256 before use. Without ``--ranks``
the bench uses tiktoken's cache if the encoding is there.
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import json
import random
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from core.tokens import _ENCODING_URL, EstimatingCounter, _tiktoken_cache_file  # noqa: E402

# tiktoken_ext/openai_public.py's expected hash of o200k_base.tiktoken.
O200K_SHA256 = "446a9538cb6c348e3516120d7c08b09f57c36495e2acfffe59a5bf8b0cfb1a2d"
# The estimate must stay above this share of the real count on every kind.
FLOOR = 0.80


def tiktoken_file(ranks: Path) -> bytes:
    """The ranks in tiktoken's format ("<base64 token> <rank>" lines)."""
    data = ranks.read_bytes()
    if ranks.suffix in {".cjs", ".js"}:  # js-tiktoken: module.exports = {..., "bpe_ranks": "..."}
        text = data.decode()
        blob = json.loads(text[text.index("{"): text.rindex("}") + 1])
        lines = []
        # Each line: "<first token, not base64> <offset> <base64 token> <base64 token> …"
        for line in blob["bpe_ranks"].split("\n"):
            if not line:
                continue
            _, offset, *tokens = line.split(" ")
            lines += [f"{token} {int(offset) + i}" for i, token in enumerate(tokens)]
        data = ("\n".join(lines) + "\n").encode()
    if hashlib.sha256(data).hexdigest() != O200K_SHA256:
        raise SystemExit(f"{ranks}: not the o200k_base ranks (SHA-256 differs)")
    return data


def o200k(ranks: Path | None):
    import os

    import tiktoken

    if ranks is not None:
        cache = Path(tempfile.mkdtemp(prefix="tiktoken-cache-"))
        (cache / hashlib.sha1(_ENCODING_URL.encode()).hexdigest()).write_bytes(tiktoken_file(ranks))
        os.environ["TIKTOKEN_CACHE_DIR"] = str(cache)
    elif not _tiktoken_cache_file().is_file():
        raise SystemExit("o200k_base is not in tiktoken's cache: give --ranks (see --help)")
    return tiktoken.get_encoding("o200k_base")


# -- the corpus ------------------------------------------------------------------------------

PROSE = [
    "The meeting has been moved to Thursday afternoon because half of the team is travelling "
    "on Wednesday. Please update your calendars and let me know if the new time does not work "
    "for you; we can still find another slot before the end of the week.",
    "When the river froze that winter, the children of the village walked across it to the "
    "old mill, where a woman who had once been a teacher told them stories about the cities "
    "beyond the mountains, and about the ships that sailed from their harbours every spring.",
    "Could you summarise the main arguments of the paper? I read the introduction, but the "
    "methodology section lost me somewhere around the part about stratified sampling and the "
    "correction they applied for non-response bias.",
    "Thanks! That worked. One more question though: why does the deploy script keep asking for "
    "my password even after I added the key to the agent? It didn't do that last week.",
    "Der Zug nach München fährt heute ausnahmsweise von Gleis sieben ab, weil auf der Strecke "
    "gebaut wird. Bitte beachten Sie die Durchsagen und die Anzeigen am Bahnsteig.",
    "Le rapport trimestriel montre une croissance régulière des ventes en Europe, mais les "
    "marchés d'Amérique latine restent difficiles à cause des fluctuations monétaires.",
    "Привет! Напомни, пожалуйста, во сколько завтра начинается встреча и нужно ли готовить "
    "презентацию для клиентов.",
]

CJK = [
    "今天天气很好，我们一起去公园散步吧。下午三点在门口见面，别忘了带水和帽子。",
    "这个函数的返回值不正确，请检查一下输入参数是否为空，以及数据库连接是否已经关闭。",
    "明日の会議は午後二時からに変更になりました。資料は事前に共有フォルダに置いておきます。",
    "東京から大阪までの新幹線は約二時間半かかります。指定席を予約しておくと安心です。",
    "안녕하세요. 내일 회의는 오후 두 시에 시작합니다. 자료를 미리 확인해 주세요.",
]

SYMBOLS = [
    "→ ← ↑ ↓ ⇒ ∀x ∈ ℝ: |x| ≥ 0 ∧ ∑ᵢ aᵢ² ≤ ∞ ≠ ∅ ≈ ± × ÷ √ ∫ ∂ ∇",
    "🎉🎉🎉 great job everyone!!! 🚀🔥💯 see you at the party 🍕🍻",
    "!!!??? ... --- *** ### @@@ $$$ %%% ^^^ &&& ((( ))) [[[ ]]] {{{ }}} <<< >>> ~~~ ```",
    "+---------+--------+\n| name    | value  |\n+=========+========+\n| alpha   | 0x1F   |\n+---------+--------+",
    "https://example.com/api/v2/users/42/settings?lang=en&tz=Europe%2FBerlin#section-3",
    "user@example.org, admin+alerts@sub.example.co.uk; <mailto:ops@example.net>",
]


def _code() -> list[str]:
    """Real code and config: this repository's own files, cut into 2,000-character pieces."""
    root = Path(__file__).resolve().parents[1]
    pieces = []
    for name in ("core/context.py", "core/engine.py", "pyproject.toml", "docker/Dockerfile"):
        path = root / name
        if path.is_file():
            text = path.read_text()
            pieces += [text[i: i + 2000] for i in range(0, min(len(text), 8000), 2000)]
    pieces.append(json.dumps({"users": [{"id": i, "name": f"user{i}", "active": i % 2 == 0,
                                          "tags": ["a", "b"]} for i in range(20)]}, indent=2))
    return pieces


def _numbers(rng: random.Random) -> list[str]:
    """Digit-heavy text: tables, measurements, ids, timestamps, hex, phone numbers."""
    rows = "\n".join(",".join(f"{rng.uniform(-1000, 1000):.4f}" for _ in range(8)) for _ in range(30))
    ints = " ".join(str(rng.randrange(10 ** rng.randrange(1, 12))) for _ in range(200))
    digits = "".join(rng.choice("0123456789") for _ in range(1500))
    spaced = " ".join(rng.choice("0123456789") for _ in range(600))
    stamps = "\n".join(f"2026-{rng.randrange(1, 13):02d}-{rng.randrange(1, 29):02d}T"
                       f"{rng.randrange(24):02d}:{rng.randrange(60):02d}:{rng.randrange(60):02d}Z "
                       f"latency={rng.randrange(1, 999)}ms status={rng.choice([200, 404, 500])}"
                       for _ in range(40))
    ips = " ".join(".".join(str(rng.randrange(256)) for _ in range(4)) for _ in range(80))
    phones = "; ".join(f"+{rng.randrange(1, 99)} {rng.randrange(100, 999)} "
                       f"{rng.randrange(1000000, 9999999)}" for _ in range(60))
    hexes = " ".join(f"{rng.getrandbits(128):032x}" for _ in range(30))
    uuids = "\n".join(f"{rng.getrandbits(32):08x}-{rng.getrandbits(16):04x}-"
                      f"{rng.getrandbits(16):04x}-{rng.getrandbits(16):04x}-{rng.getrandbits(48):012x}"
                      for _ in range(30))
    b64 = base64.b64encode(rng.randbytes(900)).decode()
    money = " ".join(f"${rng.randrange(1, 99999):,}.{rng.randrange(100):02d}" for _ in range(120))
    return [rows, ints, digits, spaced, stamps, ips, phones, hexes, uuids, b64, money]


def corpus() -> dict[str, list[str]]:
    rng = random.Random(15)
    return {
        "prose": [p * 3 for p in PROSE],
        "code": _code(),
        "numbers": _numbers(rng),
        "cjk": [c * 5 for c in CJK],
        "symbols": [s * 4 for s in SYMBOLS],
    }


def _three_bytes_a_token(text: str) -> int:
    """The estimate before issue #15, for comparison."""
    return (len(text.encode("utf-8")) + 2) // 3


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--ranks", type=Path, help="js-tiktoken's o200k_base.cjs or o200k_base.tiktoken")
    parser.add_argument("--samples", action="store_true", help="print every sample's ratio")
    args = parser.parse_args()
    encoding = o200k(args.ranks)
    estimate = EstimatingCounter()
    worst = 1e9
    print(f"{'kind':10} {'samples':>7} {'o200k':>8} {'estimate':>8} {'ratio':>6} {'min':>6} {'max':>6}"
          f"   {'3 bytes a token (before)':>24}")
    for kind, texts in corpus().items():
        real = [len(encoding.encode(t, disallowed_special=())) for t in texts]
        est = [estimate.count(t) for t in texts]
        ratios = [e / r for e, r in zip(est, real)]
        worst = min(worst, *ratios)
        before = [_three_bytes_a_token(t) / r for t, r in zip(texts, real)]
        print(f"{kind:10} {len(texts):7} {sum(real):8} {sum(est):8} {sum(est) / sum(real):6.2f} "
              f"{min(ratios):6.2f} {max(ratios):6.2f}   {min(before):10.2f} to {max(before):.2f}")
        if args.samples:
            for text, r, e in zip(texts, real, est):
                print(f"    {e / r:5.2f} {r:6} {text[:60]!r}")
    texts = [t for ts in corpus().values() for t in ts]
    chars = sum(map(len, texts))
    started = time.perf_counter()
    for _ in range(20):
        for t in texts:
            estimate.count(t)
    spent = (time.perf_counter() - started) / 20
    print(f"\nestimate speed: {chars / spent / 1e6:.0f} M chars/s ({spent / len(texts) * 1e6:.1f} us a sample)")
    verdict = "ok" if worst >= FLOOR else "UNDER-COUNTS"
    print(f"lowest sample ratio {worst:.2f} (floor {FLOOR:.2f}): {verdict}")


if __name__ == "__main__":
    main()
