"""The `linli` command as a newcomer runs it: demo, db upgrade, serve with /healthz."""

from __future__ import annotations

import os
import subprocess
import sys
import time

import httpx
import pytest


def _linli(*args, env=None, **kw):
    return subprocess.run([sys.executable, "-m", "bots.cli", *args], capture_output=True, text=True, env=env, timeout=120, **kw)


def test_demo_prints_a_believable_conversation():
    out = _linli("demo")
    assert out.returncode == 0, out.stderr
    text = out.stdout
    assert "编号 #1" in text and "编号 #2" in text  # complaints became tickets
    assert text.count("(邻里助手保持安静)") >= 4  # chatter ignored
    assert "#1 已受理" in text  # a grid worker confirmed
    assert "#2 已办结" in text  # one was resolved
    # staff notices appear in the staff rooms, marked as such, and never in the residents' group
    assert "邻里助手 → 〔幸福社区工作群（演示）〕【紧急】#3" in text
    assert "邻里助手 → 〔幸福社区工作群（演示）〕【上报】#1" in text
    assert "邻里助手 → 〔和平街道工作群（演示）〕【上报】#1" in text
    assert not [line for line in text.splitlines() if "邻里助手 → 【" in line]
    assert "Traceback" not in out.stderr


def test_db_upgrade_migrates_an_empty_database(database_url, tmp_path):
    env = os.environ | {"LINLI_DATABASE_URL": database_url, "LINLI_DATA_DIR": str(tmp_path)}
    out = _linli("db", "upgrade", env=env)
    assert out.returncode == 0, out.stderr
    from core.db import head_revision

    assert f"revision {head_revision()}" in out.stdout


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_serve_starts_with_no_configuration_and_answers_healthz(tmp_path, database_url, unused_port):
    port = unused_port
    env = {k: v for k, v in os.environ.items() if not k.startswith("LINLI_")} | {"LINLI_DATA_DIR": str(tmp_path / "data")}
    proc = subprocess.Popen([sys.executable, "-m", "bots.cli", "serve", "--port", str(port)], env=env, cwd=tmp_path,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                if httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                time.sleep(0.1)
        else:
            pytest.fail("linli serve did not answer /healthz within 30 s")
        assert (tmp_path / "data" / "linli.sqlite3").exists()
        page = httpx.get(f"http://127.0.0.1:{port}/playground")
        assert page.status_code == 200 and "邻里" in page.text
    finally:
        proc.terminate()
        proc.wait(timeout=10)
