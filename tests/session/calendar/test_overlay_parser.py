"""The overlay files are read with libyaml's parser: the same values as the pure-Python one,
and a broken file still gets the pure parser's message."""
from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from core.errors import ConfigError
from session.calendar.overlay import DATA_DIR, read_overlay_file


@pytest.mark.parametrize("path", sorted(DATA_DIR.glob("*_overlay.yaml")), ids=lambda p: p.name)
def test_every_bundled_overlay_parses_the_same_with_either_parser(path: Path) -> None:
    text = path.read_text(encoding="utf-8")
    assert yaml.load(text, Loader=yaml.CSafeLoader) == yaml.safe_load(text)
    assert read_overlay_file(path).model_dump() == read_overlay_file(path).model_validate(
        yaml.safe_load(text)).model_dump()


def test_a_broken_overlay_names_the_line_as_the_pure_parser_does(tmp_path: Path) -> None:
    bad = tmp_path / "x_overlay.yaml"
    bad.write_text("calendar: XNSE\nholidays:\n  2025-01-01: {name: [unclosed\n", encoding="utf-8")
    with pytest.raises(yaml.YAMLError) as pure:
        yaml.safe_load(bad.read_text())
    with pytest.raises(ConfigError) as err:
        read_overlay_file(bad)
    assert str(err.value) == f"x_overlay.yaml: not valid YAML ({str(pure.value).splitlines()[0]})"
