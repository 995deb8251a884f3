"""The built wheel works outside the checkout: installed into a fresh virtual environment in a temporary folder
(nothing of the repository on the path), it creates a database, loads the workflows, registry and plan it ships,
serves the log-in page and the API, takes one transition and verifies its history."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import httpx

from tests.servers import ServeLog

ROOT = Path(__file__).resolve().parents[2]


def _run(args: list[str], cwd: Path, env: dict[str, str], timeout: float = 900) -> str:
    done = subprocess.run(args, cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout, check=False)
    assert done.returncode == 0, f"{' '.join(args)}\n{done.stdout[-2000:]}\n{done.stderr[-4000:]}"
    return done.stdout


SAMPLE = {"string": "kiểm tra", "text": "kiểm tra cài đặt", "integer": 1, "decimal": "1", "boolean": True,
          "document": "1/KT-CNTT"}


def _fireable(c: httpx.Client) -> tuple[int, dict[str, Any], int]:
    """An instance of the shipped plan and an event the key's officer (of the standing body) may fire with a payload
    made of plain values (no dates, agencies or guards), as the request body; and the instance's version."""
    for instance in c.get("/api/v1/instances", params={"limit": 200}).json()["items"]:
        definition = c.get(f"/api/v1/definitions/{instance['definition']}",
                           params={"version": instance["definition_version"]}).json()
        for t in definition["transitions"]:
            sources = t["source"] if isinstance(t["source"], list) else [t["source"]]
            required = {name: f for name, f in (t.get("payload") or {}).items() if f.get("required")}
            if (t["event"] not in instance["allowed_events"] or instance["state"] not in sources
                    or t.get("guard")
                    or any(f["type"] not in SAMPLE and not (f["type"] == "enum" and f.get("values"))
                           for f in required.values())):
                continue
            payload = {name: f["values"][0] if f["type"] == "enum" else SAMPLE[f["type"]]
                       for name, f in required.items()}
            body = {"event": t["event"], "payload": payload,
                    "reason": "kiểm tra cài đặt" if t.get("reason_required") else None}
            return instance["id"], body, instance["version"]
    raise AssertionError("no instance of the shipped plan has an event its officer can fire with plain values")


def test_the_wheel_runs_outside_the_checkout(tmp_path: Path) -> None:
    source = tmp_path / "source"  # a copy: building in the checkout would leave build/ and *.egg-info in it
    shutil.copytree(ROOT, source, ignore=shutil.ignore_patterns(".git", ".venv", "var", "test-artifacts", "build",
                                                                "*.egg-info", "__pycache__", "node_modules"))
    wheels = tmp_path / "wheels"
    _run([sys.executable, "-m", "pip", "wheel", "--quiet", "--disable-pip-version-check", "--no-deps", "-w",
          str(wheels), str(source)], tmp_path, dict(os.environ))
    wheel = next(wheels.glob("khcn_workflow-*.whl"))
    venv = tmp_path / "venv"
    env = {k: v for k, v in os.environ.items() if not k.startswith(("WORKFLOW_", "PYTHON", "VIRTUAL_ENV"))}
    _run([sys.executable, "-m", "venv", str(venv)], tmp_path, env)
    _run([str(venv / "bin" / "python"), "-m", "pip", "install", "--quiet", "--disable-pip-version-check",
          str(wheel)], tmp_path, env)
    site = _run([str(venv / "bin" / "python"), "-c", "import service, sys; print(service.__file__)"], tmp_path, env)
    assert str(ROOT) not in site  # the installed package, not the checkout

    work = tmp_path / "office"
    work.mkdir()
    env["WORKFLOW_DATABASE_URL"] = f"sqlite:///{work / 'workflow.db'}"
    workflow = str(venv / "bin" / "workflow")
    _run([workflow, "init"], work, env)
    loaded = json.loads(_run([workflow, "--json", "definitions", "load"], work, env))
    assert len(loaded) >= 5
    assert json.loads(_run([workflow, "--json", "agencies", "load"], work, env))["added"]
    assert json.loads(_run([workflow, "--json", "plan", "load"], work, env))["created"]
    _run([workflow, "accounts", "create", "can.bo", "--name", "Cán bộ Sở KH&CN", "--role", "officer", "--agency",
          "SKHCN", "--no-password"], work, env)  # a key belongs to an account; the plan's acts to its bodies
    token = json.loads(_run([workflow, "--json", "keys", "create", "--account", "can.bo", "--name", "wheel"],
                            work, env))["key"]

    server = subprocess.Popen([workflow, "serve", "--port", "0"], cwd=work, env=env, stdout=subprocess.DEVNULL,
                              stderr=subprocess.PIPE, text=True)
    assert server.stderr is not None
    log = ServeLog(server.stderr)
    try:
        url = str(log.wait("ready")["url"])
        login = httpx.get(f"{url}/login", timeout=30)
        assert login.status_code == 200, login.text[:500]
        assert "<form" in login.text
        with httpx.Client(base_url=url, headers={"Authorization": f"Bearer {token}"}, timeout=30) as c:
            instance_id, body, version = _fireable(c)
            fired = c.post(f"/api/v1/instances/{instance_id}/events", json=body)
            assert fired.status_code == 200, fired.text
            assert fired.json()["version"] == version + 1
    finally:
        server.terminate()
        server.wait(timeout=120)
        log.wait_closed()
    verified = subprocess.run([workflow, "--json", "audit", "verify"], cwd=work, env=env, capture_output=True,
                              text=True, timeout=600, check=False)
    assert verified.returncode == 0, verified.stdout + verified.stderr
    assert json.loads(verified.stdout)["ok"] is True
