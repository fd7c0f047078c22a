"""``paths.group``: share what tradeday writes with one group (core/fileperms.py).

Without it nothing happens here: the console script already made everything private
(umask 077). With it, files become 0640 and folders 0750 from now on, and tradeday's top
folders get the group and the setgid bit, so that everything created below them (by
tradeday, its engines and hooks) is in the group.

The one exception to "loading a config writes nothing": with ``paths.group``, the top
folders are created (if missing) and given to the group as the config is loaded, before
anything else can create them without it. Best effort: a folder that cannot be given is a
warning, and the filesystem check reports a folder that cannot be used.
"""
from __future__ import annotations

import logging
from pathlib import Path
from typing import TYPE_CHECKING

from core.fileperms import claim_folder, group_id, share_with_group

if TYPE_CHECKING:
    from session.config import TradedayConfig

log = logging.getLogger("tradeday.files")


def top_folders(config: TradedayConfig) -> list[Path]:
    """The artifacts folder and each of logs/state/reports/journal configured outside it."""
    artifacts = config.artifacts_dir
    folders = [artifacts]
    for folder in (config.logs_dir, config.state_dir, config.reports_dir, config.journal_dir):
        if folder != artifacts and artifacts not in folder.parents and folder not in folders:
            folders.append(folder)
    return folders


def apply_file_policy(config: TradedayConfig) -> list[str]:
    """Share with ``paths.group`` if set; the warnings (one line each) for folders that could
    not be given to it. Never raises: an unusable folder is the filesystem check's to report."""
    if config.paths.group is None:
        return []
    share_with_group(group_id(config.paths.group))
    problems = []
    for folder in top_folders(config):
        try:
            claim_folder(folder)
        except OSError as exc:
            problems.append(f"cannot give {folder} to group {config.paths.group}: "
                            f"{exc.strerror or type(exc).__name__}")
    for problem in problems:
        log.warning("%s", problem)
    return problems
