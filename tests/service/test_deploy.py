"""The systemd unit in ``deploy/`` is one systemd accepts (``systemd-analyze verify``), runs what the wheel
installs, and keeps the hardening the operations guide promises."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

UNIT = Path(__file__).resolve().parents[2] / "deploy" / "khcn-workflow.service"


def test_the_unit_is_valid_and_hardened(tmp_path: Path) -> None:
    text = UNIT.read_text(encoding="utf-8")
    for line in ("User=khcn-workflow", "StateDirectory=khcn-workflow", "EnvironmentFile=-/etc/khcn-workflow/env",
                 "NoNewPrivileges=yes", "ProtectSystem=strict", "ProtectHome=yes", "PrivateTmp=yes",
                 "CapabilityBoundingSet=", "KillSignal=SIGTERM"):
        assert f"\n{line}\n" in text, line
    assert "ExecStart=/opt/khcn-workflow/bin/workflow serve" in text
    if shutil.which("systemd-analyze") is None:
        pytest.skip("systemd-analyze is not installed: the unit's syntax is not checked here")
    # verify checks that the commands exist: point them at this environment's console script
    local = tmp_path / UNIT.name
    local.write_text(text.replace("/opt/khcn-workflow/bin/workflow", str(Path(sys.executable).parent / "workflow")),
                     encoding="utf-8")
    done = subprocess.run(["systemd-analyze", "verify", str(local)], capture_output=True, text=True, timeout=120,
                          check=False)
    assert done.returncode == 0, done.stdout + done.stderr
    assert done.stderr.strip() == "", done.stderr
