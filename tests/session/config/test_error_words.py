"""Validation errors in the user's words: an enum mistake lists the allowed values and the
closest one; a union (``broker.kind``: one name or a list of names) reports the branch the
value was meant for, never pydantic's branch names (``literal['none','kite','ibkr']``,
``list[...]``) and never "(and 1 more)" for one mistake. Through the real console script."""
from __future__ import annotations

import re
from pathlib import Path

import pytest

from core.exitcodes import ExitCode
from tests.conftest import run_tradeday, write_config

# pydantic's names for a union's branches, and its own wording.
PYDANTIC_WORDS = re.compile(r"literal\[|list\[|function-|Value error|Input should|\(and \d+ more\)")


def errors_of(tmp_path: Path, cli_home: Path, text: str) -> list[str]:
    config = write_config(tmp_path, text)
    proc = run_tradeday(["config", "validate", "-c", str(config)], cwd=cli_home)
    assert proc.returncode == ExitCode.CONFIG_INVALID, proc.stdout + proc.stderr
    assert "Traceback" not in proc.stderr
    assert not PYDANTIC_WORDS.search(proc.stderr), proc.stderr
    prefix = f"tradeday: error: {config}:"
    lines = [line for line in proc.stderr.splitlines() if line.startswith("tradeday: error:")]
    assert all(line.startswith(prefix) for line in lines), lines
    return [line[len(prefix):].split(" (hint:")[0] for line in lines]


@pytest.mark.parametrize(("text", "expected"), [
    ("mode: paper\nbroker: {kind: kitee}\n",
     "2 broker.kind: 'kitee' is not one of none, kite, ibkr; did you mean kite?"),
    ("mode: paper\nbroker:\n  kind: [kite, ibkr, ibrk]\n",
     "3 broker.kind[2]: 'ibrk' is not one of kite, ibkr; did you mean ibkr?"),
    ("mode: paper\nbroker: {kind: 5}\n",
     "2 broker.kind: 5 is not one of none, kite, ibkr"),
    ("mode: livee\n",
     "1 mode: 'livee' is not one of paper, live; did you mean live?"),
    ("engines:\n  - name: e\n    command: [a]\n    restart: on-failur\n",
     "4 engines[0].restart: 'on-failur' is not one of never, on-failure, always; did you mean on-failure?"),
    ("notifications:\n  channels:\n    - type: slak\n      webhook_url: https://example.invalid/x\n",
     "3 notifications.channels[0].type: 'slak' is not one of slack, discord, telegram, email, webhook; "
     "did you mean slack?"),
    ("notifications:\n  channels:\n    - type: email\n      security: tls\n",
     "4 notifications.channels[0].security: 'tls' is not one of starttls, ssl, none"),
    ("eod: {fills_source: kit}\n",
     "1 eod.fills_source: 'kit' is not one of journal, kite; did you mean kite?"),
])
def test_enum_and_union_mistakes_read_as_the_user_wrote_them(
        tmp_path: Path, cli_home: Path, text: str, expected: str) -> None:
    assert errors_of(tmp_path, cli_home, text) == [expected]


def test_a_list_where_one_name_is_expected_says_so(tmp_path: Path, cli_home: Path) -> None:
    assert errors_of(tmp_path, cli_home, "broker:\n  kind: {kite: true}\n") == [
        "2 broker.kind: must be one of none, kite, ibkr, or a list of kite, ibkr"]


@pytest.mark.parametrize("command", [["precheck"], ["run", "--dry-run"], ["eod"]])
def test_a_mistyped_mode_flag_lists_the_modes(tmp_path: Path, cli_home: Path, command: list[str]) -> None:
    config = write_config(tmp_path, "mode: paper\n")
    proc = run_tradeday([*command, "-c", str(config), "--mode", "livee"], cwd=cli_home)
    assert proc.returncode == ExitCode.USAGE
    said = " ".join(proc.stderr.replace("│", " ").split())  # rich draws a box round it
    assert "'livee' is not one of paper, live; did you mean live?" in said, proc.stderr
    assert "Value error" not in proc.stderr and "Traceback" not in proc.stderr
