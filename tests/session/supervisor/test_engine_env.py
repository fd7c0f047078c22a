"""Engine environment hygiene (issue 11): engines do not inherit the variables that the config's
``notifications`` section consumed (webhook URLs, tokens); ``engines[].env`` can pass one back;
everything else, broker variables included, and the TRADEDAY_* contract are there."""
from __future__ import annotations

import json
import sys
from pathlib import Path

from tests.conftest import assert_no_secrets, read_tree, run_tradeday, write_config
from tests.fakes.http_recorder import HttpRecorder

PY = sys.executable
TOKEN = "hookTokenZ81kq"
BOT = "botSecret77Xw"

DUMP_ENGINE = r'''
import json, os, sys
with open(sys.argv[1], "w") as out:
    json.dump(dict(os.environ), out)
print("dumped", flush=True)
'''


def test_engines_do_not_inherit_notification_secrets(tmp_path: Path, cli_home: Path, isolated_redactor: None) -> None:
    script = tmp_path / "dump.py"
    script.write_text(DUMP_ENGINE)
    plain, passed = tmp_path / "plain.json", tmp_path / "passed.json"
    with HttpRecorder() as hook:
        cfg = write_config(tmp_path, f"""
            mode: paper
            market: {{calendar: XNYS}}
            session: {{allowed_window: "00:00-23:59", heartbeat_interval: 1s}}
            engines:
              - {{name: plain, command: ["{PY}", "{script}", "{plain}"], start_secs: 0s}}
              - {{name: passed, command: ["{PY}", "{script}", "{passed}"], start_secs: 0s,
                  env: {{HOOK_TOKEN: "${{HOOK_TOKEN}}"}}}}
            checks: {{min_free_disk: 1MiB}}
            eod: {{enabled: false}}
            notifications:
              enabled: true
              channels:
                - {{type: webhook, name: main, url: "${{HOOK_BASE}}/hook/${{HOOK_TOKEN}}"}}
                - {{type: webhook, name: other, url: "{hook.url}/other", headers: {{X-Bot: "${{BOT_SECRET}}"}}}}
            """)
        env = {"HOOK_TOKEN": TOKEN, "HOOK_BASE": hook.url, "BOT_SECRET": BOT, "KITE_API_KEY": "kitekey1",
               "IBKR_ACCOUNT": "DU123", "UNRELATED_SETTING": "keep-me"}
        proc = run_tradeday(["run", "-c", str(cfg), "--start-now", "--duration", "20s"], cwd=cli_home, env=env)
        assert proc.returncode == 0, proc.stderr
        hook.wait_for(1)
    seen = json.loads(plain.read_text())
    for name in ("HOOK_TOKEN", "HOOK_BASE", "BOT_SECRET"):
        assert name not in seen, name
    assert_no_secrets(json.dumps(seen), [TOKEN, BOT])
    assert seen["KITE_API_KEY"] == "kitekey1" and seen["IBKR_ACCOUNT"] == "DU123"
    assert seen["UNRELATED_SETTING"] == "keep-me" and "PATH" in seen
    assert seen["TRADEDAY_ENGINE"] == "plain" and seen["TRADEDAY_MODE"] == "paper" and "TRADEDAY_HEARTBEAT" in seen
    # Passed back explicitly, by one engine only.
    other = json.loads(passed.read_text())
    assert other["HOOK_TOKEN"] == TOKEN and "BOT_SECRET" not in other
    assert_no_secrets([proc.stdout, proc.stderr, *read_tree(tmp_path / "artifacts")], [TOKEN, BOT])


def test_the_loader_names_the_variables_notifications_consumed(tmp_path: Path, isolated_redactor: None) -> None:
    from session.config import load_config

    cfg = write_config(tmp_path, """
        mode: paper
        engines:
          - {name: e, command: ["x"], env: {A: "${ENGINE_ONLY}"}}
        notifications:
          channels:
            - {type: webhook, url: "https://example.invalid/${SECRET_A}/${UNSET_B:-fallback}"}
        """)
    config = load_config(cfg, environ={"SECRET_A": "s3cr3tA", "ENGINE_ONLY": "e1"})
    assert config.notification_env_vars == frozenset({"SECRET_A"})


def test_eod_hooks_do_not_inherit_notification_secrets(tmp_path: Path, cli_home: Path,
                                                       isolated_redactor: None) -> None:
    """Analytics/backtest hooks are the user's programs too: the same hygiene as engines."""
    script = tmp_path / "dump.py"
    script.write_text(DUMP_ENGINE)
    dumped = tmp_path / "hook.json"
    with HttpRecorder() as hook:
        cfg = write_config(tmp_path, f"""
            mode: paper
            market: {{calendar: XNYS}}
            session: {{allowed_window: "00:00-23:59"}}
            engines: []
            checks: {{min_free_disk: 1MiB}}
            eod:
              analytics: {{command: ["{PY}", "{script}", "{dumped}"], timeout: 30s}}
            notifications:
              enabled: true
              channels:
                - {{type: webhook, name: main, url: "{hook.url}/hook/${{HOOK_TOKEN}}"}}
            """)
        proc = run_tradeday(["eod", "-c", str(cfg)], cwd=cli_home,
                            env={"HOOK_TOKEN": TOKEN, "KITE_API_KEY": "kitekey1"})
    assert dumped.exists(), proc.stdout + proc.stderr
    seen = json.loads(dumped.read_text())
    assert "HOOK_TOKEN" not in seen and seen["KITE_API_KEY"] == "kitekey1"
    assert seen["TRADEDAY_MODE"] == "paper"
    assert_no_secrets(json.dumps(seen), [TOKEN])
