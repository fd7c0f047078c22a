"""Shared test helpers: run the real `tradeday` console script, write configs, scan for
secrets; and the fixtures several test files use (a recording HTTP server, a clean
redactor, "tradeday" log records reaching caplog)."""
from __future__ import annotations

import logging
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import textwrap
from collections.abc import Iterator
from pathlib import Path

import pytest

# A shell starts a background job with SIGINT ignored, and an ignored signal survives exec: a
# suite started as `pytest &` (or by a CI runner that does so) would hand SIG_IGN to every
# `tradeday` it starts, and tests that stop one with Ctrl+C would hang. Start from the default.
if signal.getsignal(signal.SIGINT) is signal.SIG_IGN:
    signal.signal(signal.SIGINT, signal.default_int_handler)

from tests.fakes.http_recorder import HttpRecorder
from tests.forkserver import ForkClient

REPO = Path(__file__).resolve().parent.parent
TESTS = REPO / "tests"
ENGINES = TESTS / "engines"  # fixture engines that spew, hang, crash and refuse to die
FIXTURES = TESTS / "fixtures"
TRADEDAY = str(Path(sys.executable).parent / "tradeday")


def pytest_configure(config: pytest.Config) -> None:
    """One calendar session cache for the whole run (session/calendar/cache.py), away from the
    user's ~/.cache: set by the controller before xdist starts its workers, which inherit it, so
    each calendar year is computed with pandas once per run rather than in every subprocess."""
    if hasattr(config, "workerinput") or "TRADEDAY_TEST_CACHE" in os.environ:
        return
    cache = tempfile.mkdtemp(prefix="tradeday-test-cache-")
    os.chmod(cache, 0o711)  # tests running tradeday as another user reach their own folder in it
    os.environ["TRADEDAY_TEST_CACHE"] = os.environ["XDG_CACHE_HOME"] = cache
    # Hundreds of `tradeday` processes start in a run: with PYTHONDONTWRITEBYTECODE set (some
    # shells and CI images do) each would compile every module from source (~130 ms of CPU).
    # Keep bytecode, in the run's own folder rather than in the checkout.
    os.environ.pop("PYTHONDONTWRITEBYTECODE", None)
    os.environ["PYTHONPYCACHEPREFIX"] = os.path.join(cache, "pycache")


def caches_for_user(uid: int) -> dict[str, str]:
    """The environment that gives ``tradeday`` run as ``uid`` its own bytecode and calendar
    caches in the run's folder (root's are not readable by it, and not trusted)."""
    folder = Path(os.environ.get("TRADEDAY_TEST_CACHE") or tempfile.gettempdir()) / f"uid-{uid}"
    folder.mkdir(exist_ok=True)
    os.chown(folder, uid, uid)
    return {"XDG_CACHE_HOME": str(folder), "PYTHONPYCACHEPREFIX": str(folder / "pycache")}


def pytest_unconfigure(config: pytest.Config) -> None:
    if not hasattr(config, "workerinput") and "TRADEDAY_TEST_CACHE" in os.environ:
        shutil.rmtree(os.environ.pop("TRADEDAY_TEST_CACHE"), ignore_errors=True)


FORK_SERVER = ForkClient(str(REPO))


def run_tradeday(args: list[str], *, env: dict[str, str] | None = None, cwd: Path | None = None,
                 timeout: float = 60, input: str | None = None,
                 fresh: bool = False) -> subprocess.CompletedProcess[str]:
    """Run `tradeday` as cron would: its own process, environment and cwd, output captured.

    The process is forked from this worker's pre-imported interpreter (tests/forkserver.py:
    the same run without ~0.4-1.5 s of imports). ``fresh=True`` execs the console script
    instead: for tests about start-up itself (what a command imports, how fast it starts);
    an environment that changes the interpreter's start-up (locale, PYTHON*, libfaketime)
    gets an exec anyway.
    """
    full_env = {k: v for k, v in os.environ.items() if not k.startswith("TRADEDAY_")}
    full_env.update(env or {})
    argv = [TRADEDAY, *args]
    if not fresh and FORK_SERVER.usable(full_env):
        return FORK_SERVER.run(argv, full_env, str(cwd) if cwd else None, timeout, input)
    return subprocess.run(argv, capture_output=True, text=True, env=full_env,
                          cwd=str(cwd) if cwd else None, timeout=timeout, input=input)


def popen_tradeday(args: list[str], *, env: dict[str, str] | None = None, cwd: Path | None = None,
                   stdin: object = None, stdout: object = subprocess.PIPE,
                   stderr: object = subprocess.PIPE) -> subprocess.Popen[str]:
    """Start `tradeday` in the background (text mode), forked as run_tradeday's runs are: a
    Popen-like object with a real pid to signal (tests/forkserver.py's ForkedProcess). ``env``
    is the whole environment (the caller leaves TRADEDAY_* out)."""
    full_env = dict(os.environ if env is None else env)
    argv = [TRADEDAY, *args]
    if FORK_SERVER.usable(full_env):
        return FORK_SERVER.popen(argv, full_env, str(cwd) if cwd else None,  # type: ignore[return-value]
                                 stdin=stdin, stdout=stdout, stderr=stderr)
    return subprocess.Popen(argv, cwd=cwd, env=full_env, text=True, stdin=stdin,  # type: ignore[call-overload]
                            stdout=stdout, stderr=stderr)


def write_config(folder: Path, text: str, name: str = "tradeday.yaml") -> Path:
    path = folder / name
    path.write_text(textwrap.dedent(text).lstrip(), encoding="utf-8")
    return path


def assert_no_secrets(texts: list[str] | str, secrets: list[str]) -> None:
    if isinstance(texts, str):
        texts = [texts]
    for text in texts:
        for secret in secrets:
            assert secret not in text, f"secret value leaked: {secret[:3]}… in output"


def read_tree(folder: Path) -> list[str]:
    """Every readable file's text under ``folder`` (logs, reports, state) for secret scans."""
    texts = []
    for p in folder.rglob("*"):
        if p.is_file():
            try:
                texts.append(p.read_text(encoding="utf-8", errors="replace"))
            except OSError:
                pass
    return texts


@pytest.fixture
def cli_home(tmp_path: Path) -> Path:
    """A working directory unrelated to the config, as cron's $HOME would be."""
    home = tmp_path / "home"
    home.mkdir()
    return home


@pytest.fixture
def server() -> Iterator[HttpRecorder]:
    """A recording HTTP server on 127.0.0.1 (``tests.fakes.http_recorder``), stopped afterwards."""
    with HttpRecorder() as srv:
        yield srv


@pytest.fixture
def isolated_redactor() -> Iterator[None]:
    """Forget the secrets a test registered with GLOBAL_REDACTOR (webhook URLs and their
    paths, such as a recording server's ``/hook``), so later tests' output is not masked."""
    from core.redact import GLOBAL_REDACTOR

    saved = set(GLOBAL_REDACTOR._secrets)
    yield
    GLOBAL_REDACTOR._secrets.clear()
    GLOBAL_REDACTOR._secrets.update(saved)


@pytest.fixture
def tradeday_logs_reach_caplog() -> Iterator[None]:
    """Let "tradeday" log records reach caplog for the test.

    cli.common.setup_logging (run in-process by other tests) stops "tradeday" records
    at its own handlers; caplog listens on the root logger.
    """
    logger = logging.getLogger("tradeday")
    saved = logger.propagate
    logger.propagate = True
    yield
    logger.propagate = saved
