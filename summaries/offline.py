"""
The offline writer: a useful summary from the material alone, without a model.

Sentences are templates per language; every number, name, time and quote in
them comes from the data. Four parts, each only when there is something to
say: the score or the leader, the key moments, what changed since the previous
summary, and what the crowd is saying. Languages without templates get English.
"""
from .material import Material, clock, leader_of, score_line

# Key moments named in full; older ones are counted.
MOMENTS_SHOWN = 3

TEMPLATES = {
    "en": {
        "score": "Score: {score}{extra}.",
        "leader": "Leading: {leader}{extra}.",
        "chasers": "Behind: {rest}.",
        "live_for": "{title} has been live for {duration}.",
        "ended": "{title} has ended after {duration}.",
        "minutes": lambda n: f"{n} minute" if n == 1 else f"{n} minutes",
        "moments": "Key moments: {items}{more}.",
        "more": lambda n: f" (and {n} earlier)",
        "since": "Since the last update at {at}: {changes}.",
        "score_changed": "the score went from {before} to {after}",
        "leader_changed": "{after} took the lead from {before}",
        "new_moments": lambda n: "1 new key moment" if n == 1 else f"{n} new key moments",
        "new_comments": lambda n: "1 new comment" if n == 1 else f"{n} new comments",
        "crowd": "The crowd: {comments} {recent}{peak}{top}.",
        "recent": lambda n: "in the last minute" if n == 1 else f"in the last {n} minutes",
        "comments": lambda n: "1 comment" if n == 1 else f"{n} comments",
        "peak": ", busiest around {at} ({count} in a minute)",
        "top": "; most repeated: {items}",
        "quote": "“{text}” ×{count}",
        "sep": ", ",
        "list_sep": "; ",
        "open": " (",
        "close": ")",
    },
    "zh": {
        "score": "比分：{score}{extra}。",
        "leader": "领先：{leader}{extra}。",
        "chasers": "其后：{rest}。",
        "live_for": "{title} 已直播{duration}。",
        "ended": "{title} 已结束，共{duration}。",
        "minutes": lambda n: f" {n} 分钟",
        "moments": "关键时刻：{items}{more}。",
        "more": lambda n: f"（此前还有 {n} 个）",
        "since": "自上次更新（{at}）以来：{changes}。",
        "score_changed": "比分由 {before} 变为 {after}",
        "leader_changed": "{after} 超过 {before} 领先",
        "new_moments": lambda n: f"新增 {n} 个关键时刻",
        "new_comments": lambda n: f"新增 {n} 条弹幕",
        "crowd": "观众：{recent}共 {comments}{peak}{top}。",
        "recent": lambda n: f"最近 {n} 分钟",
        "comments": lambda n: f"{n} 条弹幕",
        "peak": "，{at} 前后最热闹（一分钟 {count} 条）",
        "top": "；刷屏最多：{items}",
        "quote": "“{text}”×{count}",
        "sep": "，",
        "list_sep": "；",
        "open": "（",
        "close": "）",
    },
    "it": {
        "score": "Punteggio: {score}{extra}.",
        "leader": "In testa: {leader}{extra}.",
        "chasers": "Seguono: {rest}.",
        "live_for": "{title} è in diretta da {duration}.",
        "ended": "{title} si è concluso dopo {duration}.",
        "minutes": lambda n: f"{n} minuto" if n == 1 else f"{n} minuti",
        "moments": "Momenti chiave: {items}{more}.",
        "more": lambda n: f" (e {n} prima)",
        "since": "Dall'ultimo aggiornamento ({at}): {changes}.",
        "score_changed": "il punteggio è passato da {before} a {after}",
        "leader_changed": "{after} ha preso il comando su {before}",
        "new_moments": lambda n: "1 nuovo momento chiave" if n == 1 else f"{n} nuovi momenti chiave",
        "new_comments": lambda n: "1 nuovo commento" if n == 1 else f"{n} nuovi commenti",
        "crowd": "Il pubblico: {comments} {recent}{peak}{top}.",
        "recent": lambda n: "nell'ultimo minuto" if n == 1 else f"negli ultimi {n} minuti",
        "comments": lambda n: "1 commento" if n == 1 else f"{n} commenti",
        "peak": ", con il picco intorno a {at} ({count} in un minuto)",
        "top": "; i più ripetuti: {items}",
        "quote": "«{text}» ×{count}",
        "sep": ", ",
        "list_sep": "; ",
        "open": " (",
        "close": ")",
    },
    "es": {
        "score": "Marcador: {score}{extra}.",
        "leader": "En cabeza: {leader}{extra}.",
        "chasers": "Detrás: {rest}.",
        "live_for": "{title} lleva {duration} en directo.",
        "ended": "{title} terminó tras {duration}.",
        "minutes": lambda n: f"{n} minuto" if n == 1 else f"{n} minutos",
        "moments": "Momentos clave: {items}{more}.",
        "more": lambda n: f" (y {n} antes)",
        "since": "Desde la última actualización ({at}): {changes}.",
        "score_changed": "el marcador pasó de {before} a {after}",
        "leader_changed": "{after} arrebató el liderato a {before}",
        "new_moments": lambda n: "1 nuevo momento clave" if n == 1 else f"{n} nuevos momentos clave",
        "new_comments": lambda n: "1 comentario nuevo" if n == 1 else f"{n} comentarios nuevos",
        "crowd": "El público: {comments} {recent}{peak}{top}.",
        "recent": lambda n: "en el último minuto" if n == 1 else f"en los últimos {n} minutos",
        "comments": lambda n: "1 comentario" if n == 1 else f"{n} comentarios",
        "peak": ", con el pico hacia {at} ({count} en un minuto)",
        "top": "; lo más repetido: {items}",
        "quote": "«{text}» ×{count}",
        "sep": ", ",
        "list_sep": "; ",
        "open": " (",
        "close": ")",
    },
    "fr": {
        "score": "Score : {score}{extra}.",
        "leader": "En tête : {leader}{extra}.",
        "chasers": "Derrière : {rest}.",
        "live_for": "{title} est en direct depuis {duration}.",
        "ended": "{title} s'est terminé après {duration}.",
        "minutes": lambda n: f"{n} minute" if n == 1 else f"{n} minutes",
        "moments": "Moments clés : {items}{more}.",
        "more": lambda n: f" (et {n} plus tôt)",
        "since": "Depuis la dernière mise à jour ({at}) : {changes}.",
        "score_changed": "le score est passé de {before} à {after}",
        "leader_changed": "{after} a pris la tête devant {before}",
        "new_moments": lambda n: "1 nouveau moment clé" if n == 1 else f"{n} nouveaux moments clés",
        "new_comments": lambda n: "1 nouveau commentaire" if n == 1 else f"{n} nouveaux commentaires",
        "crowd": "Le public : {comments} {recent}{peak}{top}.",
        "recent": lambda n: "cette dernière minute" if n == 1 else f"ces {n} dernières minutes",
        "comments": lambda n: "1 commentaire" if n == 1 else f"{n} commentaires",
        "peak": ", avec un pic vers {at} ({count} en une minute)",
        "top": " ; les plus répétés : {items}",
        "quote": "« {text} » ×{count}",
        "sep": ", ",
        "list_sep": " ; ",
        "open": " (",
        "close": ")",
    },
    "de": {
        "score": "Spielstand: {score}{extra}.",
        "leader": "In Führung: {leader}{extra}.",
        "chasers": "Dahinter: {rest}.",
        "live_for": "{title} läuft seit {duration} live.",
        "ended": "{title} ist nach {duration} zu Ende.",
        "minutes": lambda n: f"{n} Minute" if n == 1 else f"{n} Minuten",
        "moments": "Schlüsselmomente: {items}{more}.",
        "more": lambda n: f" (und {n} davor)",
        "since": "Seit dem letzten Update ({at}): {changes}.",
        "score_changed": "der Spielstand ging von {before} auf {after}",
        "leader_changed": "{after} übernahm die Führung von {before}",
        "new_moments": lambda n: "1 neuer Schlüsselmoment" if n == 1 else f"{n} neue Schlüsselmomente",
        "new_comments": lambda n: "1 neuer Kommentar" if n == 1 else f"{n} neue Kommentare",
        "crowd": "Das Publikum: {comments} {recent}{peak}{top}.",
        "recent": lambda n: "in der letzten Minute" if n == 1 else f"in den letzten {n} Minuten",
        "comments": lambda n: "1 Kommentar" if n == 1 else f"{n} Kommentare",
        "peak": ", am meisten los gegen {at} ({count} in einer Minute)",
        "top": "; am häufigsten: {items}",
        "quote": "„{text}“ ×{count}",
        "sep": ", ",
        "list_sep": "; ",
        "open": " (",
        "close": ")",
    },
}
SUPPORTED = tuple(TEMPLATES)


def templates_for(lang: str) -> dict:
    return TEMPLATES.get(lang) or TEMPLATES.get(lang.split("-")[0]) or TEMPLATES["en"]


def write(material: Material) -> str:
    """The summary of ``material`` in its language (English where there are no templates)."""
    t = templates_for(material.lang)
    parts = [lead(material, t), moments(material, t), changes(material, t), crowd(material, t)]
    joiner = "" if t is TEMPLATES["zh"] else " "
    return joiner.join(p for p in parts if p)


def lead(material: Material, t: dict) -> str | None:
    stats = material.stats or {}
    scoreboard = stats.get("scoreboard") if isinstance(stats.get("scoreboard"), dict) else None
    score = score_line(scoreboard)
    if score:
        extras = [str(scoreboard[k]) for k in ("period", "clock") if scoreboard.get(k)]
        extra = f"{t['open']}{t['sep'].join(extras)}{t['close']}" if extras else ""
        return t["score"].format(score=score, extra=extra)
    leader = leader_of(stats)
    if leader:
        sentence = t["leader"].format(leader=standing(leader), extra="")
        rest = [s for s in stats["standings"] if isinstance(s, dict) and s.get("name") and s is not leader]
        rest = sorted(rest, key=lambda s: s.get("rank") if isinstance(s.get("rank"), int) else 10**6)[:2]
        if rest:
            sentence += ("" if t is TEMPLATES["zh"] else " ") + t["chasers"].format(
                rest=t["sep"].join(standing(s, with_rank=True) for s in rest)
            )
        return sentence
    if material.event.get("status") == "ended":
        return t["ended"].format(title=material.event["title"], duration=t["minutes"](material.now_ms // 60000))
    if material.now_ms >= 60000:
        return t["live_for"].format(title=material.event["title"], duration=t["minutes"](material.now_ms // 60000))
    return None


def standing(entry: dict, *, with_rank: bool = False) -> str:
    """
    >>> standing({"rank": 2, "name": "Shiffrin", "team": "USA", "result": "1:32.57", "gap": "+0.12"}, with_rank=True)
    '2. Shiffrin (USA) +0.12'
    """
    text = f"{entry['rank']}. {entry['name']}" if with_rank and entry.get("rank") else str(entry["name"])
    if entry.get("team"):
        text += f" ({entry['team']})"
    mark = entry.get("gap") if with_rank and entry.get("gap") else entry.get("result")
    if mark:
        text += f" {mark}"
    return text


def moment_text(moment: dict) -> str:
    label = " — ".join(str(moment[k]) for k in ("title", "detail") if moment.get(k)) or str(moment.get("kind", ""))
    return f"{clock(moment.get('media_ms', 0))} {label}".strip()


def moments(material: Material, t: dict) -> str | None:
    if not material.moments:
        return None
    shown = material.moments[-MOMENTS_SHOWN:]
    earlier = len(material.moments) - len(shown)
    return t["moments"].format(
        items=t["list_sep"].join(moment_text(m) for m in shown), more=t["more"](earlier) if earlier else ""
    )


def changes(material: Material, t: dict) -> str | None:
    previous = material.previous
    if previous is None:
        return None
    found = []
    before_stats = previous.get("stats") or {}
    now_stats = material.stats or {}
    before_score = score_line(before_stats.get("scoreboard") if isinstance(before_stats, dict) else None)
    now_score = score_line(now_stats.get("scoreboard"))
    if before_score and now_score and before_score != now_score:
        found.append(t["score_changed"].format(before=before_score, after=now_score))
    before_leader = leader_of(before_stats if isinstance(before_stats, dict) else None)
    now_leader = leader_of(now_stats)
    if before_leader and now_leader and before_leader.get("name") != now_leader.get("name"):
        found.append(t["leader_changed"].format(before=before_leader["name"], after=now_leader["name"]))
    if material.new_moments:
        found.append(t["new_moments"](len(material.new_moments)))
    if material.new_comments:
        found.append(t["new_comments"](material.new_comments))
    if not found:
        return None
    return t["since"].format(at=clock(previous["covers_to_ms"]), changes=t["sep"].join(found))


def crowd(material: Material, t: dict) -> str | None:
    data = material.crowd
    if not data.get("comments"):
        return None
    peak = data.get("peak")
    top = data.get("top") or []
    return t["crowd"].format(
        comments=t["comments"](data["comments"]),
        recent=t["recent"](data["window_ms"] // 60000),
        peak=t["peak"].format(at=clock(peak["start_ms"]), count=peak["count"]) if peak else "",
        top=t["top"].format(items=t["sep"].join(t["quote"].format(text=q["text"], count=q["count"]) for q in top))
        if top
        else "",
    )
