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


def test_db_upgrade_migrates_an_empty_database(empty_database_url, tmp_path):
    database_url = empty_database_url
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


def _clean_env(**linli) -> dict:
    return {k: v for k, v in os.environ.items() if not k.startswith("LINLI_")} | linli


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_commands_create_a_data_directory_that_does_not_exist_yet(tmp_path, database_url):
    env = _clean_env(LINLI_DATA_DIR=str(tmp_path / "fresh" / "data"))
    out = _linli("db", "upgrade", env=env)
    assert out.returncode == 0, out.stderr
    assert (tmp_path / "fresh" / "data" / "linli.sqlite3").exists()
    env = _clean_env(LINLI_DATA_DIR=str(tmp_path / "other" / "data"))
    out = _linli("account", "create", "boss", "--person", "playground:admin", "--password-stdin", env=env,
                 input="a long password\n")
    assert out.returncode == 0 and "created console account" in out.stdout, out.stderr
    env = _clean_env(LINLI_DATA_DIR=str(tmp_path / "third" / "data"))
    out = _linli("account", "list", env=env)
    assert out.returncode == 0 and out.stdout == "", out.stderr


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
@pytest.mark.parametrize(("setting", "says"), [
    ({"LINLI_DATABASE_URL": "not a url"}, "LINLI_DATABASE_URL 'not a url' is not a database URL"),
    ({"LINLI_DATABASE_URL": "mysql://linli:hunter2@db/linli"}, "linli runs on SQLite or PostgreSQL"),
    ({"LINLI_DATABASE_URL": "postgresql://linli:hunter2@127.0.0.1:1/linli"}, "cannot use the database postgresql://linli:***@"),
    ({"LINLI_LOG_FORMAT": "xml"}, "LINLI_LOG_FORMAT"),
    ({"LINLI_DATA_DIR": "/proc/version/data"}, "/proc/version"),
], ids=["garbage-url", "other-database", "unreachable-postgres", "bad-setting", "data-dir-not-creatable"])
def test_database_and_setting_errors_are_one_line(tmp_path, database_url, setting, says, one_line_refusal):
    env = _clean_env(LINLI_DATA_DIR=str(tmp_path)) | setting
    for args in (("db", "upgrade"), ("account", "list")):
        stderr = one_line_refusal(_linli(*args, env=env))
        assert says in stderr and "hunter2" not in stderr, stderr


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_an_unreadable_grids_file_is_one_line(tmp_path, database_url, one_line_refusal):
    garbage = tmp_path / "grids.yaml"
    garbage.write_bytes(b"\xff\xfe\x00grids")
    for grids, says in ((tmp_path / "missing.yaml", "does not exist"), (tmp_path, "cannot be read"), (garbage, "cannot be read")):
        env = _clean_env(LINLI_DATA_DIR=str(tmp_path / "data"), LINLI_GRIDS_FILE=str(grids))
        out = _linli("account", "create", "x", "--person", "playground:admin", "--password-stdin", env=env,
                     input="a long password\n")
        assert says in one_line_refusal(out)


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_serve_refuses_a_public_address_with_the_default_secret_key(tmp_path, database_url, one_line_refusal):
    env = _clean_env(LINLI_DATA_DIR=str(tmp_path / "data"))
    for host in ("0.0.0.0", "::", "192.0.2.10", "linli.example.org"):
        stderr = one_line_refusal(_linli("serve", "--host", host, "--port", "9", env=env))
        assert "LINLI_SECRET_KEY" in stderr and "secrets.token_urlsafe" in stderr
    assert not (tmp_path / "data").exists()  # refused before touching anything


def test_only_loopback_hosts_may_keep_the_default_secret_key():
    from bots.cli import default_secret_refusal
    from config.settings import DEFAULT_SECRET_KEY

    for host in ("127.0.0.1", "127.0.0.53", "::1", "[::1]", "localhost", "LOCALHOST"):
        assert default_secret_refusal(host, DEFAULT_SECRET_KEY) is None, host
    for host in ("0.0.0.0", "::", "10.0.0.5", "example.org"):
        assert default_secret_refusal(host, DEFAULT_SECRET_KEY), host
        assert default_secret_refusal(host, "a long random value from secrets.token_urlsafe") is None
        assert "shorter than 16" in default_secret_refusal(host, "short")
