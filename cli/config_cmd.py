"""tradeday config validate | show | history | diff A B."""
from __future__ import annotations

import typer

from cli.common import ConfigOpt, JsonOpt, LogLevel, LogLevelOpt, out, print_json, print_table

app = typer.Typer(help="Validate, show and compare configuration versions.", no_args_is_help=True)


@app.command("validate")
def validate(config: ConfigOpt = None, json_out: JsonOpt = False, log_level: LogLevelOpt = LogLevel.WARNING) -> None:
    """Load and validate the config; exit 0 when valid, 3 when not."""
    from cli.common import load

    # A valid config is valid even where its version cannot be recorded: that is a warning.
    cfg = load(config, record=True)
    if json_out:
        print_json({"ok": True, "config": str(cfg.path), "sha256": cfg.sha256, "warnings": cfg.warnings})
    else:
        out(f"{cfg.path}: valid (sha256 {cfg.sha256[:12]}, mode {cfg.mode}, "
            f"calendar {cfg.market.calendar}, {len(cfg.engines)} engine(s))")


@app.command("show")
def show(config: ConfigOpt = None, json_out: JsonOpt = False, log_level: LogLevelOpt = LogLevel.WARNING) -> None:
    """Print the effective config with defaults filled in and secrets masked."""
    import yaml

    from cli.common import load
    from session.config import masked_data

    cfg = load(config)
    data = masked_data(cfg)
    if json_out:
        print_json(data)
    else:
        out(f"# {cfg.path} (sha256 {cfg.sha256[:12]}); secrets masked")
        out(yaml.safe_dump(data, sort_keys=False, allow_unicode=True).rstrip())


@app.command("history")
def history(config: ConfigOpt = None, json_out: JsonOpt = False, log_level: LogLevelOpt = LogLevel.WARNING) -> None:
    """List the config versions kept under {artifacts}/config-history/."""
    from cli.common import load
    from session.config_history import ConfigHistory

    cfg = load(config)
    versions = ConfigHistory(cfg.config_history_dir).versions()
    if json_out:
        print_json(versions)
        return
    if not versions:
        out("no config versions recorded yet")
        return
    print_table(
        f"config history ({cfg.config_history_dir})",
        ["sha256", "first seen", "last used", "uses", "source"],
        [[v["sha256"][:12], v.get("first_seen", ""), v.get("last_used", ""), str(v.get("uses", "")),
          ", ".join(v.get("sources", []))] for v in versions],
    )


@app.command("diff")
def diff(
    a: str = typer.Argument(..., help="A version hash prefix (see `config history`) or a YAML file"),
    b: str = typer.Argument(..., help="Another version hash prefix or YAML file"),
    config: ConfigOpt = None,
    log_level: LogLevelOpt = LogLevel.WARNING,
) -> None:
    """Show what changed between two config versions (secrets masked)."""
    from cli.common import load
    from session.config import masked_diff
    from session.config_history import ConfigHistory

    cfg = load(config)
    lines = masked_diff(ConfigHistory(cfg.config_history_dir), a, b)
    if not lines:
        out("no differences")
        return
    for line in lines:
        out(line)
