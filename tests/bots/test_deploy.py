"""docker/Dockerfile, docker/compose.yaml, .dockerignore and docker/constraints.txt, read as
Docker and Compose read them (no Docker engine runs in CI).

The README's path is ``cp .env.example .env`` then ``docker compose -f docker/compose.yaml
up``: the tests compute the environment each service's container gets from the image's
``ENV``, the ``env_file`` and ``environment:`` (in Compose's order of precedence), and
check that the database, address and port it names are the ones the image prepared.
"""

from __future__ import annotations

import fnmatch
import io
import re
import shlex
import tomllib
from pathlib import Path, PurePosixPath

import pytest
import yaml
from dotenv import dotenv_values
from packaging.markers import default_environment
from packaging.requirements import Requirement

ROOT = Path(__file__).resolve().parents[2]
DOCKERFILE = ROOT / "docker" / "Dockerfile"
COMPOSE = ROOT / "docker" / "compose.yaml"
ENV_EXAMPLE = (ROOT / ".env.example").read_text()


# --- reading the files as Docker and Compose do -------------------------------------------

def _instructions() -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) of the Dockerfile, continuation lines joined."""
    text = re.sub(r"\\\n(\s*#.*\n)*", " ", DOCKERFILE.read_text())
    pairs = []
    for line in text.splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            word, _, rest = line.partition(" ")
            pairs.append((word.upper(), rest.strip()))
    return pairs


def _image_env() -> dict[str, str]:
    env: dict[str, str] = {}
    for word, rest in _instructions():
        if word == "ENV":
            env.update(item.split("=", 1) for item in shlex.split(rest))
    return env


def _last(word: str) -> str:
    return [rest for w, rest in _instructions() if w == word][-1]


def _service(name: str) -> dict:
    return yaml.safe_load(COMPOSE.read_text())["services"][name]


def _interpolate(value: str, shell: dict[str, str]) -> str:
    # Compose's ${VAR}, ${VAR:-default}: from the shell running `docker compose`.
    def one(found: re.Match[str]) -> str:
        name, default = found.group(1), found.group(3) or ""
        return shell.get(name) or default
    return re.sub(r"\$\{(\w+)(:-([^}]*))?\}", one, value)


def effective_environment(service: str, env_file: str, shell: dict[str, str] | None = None) -> dict[str, str]:
    """The container's environment: image ENV < env_file < environment (Compose's order)."""
    spec = _service(service)
    files = spec.get("env_file", [])
    assert (files if isinstance(files, list) else [files]) == ["../.env"], "the README copies .env.example to .env"
    env = _image_env()
    env.update({k: v or "" for k, v in dotenv_values(stream=io.StringIO(env_file)).items()})
    given = spec.get("environment", {})
    if isinstance(given, list):
        given = dict(item.split("=", 1) for item in given)
    env.update({k: _interpolate(str(v), shell or {}) for k, v in given.items()})
    return env


def _sqlite_path(url: str, workdir: str) -> PurePosixPath:
    assert url.startswith("sqlite:///"), url
    path = PurePosixPath(url.removeprefix("sqlite:///"))
    return path if path.is_absolute() else PurePosixPath(workdir) / path


def _mounts(service: str) -> dict[str, str]:
    """Container path -> named volume of the service."""
    return {target: source for source, target in (v.split(":")[:2] for v in _service(service)["volumes"])}


def _links() -> dict[str, str]:
    """``ln -s TARGET LINK`` in the Dockerfile's RUN lines: LINK -> TARGET."""
    found = re.findall(r"ln -s (\S+) (\S+)", " ".join(rest for w, rest in _instructions() if w == "RUN"))
    return {link: target for target, link in found}


# --- the database path: compose and the image agree ---------------------------------------

HOSTILE_ENV_FILES = [
    ENV_EXAMPLE,                                             # cp .env.example .env
    ENV_EXAMPLE + "\nDATABASE_URL=sqlite:///chatwright.db\n",  # relative to /app: not writable
    "DATABASE_URL=sqlite:////var/lib/chatwright/x.db\n",     # absolute, outside the volume
]


@pytest.mark.parametrize("env_file", HOSTILE_ENV_FILES, ids=["example", "relative", "elsewhere"])
def test_compose_keeps_the_database_in_the_volume_whatever_env_says(env_file):
    env = effective_environment("chatwright", env_file)
    database = _sqlite_path(env["DATABASE_URL"], _last("WORKDIR"))
    assert str(database.parent) in _mounts("chatwright"), database


def test_the_volume_belongs_to_the_user_the_image_runs_as():
    user = _last("USER")
    assert user not in ("root", "0")
    volume = _sqlite_path(_image_env()["DATABASE_URL"], _last("WORKDIR")).parent
    run = " ".join(rest for w, rest in _instructions() if w == "RUN")
    assert re.search(rf"chown {user}(:{user})? {volume}(\s|$)", run), run
    assert f'"{volume}"' in _last("VOLUME")
    assert str(volume) in _mounts("chatwright")


def test_env_example_default_is_the_same_file_with_plain_docker_run():
    # `docker run --env-file .env chatwright`: no compose, .env.example's relative URL.
    relative = dotenv_values(stream=io.StringIO(ENV_EXAMPLE))["DATABASE_URL"]
    path = _sqlite_path(relative, _last("WORKDIR"))
    image = _sqlite_path(_image_env()["DATABASE_URL"], _last("WORKDIR"))
    link = str(path.parent)
    assert _links().get(link) == str(image.parent), f"{link} should point to {image.parent}"


def test_container_listens_where_compose_publishes_and_the_healthcheck_asks():
    env = effective_environment("chatwright", ENV_EXAMPLE + "\nHTTP_HOST=127.0.0.1\nHTTP_PORT=8080\n")
    assert env["HTTP_HOST"] == "0.0.0.0"
    published = [str(p).rsplit(":", 1)[1] for p in _service("chatwright")["ports"]]
    assert published == [env["HTTP_PORT"]]
    assert "os.environ.get('HTTP_PORT'" in _last("HEALTHCHECK")


def test_replicas_use_postgres_from_compose_with_the_shell_password():
    env = effective_environment("chatwright-replicated", ENV_EXAMPLE)
    assert env["DATABASE_URL"] == "postgresql://chatwright:chatwright@postgres:5432/chatwright"
    env = effective_environment("chatwright-replicated", ENV_EXAMPLE, {"POSTGRES_PASSWORD": "s3cret"})
    assert env["DATABASE_URL"].startswith("postgresql://chatwright:s3cret@postgres:5432/")
    assert env["HTTP_HOST"] == "0.0.0.0" and env["DISCORD_TOKEN"] == ""


# --- the image -----------------------------------------------------------------------------

def test_healthcheck_is_liveness_with_a_start_period():
    check = _last("HEALTHCHECK")
    assert re.search(r"--start-period=\d+s", check), check
    assert "/healthz" in check and "/readyz" not in check


def test_base_image_is_python_311_slim_with_how_to_pin_its_digest():
    text = DOCKERFILE.read_text()
    base = re.search(r"ARG PYTHON_IMAGE=(\S+)", text)
    assert base and base.group(1).startswith("python:3.11-slim"), "FROM ${PYTHON_IMAGE}"
    assert _instructions()[1] == ("FROM", "${PYTHON_IMAGE}")
    assert "@sha256:" in text and "imagetools inspect" in text


def test_the_image_installs_with_the_constraints_file():
    copies = [rest.split() for w, rest in _instructions() if w == "COPY"]
    target = next(dst for src, dst in copies if src == "docker/constraints.txt")
    installs = [rest for w, rest in _instructions() if w == "RUN" and "pip install" in rest]
    assert any(f"--constraint {target}" in run and ".[tiktoken]" in run for run in installs), installs


def _wanted() -> list[Requirement]:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    wanted = [Requirement(r) for r in project["dependencies"] + project["optional-dependencies"]["tiktoken"]]
    linux = {**default_environment(), "sys_platform": "linux", "python_version": "3.11"}
    return [r for r in wanted if r.marker is None or r.marker.evaluate(linux)]


def _pins() -> dict[str, str]:
    lines = (ROOT / "docker" / "constraints.txt").read_text().splitlines()
    pairs = (line.split("==") for line in lines if line and not line.startswith("#"))
    return {re.sub(r"[-_.]+", "-", name).lower(): version for name, version in pairs}


def test_constraints_pin_every_dependency_within_pyproject_bounds():
    # Fails when pyproject.toml changes without `python docker/update_constraints.py`.
    pins = _pins()
    for requirement in _wanted():
        name = re.sub(r"[-_.]+", "-", requirement.name).lower()
        assert name in pins, f"{name} is not in docker/constraints.txt: regenerate it"
        assert requirement.specifier.contains(pins[name]), f"{name}=={pins[name]} is outside {requirement}"
    assert "chatwright" not in pins


# --- .dockerignore -------------------------------------------------------------------------

def _ignored(path: str) -> bool:
    """Docker's rule: the last matching pattern wins; a matched directory takes its content."""
    patterns = [p.strip() for p in (ROOT / ".dockerignore").read_text().splitlines()]
    parts = PurePosixPath(path).parts
    prefixes = ["/".join(parts[: i + 1]) for i in range(len(parts))]
    ignored = False
    for pattern in (p for p in patterns if p and not p.startswith("#")):
        negate, pattern = pattern.startswith("!"), pattern.lstrip("!")
        bare = pattern.removeprefix("**/")
        if any(fnmatch.fnmatchcase(prefix, pattern) for prefix in prefixes) or (
            pattern.startswith("**/") and any(fnmatch.fnmatchcase(part, bare) for part in parts)
        ):
            ignored = not negate
    return ignored


@pytest.mark.parametrize("path", [
    ".venv/bin/python", "data/chatwright.db", ".git/HEAD", ".env", ".env.local",
    "core/__pycache__/x.pyc", ".pytest_cache/v", "chatwright.db-wal",
])
def test_dockerignore_keeps_secrets_and_local_state_out_of_the_build(path):
    assert _ignored(path)


def test_dockerignore_keeps_everything_the_dockerfile_copies():
    sources = [rest.split()[:-1] for w, rest in _instructions() if w == "COPY"]
    for source in (s for group in sources for s in group):
        assert (ROOT / source).exists(), source
        assert not _ignored(source), f"{source} is copied but .dockerignore drops it"
