"""deploy/compose.yaml and docs/deployment.md name only settings medsign has."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import yaml

from medsign.settings import Settings

ROOT = Path(__file__).resolve().parents[2]
SETTINGS = {f"MEDSIGN_{name.upper()}" for name in Settings.model_fields}
CLIENT_ONLY = {"MEDSIGN_URL", "MEDSIGN_TOKEN"}  # read by `medsign send`, not the service


def _compose() -> dict[str, Any]:
    data: dict[str, Any] = yaml.safe_load((ROOT / "deploy" / "compose.yaml").read_text())
    return data


def test_compose_runs_the_scaled_out_picture() -> None:
    services = _compose()["services"]
    assert {"postgres", "minio", "bucket", "migrate", "web", "worker", "proxy"} <= set(services)
    assert services["migrate"]["command"] == ["medsign", "db", "upgrade"]
    assert "--no-worker" in services["web"]["command"]
    assert services["worker"]["command"][:2] == ["medsign", "worker"]
    for name in ("web", "worker"):
        needs = services[name]["depends_on"]
        assert needs["migrate"]["condition"] == "service_completed_successfully"
        assert needs["bucket"]["condition"] == "service_completed_successfully"


def test_compose_settings_exist_and_hold_no_secrets() -> None:
    env: dict[str, str] = _compose()["services"]["web"]["environment"]
    medsign = {k for k in env if k.startswith("MEDSIGN_")}
    assert medsign <= SETTINGS, medsign - SETTINGS
    literal = {
        k.removeprefix("MEDSIGN_").lower(): v
        for k, v in env.items()
        if k in medsign and "${" not in v
    }
    assert "storage_url" in literal and "s3_endpoint_url" in literal
    Settings.model_validate(literal)  # the storage URL and endpoint pass validation
    for name in ("MEDSIGN_SECRET_KEY", "AWS_SECRET_ACCESS_KEY", "AWS_ACCESS_KEY_ID"):
        assert re.fullmatch(r"\$\{\w+:\?[^}]+\}", env[name]), f"{name} must come from .env"
    assert "POSTGRES_PASSWORD:?" in env["MEDSIGN_DATABASE_URL"]


def test_deployment_doc_names_real_settings() -> None:
    text = (ROOT / "docs" / "deployment.md").read_text()
    named = set(re.findall(r"MEDSIGN_[A-Z0-9_]+", text))
    assert {"MEDSIGN_STORAGE_URL", "MEDSIGN_SECRET_KEY", "MEDSIGN_S3_ENDPOINT_URL"} <= named
    assert named <= SETTINGS | CLIENT_ONLY, named - SETTINGS
    readme = (ROOT / "README.md").read_text()
    for name in ("MEDSIGN_STORAGE_URL", "MEDSIGN_S3_ENDPOINT_URL"):
        assert f"| `{name}` |" in readme
