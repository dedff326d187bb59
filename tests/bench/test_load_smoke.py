"""A tiny run of the load benchmark (bench/load.py --smoke): not timed, only correct.

Every webhook posted is stored exactly once and reaches the agent's socket, every agent reply
reaches the visitor's widget socket, no POST fails. Runs on the embedded default; with
``BENCH_SMOKE_SCALEOUT=1`` also on PostgreSQL + Redis with 2 web processes and a worker.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

pytestmark = [pytest.mark.integration]

SETUPS = ["embedded"] + (["scaleout"] if os.environ.get("BENCH_SMOKE_SCALEOUT") else [])


@pytest.mark.parametrize("setup", SETUPS)
def test_smoke_run_loses_and_duplicates_nothing(setup, tmp_path):
    out = tmp_path / "out.json"
    env = {k: v for k, v in os.environ.items()
           if k not in ("PYTEST_VERSION", "DJANGO_SETTINGS_MODULE", "DATABASE_URL", "REDIS_URL", "TEST_REDIS_URL")}
    result = subprocess.run([sys.executable, "bench/load.py", "--setup", setup, "--smoke", "--json", str(out)],
                            cwd=ROOT, env=env, capture_output=True, text=True, timeout=900)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    phases = json.loads(out.read_text())["phases"]
    for name in ("burst_bot", "burst_nobot"):
        burst = phases[name]
        assert (burst["errors"], burst["lost"], burst["duplicates"]) == (0, 0, 0), burst
    assert phases["burst_bot"]["bot_replies"] == phases["burst_bot"]["count"]
    for name, figures in phases["socket"].items():
        assert figures["sent"] > 0 and figures["missing"] == 0 and figures["errors"] == 0, (name, figures)
    assert phases["socket_counts"]["failed"] == 0 and phases["socket_counts"]["closed_early"] == 0
