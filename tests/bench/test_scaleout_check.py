"""Scale-out: 2 web processes + 1 worker on PostgreSQL + Redis (bench/scaleout_check.py).

A message received by one web process reaches an agent connected to the other; typing and
presence cross processes; a worker killed mid-burst loses and duplicates nothing.
"""

from __future__ import annotations

import glob
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

pytestmark = [pytest.mark.integration]


@pytest.mark.skipif(not glob.glob("/usr/lib/postgresql/*/bin/initdb") or not shutil.which("redis-server"),
                    reason="needs PostgreSQL server binaries and redis-server (scripts/install-system-deps.sh)")
def test_two_web_processes_and_a_worker(tmp_path):
    out = tmp_path / "out.json"
    env = {k: v for k, v in os.environ.items()
           if k not in ("PYTEST_VERSION", "DJANGO_SETTINGS_MODULE", "DATABASE_URL", "REDIS_URL", "TEST_REDIS_URL")}
    result = subprocess.run([sys.executable, "bench/scaleout_check.py", "--burst", "200", "--json", str(out)],
                            cwd=ROOT, env=env, capture_output=True, text=True, timeout=900)
    assert out.exists(), result.stdout[-3000:] + result.stderr[-3000:]
    results = json.loads(out.read_text())
    assert results["message_across_processes"]
    assert results["presence_across_processes"]
    assert results["agent_typing_reaches_widget"] and results["visitor_typing_reaches_agent"]
    kill = results["worker_killed_mid_burst"]
    assert kill["killed_after_rows"] is not None and kill["killed_after_rows"] < kill["posted"]
    assert (kill["stored"], kill["lost"], kill["duplicates"], kill["post_errors"]) == (kill["posted"], 0, 0, 0), kill
    assert result.returncode == 0
