"""
The stats document: its schema, validation and merge. Pure functions, no database.

A push is a JSON object with any of three typed sections (docs/producers.md)::

    {
      "scoreboard": {"sides": [{"name": "Italy", "score": 2}, {"name": "France", "score": 1}],
                     "period": "2nd half", "clock": "67:12"},
      "standings": [{"rank": 1, "name": "L. Brunner", "team": "AUT", "result": "1:51.84", "gap": null}],
      "metrics": [{"label": "Speed trap", "value": "142.3 km/h"}]
    }

A section in the push replaces the same section of the current document, a
section set to null removes it, and a section left out stays as it was.
Every problem is reported with a stable code and the path of the field.
"""
import json
import math

SECTIONS = ("scoreboard", "standings", "metrics")
MAX_BYTES = 32 * 1024
MAX_STRING = 80
MAX_SIDES = 8
MAX_ROWS = 100
MAX_METRICS = 50
MAX_RANK = 100_000
# Errors listed in one answer; the first is also the answer's own code.
MAX_ERRORS = 20

SCOREBOARD_FIELDS = ("sides", "period", "clock")
SIDE_FIELDS = ("name", "score")
ROW_FIELDS = ("rank", "name", "team", "result", "gap")
METRIC_FIELDS = ("label", "value")


class StatsInvalid(Exception):
    """One or more problems with a pushed document: ``errors`` is ``[{"field", "code", "message"}]``."""

    def __init__(self, errors: list[dict]):
        super().__init__(errors[0]["message"])
        self.errors = errors


class _Checker:
    def __init__(self):
        self.errors: list[dict] = []

    def fail(self, field: str, code: str, message: str) -> None:
        if len(self.errors) < MAX_ERRORS:
            self.errors.append({"field": field, "code": code, "message": message})

    def fields(self, value, path: str, allowed: tuple[str, ...]) -> bool:
        if not isinstance(value, dict):
            self.fail(path, "stats_invalid_type", f"{path} must be an object.")
            return False
        for key in value:
            if key not in allowed:
                self.fail(f"{path}.{key}", "stats_unknown_field", f"{path} has no field {key!r} (allowed: {', '.join(allowed)}).")
        return True

    def items(self, value, path: str, limit: int) -> list:
        if not isinstance(value, list):
            self.fail(path, "stats_invalid_type", f"{path} must be a list.")
            return []
        if len(value) > limit:
            self.fail(path, "stats_too_many", f"{path} has at most {limit} entries.")
            return []
        return value

    def text(self, value, path: str, *, required: bool = False) -> str | None:
        if value is None:
            if required:
                self.fail(path, "stats_required", f"{path} is required.")
            return None
        if not isinstance(value, str):
            self.fail(path, "stats_invalid_type", f"{path} must be a string.")
            return None
        value = " ".join(value.split())
        if len(value) > MAX_STRING:
            self.fail(path, "stats_too_long", f"{path} is at most {MAX_STRING} characters.")
            return None
        if required and not value:
            self.fail(path, "stats_required", f"{path} must not be empty.")
        return value

    def text_or_number(self, value, path: str):
        """A score, result, gap or metric value: a finite number, a short string, or null."""
        if isinstance(value, bool):
            self.fail(path, "stats_invalid_type", f"{path} must be a number or a string.")
            return None
        if isinstance(value, int | float):
            if isinstance(value, float) and not math.isfinite(value):
                self.fail(path, "stats_invalid_value", f"{path} must be a finite number.")
                return None
            return value
        return self.text(value, path)

    def rank(self, value, path: str) -> int | None:
        if value is None:
            return None
        if isinstance(value, bool) or not isinstance(value, int):
            self.fail(path, "stats_invalid_type", f"{path} must be a whole number or null.")
            return None
        if not 1 <= value <= MAX_RANK:
            self.fail(path, "stats_invalid_value", f"{path} is between 1 and {MAX_RANK}.")
            return None
        return value


def stats_validate(data) -> dict:
    """
    The normalised push (strings trimmed, only known fields), or StatsInvalid.

    >>> stats_validate({"metrics": [{"label": " Wind ", "value": 2.5}]})
    {'metrics': [{'label': 'Wind', 'value': 2.5}]}
    >>> stats_validate({"standings": None})
    {'standings': None}
    >>> try:
    ...     stats_validate({"standings": [{"rank": 0, "name": ""}]})
    ... except StatsInvalid as error:
    ...     [(e["field"], e["code"]) for e in error.errors]
    [('standings[0].rank', 'stats_invalid_value'), ('standings[0].name', 'stats_required')]
    """
    check = _Checker()
    if not isinstance(data, dict):
        raise StatsInvalid([{"field": "", "code": "stats_invalid", "message": "Send a JSON object of stats sections."}])
    size = len(json.dumps(data, separators=(",", ":"), ensure_ascii=False).encode())
    if size > MAX_BYTES:
        raise StatsInvalid(
            [{"field": "", "code": "stats_too_large", "message": f"A stats push is at most {MAX_BYTES} bytes of JSON ({size} sent)."}]
        )
    if not data:
        raise StatsInvalid([{"field": "", "code": "stats_invalid", "message": f"Send at least one of {', '.join(SECTIONS)}."}])
    check.fields(data, "stats", SECTIONS)
    out: dict = {}
    if "scoreboard" in data:
        out["scoreboard"] = None if data["scoreboard"] is None else _scoreboard(check, data["scoreboard"])
    if "standings" in data:
        out["standings"] = None if data["standings"] is None else _standings(check, data["standings"])
    if "metrics" in data:
        out["metrics"] = None if data["metrics"] is None else _metrics(check, data["metrics"])
    if check.errors:
        # Unknown top-level keys are reported as "stats.key"; sections by their own name.
        for error in check.errors:
            error["field"] = error["field"].removeprefix("stats.")
        raise StatsInvalid(check.errors)
    return out


def _scoreboard(check: _Checker, value) -> dict | None:
    if not check.fields(value, "scoreboard", SCOREBOARD_FIELDS):
        return None
    board: dict = {}
    if value.get("sides") is not None:
        sides = []
        for i, side in enumerate(check.items(value["sides"], "scoreboard.sides", MAX_SIDES)):
            path = f"scoreboard.sides[{i}]"
            if check.fields(side, path, SIDE_FIELDS):
                sides.append(
                    {
                        "name": check.text(side.get("name"), f"{path}.name", required=True),
                        "score": check.text_or_number(side.get("score"), f"{path}.score"),
                    }
                )
        board["sides"] = sides
    for key in ("period", "clock"):
        if value.get(key) is not None:
            board[key] = check.text(value[key], f"scoreboard.{key}")
    if not board:
        check.fail("scoreboard", "stats_required", "A scoreboard has sides, a period or a clock.")
    return board


def _standings(check: _Checker, value) -> list[dict]:
    rows = []
    seen = set()
    for i, row in enumerate(check.items(value, "standings", MAX_ROWS)):
        path = f"standings[{i}]"
        if not check.fields(row, path, ROW_FIELDS):
            continue
        clean = {
            "rank": check.rank(row.get("rank"), f"{path}.rank"),
            "name": check.text(row.get("name"), f"{path}.name", required=True),
            "team": check.text(row.get("team"), f"{path}.team"),
            "result": check.text_or_number(row.get("result"), f"{path}.result"),
            "gap": check.text_or_number(row.get("gap"), f"{path}.gap"),
        }
        key = row_key(clean)
        if clean["name"] and key in seen:
            check.fail(f"{path}.name", "stats_duplicate_row", f"{path}: {clean['name']} is listed twice.")
        seen.add(key)
        rows.append(clean)
    return rows


def _metrics(check: _Checker, value) -> list[dict]:
    metrics = []
    for i, metric in enumerate(check.items(value, "metrics", MAX_METRICS)):
        path = f"metrics[{i}]"
        if check.fields(metric, path, METRIC_FIELDS):
            metrics.append(
                {
                    "label": check.text(metric.get("label"), f"{path}.label", required=True),
                    "value": check.text_or_number(metric.get("value"), f"{path}.value"),
                }
            )
    return metrics


def row_key(row: dict) -> str:
    """What identifies a standings row from one push to the next: name and team."""
    return f"{row.get('name')}\x1f{row.get('team') or ''}"


def stats_merge(current: dict | None, push: dict) -> dict:
    """
    The document after ``push``: its sections replace, null removes, absent keeps.

    >>> stats_merge({"metrics": [{"label": "Wind", "value": 1}], "standings": []}, {"standings": None})
    {'metrics': [{'label': 'Wind', 'value': 1}]}
    """
    document = dict(current or {})
    for section, value in push.items():
        if value is None:
            document.pop(section, None)
        else:
            document[section] = value
    return {section: document[section] for section in SECTIONS if section in document}


def previous_ranks(*, before: dict | None, before_ranks: list, push: dict, after: dict) -> list:
    """
    For each standings row after the push, the rank it had before the push that
    last changed the standings (None: new). A push that leaves the standings
    alone keeps the previous answer, so a metrics update does not erase the
    highlight of the last rank change.

    >>> previous_ranks(
    ...     before={"standings": [{"rank": 1, "name": "A", "team": None}]}, before_ranks=[None],
    ...     push={"standings": []}, after={"standings": [{"rank": 1, "name": "B", "team": None}, {"rank": 2, "name": "A", "team": None}]})
    [None, 1]
    """
    if "standings" not in push:
        return list(before_ranks) if "standings" in after else []
    if push["standings"] is None:
        return []
    old = {row_key(row): row.get("rank") for row in (before or {}).get("standings") or []}
    return [old.get(row_key(row)) for row in after.get("standings") or []]
