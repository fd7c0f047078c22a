"""session.config_history: every loaded config kept by SHA-256, an index of when and from
where, versions newest first (two loads in one second included), resolving a version by
hash prefix or path, and what a corrupt index says. Real files, real loads, real processes."""
from __future__ import annotations

import hashlib
import json
import stat
from pathlib import Path

import pytest

import session.config_history as config_history
from core.errors import ConfigError, UsageError
from core.exitcodes import ExitCode
from session.config import ConfigManager, TradedayConfig, load_config
from session.config_history import ConfigHistory, record_quietly
from tests.conftest import run_tradeday, write_config


def config_file(folder: Path, name: str, note: str = "") -> Path:
    return write_config(folder, f"mode: paper\n# {note or name}\n", name=name)


def history_of(config: TradedayConfig) -> ConfigHistory:
    return ConfigHistory(config.config_history_dir)


def test_record_keeps_the_file_exactly_and_privately(tmp_path: Path) -> None:
    config = load_config(config_file(tmp_path, "a.yaml"))
    history = history_of(config)
    sha = history.record(config)
    assert sha == config.sha256 == hashlib.sha256(config.text.encode()).hexdigest()
    snapshot = config.config_history_dir / f"{sha}.yaml"
    assert snapshot.read_text(encoding="utf-8") == (tmp_path / "a.yaml").read_text(encoding="utf-8")
    assert stat.S_IMODE(snapshot.stat().st_mode) == 0o600  # it may hold inline secrets
    index = json.loads(history.index_path.read_text(encoding="utf-8"))
    entry = index[sha]
    assert entry["sources"] == [str(tmp_path / "a.yaml")]
    assert entry["uses"] == 1 and entry["seq"] == 1
    assert entry["first_seen"] == entry["last_used"] and entry["first_seen"].endswith("+00:00")


def test_recording_again_counts_uses_and_adds_new_sources(tmp_path: Path) -> None:
    first = load_config(config_file(tmp_path, "a.yaml", note="same"))
    twin = load_config(config_file(tmp_path, "b.yaml", note="same"))  # same text, other path
    history = history_of(first)
    history.record(first)
    history.record(first)
    history.record(twin)
    (row,) = history.versions()
    assert row["sha256"] == first.sha256 == twin.sha256
    assert row["uses"] == 3 and row["seq"] == 3
    assert row["sources"] == [str(tmp_path / "a.yaml"), str(tmp_path / "b.yaml")]
    assert sorted(p.name for p in first.config_history_dir.glob("*.yaml")) == [f"{first.sha256}.yaml"]


def test_load_config_records_only_when_asked(tmp_path: Path) -> None:
    path = config_file(tmp_path, "a.yaml")
    config = load_config(path)
    assert not config.config_history_dir.exists()
    load_config(path, record=True)
    assert [v["sha256"] for v in history_of(config).versions()] == [config.sha256]


def test_recording_where_it_cannot_is_a_warning_never_an_error(
        tmp_path: Path, caplog: pytest.LogCaptureFixture, tradeday_logs_reach_caplog: None) -> None:
    # A run's hot reload records with record=True: a file where the folder should be must
    # not raise out of the supervision loop, only say so in the log.
    path = write_config(tmp_path, "mode: paper\npaths: {artifacts: art}\n", name="a.yaml")
    (tmp_path / "art").write_text("a file\n")
    with caplog.at_level("WARNING", logger="tradeday"):
        config = load_config(path, record=True)
        ConfigManager(path).load()  # the Python API records by default: the same rule
    warnings = [r.getMessage() for r in caplog.records if r.levelname == "WARNING"]
    assert warnings == [f"cannot record the config version: {tmp_path / 'art'} is a file, not a folder, on the way "
                        f"to the config-history folder {config.config_history_dir}"] * 2
    assert record_quietly(config, config.config_history_dir) == warnings[0]
    assert (tmp_path / "art").read_text() == "a file\n"


def test_no_history_yet_is_an_empty_list(tmp_path: Path) -> None:
    assert ConfigHistory(tmp_path / "config-history").versions() == []


def test_versions_newest_first_even_within_one_second(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # Every load in the same second: last_used ties, the sequence number decides.
    monkeypatch.setattr(config_history, "_now", lambda: "2026-03-04T09:15:00+00:00")
    a = load_config(config_file(tmp_path, "a.yaml"))
    b = load_config(config_file(tmp_path, "b.yaml"))
    c = load_config(config_file(tmp_path, "c.yaml"))
    history = history_of(a)
    for config in (a, b, c):
        history.record(config)
    assert [v["sha256"] for v in history.versions()] == [c.sha256, b.sha256, a.sha256]
    history.record(a)
    assert [v["sha256"] for v in history.versions()] == [a.sha256, c.sha256, b.sha256]


def test_a_later_second_wins_over_a_higher_sequence(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    a = load_config(config_file(tmp_path, "a.yaml"))
    b = load_config(config_file(tmp_path, "b.yaml"))
    history = history_of(a)
    monkeypatch.setattr(config_history, "_now", lambda: "2026-03-04T09:15:01+00:00")
    history.record(a)
    monkeypatch.setattr(config_history, "_now", lambda: "2026-03-04T09:15:00+00:00")
    history.record(b)  # recorded after a, but stamped earlier (a clock step back)
    assert [v["sha256"] for v in history.versions()] == [a.sha256, b.sha256]


def test_cli_history_lists_two_quick_validations_newest_first(tmp_path: Path, cli_home: Path) -> None:
    a = config_file(tmp_path, "a.yaml")
    b = config_file(tmp_path, "b.yaml")
    sha = {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in (a, b)}
    for first, second in ((a, b), (b, a)):
        # `config validate` records the version it checked (loading alone records nothing).
        assert run_tradeday(["config", "validate", "-c", str(first)], cwd=cli_home).returncode == 0
        assert run_tradeday(["config", "validate", "-c", str(second)], cwd=cli_home).returncode == 0
        proc = run_tradeday(["config", "history", "-c", str(second), "--json"], cwd=cli_home)
        assert proc.returncode == 0, proc.stderr
        assert [v["sha256"] for v in json.loads(proc.stdout)][:2] == [sha[second.name], sha[first.name]]


# --- resolving a version -----------------------------------------------------------------------

def _colliding_texts() -> tuple[str, str]:
    """Two config texts whose SHA-256 share their first four hex digits."""
    seen: dict[str, str] = {}
    for n in range(100_000):
        text = f"mode: paper\n# variant {n}\n"
        prefix = hashlib.sha256(text.encode()).hexdigest()[:4]
        if prefix in seen:
            return seen[prefix], text
        seen[prefix] = text
    raise AssertionError("no collision found")  # pragma: no cover


def test_resolve_by_hash_prefix(tmp_path: Path) -> None:
    config = load_config(config_file(tmp_path, "a.yaml"))
    history = history_of(config)
    history.record(config)
    for ref in (config.sha256[:4], config.sha256[:12].upper(), config.sha256):
        assert history.resolve(ref) == (config.sha256[:12], config.text)


def test_an_ambiguous_prefix_asks_for_more_characters(tmp_path: Path) -> None:
    first_text, second_text = _colliding_texts()
    first = load_config(write_config(tmp_path, first_text, name="one.yaml"))
    second = load_config(write_config(tmp_path, second_text, name="two.yaml"))
    history = history_of(first)
    history.record(first)
    history.record(second)
    prefix = first.sha256[:4]
    assert second.sha256[:4] == prefix
    with pytest.raises(UsageError) as exc:
        history.resolve(prefix)
    assert exc.value.message == f"'{prefix}' matches 2 config versions; give more characters"
    assert history.resolve(second.sha256[:12]) == (second.sha256[:12], second.text)


def test_resolve_a_path_to_a_yaml_file(tmp_path: Path) -> None:
    other = write_config(tmp_path, "mode: live\n", name="elsewhere.yaml")
    assert ConfigHistory(tmp_path / "config-history").resolve(str(other)) == (str(other), "mode: live\n")


@pytest.mark.parametrize("ref", ["abc", "beef", "not-a-hash", "zzzz1234"])
def test_unknown_references_say_how_to_list_versions(tmp_path: Path, ref: str) -> None:
    config = load_config(config_file(tmp_path, "a.yaml"))
    history = history_of(config)
    history.record(config)
    if config.sha256.startswith(ref):  # pragma: no cover - one chance in 65536
        pytest.skip("the real hash starts with the made-up prefix")
    with pytest.raises(UsageError) as exc:
        history.resolve(ref)
    assert exc.value.message == f"'{ref}' is neither a file nor a known config version"
    assert exc.value.hint == "list versions with: tradeday config history"


# --- a corrupt index ---------------------------------------------------------------------------

def test_a_corrupt_index_says_what_to_do(tmp_path: Path) -> None:
    config = load_config(config_file(tmp_path, "a.yaml"))
    history = history_of(config)
    history.record(config)
    history.index_path.write_text('{"half": ', encoding="utf-8")
    for action in (history.versions, lambda: history.record(config)):
        with pytest.raises(ConfigError) as exc:
            action()
        assert exc.value.message == f"{history.index_path}: config history index is corrupt"
        assert exc.value.hint == "move it aside; snapshots stay valid and the index is rebuilt on next load"
        assert exc.value.exit_code == ExitCode.CONFIG_INVALID
    assert (config.config_history_dir / f"{config.sha256}.yaml").exists()  # the snapshot is untouched


def test_an_index_that_is_not_a_mapping_counts_as_empty(tmp_path: Path) -> None:
    history = ConfigHistory(tmp_path / "config-history")
    history.folder.mkdir()
    history.index_path.write_text("[1, 2]", encoding="utf-8")
    assert history.versions() == []


def test_cli_reports_a_corrupt_index_with_exit_3(tmp_path: Path, cli_home: Path) -> None:
    cfg = config_file(tmp_path, "a.yaml")
    index = tmp_path / "artifacts" / "config-history" / "index.json"
    index.parent.mkdir(parents=True)
    index.write_bytes(b"\xff\xfe not json")
    proc = run_tradeday(["config", "history", "-c", str(cfg)], cwd=cli_home)
    assert proc.returncode == ExitCode.CONFIG_INVALID
    assert f"{index}: config history index is corrupt" in proc.stderr
    assert "move it aside" in proc.stderr and "Traceback" not in proc.stderr


def test_an_index_moved_aside_is_rebuilt_from_the_snapshots(tmp_path: Path) -> None:
    # What the corrupt-index hint promises: move it aside, and the next record rebuilds it.
    old = load_config(config_file(tmp_path, "old.yaml"))
    new = load_config(config_file(tmp_path, "new.yaml"))
    history = history_of(old)
    history.record(old)
    history.index_path.write_text('{"half": ', encoding="utf-8")
    history.index_path.rename(history.folder / "index.json.broken")
    history.record(new)
    rows = history.versions()
    assert [r["sha256"] for r in rows] == [new.sha256, old.sha256]
    assert rows[1]["sources"] == [] and rows[1]["uses"] == 0  # known from its snapshot only
