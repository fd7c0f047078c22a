"""``tradeday notify test`` against a webhook that answers 500 with a huge body (issue 11: a
1 GB error page took tradeday to 2.2 GB RSS), against the same with a small error body.

    .venv/bin/python bench/bench_notify_flood.py [--size-mib 1024] [--rounds 3]

Each round runs the real console script twice, with the same config and environment: once
against a server answering ``500 small error``, once against one streaming a ``--size-mib``
body made up as it is sent. Reported per run: the child's own peak RSS (``ru_maxrss`` from
``os.wait4``: exact, no sampling), its wall time, and how much of the body the server got to
write before the client hung up (socket buffers included).
"""
from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import textwrap
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from tests.fakes.http_recorder import HttpRecorder, Reply  # noqa: E402  (after the path is set)

TRADEDAY = str(Path(sys.executable).parent / "tradeday")
MiB = 1024 * 1024


def _config(folder: Path, url: str) -> Path:
    path = folder / "tradeday.yaml"
    path.write_text(textwrap.dedent(f"""\
        engines: [{{name: e, command: ["{sys.executable}", "-c", "pass"]}}]
        paths: {{artifacts: "{folder / 'artifacts'}"}}
        notifications:
          enabled: true
          timeout: 5
          channels:
            - {{type: webhook, name: ops, url: "{url}/hook"}}
        """), encoding="utf-8")
    return path


def _run(config: Path, cwd: Path) -> tuple[int, float, float]:
    """Exit code, wall seconds and peak RSS (MiB) of one ``tradeday notify test``."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("TRADEDAY_")}
    started = time.monotonic()
    proc = subprocess.Popen([TRADEDAY, "notify", "test", "-c", str(config)], stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL, cwd=cwd, env=env)
    _, status, usage = os.wait4(proc.pid, 0)
    proc.returncode = os.waitstatus_to_exitcode(status)
    return proc.returncode, time.monotonic() - started, usage.ru_maxrss / 1024


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size-mib", type=int, default=1024)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    rows: dict[str, list[tuple[float, float, float]]] = {"small": [], "flood": []}
    with tempfile.TemporaryDirectory() as tmp:
        for _ in range(args.rounds):
            for kind, reply in (("small", Reply.error(500, "small error")),
                                ("flood", Reply.huge(args.size_mib * MiB, 500))):
                folder = Path(tempfile.mkdtemp(dir=tmp))
                with HttpRecorder(default=reply) as server:
                    code, wall, rss = _run(_config(folder, server.url), folder)
                    written = server.wait_streamed(1)[0] / MiB if reply.stream_bytes else float("nan")
                assert code == 1, f"notify test should report the 500 (exit 1), got {code}"
                rows[kind].append((wall, rss, written))
    print("| `tradeday notify test`, webhook answers 500 with | wall | peak RSS | body the server wrote |")
    print("|---|---|---|---|")
    for kind, label in (("small", "a 12-byte body"), ("flood", f"a {args.size_mib} MiB body")):
        walls, rsss, writes = zip(*rows[kind], strict=True)
        wrote = f"{max(writes):.1f} MiB" if kind == "flood" else "-"
        print(f"| {label} | {statistics.median(walls):.2f} s | {max(rsss):.1f} MiB | {wrote} |")


if __name__ == "__main__":
    main()
