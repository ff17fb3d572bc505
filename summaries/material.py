"""
The material of one summary: facts, what changed, what the crowd says.

``gather`` reads it (through ``sources``); everything else here is pure, so
the prompt and the offline writer can be tested with made-up material.
"""
import hashlib
import json
import re
from collections import Counter
from dataclasses import dataclass, field

from . import sources

# Reactions are counted over this much recent broadcast time.
CROWD_WINDOW_MS = 10 * 60 * 1000
# A quoted reaction is cut to this many characters.
QUOTE_CHARS = 30
# Repeated characters past three are one reaction ("GOOOOOAL" is "GOOOAL").
REPEATS_RE = re.compile(r"(.)\1{3,}", re.DOTALL)
EDGE_PUNCTUATION = " \t.,;:!?¡¿！？。，、~～…\"'“”‘’«»"


@dataclass
class Material:
    lang: str
    event: dict  # {"title", "status"}
    now_ms: int  # the live edge when gathered
    since_ms: int  # where the previous summary ended (0 for the first)
    stats: dict | None = None
    moments: list[dict] = field(default_factory=list)  # all key moments so far, media order
    previous: dict | None = None  # {"text", "covers_to_ms", "stats"} of the last summary in this language
    new_comments: int = 0  # visible comments since the previous summary
    crowd: dict = field(default_factory=lambda: {"comments": 0, "window_ms": CROWD_WINDOW_MS, "peak": None, "top": []})
    comments: list[dict] = field(default_factory=list)  # recent visible comments, newest first: {"media_ms", "text"}
    last_comment_id: int = 0
    facts_digest: str = ""

    @property
    def is_empty(self) -> bool:
        """Nothing to summarise yet: no stats, no moments, no comments."""
        return not self.stats and not self.moments and not self.comments and not self.crowd.get("comments")

    @property
    def new_moments(self) -> list[dict]:
        if self.previous is None:
            return []
        return [m for m in self.moments if m.get("media_ms", 0) > self.since_ms]


def gather(*, event, lang: str, previous, sample: int) -> "Material":
    """Read the material for a summary of ``event`` in ``lang`` after ``previous`` (a Summary or None)."""
    facts = sources.event_facts(event)
    now_ms = event.live_edge_ms() or 0
    moments = sorted((m for m in facts.get("moments") or [] if isinstance(m, dict)), key=lambda m: m.get("media_ms", 0))
    comments = [{"media_ms": c["media_ms"], "text": c["text"]} for c in sources.comments_since(event, after_id=0, limit=sample)]
    after_id = previous.last_comment_id if previous else 0
    buckets = sources.volume(event, from_ms=max(0, now_ms - CROWD_WINDOW_MS))
    return Material(
        lang=lang,
        event={"title": event.title, "status": event.status},
        now_ms=now_ms,
        since_ms=previous.covers_to_ms if previous else 0,
        stats=facts.get("stats") or None,
        moments=moments,
        previous=(
            {"text": previous.text, "covers_to_ms": previous.covers_to_ms, "stats": previous.stats_snapshot}
            if previous
            else None
        ),
        new_comments=sources.count_since(event, after_id=after_id),
        crowd=crowd(buckets, comments),
        comments=comments,
        last_comment_id=sources.last_comment_id(event),
        facts_digest=digest(facts),
    )


def digest(facts: dict) -> str:
    text = json.dumps(facts, sort_keys=True, default=str, ensure_ascii=False)
    return hashlib.sha256(text.encode()).hexdigest()


def crowd(buckets: list[dict], comments: list[dict]) -> dict:
    """
    What the crowd is doing: comments in the recent window, its busiest minute
    and its most repeated reactions (said at least twice).

    >>> c = crowd([{"start_ms": 0, "count": 3}, {"start_ms": 60000, "count": 9}],
    ...           [{"text": "GOAL!!"}, {"text": "goal"}, {"text": "wow"}])
    >>> c["comments"], c["peak"], c["top"]
    (12, {'start_ms': 60000, 'count': 9}, [{'text': 'GOAL!!', 'count': 2}])
    """
    total = sum(b["count"] for b in buckets)
    peak = max(buckets, key=lambda b: (b["count"], b["start_ms"])) if buckets else None
    return {
        "comments": total,
        "window_ms": CROWD_WINDOW_MS,
        "peak": dict(peak) if peak and len(buckets) > 1 else None,
        "top": top_reactions([c["text"] for c in comments]),
    }


def reaction_key(text: str) -> str:
    """
    What makes two comments the same reaction.

    >>> reaction_key("GOOOOOOAL!!!") == reaction_key("goooal")
    True
    >>> reaction_key("👏👏👏👏👏")
    '👏👏👏'
    """
    return REPEATS_RE.sub(r"\1\1\1", text.casefold()).strip(EDGE_PUNCTUATION)


def top_reactions(texts: list[str], *, limit: int = 3) -> list[dict]:
    """The most repeated reactions, each in its most common spelling, with their count."""
    groups: dict[str, Counter] = {}
    for text in texts:
        key = reaction_key(text)
        if key:
            groups.setdefault(key, Counter())[text] += 1
    ranked = sorted(groups.values(), key=lambda spellings: -sum(spellings.values()))
    top = []
    for spellings in ranked[:limit]:
        count = sum(spellings.values())
        if count < 2:
            break
        top.append({"text": quote_text(spellings.most_common(1)[0][0]), "count": count})
    return top


def quote_text(text: str) -> str:
    text = " ".join(text.split())
    return text if len(text) <= QUOTE_CHARS else text[: QUOTE_CHARS - 1] + "…"


def clock(ms: int) -> str:
    """
    Broadcast time as people read it.

    >>> clock(65_000), clock(3_725_000)
    ('1:05', '1:02:05')
    """
    seconds = max(0, int(ms)) // 1000
    hours, minutes, seconds = seconds // 3600, seconds // 60 % 60, seconds % 60
    return f"{hours}:{minutes:02d}:{seconds:02d}" if hours else f"{minutes}:{seconds:02d}"


def score_line(scoreboard: dict | None) -> str | None:
    """
    >>> score_line({"sides": [{"name": "Italy", "score": 2}, {"name": "France", "score": 1}]})
    'Italy 2–1 France'
    >>> score_line({"sides": [{"name": "A", "score": 3}, {"name": "B", "score": 2}, {"name": "C", "score": 0}]})
    'A 3, B 2, C 0'
    """
    sides = [s for s in (scoreboard or {}).get("sides") or [] if isinstance(s, dict) and s.get("name")]
    if not sides:
        return None
    if len(sides) == 2:
        a, b = sides
        return f"{a['name']} {a.get('score', 0)}–{b.get('score', 0)} {b['name']}"
    return ", ".join(f"{s['name']} {s.get('score', 0)}" for s in sides)


def leader_of(stats: dict | None) -> dict | None:
    standings = [s for s in (stats or {}).get("standings") or [] if isinstance(s, dict) and s.get("name")]
    if not standings:
        return None
    return min(standings, key=lambda s: s.get("rank") if isinstance(s.get("rank"), int) else 10**6)
