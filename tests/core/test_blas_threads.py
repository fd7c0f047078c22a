"""core/blas_threads.py: numpy loads with one OpenBLAS thread in tradeday's process, and the
variable that does it never reaches a process tradeday starts later."""
from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="counts threads in /proc")

PROBE = """
import json, os, subprocess, sys, threading
from core import blas_threads
blas_threads.install()
{before}
import numpy
threads = len(os.listdir('/proc/self/task'))
child = subprocess.run([sys.executable, '-c', 'import os; print(os.environ.get("OPENBLAS_NUM_THREADS"))'],
                       capture_output=True, text=True, check=True).stdout.strip()
print(json.dumps({{"threads": threads, "ours": os.environ.get("OPENBLAS_NUM_THREADS"), "child": child,
                  "loader": type(numpy.__spec__.loader).__name__}}))
"""


def probe(before: str = "", env_extra: dict[str, str] | None = None) -> dict[str, object]:
    env = {k: v for k, v in os.environ.items() if k != "OPENBLAS_NUM_THREADS"}
    env.update(env_extra or {})
    out = subprocess.run([sys.executable, "-c", PROBE.format(before=before)], capture_output=True, text=True,
                         env=env, cwd=os.path.dirname(os.path.dirname(os.path.dirname(__file__))), check=True)
    result: dict[str, object] = json.loads(out.stdout)
    return result


def plain_threads() -> int:
    env = {k: v for k, v in os.environ.items() if k != "OPENBLAS_NUM_THREADS"}
    out = subprocess.run([sys.executable, "-c", "import os, numpy; print(len(os.listdir('/proc/self/task')))"],
                         capture_output=True, text=True, env=env, check=True)
    return int(out.stdout)


def test_numpy_loads_without_extra_blas_threads_and_children_keep_the_environment() -> None:
    got = probe()
    assert got["threads"] == 1
    assert got["ours"] is None  # removed once numpy has loaded
    assert got["child"] == "None"  # an engine started later gets the person's environment
    assert got["loader"] == "SourceFileLoader"  # numpy records its own loader, not the wrapper


def test_a_value_the_person_set_is_kept() -> None:
    got = probe(env_extra={"OPENBLAS_NUM_THREADS": "2"})
    assert got["ours"] == "2" and got["child"] == "2"


def test_the_environment_is_not_touched_while_another_thread_runs() -> None:
    if plain_threads() == 1:
        pytest.skip("this numpy starts no BLAS threads here (one core, or no OpenBLAS)")
    before = ("stop = threading.Event(); t = threading.Thread(target=stop.wait, daemon=True); t.start()")
    got = probe(before=before)
    # numpy loaded as it would have (its BLAS threads beside ours: more than the 2 Python threads)
    assert got["threads"] == plain_threads() + 1
    assert got["ours"] is None and got["child"] == "None"
