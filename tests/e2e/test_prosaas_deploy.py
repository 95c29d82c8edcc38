"""The example's deployment files: docker-compose.yml and the Dockerfile.

Docker cannot run in the test environment, so these tests read the files: every service the
README describes exists, starts with the documented command and role, has a health check
through `rqjobs health`, and starts in the deploy order (scheduler, workers, api).
"""

from __future__ import annotations

import re

import pytest
import yaml
from prosaas_support import EXAMPLE, REPO

COMPOSE = EXAMPLE / "docker-compose.yml"
DOCKERFILE = EXAMPLE / "Dockerfile"
DEPLOY_ORDER = ("Scheduler", "Workers", "API")


@pytest.fixture(scope="module")
def services() -> dict:
    data = yaml.safe_load(COMPOSE.read_text())
    return data["services"]


def _role(service: dict) -> str:
    return service["environment"]["SERVICE_ROLE"]


def test_compose_has_redis_api_two_workers_two_schedulers(services: dict) -> None:
    assert sorted(services) == [
        "api",
        "redis",
        "scheduler-1",
        "scheduler-2",
        "worker-1",
        "worker-2",
    ]
    assert services["redis"]["image"].startswith("redis:")
    assert services["redis"]["healthcheck"]["test"] == ["CMD", "redis-cli", "ping"]
    for name, service in services.items():
        if name == "redis":
            continue
        build = service["build"]
        assert (COMPOSE.parent / build["context"]).resolve() == REPO, name
        assert (REPO / build["dockerfile"]).resolve() == DOCKERFILE.resolve(), name


def test_each_service_runs_the_documented_command_in_its_role(services: dict) -> None:
    for name in ("scheduler-1", "scheduler-2"):
        command = services[name]["command"]
        assert command[:2] == ["rqjobs", "scheduler"]
        assert command[command.index("--schedule") + 1] == "prosaas.schedule:SCHEDULE"
        assert command[command.index("--tick") + 1] == "15"
        assert _role(services[name]) == "scheduler"
    for name in ("worker-1", "worker-2"):
        command = services[name]["command"]
        assert command[:2] == ["rqjobs", "worker"]
        # The workers read every queue the wrapper declares, and only those.
        assert command[2:] == services[name]["environment"]["RQJOBS_QUEUES"].split(",")
        assert _role(services[name]) == "worker"
    api = services["api"]
    assert api["command"][0] == "gunicorn" and api["command"][-1] == "prosaas.wsgi:app"
    assert _role(api) == "api"
    assert api["ports"] == ["8000:8000"]


def test_every_app_service_has_an_rqjobs_health_check(services: dict) -> None:
    for name, service in services.items():
        if name == "redis":
            continue
        check = service["healthcheck"]
        assert check["test"] == ["CMD", "rqjobs", "health"], name
        assert check["retries"] >= 1 and check["interval"].endswith("s")
        assert service["environment"]["REDIS_URL"] == "redis://redis:6379/0"
        assert "INTERNAL_SECRET" in service["environment"]


def test_start_order_is_scheduler_then_workers_then_api(services: dict) -> None:
    def after(name: str) -> set[str]:
        return set(services[name].get("depends_on", {}))

    assert after("scheduler-1") == {"redis"} and after("scheduler-2") == {"redis"}
    assert after("worker-1") == {"scheduler-1"} and after("worker-2") == {"scheduler-1"}
    assert after("api") == {"worker-1", "worker-2"}
    for name in ("worker-1", "worker-2", "api"):
        for dependency in services[name]["depends_on"].values():
            assert dependency["condition"] == "service_healthy"


def test_queues_in_compose_match_the_wrapper(services: dict) -> None:
    wrapper = (EXAMPLE / "app" / "prosaas" / "services" / "jobs.py").read_text()
    declared = re.search(r"^QUEUES = \((.*?)\)$", wrapper, re.M | re.S)
    assert declared is not None
    names = re.findall(r'"([a-z]+)"', declared.group(1))
    assert services["worker-1"]["environment"]["RQJOBS_QUEUES"].split(",") == names


def test_dockerfile_installs_the_runtime_and_serves_the_app() -> None:
    text = DOCKERFILE.read_text()
    assert text.startswith("#") and re.search(r"^FROM python:3\.\d+-slim$", text, re.M)
    assert 'pip install "/src/runtime[flask,metrics]" "gunicorn>=21"' in text
    assert "COPY examples/prosaas/app /srv/app" in text
    assert "ENV PYTHONPATH=/srv/app" in text
    assert re.search(r"^USER prosaas$", text, re.M)
    cmd = re.search(r"^CMD (\[.*?\])$", text, re.M | re.S)
    assert cmd is not None
    argv = yaml.safe_load(cmd.group(1).replace("\\\n", ""))
    assert argv[0] == "gunicorn" and argv[-1] == "prosaas.wsgi:app"


def test_dockerfile_copies_paths_that_exist_and_extras_that_exist() -> None:
    import sys

    if sys.version_info >= (3, 11):
        import tomllib
    else:  # pragma: no cover
        import tomli as tomllib

    text = DOCKERFILE.read_text()
    sources = []
    for match in re.finditer(r"^COPY (.+) \S+$", text, re.M):
        sources += match.group(1).split()
    # The image installs the runtime distribution alone: no linter, flake8 or libcst.
    assert sources == ["runtime", "examples/prosaas/app"]
    for source in sources:  # the build context is the repository root
        assert (REPO / source).exists(), source
    extras = tomllib.loads((REPO / "runtime" / "pyproject.toml").read_text())["project"][
        "optional-dependencies"
    ]
    assert {"flask", "metrics"} <= set(extras)


def test_the_readme_documents_the_same_commands() -> None:
    readme = (EXAMPLE / "README.md").read_text()
    for command in (
        "rqjobs scheduler --schedule prosaas.schedule:SCHEDULE --tick 15",
        "rqjobs worker webhooks calls notifications recordings leads reminders default",
        "gunicorn --bind 0.0.0.0:8000",
        "rqjobs health",
    ):
        assert command in readme, command
    deploy = readme[readme.index("## Deploy order") :]
    steps = [deploy.index(f"{n}. **{name}**") for n, name in enumerate(DEPLOY_ORDER, 1)]
    assert steps == sorted(steps)
