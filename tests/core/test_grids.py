"""The grids file: validated as a whole, loaded idempotently, hierarchy and permissions."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlmodel import Session, select

from config.settings import CONFIG_DIR
from core.grids import GridsFileError, ancestors, grid_by_alias, load_into_db, read_grids_file
from core.models import Chat, Person
from core.people import can_manage, workers_for

EXAMPLE = CONFIG_DIR / "grids.example.yaml"


def test_example_binds_a_chat_of_every_platform_and_names_grid_workers():
    spec = read_grids_file(EXAMPLE)
    platforms = {c.chat.split(":", 1)[0] for c in spec.chats}
    assert {"playground", "telegram", "wechat", "wecom", "wecom-bot"} <= platforms
    workers = [a for p in spec.people if p.role == "grid_worker" for a in p.accounts]
    for platform in ("playground", "telegram", "wecom", "wecom-bot"):
        assert any(a.startswith(platform + ":") for a in workers), platform


def _write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "grids.yaml"
    path.write_text(text, encoding="utf-8")
    return path


def test_every_problem_is_reported_with_its_place(tmp_path):
    path = _write(tmp_path, """
grids:
  - {id: d, name: 区, level: district}
  - {id: g, name: 网格, level: grid, parent: nowhere}
  - {id: s, name: 街道, level: street, parent: g}
chats:
  - {chat: "no-colon", grid: d}
  - {chat: "telegram:1", grid: missing}
people:
  - {name: 甲, role: grid_worker, grid: d, accounts: ["bad"]}
""")
    with pytest.raises(GridsFileError) as err:
        read_grids_file(path)
    text = str(err.value)
    for expected in ("'nowhere' is not declared", "cannot sit under", "platform:chat_id", "'missing' is not declared", "platform:user_id"):
        assert expected in text


def test_unknown_role_and_bad_yaml_are_clear_errors(tmp_path):
    with pytest.raises(GridsFileError, match="role"):
        read_grids_file(_write(tmp_path, "grids: [{id: d, name: x, level: district}]\npeople: [{name: a, role: mayor, accounts: ['x:1']}]"))
    with pytest.raises(GridsFileError, match="not valid YAML"):
        read_grids_file(_write(tmp_path, "grids: [unclosed"))
    with pytest.raises(GridsFileError, match="LINLI_GRIDS_FILE"):
        read_grids_file(tmp_path / "absent.yaml")


def test_loading_twice_changes_nothing(runtime):
    spec = read_grids_file(EXAMPLE)
    with Session(runtime.engine) as session:
        load_into_db(session, spec)
        session.commit()
        people = len(session.exec(select(Person)).all())
        chats = len(session.exec(select(Chat)).all())
        assert people == sum(len(p.accounts) for p in spec.people)
        assert chats == len(spec.chats)
        assert session.get(Chat, "wechat:wx1234567890abcdef").is_group is False


def test_grid_workers_manage_their_grid_and_everything_below(runtime):
    with Session(runtime.engine) as session:
        def person(key):
            return session.exec(select(Person).where(Person.key == key)).one()

        assert [g.id for g in ancestors(session, "xingfu-1")] == ["xingfu-1", "xingfu", "heping", "xinhua"]
        assert can_manage(session, person("playground:wangfang"), "xingfu-1")
        assert not can_manage(session, person("playground:wangfang"), "xingfu-2")
        assert not can_manage(session, person("playground:zhaomin"), "xingfu-1")
        assert can_manage(session, person("playground:chenshuji"), "xingfu-2")  # community level
        assert can_manage(session, person("playground:admin"), "anle-1")
        assert not can_manage(session, person("playground:zhang"), "xingfu-1")  # a resident
        assert [p.key for p in workers_for(session, "xingfu-1")][0] == "playground:wangfang"
        assert grid_by_alias(session, "我住幸福小区3栋").id == "xingfu"
