"""What the studio ships with to run anywhere: docker-compose.yml, the Dockerfile, .env.example,
the README's commands and the lock files. No Docker engine runs where the suite does, so each
is checked by what can be checked without one: parsed, cross-referenced, and its commands run.
"""

from __future__ import annotations

import json
import os
import re
import shlex
import subprocess
import sys
import time
from importlib import metadata

import httpx
import pytest
import yaml
from django.core.management import get_commands
from packaging.requirements import Requirement

from studio.ops import heartbeat
from tests.conftest import ROOT, database_url
from tests.servers import free_port

STUDIO_SERVICES = ("migrate", "web", "worker")  # the ones that run our image
IMAGE = "pixapi-studio"


def read(name: str) -> str:
    return (ROOT / name).read_text()


@pytest.fixture(scope="module")
def compose() -> dict:
    return yaml.safe_load(read("docker-compose.yml"))


def studio_variables() -> set[str]:
    """Every environment variable the studio reads: the settings, and os.environ elsewhere."""
    names = set(re.findall(r'\benv[a-z]*\("([A-Z][A-Z0-9_]+)"', read("studio/settings.py")))
    for path in (ROOT / "studio").rglob("*.py"):
        names |= set(re.findall(r'os\.environ\.get\("([A-Z][A-Z0-9_]+)"', path.read_text()))
    return names


def env_example() -> set[str]:
    return set(re.findall(r"^#? ?([A-Z][A-Z0-9_]+)=", read(".env.example"), re.MULTILINE))


def interpolated(text: str) -> set[str]:
    """The ${VAR}, ${VAR:-default} and ${VAR:?message} a compose file takes from .env."""
    return set(re.findall(r"\$\{([A-Z][A-Z0-9_]*)", text))


def test_the_compose_file_runs_web_workers_and_their_servers(compose):
    services = compose["services"]
    assert set(services) == {*STUDIO_SERVICES, "postgres", "redis", "minio"}
    for name in STUDIO_SERVICES:
        assert services[name]["image"] == IMAGE and services[name]["build"] == "."
    # `docker compose up --scale worker=3` needs a worker with no fixed name or host port.
    assert "container_name" not in services["worker"] and "ports" not in services["worker"]
    assert services["worker"]["command"] == ["python", "manage.py", "qcluster"]
    assert "migrate --noinput" in " ".join(services["migrate"]["command"])
    for name in ("web", "worker"):  # both wait for the one migration run
        assert services[name]["depends_on"] == {
            "migrate": {"condition": "service_completed_successfully"}
        }
    for name in ("postgres", "redis", "minio"):
        assert services["migrate"]["depends_on"][name] == {"condition": "service_healthy"}


def test_every_long_running_service_has_a_health_check_and_data_is_in_named_volumes(compose):
    services = compose["services"]
    for name in ("worker", "postgres", "redis", "minio"):
        check = services[name]["healthcheck"]
        assert check["test"][0] == "CMD" and check["interval"], name
    # The web's is the image's own, on the /healthz the suite tests elsewhere.
    assert "healthcheck" not in services["web"]
    assert "HEALTHCHECK" in read("Dockerfile") and "/healthz" in read("Dockerfile")
    mounted = {
        volume.split(":")[0]
        for service in services.values()
        for volume in service.get("volumes", [])
    }
    assert mounted == set(compose["volumes"])  # each named, declared and used
    assert all(not name.startswith((".", "/")) for name in mounted)  # no bind mounts


def test_the_studio_services_name_only_variables_the_studio_reads(compose):
    known = studio_variables()
    for name in STUDIO_SERVICES:
        unknown = set(compose["services"][name]["environment"]) - known
        assert not unknown, f"{name} sets {unknown}, which the studio never reads"
    assert {"SECRET_KEY", "DATABASE_URL", "REDIS_URL", "S3_BUCKET"} <= set(
        compose["services"]["web"]["environment"]
    )


def test_env_example_lists_every_variable_and_compose_takes_nothing_else():
    listed = env_example()
    compose_own = interpolated(read("docker-compose.yml")) - studio_variables()
    assert studio_variables() <= listed, studio_variables() - listed
    assert listed - studio_variables() == compose_own  # POSTGRES_PASSWORD and MinIO's pair
    assert interpolated(read("docker-compose.yml")) <= listed


def test_the_readme_documents_every_variable():
    readme = read("README.md")
    missing = {name for name in studio_variables() if f"`{name}`" not in readme}
    assert not missing, f"README's Configuration table lacks {missing}"


def docker_runs(text: str) -> set[str]:
    """The commands run in our image by `docker run … pixapi-studio COMMAND` lines."""
    commands = set()
    for line in text.splitlines():
        line = line.split("  #")[0].lstrip("# ").strip()
        if line.startswith("docker run") and f" {IMAGE}" in line:
            commands.add(line.split(f" {IMAGE}", 1)[1].strip())
    return commands


def test_the_readme_runs_the_image_with_the_commands_the_dockerfile_and_compose_use(compose):
    readme, dockerfile = read("README.md"), read("Dockerfile")
    cmd = json.loads(re.search(r"^CMD (\[.*\])$", dockerfile, re.MULTILINE)[1])
    assert cmd[:2] == ["gunicorn", "studio.wsgi"]
    assert "command" not in compose["services"]["web"]  # the web role is the image's CMD
    in_compose = {shlex.join(compose["services"]["worker"]["command"])}
    in_compose |= set(compose["services"]["migrate"]["command"][2].split(" && "))
    assert docker_runs(readme) == docker_runs(dockerfile)
    assert docker_runs(readme) == {
        "",
        "python manage.py qcluster",
        "python manage.py migrate --noinput",
    }
    assert docker_runs(readme) - {""} <= in_compose
    in_header = re.findall(
        r"^#   (docker compose .*?)(?:  +#.*)?$", read("docker-compose.yml"), re.M
    )
    assert len(in_header) == 2
    for line in in_header:
        assert line in readme
    assert "docker compose up -d --scale worker=3" in readme
    for command in re.findall(r"manage\.py ([a-z_]+)", readme + dockerfile + str(compose)):
        assert command in get_commands(), f"manage.py {command} does not exist"


def test_every_file_the_dockerfile_copies_exists_and_it_installs_the_lock():
    dockerfile = read("Dockerfile")
    for source in re.findall(r"^COPY (?!--from)(\S+)", dockerfile, re.MULTILINE):
        assert (ROOT / source).exists(), source
    assert "pip install --no-deps -r requirements.lock" in dockerfile


@pytest.mark.slow
def test_the_dockerfiles_build_step_and_command_serve_the_studio(
    tmp_path, transactional_db, settings
):
    """Run collectstatic as the image's build does, then the image's CMD (on a free port)."""
    dockerfile = read("Dockerfile")
    env = {
        **os.environ,
        "DATABASE_URL": database_url(),
        "SECRET_KEY": settings.SECRET_KEY,
        "STUDIO_DATA_DIR": str(tmp_path / "data"),
        "STATIC_ROOT": str(tmp_path / "static"),
        "STATIC_MANIFEST": "true",
    }
    build = re.search(r"RUN (SECRET_KEY=.*?collectstatic[^\n]*)", dockerfile, re.DOTALL)[1]
    assert "STATIC_MANIFEST=true" in build
    subprocess.run(
        [sys.executable, "manage.py", "collectstatic", "--noinput", "-v", "0"],
        cwd=ROOT,
        env=env,
        check=True,
    )
    manifest = json.loads((tmp_path / "static" / "staticfiles.json").read_text())["paths"]
    cmd = json.loads(re.search(r"^CMD (\[.*\])$", dockerfile, re.MULTILINE)[1])
    port = free_port()
    cmd[cmd.index("--bind") + 1] = f"127.0.0.1:{port}"
    cmd[cmd.index("--workers") + 1] = "1"
    heartbeat.beat()  # as a worker would: /healthz wants one alive
    web = subprocess.Popen(
        [sys.executable, "-m", *cmd], cwd=ROOT, env=env, stderr=subprocess.DEVNULL
    )
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                health = httpx.get(f"http://127.0.0.1:{port}/healthz")
                break
            except httpx.TransportError:
                assert web.poll() is None and time.monotonic() < deadline
                time.sleep(0.2)
        assert health.status_code == 200 and health.text == "ok\n"
        some_css = next(name for name in manifest if name.endswith(".css"))
        static = httpx.get(f"http://127.0.0.1:{port}/static/{manifest[some_css]}")
        assert static.status_code == 200 and "immutable" in static.headers["cache-control"]
    finally:
        web.terminate()
        web.wait(timeout=15)


def pins(lock: str) -> dict[str, str]:
    found = re.findall(r"^([A-Za-z0-9_.-]+)==(\S+)", read(lock), re.MULTILINE)
    return {canonical(name): version for name, version in found}


def canonical(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def declared(*extras: str) -> list[Requirement]:
    import tomllib

    project = tomllib.loads(read("pyproject.toml"))["project"]
    requirements = list(project["dependencies"])
    for extra in extras:
        requirements += project["optional-dependencies"][extra]
    return [Requirement(r) for r in requirements]


@pytest.mark.parametrize(
    ("lock", "extras"),
    [
        ("requirements.lock", ("postgres", "s3")),
        ("requirements-test.lock", ("postgres", "s3", "test")),
    ],
)
def test_the_lock_files_pin_every_declared_dependency_within_its_range(lock, extras):
    pinned = pins(lock)
    for requirement in declared(*extras):
        version = pinned.get(canonical(requirement.name))
        assert version, f"{lock} lacks {requirement.name}: run `make lock`"
        assert requirement.specifier.contains(version), f"{lock}: {requirement} vs {version}"


def test_the_runtime_lock_agrees_with_the_test_lock_and_the_suite_runs_on_it():
    runtime, test = pins("requirements.lock"), pins("requirements-test.lock")
    assert {name: test.get(name) for name in runtime} == runtime
    installed = {name: metadata.version(name) for name in test}
    assert installed == test, "the virtualenv is not the lock: run `make test` to reinstall"
