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


@pytest.mark.slow  # a dozen `linli` processes
def test_disable_enable_reset_password_and_sessions_from_the_shell(database_url, tmp_path):
    env = os.environ | {"LINLI_DATABASE_URL": database_url, "LINLI_DATA_DIR": str(tmp_path)}
    assert _linli("account", "create", "wang", "--person", "playground:wangfang", "--password-stdin", env=env,
                  stdin="first password\n").returncode == 0

    from core import accounts, db

    engine = db.make_engine(database_url)
    with db.session_scope(engine) as s:
        wang = accounts.account_named(s, "wang")
        phone, desk = accounts.start_session(s, wang), accounts.start_session(s, wang)
        _, token = accounts.issue_token(s, wang, "ci", "read")

    listed = _linli("account", "sessions", "wang", env=env)
    assert listed.returncode == 0 and listed.stdout.count("session ") == 2 and "expires" in listed.stdout

    out = _linli("account", "disable", "wang", env=env)
    assert out.returncode == 0 and "2 session(s) ended" in out.stdout
    assert "wang\tplayground:wangfang\tgrid_worker\tdisabled" in _linli("account", "list", env=env).stdout
    with db.session_scope(engine) as s:
        assert accounts.account_for_session(s, phone) is None and accounts.account_for_token(s, token) is None
    assert accounts.authenticate(engine, "wang", "first password").account is None

    assert _linli("account", "enable", "wang", env=env).returncode == 0
    with db.session_scope(engine) as s:
        assert accounts.account_for_token(s, token) is not None
        desk = accounts.start_session(s, accounts.account_named(s, "wang"))

    out = _linli("account", "reset-password", "wang", "--password-stdin", env=env, stdin="second password\n")
    assert out.returncode == 0 and "1 session(s) ended" in out.stdout
    assert accounts.authenticate(engine, "wang", "first password").account is None
    assert accounts.authenticate(engine, "wang", "second password").account is not None
    with db.session_scope(engine) as s:
        assert accounts.account_for_session(s, desk) is None
        again = accounts.start_session(s, accounts.account_named(s, "wang"))

    out = _linli("account", "sessions", "wang", "--revoke", env=env)
    assert out.returncode == 0 and "ended 1 session(s)" in out.stdout
    with db.session_scope(engine) as s:
        assert accounts.account_for_session(s, again) is None
    assert "no open sessions" in _linli("account", "sessions", "wang", env=env).stdout
    engine.dispose()


@pytest.mark.slow  # a dozen `linli` processes
def test_account_refusals_are_one_line_and_a_non_zero_exit(database_url, tmp_path, one_line_refusal):
    env = os.environ | {"LINLI_DATABASE_URL": database_url, "LINLI_DATA_DIR": str(tmp_path)}
    assert _linli("account", "create", "boss", "--person", "playground:admin", "--password-stdin", env=env,
                  stdin="a long password\n").returncode == 0
    for args, stdin, says in [
        (("disable", "ghost"), "", "no console account 'ghost'"),
        (("enable", "ghost"), "", "no console account 'ghost'"),
        (("sessions", "ghost", "--revoke"), "", "no console account 'ghost'"),
        (("reset-password", "ghost", "--password-stdin"), "a long password\n", "no console account 'ghost'"),
        (("reset-password", "boss", "--password-stdin"), "short\n", "at least 8 characters"),
        (("create", "boss", "--person", "playground:admin", "--password-stdin"), "a long password\n", "is taken"),
        (("create", "x", "--person", "playground:nobody", "--password-stdin"), "a long password\n", "no person"),
        (("create", "x", "--person", "playground:zhang", "--password-stdin"), "a long password\n", "resident"),
    ]:
        assert says in one_line_refusal(_linli("account", *args, env=env, stdin=stdin)), args
