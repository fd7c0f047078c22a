"""User-facing errors: one line, what went wrong and what to do, and an exit code.

cli.main catches TradedayError and prints ``str(err)`` without a traceback; anything
else is a bug and keeps its traceback (with locals hidden).
"""
from __future__ import annotations

from core.exitcodes import ExitCode


class TradedayError(Exception):
    exit_code: int = ExitCode.USAGE

    def __init__(self, message: str, *, hint: str | None = None, exit_code: int | None = None):
        super().__init__(message)
        self.message = message
        self.hint = hint
        if exit_code is not None:
            self.exit_code = int(exit_code)

    def __str__(self) -> str:
        return f"{self.message} (hint: {self.hint})" if self.hint else self.message


class UsageError(TradedayError):
    exit_code = ExitCode.USAGE


class ConfigError(TradedayError):
    """The configuration file is missing, unparsable or invalid."""

    exit_code = ExitCode.CONFIG_INVALID


class ConfigNotFoundError(ConfigError, FileNotFoundError):
    """The config file does not exist: a ConfigError (exit 3) that ``except FileNotFoundError``
    catches too, as code written for copilot_quant's ConfigManager expects."""

    def __init__(self, message: str, *, hint: str | None = None, filename: str | None = None) -> None:
        import errno

        super().__init__(message, hint=hint)
        self.errno = errno.ENOENT
        self.strerror = "config file not found"
        self.filename = filename


class ConfigValidationError(ConfigError, ValueError):
    """The config file is unparsable or invalid: a ConfigError (exit 3) that ``except
    ValueError`` catches too, as code written for copilot_quant's ConfigManager expects."""


class LockHeldError(TradedayError):
    exit_code = ExitCode.LOCKED


class EodError(TradedayError):
    exit_code = ExitCode.EOD_FAILED
