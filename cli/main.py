"""The ``tradeday`` console script: a thin Typer app; each subcommand lives in its own module."""
from __future__ import annotations

import sys

import typer

from cli import (
    calendar_cmd,
    config_cmd,
    engine_cmd,
    eod_cmd,
    init_cmd,
    logs_cmd,
    notify_cmd,
    precheck_cmd,
    report_cmd,
    run_cmd,
    schedule_cmd,
    status_cmd,
)

# -h as well as --help, on every command: sub-apps get it from add_typer below, and click hands
# the root's context settings down to every subcommand's context.
CONTEXT = {"help_option_names": ["-h", "--help"]}

app = typer.Typer(
    name="tradeday",
    help="Run an algorithmic trader's market day: prechecks, engines, end of day, reports.",
    no_args_is_help=True,
    context_settings=CONTEXT,
    # --install-completion / --show-completion: typer.main imports its completion code anyway,
    # so this adds two options, not start-up time (bench/bench_startup.py).
    add_completion=True,
    # Tracebacks are printed by main() below, redacted; Typer's pretty printer could show
    # local variables (secrets) and would bypass the redactor.
    pretty_exceptions_enable=False,
    pretty_exceptions_show_locals=False,
)


def _version(value: bool) -> None:
    if value:
        from importlib.metadata import PackageNotFoundError, version

        try:
            typer.echo(f"tradeday {version('tradeday')}")
        except PackageNotFoundError:
            typer.echo("tradeday (not installed)")
        raise typer.Exit(0)


@app.callback()
def _root(
    version: bool = typer.Option(False, "--version", callback=_version, is_eager=True,
                                 help="Print the version and exit"),
) -> None:
    """Run an algorithmic trader's market day: prechecks, engines, end of day, reports."""


app.add_typer(calendar_cmd.app, name="calendar", context_settings=CONTEXT)
app.add_typer(config_cmd.app, name="config", context_settings=CONTEXT)
app.add_typer(notify_cmd.app, name="notify", context_settings=CONTEXT)
app.add_typer(engine_cmd.app, name="engine", context_settings=CONTEXT)
app.command("init", help=init_cmd.__doc__)(init_cmd.init)
app.command("precheck", help=precheck_cmd.__doc__)(precheck_cmd.precheck)
app.command("run", help=run_cmd.__doc__)(run_cmd.run)
app.command("status", help=status_cmd.__doc__)(status_cmd.status)
app.command("eod", help=eod_cmd.__doc__)(eod_cmd.eod)
app.command("report", help=report_cmd.__doc__)(report_cmd.report)
app.command("schedule", help=schedule_cmd.__doc__)(schedule_cmd.schedule)
app.command("logs", help=logs_cmd.__doc__)(logs_cmd.logs)


def _app_for(args: list[str]) -> typer.Typer:
    """The app with only the command being run: typer turns every registered command into a click
    command on each start (~20 ms for ~20 commands) and `tradeday status` needs one. Help, an
    option first, a misspelt command and shell completion get the whole app, so their output (the
    command list, "did you mean") is the same; a command's own help and errors never show its
    siblings."""
    import os

    name = args[0] if args else ""
    if os.environ.get("_TRADEDAY_COMPLETE") or os.environ.get("_TYPER_COMPLETE_ARGS"):
        return app
    commands = [c for c in app.registered_commands if c.name == name]
    groups = [g for g in app.registered_groups if g.name == name]
    if not commands and not groups:
        return app
    import copy

    only = copy.copy(app)  # the same settings and root callback (--version), one command
    only.registered_commands, only.registered_groups = commands, groups
    return only


def main(argv: list[str] | None = None) -> None:
    from core.errors import TradedayError
    from core.exitcodes import ExitCode
    from core.fileperms import use_private_umask

    use_private_umask()  # before anything is written: files 0600, folders 0700 (README "Security")
    from core import blas_threads

    blas_threads.install()  # numpy, when a command needs it, without idle BLAS threads spinning
    from core.platform import prepare_std_streams

    prepare_std_streams()  # Windows: a pipe's code page must not fail a print
    try:
        from cli import fastparams

        # What Typer.__call__ does, less its traceback hook (main prints tracebacks, redacted),
        # with typer's coercion filled in where it needs no pydantic (cli/fastparams.py).
        command = typer.main.get_command(_app_for(sys.argv[1:] if argv is None else argv))
        fastparams.install(command)
        command(args=argv, prog_name="tradeday")
    except TradedayError as exc:
        from cli.common import err

        err(f"tradeday: error: {exc}")
        for extra in getattr(exc, "details", [])[1:]:
            err(f"tradeday: error: {extra}")
        sys.exit(exc.exit_code)
    except KeyboardInterrupt:
        sys.exit(130)
    except Exception as exc:  # a bug: show where, but never a secret
        import traceback

        from cli.common import err

        err("".join(traceback.format_exception(exc)).rstrip())
        err(f"tradeday: internal error ({exc.__class__.__name__}); please report it with the log above")
        sys.exit(ExitCode.INTERNAL_ERROR)


if __name__ == "__main__":
    main()
