"""
The offline writer: a useful summary from injected facts (score or leader, key
moments, what changed, what the crowd says), written properly in en, zh, it.
"""
import pytest

from summaries import offline
from summaries.material import Material

from .conftest import MATCH_MOMENTS, MATCH_STATS

BEFORE = {"scoreboard": {"sides": [{"name": "Italy", "score": 1}, {"name": "France", "score": 1}]}}
CROWD = {
    "comments": 340,
    "window_ms": 600_000,
    "peak": {"start_ms": 3_840_000, "count": 85},
    "top": [{"text": "GOAL", "count": 42}, {"text": "👏👏👏", "count": 17}],
}
STANDINGS = {
    "standings": [
        {"rank": 2, "name": "Shiffrin", "team": "USA", "result": "1:32.57", "gap": "+0.12"},
        {"rank": 1, "name": "Goggia", "team": "ITA", "result": "1:32.45", "gap": ""},
        {"rank": 3, "name": "Brignone", "team": "ITA", "result": "1:33.01", "gap": "+0.56"},
    ]
}


def match(lang, **fields):
    base = dict(
        lang=lang,
        event={"title": "Italy v France", "status": "live"},
        now_ms=4_032_000,
        since_ms=3_600_000,
        stats=MATCH_STATS,
        moments=MATCH_MOMENTS,
        previous={"text": "…", "covers_to_ms": 3_600_000, "stats": BEFORE},
        new_comments=120,
        crowd=CROWD,
    )
    return Material(**{**base, **fields})


def test_english_match_summary():
    assert offline.write(match("en")) == (
        "Score: Italy 2–1 France (2nd half, 67:12). "
        "Key moments: 33:00 Goal — Mbappé, penalty; 55:00 Red card — Dupont; 1:04:10 Goal — Chiesa, volley "
        "(and 1 earlier). "
        "Since the last update at 1:00:00: the score went from Italy 1–1 France to Italy 2–1 France, "
        "1 new key moment, 120 new comments. "
        "The crowd: 340 comments in the last 10 minutes, busiest around 1:04:00 (85 in a minute); "
        "most repeated: “GOAL” ×42, “👏👏👏” ×17."
    )


def test_chinese_match_summary():
    assert offline.write(match("zh")) == (
        "比分：Italy 2–1 France（2nd half，67:12）。"
        "关键时刻：33:00 Goal — Mbappé, penalty；55:00 Red card — Dupont；1:04:10 Goal — Chiesa, volley（此前还有 1 个）。"
        "自上次更新（1:00:00）以来：比分由 Italy 1–1 France 变为 Italy 2–1 France，新增 1 个关键时刻，新增 120 条弹幕。"
        "观众：最近 10 分钟共 340 条弹幕，1:04:00 前后最热闹（一分钟 85 条）；刷屏最多：“GOAL”×42，“👏👏👏”×17。"
    )


def test_italian_match_summary():
    assert offline.write(match("it")) == (
        "Punteggio: Italy 2–1 France (2nd half, 67:12). "
        "Momenti chiave: 33:00 Goal — Mbappé, penalty; 55:00 Red card — Dupont; 1:04:10 Goal — Chiesa, volley "
        "(e 1 prima). "
        "Dall'ultimo aggiornamento (1:00:00): il punteggio è passato da Italy 1–1 France a Italy 2–1 France, "
        "1 nuovo momento chiave, 120 nuovi commenti. "
        "Il pubblico: 340 commenti negli ultimi 10 minuti, con il picco intorno a 1:04:00 (85 in un minuto); "
        "i più ripetuti: «GOAL» ×42, «👏👏👏» ×17."
    )


@pytest.mark.parametrize(
    "lang, expected",
    [
        ("en", "Leading: Goggia (ITA) 1:32.45. Behind: 2. Shiffrin (USA) +0.12, 3. Brignone (ITA) +0.56."),
        ("zh", "领先：Goggia (ITA) 1:32.45。其后：2. Shiffrin (USA) +0.12，3. Brignone (ITA) +0.56。"),
        ("it", "In testa: Goggia (ITA) 1:32.45. Seguono: 2. Shiffrin (USA) +0.12, 3. Brignone (ITA) +0.56."),
    ],
)
def test_a_race_leads_with_the_leader_and_the_chasers(lang, expected):
    m = match(lang, stats=STANDINGS, moments=[], previous=None, crowd={"comments": 0, "window_ms": 600_000})
    assert offline.write(m) == expected


def test_a_new_leader_is_news():
    before = {"standings": [{"rank": 1, "name": "Shiffrin"}]}
    m = match("en", stats=STANDINGS, moments=[], previous={"text": "", "covers_to_ms": 60_000, "stats": before}, new_comments=0)
    assert "Since the last update at 1:00: Goggia took the lead from Shiffrin." in offline.write(m)


def test_without_stats_the_crowd_and_the_clock_carry_the_summary():
    m = match(
        "en",
        stats=None,
        moments=[],
        previous=None,
        now_ms=300_000,
        crowd={"comments": 12, "window_ms": 600_000, "peak": None, "top": [{"text": "so fast 😱", "count": 3}]},
    )
    assert offline.write(m) == (
        "Italy v France has been live for 5 minutes. "
        "The crowd: 12 comments in the last 10 minutes; most repeated: “so fast 😱” ×3."
    )


def test_nothing_unchanged_is_reported_as_a_change():
    m = match("en", since_ms=3_900_000, previous={"text": "", "covers_to_ms": 3_900_000, "stats": MATCH_STATS}, new_comments=0)
    assert "Since the last update" not in offline.write(m)


def test_an_ended_event_says_so():
    m = match("it", stats=None, moments=[], previous=None, crowd={"comments": 0, "window_ms": 600_000})
    m.event["status"] = "ended"
    assert offline.write(m) == "Italy v France si è concluso dopo 67 minuti."


def test_languages_without_templates_get_english():
    assert offline.write(match("sv")) == offline.write(match("en"))
    assert offline.templates_for("zh-CN") is offline.TEMPLATES["zh"]
    assert {"en", "zh", "it"} <= set(offline.SUPPORTED)


@pytest.mark.parametrize("lang", ["es", "fr", "de"])
def test_other_template_languages_carry_the_same_facts(lang):
    text = offline.write(match(lang))
    for fact in ("Italy 2–1 France", "1:04:10", "340", "85", "×42", "120"):
        assert fact in text
