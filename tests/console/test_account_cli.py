"""`linli account` as an operator runs it: the first admin account, then a token that works against the API."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

pytestmark = pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)


def _linli(*args, env, stdin=""):
    return subprocess.run([sys.executable, "-m", "bots.cli", *args], input=stdin, capture_output=True, text=True,
                          env=env, timeout=120)


def test_create_the_first_admin_then_list_and_issue_a_token(database_url, tmp_path):
    env = os.environ | {"LINLI_DATABASE_URL": database_url, "LINLI_DATA_DIR": str(tmp_path)}
    out = _linli("account", "create", "boss", "--person", "playground:admin", "--password-stdin", env=env, stdin="a long password\n")
    assert out.returncode == 0, out.stderr
    assert "区指挥中心" in out.stdout and "every grid" in out.stdout
    assert "boss\tplayground:admin\tadmin\tactive" in _linli("account", "list", env=env).stdout
    token = _linli("account", "token", "boss", "--write", env=env).stdout.strip()
    assert token.startswith("linli_")

    from core import accounts, db

    engine = db.make_engine(database_url)
    with db.session_scope(engine) as s:
        account, scopes = accounts.account_for_token(s, token)
        assert account.username == "boss" and scopes == {"read", "write"}
    assert accounts.authenticate(engine, "boss", "a long password").account is not None
    engine.dispose()


def test_refusals_say_why(database_url, tmp_path):
    env = os.environ | {"LINLI_DATABASE_URL": database_url, "LINLI_DATA_DIR": str(tmp_path)}
    out = _linli("account", "create", "zhang", "--person", "playground:zhang", "--password-stdin", env=env, stdin="a long password\n")
    assert out.returncode == 2 and "resident" in out.stderr
    out = _linli("account", "create", "x", "--person", "playground:admin", "--password-stdin", env=env, stdin="short\n")
    assert out.returncode == 2 and "at least 8 characters" in out.stderr
    out = _linli("account", "token", "nobody", env=env)
    assert out.returncode == 2 and "no console account" in out.stderr
