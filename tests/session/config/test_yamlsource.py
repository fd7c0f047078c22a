"""session.yamlsource: YAML read once with its node tree, so that a key path maps back to
file:line; and ``${VAR}`` / ``${VAR:-default}`` interpolation. Real files throughout."""
from __future__ import annotations

from pathlib import Path

import pytest

from core.errors import ConfigError
from session.config import load_config
from session.yamlsource import MissingVariable, YamlSource, interpolate
from tests.conftest import write_config

DOC = """\
version: 1
mode: paper
broker:
  kind: kite
  kite:
    timeout: 5s
engines:
  - name: momentum
    command: [python, run.py]
  - name: meanrev
    command:
      - python
      - mr.py
"""


def source(tmp_path: Path, text: str = DOC) -> YamlSource:
    path = tmp_path / "tradeday.yaml"
    path.write_text(text, encoding="utf-8")
    return YamlSource.read(path)


# --- positions ---------------------------------------------------------------------------------

def test_data_is_the_parsed_document(tmp_path: Path) -> None:
    src = source(tmp_path)
    assert src.data["broker"]["kite"]["timeout"] == "5s"
    assert src.data["engines"][1]["command"] == ["python", "mr.py"]
    assert src.text == DOC and src.path == tmp_path / "tradeday.yaml"


@pytest.mark.parametrize(
    ("loc", "line"),
    [
        ((), 1),
        (("mode",), 2),
        (("broker",), 3),
        (("broker", "kind"), 4),
        (("broker", "kite", "timeout"), 6),
        (("engines",), 7),
        (("engines", 0), 8),
        (("engines", 1, "name"), 10),
        (("engines", 1, "command", 1), 13),
    ],
)
def test_line_of_a_key_path(tmp_path: Path, loc: tuple[str | int, ...], line: int) -> None:
    assert source(tmp_path).line_of(loc) == line


def test_parts_not_in_the_document_are_skipped(tmp_path: Path) -> None:
    src = source(tmp_path)
    # pydantic adds union tags ("KiteConfig") and may name keys a validator renamed.
    assert src.line_of(("broker", "kite", "KiteConfig", "timeout")) == 6
    assert src.line_of(("broker", "KiteConfig", "timeout")) == 3  # the deepest node reached
    assert src.line_of(("engines", 7)) == 7  # no such item: the deepest node reached
    assert src.line_of(("nowhere",)) == 1


def test_locate_prefixes_file_and_line(tmp_path: Path) -> None:
    src = source(tmp_path)
    assert src.locate(("broker", "kite", "timeout"), "bad value") == f"{tmp_path / 'tradeday.yaml'}:6 bad value"


def test_an_empty_document_has_no_lines(tmp_path: Path) -> None:
    src = source(tmp_path, "# only a comment\n")
    assert src.data == {} and src.root_node is None
    assert src.line_of(("mode",)) is None
    assert src.locate(("mode",), "missing") == f"{tmp_path / 'tradeday.yaml'}: missing"


def test_walk_scalars_visits_every_value_with_its_path(tmp_path: Path) -> None:
    seen: dict[tuple[str | int, ...], tuple[str, int]] = {}
    source(tmp_path).walk_scalars(lambda node, path: seen.__setitem__(path, (node.value, node.start_mark.line + 1)))
    assert seen[("broker", "kite", "timeout")] == ("5s", 6)
    assert seen[("engines", 0, "command", 1)] == ("run.py", 9)
    assert seen[("engines", 1, "command", 0)] == ("python", 12)
    assert len(seen) == 10


# --- errors ------------------------------------------------------------------------------------

def test_a_syntax_error_names_file_and_line(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as exc:
        source(tmp_path, "mode: paper\nbroker:\n  kind: kite\n   kite: [unclosed\n")
    path = tmp_path / "tradeday.yaml"
    assert exc.value.message.startswith(f"{path}:4 YAML syntax: ")
    assert exc.value.hint and "indentation" in exc.value.hint


def test_a_tag_safe_yaml_refuses_names_file_and_line(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as exc:
        source(tmp_path, "mode: paper\nengines: !!python/object:os.system {}\n")
    assert exc.value.message.startswith(f"{tmp_path / 'tradeday.yaml'}:2 YAML: ")


def test_a_missing_file_says_how_to_point_at_one(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as exc:
        YamlSource.read(tmp_path / "absent.yaml")
    assert exc.value.message == f"{tmp_path / 'absent.yaml'}: config file not found"
    assert exc.value.hint == "pass --config PATH or set TRADEDAY_CONFIG"


def test_an_unreadable_file_is_a_config_error(tmp_path: Path) -> None:
    path = tmp_path / "latin1.yaml"
    path.write_bytes(b"mode: caf\xe9\n")
    with pytest.raises(ConfigError, match="cannot read config file: UnicodeDecodeError"):
        YamlSource.read(path)


# --- interpolation -----------------------------------------------------------------------------

def test_variables_are_substituted_and_reported_as_found() -> None:
    found: list[str] = []
    env = {"HOST": "gw.local", "PORT": "4002"}
    assert interpolate("tcp://${HOST}:${PORT}/x", env, found) == "tcp://gw.local:4002/x"
    assert found == ["gw.local", "4002"]


def test_defaults_apply_when_unset_or_empty_and_are_not_secrets() -> None:
    found: list[str] = []
    assert interpolate("${LEVEL:-warning}", {}, found) == "warning"
    assert interpolate("${LEVEL:-warning}", {"LEVEL": ""}, found) == "warning"
    assert interpolate("${LEVEL:-warning}", {"LEVEL": "info"}, found) == "info"
    assert interpolate("${EMPTY:-}", {}, found) == ""
    assert found == ["info"]  # only values taken from the environment


def test_set_but_empty_without_default_is_empty() -> None:
    found: list[str] = []
    assert interpolate("[${V}]", {"V": ""}, found) == "[]"
    assert found == [""]


def test_a_missing_variable_raises_with_its_name() -> None:
    with pytest.raises(MissingVariable) as exc:
        interpolate("${SET} and ${NOT_SET}", {"SET": "1"})
    assert exc.value.name == "NOT_SET"


def test_double_dollar_is_a_literal_and_plain_dollars_stay() -> None:
    assert interpolate("$${HOME} costs $5 ${X}", {"X": "y"}) == "${HOME} costs $5 y"
    assert interpolate("${not-a-name}", {}) == "${not-a-name}"


def test_load_config_reports_a_missing_variable_at_its_line(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("TD_TEST_HOOK_URL", raising=False)
    cfg = write_config(tmp_path, """
        mode: paper
        notifications:
          enabled: true
          channels:
            - type: webhook
              url: ${TD_TEST_HOOK_URL}
        """)
    with pytest.raises(ConfigError) as exc:
        load_config(cfg)
    assert exc.value.message == (f"{cfg}:6 notifications.channels[0].url: "
                                 "environment variable TD_TEST_HOOK_URL is not set")
    assert exc.value.hint == "export TD_TEST_HOOK_URL=... or write ${TD_TEST_HOOK_URL:-default}"


def test_load_config_interpolates_tradeday_sections_only(tmp_path: Path) -> None:
    cfg = write_config(tmp_path, """
        mode: ${TD_MODE:-paper}
        checks: {timeout: "${TD_TIMEOUT}"}
        strategy: {note: "${LEFT_FOR_THE_ENGINE}"}
        """)
    config = load_config(cfg, environ={"TD_TIMEOUT": "7s"})
    assert config.mode == "paper" and config.checks.timeout == 7.0
    assert (config.model_extra or {})["strategy"] == {"note": "${LEFT_FOR_THE_ENGINE}"}
