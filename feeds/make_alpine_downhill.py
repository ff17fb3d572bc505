"""
Writes feeds/alpine-downhill-final.jsonl: a men's downhill final on the Stelvio
(Bormio), 30 racers, one every 20 seconds of feed time, with split times, a
speed trap, the standings after every finish, two course records, a skier out,
two polls on cue and the podium. Names are made up; the course is real.

    python feeds/make_alpine_downhill.py        # rewrites the file (deterministic)

Feed lines (docs/producers.md): {"at_ms": offset, "<action>": payload}, one
action per line: stats, moment, poll (create and launch), event (go_live, end).
"""
import json
import random
from pathlib import Path

OUT = Path(__file__).with_name("alpine-downhill-final.jsonl")
START_GAP_S = 20
FIRST_START_S = 12
# Share of the final time at each split, and when (feed seconds after the start) it is shown.
SPLITS = [(0.262, 5), (0.561, 9), (0.803, 13)]
FINISH_AFTER_S = 17
COURSE_RECORD = 111.96  # 1:51.96, the mark to beat
COURSE = "Stelvio, Bormio · 3,230 m · 1,010 m drop"

# Bib order; fixed results make the story, the rest are drawn.
RACERS = [
    ("Reto Gisler", "SUI", 113.41), ("Matthias Hofer", "AUT", 112.88), ("Luca De Zordo", "ITA", None),
    ("Ryan McAllister", "USA", None), ("Henrik Solberg", "NOR", 112.35), ("Felix Strasser", "GER", None),
    ("Lukas Brunner", "AUT", 112.10), ("Julien Roux-Blanc", "FRA", None), ("Théo Marchand", "FRA", "DNF"),
    ("Noah Imboden", "SUI", None), ("Stefan Pichler", "AUT", None), ("Sindre Vestby", "NOR", None),
    ("Fabian Aebersold", "SUI", 111.62), ("Cody Brennan", "USA", None), ("Matteo Casanova", "ITA", None),
    ("Anže Vrhovnik", "SLO", None), ("Daniel Kogler", "AUT", None), ("Giacomo Bertolini", "ITA", 111.70),
    ("Oskar Lindqvist", "SWE", None), ("Tobias Eberl", "GER", None), ("Liam Ostrowski", "CAN", None),
    ("Eirik Haugland", "NOR", 111.55), ("Ondřej Havlík", "CZE", None), ("Pol Ribera", "AND", None),
    ("Filip Matković", "CRO", None), ("Harry Whitcombe", "GBR", None), ("Kenta Okabe", "JPN", None),
    ("Tomás Ferreyra", "ARG", None), ("Jack Thornbury", "CAN", 111.99), ("Marcel Büchel", "LIE", None),
]


def clock(seconds: float) -> str:
    minutes, rest = divmod(round(seconds * 100), 6000)
    return f"{minutes}:{rest // 100:02d}.{rest % 100:02d}"


def gap(seconds: float) -> str:
    return f"{'+' if seconds >= 0 else '-'}{abs(seconds):.2f}"


def short(name: str) -> str:
    first, last = name.split(" ", 1)
    return f"{first[0]}. {last}"


def main():
    rng = random.Random(2026)
    lines: list[tuple[int, dict]] = []

    def at(seconds: float, **action):
        lines.append((round(seconds * 1000), action))

    finished: list[tuple[float, str, str]] = []  # (time, name, nation)
    out: list[tuple[str, str]] = []
    record = COURSE_RECORD
    leader = None

    def standings() -> list[dict]:
        ranked = sorted(finished)
        rows, best = [], ranked[0][0] if ranked else None
        for i, (time, name, nation) in enumerate(ranked):
            # Equal times share a rank, as in timing.
            rank = i + 1 if i == 0 or time != ranked[i - 1][0] else rows[-1]["rank"]
            rows.append({"rank": rank, "name": name, "team": nation, "result": clock(time), "gap": None if i == 0 else gap(time - best)})
        rows += [{"rank": None, "name": name, "team": nation, "result": "DNF", "gap": None} for name, nation in out]
        return rows

    def metrics(on_course: str, finished_count: int, speed: str | None = None) -> list[dict]:
        items = [{"label": "On course", "value": on_course}]
        if speed:
            items.append({"label": "Speed trap", "value": speed})
        items += [
            {"label": "Finished", "value": f"{finished_count} of {len(RACERS)}"},
            {"label": "Course record", "value": clock(record)},
            {"label": "Course", "value": COURSE},
            {"label": "Air", "value": "-6 °C, calm, sunny"},
        ]
        return items

    at(0, stats={
        "scoreboard": {"sides": [], "period": "Start list", "clock": "Bib 1 in the gate"},
        "standings": None,
        "metrics": metrics("Bib 1 Reto Gisler (SUI)", 0),
    })
    at(4, moment={"kind": "start", "title": "The final is under way", "detail": "30 racers, one course record to beat: 1:51.96 from 2019."})

    for index, (name, nation, fixed) in enumerate(RACERS):
        bib = index + 1
        start = FIRST_START_S + index * START_GAP_S
        time = fixed if isinstance(fixed, float) else round(rng.uniform(112.2, 115.4), 2)
        who = f"{name} ({nation})"
        at(start, stats={
            "scoreboard": {"sides": [{"name": short(name), "score": "0:00.00"}], "period": f"Bib {bib} · Start", "clock": "In the gate"},
            "metrics": metrics(f"Bib {bib} {who}", len(finished)),
        })
        for n, (share, after) in enumerate(SPLITS, start=1):
            if fixed == "DNF" and n == 3:
                out.append((name, nation))
                at(start + after, stats={
                    "scoreboard": {"sides": [{"name": short(name), "score": "DNF"}], "period": f"Bib {bib} · Out", "clock": "Skied out"},
                    "standings": standings(),
                    "metrics": metrics("—", len(finished)),
                })
                at(start + after + 1, moment={"kind": "crash", "title": f"{name} is out", "detail": "Lost the line at the San Pietro jump and skied out; back on his feet and waving."})
                break
            split = time * share + rng.uniform(-0.06, 0.06)
            sides = [{"name": short(name), "score": clock(split)}]
            delta = ""
            if leader is not None:
                best_split = leader[0] * share
                sides.append({"name": f"Best: {short(leader[1])}", "score": clock(best_split)})
                delta = gap(split - best_split)
            speed = f"{rng.uniform(137.5, 146.5):.1f} km/h" if n == 3 else None
            at(start + after, stats={
                "scoreboard": {"sides": sides, "period": f"Bib {bib} · Split {n}", "clock": delta or clock(split)},
                "metrics": metrics(f"Bib {bib} {who}", len(finished), speed),
            })
        else:
            finished.append((time, name, nation))
            rank = sorted(finished).index((time, name, nation)) + 1
            table = standings()
            at(start + FINISH_AFTER_S, stats={
                "scoreboard": {
                    "sides": [{"name": short(name), "score": clock(time)}],
                    "period": f"Bib {bib} · Finish",
                    "clock": f"{clock(time)} · {rank}{'st' if rank == 1 else 'nd' if rank == 2 else 'rd' if rank == 3 else 'th'}",
                },
                "standings": table,
                "metrics": metrics("—", len(finished)),
            })
            if time < record:
                old, record = record, time
                at(start + FINISH_AFTER_S + 1, moment={"kind": "record", "title": f"Course record: {clock(time)}", "detail": f"{who} beats {clock(old)} by {old - time:.2f}."})
            elif rank == 1:
                at(start + FINISH_AFTER_S + 1, moment={"kind": "lead", "title": f"{name} leads", "detail": f"{clock(time)}, {leader[0] - time:.2f} ahead of {leader[1]}." if leader else clock(time)})
            elif rank <= 3 and bib > 10:
                at(start + FINISH_AFTER_S + 1, moment={"kind": "performance", "title": f"{name} into the podium places", "detail": f"{clock(time)}, {table[rank - 1]['gap']} behind the lead."})
            elif rank <= 5 and bib > 25:
                at(start + FINISH_AFTER_S + 1, moment={"kind": "performance", "title": f"Bib {bib} {name} into the top five", "detail": f"{clock(time)} from a late start number."})
            if rank == 1:
                leader = (time, name)

        if bib == 14:
            top = [f"{n} ({c})" for _, n, c in sorted(finished)[:3]]
            at(start + FINISH_AFTER_S + 4, poll={
                "question": "Who takes gold?", "options": top + ["Someone still to come"],
                "duration_s": 90, "results_visibility": "live",
            })
        if bib == 20:
            best_time, best_name, _ = sorted(finished)[0]
            at(start + FINISH_AFTER_S + 3, poll={
                "question": f"Will anyone still beat {best_name.split()[-1]}'s {clock(best_time)}?", "options": ["Yes", "No"],
                "duration_s": 60, "results_visibility": "after_close",
            })

    end = FIRST_START_S + len(RACERS) * START_GAP_S + 5
    podium = sorted(finished)[:3]
    at(end, stats={
        "scoreboard": {"sides": [{"name": short(n), "score": clock(t)} for t, n, _ in podium], "period": "Final", "clock": "Official results"},
        "standings": standings(),
        "metrics": metrics("—", len(finished)),
    })
    for i, (medal, (t, name, nation)) in enumerate(zip(("Gold", "Silver", "Bronze"), podium)):
        detail = clock(t) if i == 0 else f"{clock(t)}, {gap(t - podium[0][0])}"
        at(end + 3 + 3 * i, moment={"kind": "medal", "title": f"{medal}: {name} ({nation})", "detail": detail})

    lines.sort(key=lambda item: item[0])
    with OUT.open("w") as fh:
        fh.write(json.dumps({"feed": {
            "title": "Alpine Skiing World Cup Finals: Men's Downhill, Stelvio (Bormio)",
            "sport": "alpine skiing", "racers": len(RACERS), "duration_ms": lines[-1][0],
        }}, ensure_ascii=False) + "\n")
        for at_ms, action in lines:
            fh.write(json.dumps({"at_ms": at_ms, **action}, ensure_ascii=False, separators=(",", ":")) + "\n")
    print(f"{OUT}: {len(lines)} lines, {lines[-1][0] / 60000:.1f} minutes")


if __name__ == "__main__":
    main()
