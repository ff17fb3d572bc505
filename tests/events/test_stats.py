"""The stats document's schema: every rule has a stable code and names its field."""
import doctest

import pytest

from events import stats
from events.stats import StatsInvalid, stats_validate


def problems(data) -> list[tuple[str, str]]:
    with pytest.raises(StatsInvalid) as excinfo:
        stats_validate(data)
    return [(e["field"], e["code"]) for e in excinfo.value.errors]


def test_doctests():
    assert doctest.testmod(stats).failed == 0


def test_a_full_document_is_kept_with_strings_trimmed():
    """Every section and field comes back as sent, strings trimmed, numbers as numbers."""
    doc = {
        "scoreboard": {"sides": [{"name": " Italy ", "score": 2}, {"name": "France", "score": "1"}], "period": "2nd half", "clock": "67:12"},
        "standings": [{"rank": 1, "name": "L. Brunner", "team": "AUT", "result": "1:51.84", "gap": None}],
        "metrics": [{"label": "Speed trap", "value": 142.3}],
    }
    clean = stats_validate(doc)
    assert clean["scoreboard"]["sides"][0] == {"name": "Italy", "score": 2}
    assert clean["standings"][0] == {"rank": 1, "name": "L. Brunner", "team": "AUT", "result": "1:51.84", "gap": None}
    assert clean["metrics"] == [{"label": "Speed trap", "value": 142.3}]


@pytest.mark.parametrize(
    "data, expected",
    [
        ([], [("", "stats_invalid")]),
        ({}, [("", "stats_invalid")]),
        ({"weather": "sunny"}, [("weather", "stats_unknown_field")]),
        ({"scoreboard": []}, [("scoreboard", "stats_invalid_type")]),
        ({"scoreboard": {}}, [("scoreboard", "stats_required")]),
        ({"scoreboard": {"sides": [{"name": "A"}] * 9}}, [("scoreboard.sides", "stats_too_many")]),
        ({"scoreboard": {"sides": [{"score": 1}]}}, [("scoreboard.sides[0].name", "stats_required")]),
        ({"scoreboard": {"sides": [{"name": "A", "score": True}]}}, [("scoreboard.sides[0].score", "stats_invalid_type")]),
        ({"scoreboard": {"clock": 12}}, [("scoreboard.clock", "stats_invalid_type")]),
        ({"scoreboard": {"period": "x" * 81}}, [("scoreboard.period", "stats_too_long")]),
        ({"standings": {}}, [("standings", "stats_invalid_type")]),
        ({"standings": [{"rank": 1, "name": "A"}] * 101}, [("standings", "stats_too_many")]),
        ({"standings": [{"rank": "1", "name": "A"}]}, [("standings[0].rank", "stats_invalid_type")]),
        ({"standings": [{"rank": 0, "name": "A"}]}, [("standings[0].rank", "stats_invalid_value")]),
        ({"standings": [{"rank": 1, "name": "  "}]}, [("standings[0].name", "stats_required")]),
        ({"standings": [{"rank": 1, "name": "A", "bib": 7}]}, [("standings[0].bib", "stats_unknown_field")]),
        ({"standings": [{"name": "A", "gap": float("nan")}]}, [("standings[0].gap", "stats_invalid_value")]),
        ({"standings": [{"name": "A", "team": "X"}, {"name": "A", "team": "X"}]}, [("standings[1].name", "stats_duplicate_row")]),
        ({"metrics": [{"label": "Wind", "value": [1]}]}, [("metrics[0].value", "stats_invalid_type")]),
        ({"metrics": [{"value": 1}] }, [("metrics[0].label", "stats_required")]),
        ({"metrics": [{"label": "A", "value": 1}] * 51}, [("metrics", "stats_too_many")]),
    ],
)
def test_each_rule_reports_its_code_and_field(data, expected):
    assert problems(data) == expected


def test_several_problems_are_all_reported():
    assert problems({"standings": [{"rank": -1, "name": ""}], "metrics": "none"}) == [
        ("standings[0].rank", "stats_invalid_value"),
        ("standings[0].name", "stats_required"),
        ("metrics", "stats_invalid_type"),
    ]


def test_a_push_over_32_kb_is_refused_before_anything_else():
    row = {"rank": 1, "team": "T" * 80, "result": "R" * 80, "gap": "G" * 80}
    data = {"standings": [{**row, "name": f"{i:03d}" + "x" * 77} for i in range(100)]}
    assert problems(data) == [("", "stats_too_large")]


def test_null_sections_clear_and_absent_ones_stay():
    current = {"scoreboard": {"clock": "1:00"}, "metrics": [{"label": "Wind", "value": 1}]}
    merged = stats.stats_merge(current, stats_validate({"scoreboard": None, "standings": [{"rank": 1, "name": "A"}]}))
    assert merged == {
        "standings": [{"rank": 1, "name": "A", "team": None, "result": None, "gap": None}],
        "metrics": [{"label": "Wind", "value": 1}],
    }
