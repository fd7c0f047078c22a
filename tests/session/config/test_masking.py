"""``config show`` and ``config diff`` mask by the document's structure, not by the shape of a
line: flow-style mappings, block scalars, anchors and aliases, multi-document files, header
values, and a value that was a secret in either compared version. Paths stay visible.
Real files, the real console script."""
from __future__ import annotations

import json
from pathlib import Path

import pytest

from core.exitcodes import ExitCode
from tests.conftest import assert_no_secrets, run_tradeday, write_config

# Version A: block style, a block-scalar password, a secret behind an anchor.
OLD = {
    "hook": "oldHookPathT0B0x9",
    "header": "oldHeaderBearer7q",
    "password": "oldBlockPassw0rd",
    "anchored": "oldAnchoredTok3n",
    "health": "oldHealthUuid42",
    "engine": "oldEngineApiSecret",
}
# Version B: every secret rotated, all of it flow style.
NEW = {
    "hook": "newHookPathT1B1y8",
    "header": "newHeaderBearer8r",
    "password": "newBlockPassw1rd",
    "anchored": "newAnchoredTok4n",
    "health": "newHealthUuid43",
    "engine": "newEngineApiSecret",
}

BLOCK = """\
mode: paper
broker:
  kind: kite
  kite:
    secrets_file: secrets/kite.env
    tokens_file: secrets/kite_tokens.env
shared:
  token_of_the_bot: &bot {anchored}
notifications:
  enabled: true
  healthcheck_url: https://hc-ping.example/{health}
  channels:
    - type: webhook
      name: ops
      url: https://hooks.example.com/services/{hook}
      headers:
        Authorization: Bearer {header}
    - type: email
      name: mail
      host: smtp.example.com
      from: td@example.com
      to: [me@example.com]
      password: |
        {password}
    - type: telegram
      name: tg
      bot_token: *bot
      chat_id: "42"
strategy:
  api_secret: >-
    {engine}
"""

FLOW = """\
mode: paper
broker: {{kind: kite, kite: {{secrets_file: secrets/kite.env, tokens_file: secrets/kite_tokens.env}}}}
shared: {{token_of_the_bot: &bot "{anchored}"}}
notifications: {{enabled: true, healthcheck_url: "https://hc-ping.example/{health}", channels: [
  {{type: webhook, name: ops, url: "https://hooks.example.com/services/{hook}", headers: {{Authorization: "Bearer {header}"}}}},
  {{type: email, name: mail, host: smtp.example.com, from: td@example.com, to: [me@example.com],
   password: "{password}\\n"}},
  {{type: telegram, name: tg, bot_token: *bot, chat_id: "42"}}]}}
strategy: {{api_secret: "{engine}", note: "{old_hook_moved}"}}
"""


def all_secrets() -> list[str]:
    return [*OLD.values(), *NEW.values()]


def diff(a: Path, b: Path, config: Path, cwd: Path) -> str:
    proc = run_tradeday(["config", "diff", str(a), str(b), "-c", str(config)], cwd=cwd)
    assert proc.returncode == 0, proc.stderr
    assert "Traceback" not in proc.stderr
    return proc.stdout + proc.stderr


@pytest.fixture
def versions(tmp_path: Path) -> tuple[Path, Path, Path]:
    old = write_config(tmp_path, BLOCK.format(**OLD), name="old.yaml")
    # The old webhook path reappears in B under a key that is not secret: it was a secret in A.
    new = write_config(tmp_path, FLOW.format(**NEW, old_hook_moved=OLD["hook"]), name="new.yaml")
    current = write_config(tmp_path, "mode: paper\n", name="current.yaml")
    return old, new, current


def test_diff_masks_rotated_secrets_both_ways(versions: tuple[Path, Path, Path], cli_home: Path) -> None:
    old, new, current = versions
    forward = diff(old, new, current, cli_home)
    backward = diff(new, old, current, cli_home)
    for text in (forward, backward):
        assert_no_secrets(text, all_secrets())
        assert "changed" in text  # a rotated secret is shown as changed, not as equal
        assert "secrets_file: secrets/kite.env" in text  # a path, in the diff's context: shown
        assert "note:" in text  # the moved value's key is there, its value masked
    # A diff is still a diff: the direction shows.
    assert forward.splitlines()[0].startswith(f"--- {old}") and backward.splitlines()[0].startswith(f"--- {new}")


def test_diff_of_recorded_versions_by_hash(tmp_path: Path, cli_home: Path) -> None:
    config = tmp_path / "tradeday.yaml"
    shas = []
    for values in (OLD, NEW):
        config.write_text(BLOCK.format(**values), encoding="utf-8")
        proc = run_tradeday(["config", "validate", "-c", str(config), "--json"], cwd=cli_home)
        assert proc.returncode == 0, proc.stderr
        shas.append(json.loads(proc.stdout)["sha256"])
    text = diff(Path(shas[0][:8]), Path(shas[1][:8]), config, cli_home)
    assert_no_secrets(text, all_secrets())
    assert "url: '*** (changed)'" in text  # the rotated webhook URL: changed, not shown


def test_diff_of_multi_document_files(tmp_path: Path, cli_home: Path) -> None:
    first = write_config(tmp_path, f"mode: paper\n---\nstrategy:\n  password: {OLD['password']}\n", name="a.yaml")
    second = write_config(tmp_path, f"mode: paper\n---\nstrategy:\n  password: {NEW['password']}\n"
                                    f"  other: {OLD['password']}\n", name="b.yaml")
    text = diff(first, second, write_config(tmp_path, "mode: paper\n", name="c.yaml"), cli_home)
    assert_no_secrets(text, all_secrets())
    assert "other: '***'" in text or "other: ***" in text


def test_diff_of_identical_documents_in_other_styles_says_no_differences(
        tmp_path: Path, cli_home: Path) -> None:
    block = write_config(tmp_path, BLOCK.format(**OLD), name="block.yaml")
    flow = write_config(tmp_path, FLOW.format(**OLD, old_hook_moved="x").replace(', note: "x"', ""), name="flow.yaml")
    assert diff(block, flow, block, cli_home).strip() == "no differences"


def test_diff_of_a_broken_file_names_its_line(tmp_path: Path, cli_home: Path) -> None:
    good = write_config(tmp_path, BLOCK.format(**OLD), name="good.yaml")
    broken = write_config(tmp_path, f"strategy:\n  password: {NEW['password']}\n  bad: [unclosed\n", name="bad.yaml")
    proc = run_tradeday(["config", "diff", str(good), str(broken), "-c", str(good)], cwd=cli_home)
    assert proc.returncode == ExitCode.CONFIG_INVALID
    assert f"{broken}:" in proc.stderr and "Traceback" not in proc.stderr
    assert_no_secrets(proc.stdout + proc.stderr, all_secrets())


def test_show_masks_secrets_and_env_values_and_shows_paths(tmp_path: Path, cli_home: Path) -> None:
    (tmp_path / "secrets").mkdir()
    config = write_config(tmp_path, BLOCK.format(**OLD) + """\
eod:
  analytics:
    command: [python3, a.py]
    env: {SHORT: "${SHORT_SECRET}"}
""")
    proc = run_tradeday(["config", "show", "-c", str(config)], env={"SHORT_SECRET": "zqx"}, cwd=cli_home)
    assert proc.returncode == 0, proc.stderr
    assert_no_secrets(proc.stdout + proc.stderr, [*OLD.values(), "zqx"])
    assert "secrets_file: secrets/kite.env" in proc.stdout
    assert "tokens_file: secrets/kite_tokens.env" in proc.stdout
    as_json = run_tradeday(["config", "show", "-c", str(config), "--json"], env={"SHORT_SECRET": "zqx"},
                           cwd=cli_home)
    data = json.loads(as_json.stdout)
    assert data["eod"]["analytics"]["env"]["SHORT"] == "***"
    assert data["broker"]["kite"]["secrets_file"] == "secrets/kite.env"
    assert_no_secrets(as_json.stdout, [*OLD.values(), "zqx"])
