"""The pure pieces of follow-up questions and duplicate detection, the pending-question store on SQLite and
PostgreSQL, and the measured figures: duplicate-pair precision/recall on the held-out pairs, how often the
classifier's unsure messages are asked about."""

from __future__ import annotations

import subprocess
import sys
from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa
from sqlmodel import Session

from core import dialogue
from core.classifier import CONFIG_DIR
from core.classifier.corpus import load_examples
from core.classify import classify
from core.db import make_engine, upgrade
from core.dialogue import QuestionKind, SurveyAnswer
from core.duplicates import Report, Verdict, judge, objects_of, place_of, same_object, same_place
from core.duplicates_eval import evaluate_pairs, load_pairs

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
CORPUS = CONFIG_DIR / "corpus"


# -- words ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(("text", "said"), [
    ("是", True), ("好的", True), ("对", True), ("對的", True), ("登记一下", True), ("需要", True), ("是的，麻煩登記", True),
    ("不用了", False), ("不是", False), ("算了", False), ("不對", False), ("不用了，謝謝", False),
    ("是不是啊", None), ("楼下又漏水了", None), ("", None), ("是，不是", None),
])
def test_yes_and_no_are_understood_in_simplified_and_traditional(text, said):
    assert dialogue.yes_no(text) is said


@pytest.mark.parametrize(("text", "answer"), [
    ("解决了，谢谢", SurveyAnswer.SATISFIED), ("好了", SurveyAnswer.SATISFIED), ("满意", SurveyAnswer.SATISFIED),
    ("解決了，謝謝", SurveyAnswer.SATISFIED), ("修好了", SurveyAnswer.SATISFIED),
    ("还是不行", SurveyAnswer.UNSATISFIED), ("没修好", SurveyAnswer.UNSATISFIED), ("又坏了", SurveyAnswer.UNSATISFIED),
    ("還是不行", SurveyAnswer.UNSATISFIED), ("不满意", SurveyAnswer.UNSATISFIED),
    ("嗯", SurveyAnswer.UNCLEAR), ("谢谢", SurveyAnswer.UNCLEAR), ("师傅来过了", SurveyAnswer.UNCLEAR),
])
def test_survey_answers_in_words(text, answer):
    assert dialogue.survey_answer(text) is answer


def test_small_talk_and_acknowledgements_are_told_apart_from_answers():
    assert all(dialogue.small_talk(t) for t in ("早上好", "哈哈哈", "👍👍", "[微笑]", "", "。。。"))
    assert not any(dialogue.small_talk(t) for t in ("3栋", "还是不行", "好了"))
    assert dialogue.is_ack("好的") and dialogue.is_ack("收到") and not dialogue.is_ack("3栋2单元")


# -- places and objects -----------------------------------------------------------------------------


def test_places_fold_numerals_and_traditional_and_tell_gates_and_sides_apart():
    assert same_place(place_of("三栋楼下"), place_of("3號樓門口")) is True
    assert same_place(place_of("3栋"), place_of("5栋")) is False
    assert same_place(place_of("十二栋"), place_of("12栋")) is True
    assert same_place(place_of("东门口"), place_of("北门")) is False
    assert same_place(place_of("7栋门口"), place_of("7栋后面")) is False
    assert same_place(place_of("电梯"), place_of("3栋电梯")) is None
    assert same_place(place_of("3栋"), place_of("东门")) is False  # places of different kinds
    assert place_of("幸福路88号门口").roads == {"幸福路88号"}


def test_a_building_group_fills_in_the_building_unless_the_text_names_a_place_elsewhere():
    assert place_of("电梯坏了", "3栋").buildings == {"3"}
    assert place_of("5栋电梯坏了", "3栋").buildings == {"5"}
    assert place_of("东门路灯坏了", "3栋").buildings == frozenset()


def test_objects_have_synonyms_and_a_specific_name_wins_over_one_inside_it():
    assert objects_of("東門路燈壞了") == {"路灯"}
    assert objects_of("窨井盖没了") == {"井盖"}
    assert objects_of("下水道盖子丢了") == {"井盖"}
    assert objects_of("下水管堵了") == {"下水道"}
    assert objects_of("3栋电悌坏了") == {"电梯"}


@pytest.mark.parametrize(("a", "b"), [
    ("六号楼", "6栋"), ("六栋", "6号楼"), ("5座", "五幢"), ("一栋二栋中间", "1栋和2栋之间"),
    ("B座大堂", "B座入口"), ("南边大门", "南门"), ("西大门", "西门口"), ("东门 那个门口", "东门口"),
    ("幸福巷口", "幸福巷子口"), ("B2停车场", "负二层车库"), ("地库负二", "B2"), ("東門嗰度", "东门"),
])
def test_places_written_differently_are_the_same_place(a, b):
    assert same_place(place_of(a), place_of(b)) is True


@pytest.mark.parametrize(("a", "b"), [
    ("B1车库", "B2车库"), ("负一层", "负二层"), ("A座大堂", "B座大堂"), ("幸福巷口", "和平巷口"),
    ("南边大门", "北门"), ("十五栋", "五栋"),
])
def test_places_that_only_look_alike_stay_different(a, b):
    assert same_place(place_of(a), place_of(b)) is False


@pytest.mark.parametrize(("a", "b"), [
    ("音响太大声", "有人放喇叭"), ("道闸杆断了", "栏杆抬不起来"), ("污水冒出来", "水沟冒了"), ("脏水满地", "下水道堵了"),
    ("煎饼摊占路", "早点摊"), ("装修垃圾没人清", "一堆水泥块和烂木板"), ("地上有个坑", "路面陷下去一块"),
    ("一滩水好几天了", "积水没人管"), ("狗从半夜叫到天亮", "狗一直叫"), ("野狗追着人咬", "流浪狗"),
    ("楼道里黑漆漆的", "楼道灯坏了"), ("那边黑乎乎的", "路灯不亮"), ("嗰度盞燈壞咗", "灯坏了"),
])
def test_objects_are_recognised_by_family_not_by_one_word(a, b):
    assert same_object(objects_of(a), objects_of(b)), (objects_of(a), objects_of(b))


@pytest.mark.parametrize(("a", "b"), [
    ("老鼠很多", "蟑螂很多"), ("有个坑", "积水"), ("装修垃圾堆着", "装修太吵"), ("狗叫了一夜", "到处是狗屎"),
    ("楼道灯坏了", "路灯坏了"), ("B2停车场顶上漏水", "乱停车"), ("天黑了有人吵架", "路灯坏了"), ("这人坑人", "地上有个坑"),
])
def test_different_objects_of_one_place_stay_apart(a, b):
    assert not same_object(objects_of(a), objects_of(b)), (objects_of(a), objects_of(b))


def test_voice_transcripts_and_unknown_objects_join_by_their_words_only_at_the_same_place():
    window = timedelta(hours=72)
    drain = _report("12号楼下面下水道堵住了")
    assert judge(_report("哎呀 那个 那个 十二栋楼下 下水道 堵了 堵了", "b", 60), drain, window=window) is Verdict.JOIN
    fake = _report("东门外面有人卖假药")
    assert judge(_report("东门有人摆摊卖假药骗老人", "b", 60), fake, window=window) is Verdict.JOIN
    assert judge(_report("西门有人摆摊卖假药骗老人", "b", 60), fake, window=window) is Verdict.SEPARATE


def _report(text, person="a", minutes=0, emergency=None, chat=None):
    return Report(text, classify(text).category, person, T0 + timedelta(minutes=minutes), emergency, chat)


def test_the_verdicts():
    window = timedelta(hours=72)
    lamp = _report("东门路灯坏了")
    assert judge(_report("東門那邊路燈不亮", "b", 60), lamp, window=window) is Verdict.JOIN
    assert judge(_report("北门路灯不亮", "b", 60), lamp, window=window) is Verdict.SEPARATE
    assert judge(_report("东门路灯坏了", "b", 73 * 60), lamp, window=window) is Verdict.SEPARATE  # out of the window
    leak = _report("我家厨房漏水了")
    assert judge(_report("我家卫生间也漏水了", "b", 5), leak, window=window) is Verdict.ASK
    assert judge(_report("我家厨房还在漏水", "a", 5), leak, window=window) is Verdict.JOIN  # the same person
    fire = _report("3栋着火了", emergency="fire")
    assert judge(_report("三栋冒烟了", "b", 20, "fire"), fire, window=window) is Verdict.JOIN
    assert judge(_report("三栋冒烟了", "b", 40, "fire"), fire, window=window) is Verdict.SEPARATE
    assert judge(_report("3栋煤气味很重", "b", 5, "gas"), fire, window=window) is Verdict.SEPARATE
    pension = _report("低保怎么申请")
    assert judge(_report("我想问问低保怎么申请", "b", 5), pension, window=window) is Verdict.SEPARATE


def test_join_precision_and_recall_on_the_held_out_pairs_meet_the_targets():
    pairs = load_pairs([CORPUS / "duplicate_pairs_heldout.jsonl"])
    assert len(pairs) >= 70 and len(load_pairs([CORPUS / "duplicate_pairs.jsonl"])) + len(pairs) >= 200
    m = evaluate_pairs(pairs, classify)
    assert m["precision"] >= 0.95 and m["recall"] >= 0.85, m


def test_join_precision_and_recall_on_the_pairs_in_other_voices_meet_the_targets():
    pairs = load_pairs([CORPUS / "duplicate_pairs_voices.jsonl"])
    assert len(pairs) >= 80 and sum(p["same"] for p in pairs) == len(pairs) // 2
    m = evaluate_pairs(pairs, classify)
    assert m["precision"] >= 0.95 and m["recall"] >= 0.85, m


def test_eval_duplicates_prints_precision_and_recall_for_every_shipped_pair_file():
    out = subprocess.run([sys.executable, "-m", "bots.cli", "eval-duplicates"], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert out.stdout.count("join precision") == 3 and "duplicate_pairs_heldout.jsonl" in out.stdout
    assert "duplicate_pairs_voices.jsonl" in out.stdout


def test_a_bad_pair_file_is_refused_with_its_place(tmp_path):
    bad = tmp_path / "pairs.jsonl"
    bad.write_text('{"a": "x", "b": "y", "same": true}\n{"a": "only one"}\n', encoding="utf-8")
    out = subprocess.run([sys.executable, "-m", "bots.cli", "eval-duplicates", str(bad)], capture_output=True, text=True,
                         timeout=120)
    assert out.returncode == 2 and f"{bad}:2" in out.stderr and "Traceback" not in out.stderr


# -- the classifier is unsure ----------------------------------------------------------------------


def test_unsure_messages_are_asked_about_on_the_sample_messages():
    """Before: only the model's own band on messages it filed anyway (1 of the 666). Now the middle band too."""
    examples = load_examples(CORPUS / "heldout.txt") + load_examples(CORPUS / "probe.txt")
    results = [(e, classify(e.text)) for e in examples]
    chatter = [(e, r) for e, r in results if e.category == "chatter"]
    dropped = [(e, r) for e, r in results if e.category != "chatter" and not r.is_request]
    asked_chatter = sum(dialogue.unsure(r, e.text) for e, r in chatter)
    asked_dropped = sum(dialogue.unsure(r, e.text) for e, r in dropped)
    asked = sum(dialogue.unsure(r, e.text) for e, r in results)
    assert asked >= 10
    assert asked_dropped >= len(dropped) // 2  # half the requests the classifier would drop are asked about
    assert asked_chatter <= 0.02 * len(chatter)


# -- the store ---------------------------------------------------------------------------------------


def test_one_pending_question_per_person_and_chat_a_new_one_replaces_it(database_url):
    upgrade(database_url)
    engine = make_engine(database_url)
    with Session(engine) as s:
        first = dialogue.ask(s, "p:zhou", "p:anle", QuestionKind.PLACE, now=T0, ttl=timedelta(hours=2))
        elsewhere = dialogue.ask(s, "p:zhou", "p:demo", QuestionKind.FILE, now=T0, ttl=timedelta(hours=2))
        second = dialogue.ask(s, "p:zhou", "p:anle", QuestionKind.FILE, now=T0, ttl=timedelta(hours=2))
        s.commit()
        assert first.outcome == "replaced" and first.open_key is None
        assert dialogue.pending(s, "p:zhou", "p:anle", T0).id == second.id
        assert dialogue.pending(s, "p:zhou", "p:demo", T0).id == elsewhere.id
        assert dialogue.asked_since(s, "p:zhou", QuestionKind.FILE, T0 - timedelta(hours=1)) == 2
        assert dialogue.pending(s, "p:zhou", "p:anle", T0 + timedelta(hours=3)) is None  # expired: ignored
        s.commit()
        assert s.get(dialogue.PendingQuestion, second.id).outcome == "expired"
        assert dialogue.prune(s, T0 + timedelta(days=1)) == 2  # the settled ones; the pending one in p:demo stays
        s.commit()
        assert dialogue.pending(s, "p:zhou", "p:demo", T0).id == elsewhere.id
    with pytest.raises(sa.exc.IntegrityError), Session(engine) as s:  # the database keeps it to one
        for _ in range(2):
            s.add(dialogue.PendingQuestion(person_key="p:wu", chat_key="p:anle", kind="place", asked_at=T0,
                                           expires_at=T0, open_key=dialogue.open_key("p:wu", "p:anle")))
        s.commit()
    engine.dispose()


def test_the_migration_matches_the_models(database_url):
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext
    from sqlmodel import SQLModel

    upgrade(database_url)
    engine = make_engine(database_url)
    with engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn), SQLModel.metadata)
    engine.dispose()
    mine = [d for d in diff if "pending_questions" in repr(d) or "'place'" in repr(d)]
    assert mine == []


@pytest.mark.parametrize(("a", "b"), [
    ("北边大门的升降柱卡住了升不起来", "北门升降柱坏了"),
    ("十四号楼后面的排污泵不转了", "14幢楼后排污泵坏了"),
    ("图书馆门口的电子屏黑屏了", "图书馆电子屏不显示了"),
])
def test_an_object_of_no_listed_name_at_the_same_place_joins_by_the_words_that_name_it(a, b):
    window = timedelta(hours=72)
    assert judge(_report(b, "b", 60), _report(a), window=window) is Verdict.JOIN


@pytest.mark.parametrize(("a", "b"), [
    ("图书馆门口的电子屏黑屏了", "图书馆门口的自行车架倒了"),  # other things at one place
    ("十四号楼后面的排污泵不转了", "15栋楼后排污泵坏了"),  # one thing at other places
    ("3栋楼道灯不亮", "3栋楼道有人堆纸箱"),  # a listed object and an unlisted thing
])
def test_unlisted_objects_of_other_kinds_or_at_other_places_stay_apart(a, b):
    window = timedelta(hours=72)
    assert judge(_report(b, "b", 60), _report(a), window=window) is Verdict.SEPARATE


def test_a_landmark_of_no_listed_name_is_a_place_told_by_how_its_name_ends():
    assert place_of("图书馆门口的电子屏黑屏了").spots == {"图书馆"}
    assert same_place(place_of("图书馆电子屏坏了"), place_of("游泳池电子屏坏了")) is False
    assert same_place(place_of("大厅的门禁坏了"), place_of("大堂门禁坏了")) is True
    assert not place_of("3栋楼道电动车电池冒烟").spots and not place_of("走廊灯坏了").spots  # not places


def test_join_precision_on_the_pairs_in_strangers_voices_stays_above_the_target():
    """Held out: written before the unlisted-object rule and never tuned on (before it: 91.3 % / 55.3 %)."""
    m = evaluate_pairs(load_pairs([CORPUS / "duplicate_pairs_strangers.jsonl"]), classify)
    assert m["pairs"] >= 60 and m["precision"] >= 0.95, m
