"""`tradeday status` answers from a snapshot of the validated config (session/config/snapshot.py)
when the file and the environment it reads are unchanged, and starts without pydantic then.
Real `status` processes, each reporting at exit whether pydantic was loaded (a full load) or not
(the snapshot answered): the snapshot must follow every edit and variable, survive a damaged
cache file, keep the redactor's secrets, and leave every error as the full load says it."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from tests.conftest import REPO, write_config

DAY = "2026-03-03"
SCRIPT = """
import atexit, sys
atexit.register(lambda: sys.stderr.write("\\nPYDANTIC %s\\n" % ("pydantic" in sys.modules)))
from cli.main import main
main(sys.argv[1:])
"""
HOOK = "https://hooks.slack.com/services/T0001/B0001/Zq8sEcReTtOkEn"


def status(cfg: Path, cache: Path, *args: str, **env: str) -> tuple[int, str, str, bool]:
    """(exit code, stdout, stderr, pydantic loaded) of one `status --date DAY --json` process."""
    environ = {**os.environ, "TRADEDAY_CACHE_DIR": str(cache), **env}
    done = subprocess.run([sys.executable, "-c", SCRIPT, "status", "-c", str(cfg), "--date", DAY, *args],
                          capture_output=True, text=True, cwd=REPO, timeout=60, env=environ)
    err, _, flag = done.stderr.rpartition("\nPYDANTIC ")
    return done.returncode, done.stdout, err, flag.strip() == "True"


def config_text(art: Path, extra: str = "") -> str:
    return f"""
        version: "1.0.0"
        market: {{calendar: XNYS}}
        paths: {{artifacts: "{art}"}}
        checks: {{min_free_disk: "${{TD_DISK:-1MiB}}"}}
        notifications:
          enabled: false
          channels:
            - type: slack
              webhook_url: ${{TD_HOOK}}
        {extra}
    """


def state(art: Path, line: str) -> None:
    (art / "state").mkdir(parents=True, exist_ok=True)
    (art / "state" / f"{DAY}.json").write_text(json.dumps({
        "phase": "DONE", "exit_code": 0, "orchestrator": {"pid": 999999999}, "calendar": "XNYS",
        "mode": "paper", "engines": [{"name": "demo", "state": "STOPPED", "restarts": 0}]}))
    (art / "logs" / DAY).mkdir(parents=True, exist_ok=True)
    (art / "logs" / DAY / "demo.log").write_text(f"2026-03-03T10:00:00 {line}\n")


def test_snapshot_follows_edits_and_variables_and_keeps_secrets(tmp_path: Path) -> None:
    cache, art, art2 = tmp_path / "cache", tmp_path / "a1", tmp_path / "a2"
    state(art, f"posting to {HOOK}")
    state(art2, "the second folder")
    cfg = write_config(tmp_path, config_text(art))
    env = {"TD_HOOK": HOOK}

    first = status(cfg, cache, "--json", **env)
    assert first[0] == 0 and first[3] is True, first  # a full load, which keeps the snapshot
    second = status(cfg, cache, "--json", **env)
    assert second[0] == 0 and second[3] is False, second  # the snapshot answered: no pydantic
    assert second[1] == first[1]  # the same answer, byte for byte
    engine = json.loads(second[1])["engines"][0]
    # The webhook (a notification secret, from the environment) is still masked on a hit.
    assert engine["last_line"].startswith("2026-03-03T10:00:00 posting to ") and HOOK not in second[1]
    assert "Zq8sEcReTtOkEn" not in second[1] and "/services/" not in second[1]
    (snapshot,) = (cache / "config-snapshots").iterdir()
    assert oct(snapshot.stat().st_mode & 0o777) == "0o600"
    assert "Zq8sEcReTtOkEn" not in snapshot.read_text() and str(art) in snapshot.read_text()

    # Another value of a variable the file reads: another key, a full load, then a hit again.
    changed = status(cfg, cache, "--json", TD_HOOK=HOOK + "x")
    assert changed[0] == 0 and changed[3] is True
    assert status(cfg, cache, "--json", TD_HOOK=HOOK + "x")[3] is False
    # A variable that makes the file invalid: the full load's error and exit code (3).
    bad = status(cfg, cache, **env, TD_DISK="lots")
    assert bad[0] == 3 and "checks.min_free_disk" in bad[2] and bad[3] is True, bad
    # An unset variable: the loader's own message, from the same first half of loading.
    gone = {k: v for k, v in os.environ.items() if k != "TD_HOOK"}
    done = subprocess.run([sys.executable, "-c", SCRIPT, "status", "-c", str(cfg), "--date", DAY],
                          capture_output=True, text=True, cwd=REPO, timeout=60,
                          env={**gone, "TRADEDAY_CACHE_DIR": str(cache)})
    assert done.returncode == 3 and "environment variable TD_HOOK is not set" in done.stderr, done.stderr

    # An edit (another artifacts folder): status reads the new folder's state at once.
    cfg.write_text(cfg.read_text().replace(str(art), str(art2)))
    edited = status(cfg, cache, "--json", **env)
    assert edited[0] == 0 and edited[3] is True
    assert json.loads(edited[1])["engines"][0]["last_line"].endswith("the second folder")
    hit = status(cfg, cache, "--json", "--log-level", "error", **env)  # options parsed without pydantic too
    assert hit[3] is False and hit[1] == edited[1]
    # A typo warning is kept with the values and still printed on a hit.
    cfg.write_text(cfg.read_text() + "\nreport: {x: 1}\n")
    warned = [status(cfg, cache, **env) for _ in range(2)]
    assert [w[3] for w in warned] == [True, False]
    assert all("unknown section 'report' (did you mean 'reports'?)" in w[2] for w in warned), warned


def test_damaged_or_foreign_snapshot_is_ignored(tmp_path: Path) -> None:
    cache, art = tmp_path / "cache", tmp_path / "a1"
    state(art, "hello")
    cfg = write_config(tmp_path, config_text(art))
    env = {"TD_HOOK": HOOK}
    good = status(cfg, cache, "--json", **env)
    (snapshot,) = (cache / "config-snapshots").iterdir()
    for damage in (b"{not json", b"", json.dumps({"version": 1, "key": "x", "values": {}}).encode()):
        snapshot.write_bytes(damage)
        again = status(cfg, cache, "--json", **env)
        assert again[0] == 0 and again[1] == good[1] and again[3] is True, again  # full load, rewritten
        assert json.loads(snapshot.read_text())["version"] == 1
    # The right key with values pointing elsewhere, in a file others may write: not trusted.
    forged = json.loads(snapshot.read_text())
    forged["values"]["paths"]["artifacts"] = str(tmp_path / "elsewhere")
    snapshot.write_text(json.dumps(forged))
    snapshot.chmod(0o666)
    trusted_not = status(cfg, cache, "--json", **env)
    assert trusted_not[3] is True and trusted_not[1] == good[1]
    # A missing config file: exit 3 naming it, snapshot or not.
    missing = status(tmp_path / "nope.yaml", cache)
    assert missing[0] == 3 and "nope.yaml" in missing[2]


def test_no_snapshot_for_a_kept_value_from_the_environment(tmp_path: Path) -> None:
    """`paths.artifacts: ${VAR}` is a secret by the config's rule: it is never written to disk."""
    cache, art = tmp_path / "cache", tmp_path / "a1"
    state(art, "hello")
    cfg = write_config(tmp_path, config_text(Path("${TD_ART}")))
    runs = [status(cfg, cache, "--json", TD_HOOK=HOOK, TD_ART=str(art)) for _ in range(2)]
    assert [r[0] for r in runs] == [0, 0] and [r[3] for r in runs] == [True, True]
    assert not list((cache / "config-snapshots").iterdir())


def test_section_names_are_the_models() -> None:
    from session.config.models import TRADEDAY_SECTIONS
    from session.config.source import SECTION_NAMES

    assert SECTION_NAMES == TRADEDAY_SECTIONS
