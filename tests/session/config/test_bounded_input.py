"""Config input is bounded: a file over the size limit and a document whose aliases expand
past the node limit ("billion laughs") are refused at once with one line naming the file
(and the line), exit 3, for every command that loads a config. Real files, real processes."""
from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from core.errors import ConfigError
from core.exitcodes import ExitCode
from session.config import load_config
from session.yamlsource import MAX_ALIAS_NODES, MAX_CONFIG_BYTES, YamlSource
from tests.conftest import run_tradeday, write_config

BASE = """\
mode: paper
engines: [{name: e, command: [python3, -c, pass]}]
checks: {min_free_disk: 1MiB}
"""

# A process that hangs on the bomb would take minutes (9**9 expanded nodes); the bound is
# generous for a busy machine, since the refusal itself takes milliseconds.
TIMEOUT = 60


def alias_bomb(levels: int = 9, refs: int = 9) -> str:
    """Nested anchors: each level is a list of ``refs`` aliases of the level before."""
    lines = [BASE.rstrip("\n"), "strategy:", '  l0: &l0 "lol"']
    for level in range(1, levels + 1):
        items = ", ".join([f"*l{level - 1}"] * refs)
        lines.append(f"  l{level}: &l{level} [{items}]")
    return "\n".join(lines) + "\n"


def run_bounded(args: list[str], cwd: Path) -> subprocess.CompletedProcess[str]:
    try:
        return run_tradeday(args, cwd=cwd, timeout=TIMEOUT)
    except subprocess.TimeoutExpired:
        raise AssertionError(f"tradeday {' '.join(args)} did not finish within {TIMEOUT}s") from None


@pytest.mark.parametrize("command", [["config", "validate"], ["precheck"], ["config", "show"], ["status"]])
def test_a_2_mib_config_is_refused_with_the_limit(tmp_path: Path, cli_home: Path, command: list[str]) -> None:
    path = tmp_path / "big.yaml"
    filler = "# " + "x" * 1022 + "\n"  # comments: valid YAML, only the size is wrong
    path.write_text(BASE + filler * 2048, encoding="utf-8")
    assert path.stat().st_size > 2 * 1024 * 1024
    proc = run_bounded([*command, "-c", str(path)], cli_home)
    assert proc.returncode == ExitCode.CONFIG_INVALID, proc.stderr
    assert "Traceback" not in proc.stderr
    errors = [line for line in proc.stderr.splitlines() if line.startswith("tradeday: error:")]
    assert len(errors) == 1, proc.stderr
    assert str(path) in errors[0] and "1 MiB" in errors[0]
    assert not (tmp_path / "artifacts").exists()  # refused before anything else happened


@pytest.mark.parametrize("command", [["config", "validate"], ["precheck"], ["config", "show"], ["run", "--dry-run"]])
def test_an_alias_bomb_is_refused_quickly(tmp_path: Path, cli_home: Path, command: list[str]) -> None:
    path = write_config(tmp_path, alias_bomb(), name="bomb.yaml")
    proc = run_bounded([*command, "-c", str(path)], cli_home)
    assert proc.returncode == ExitCode.CONFIG_INVALID, proc.stderr
    assert "Traceback" not in proc.stderr
    errors = [line for line in proc.stderr.splitlines() if line.startswith("tradeday: error:")]
    assert len(errors) == 1, proc.stderr
    # Counted in document order, the aliases of l1..l5 expand to 74,727 nodes; l6's first
    # alias (line 11) adds 66,430 more and passes the 100,000 limit.
    assert f"{path}:11 " in errors[0], errors[0]
    assert "alias" in errors[0]


def test_the_limit_is_exact(tmp_path: Path) -> None:
    at_limit = tmp_path / "at.yaml"
    at_limit.write_bytes(BASE.encode() + b"#" * (MAX_CONFIG_BYTES - len(BASE) - 1) + b"\n")
    assert at_limit.stat().st_size == MAX_CONFIG_BYTES
    assert load_config(at_limit).mode == "paper"
    over = tmp_path / "over.yaml"
    over.write_bytes(at_limit.read_bytes() + b"\n")
    with pytest.raises(ConfigError) as exc:
        load_config(over)
    assert exc.value.message == (f"{over}: the config file is larger than the 1 MiB limit "
                                 f"({MAX_CONFIG_BYTES + 1} bytes)")


def test_a_config_read_from_a_pipe_is_bounded_too(tmp_path: Path) -> None:
    # /dev/zero has no size to stat: only reading at most limit + 1 bytes bounds it.
    with pytest.raises(ConfigError) as exc:
        YamlSource.read(Path("/dev/zero"))
    assert "larger than the 1 MiB limit" in exc.value.message


def test_anchors_used_as_configs_use_them_still_load(tmp_path: Path) -> None:
    path = write_config(tmp_path, BASE.replace("engines: [{name: e, command: [python3, -c, pass]}]\n", "") + """\
        defaults: &defaults {restart: on-failure, max_restarts: 3, stop_timeout: 10s}
        engines:
          - {<<: *defaults, name: a, command: [python3, a.py]}
          - {<<: *defaults, name: b, command: [python3, b.py]}
        """.replace("        ", ""))
    cfg = load_config(path)
    assert [(e.name, e.max_restarts) for e in cfg.engines] == [("a", 3), ("b", 3)]


def test_the_node_limit_counts_expanded_aliases_not_written_nodes(tmp_path: Path) -> None:
    # Just under the limit by aliases: accepted. One alias more: refused, naming its line.
    per_ref = 1000
    items = ", ".join(["x"] * (per_ref - 1))
    refs = MAX_ALIAS_NODES // per_ref
    ok = BASE + f"strategy:\n  base: &b [{items}]\n  copies: [{', '.join(['*b'] * refs)}]\n"
    path = write_config(tmp_path, ok, name="ok.yaml")
    assert load_config(path).mode == "paper"
    bad = BASE + f"strategy:\n  base: &b [{items}]\n  copies: [{', '.join(['*b'] * (refs + 1))}]\n"
    path = write_config(tmp_path, bad, name="bad.yaml")
    with pytest.raises(ConfigError) as exc:
        load_config(path)
    assert exc.value.message.startswith(f"{path}:6 ")


def test_a_recursive_alias_is_refused(tmp_path: Path) -> None:
    path = write_config(tmp_path, BASE + "strategy:\n  loop: &loop [1, *loop]\n", name="loop.yaml")
    with pytest.raises(ConfigError) as exc:
        load_config(path)
    assert exc.value.message.startswith(f"{path}:5 ") and "refers to itself" in exc.value.message
