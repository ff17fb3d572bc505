"""
Blocked-term patterns: validation on save, and matching on the post path.

Python's ``re`` has no timeout, and a regular expression is applied to every
comment of a hot room, so a pattern must be proven cheap before it is saved.
Three layers, each enough for a different class of pattern:

1. **Shape** (``check_shape``, static and instant): a length cap; it must
   compile; no backreferences or conditionals; no nested quantifiers such as
   ``(a+)+``, ``(.*)*`` or ``(\\w+\\s?)+`` (a variable-width repeat inside a
   repeat); no repeated alternation whose branches can start with the same
   character or be empty, such as ``(a|ab)+``. These are the shapes of
   exponential backtracking; the check is conservative and refuses some
   harmless patterns, with a message that says which rule applies.
2. **Probe** (``probe``, measured): polynomial blow-ups (``.*.*.*x`` takes
   ~80 ms on 100 characters, ``.*.*.*.*x`` ~2 s) pass any simple shape test, so
   the pattern is also run on adversarial inputs of the longest allowed
   comment (each character class of the pattern, repeated, with and without a
   breaking last character) in a child process that is killed after
   ``MODERATION_REGEX_PROBE_TIMEOUT_MS``. Any input slower than
   ``MODERATION_REGEX_BUDGET_MS`` refuses the pattern.
3. **Bounded input** at use: comments are at most ``DANMAKU_MAX_LENGTH``
   (100) characters, the length the probe measured.

Literal terms are escaped and need none of this. Matching is case-insensitive.
"""
import functools
import json
import re
import subprocess
import sys
import unicodedata

from django.conf import settings
from django.core.exceptions import ValidationError

try:  # The parser behind re.compile (private, stable since 3.11).
    from re import _constants as C
    from re import _parser as sre_parse
except ImportError:  # pragma: no cover
    import sre_constants as C
    import sre_parse

FLAGS = re.IGNORECASE
REPEATS = {C.MAX_REPEAT, C.MIN_REPEAT, getattr(C, "POSSESSIVE_REPEAT", C.MAX_REPEAT)}
# Characters every probe tries, besides those the pattern names.
PROBE_ALPHABET = "a0 _!-.é中"


def compile_term(pattern: str, *, is_regex: bool) -> re.Pattern:
    return re.compile(pattern if is_regex else re.escape(pattern), FLAGS)


def validate_term(pattern: str, *, is_regex: bool) -> str:
    """
    The pattern to store, or a ValidationError that says what is wrong.

    >>> validate_term("  spoiler ", is_regex=False)
    'spoiler'
    >>> validate_term("(a+)+", is_regex=True)
    Traceback (most recent call last):
    ...
    django.core.exceptions.ValidationError: ['Nested quantifier: a repeated group may not contain another variable-length repeat (like (a+)+ or (.*)*).']
    """
    pattern = (pattern or "").strip() if not is_regex else (pattern or "")
    if not pattern.strip():
        raise ValidationError("Enter a word or a pattern.")
    limit = settings.MODERATION_PATTERN_MAX_LENGTH
    if len(pattern) > limit:
        raise ValidationError(f"Patterns are at most {limit} characters.")
    if "\x00" in pattern:
        raise ValidationError("Patterns may not contain NUL characters.")
    if not is_regex:
        return pattern
    try:
        compiled = re.compile(pattern, FLAGS)
    except re.error as error:
        raise ValidationError(f"Not a valid regular expression: {error}.") from None
    problem = check_shape(pattern)
    if problem:
        raise ValidationError(problem)
    if compiled.search("") is not None:
        raise ValidationError("This pattern matches empty text, so it would match every comment.")
    slow = probe(pattern)
    if slow:
        raise ValidationError(slow)
    return pattern


# --- layer 1: shape -----------------------------------------------------------


def check_shape(pattern: str) -> str | None:
    """
    Why the pattern's shape risks catastrophic backtracking, or None.

    >>> check_shape(r"\\bspoil(er|ers|ing)?\\b") is None
    True
    >>> check_shape(r"f+\\W*u+\\W*n+") is None
    True
    >>> check_shape(r"(\\w+\\s?)+$") is not None
    True
    >>> check_shape(r"(a|ab)+c") is not None
    True
    """
    try:
        parsed = sre_parse.parse(pattern, FLAGS)
    except Exception as error:  # re.error, RecursionError on absurd nesting
        return f"Not a valid regular expression: {error}."
    return _check(list(parsed), in_repeat=0)


# An optional item (?) inside a repeat of at most this many rounds is allowed
# (at most 2**n paths, which the probe measures): (\d{3}[- ]?){2}.
SMALL_REPEAT = 10


def _check(items, *, in_repeat: int) -> str | None:
    """``in_repeat``: the largest round count of the repeats around ``items`` (0: none)."""
    for op, av in items:
        if op in (C.GROUPREF, C.GROUPREF_EXISTS) or op == getattr(C, "GROUPREF_IGNORE", None):
            return "Backreferences and conditional groups are not allowed."
        if op in REPEATS:
            low, high, body = av
            body = list(body)
            if in_repeat and low != high and not (high <= 1 and in_repeat <= SMALL_REPEAT):
                return "Nested quantifier: a repeated group may not contain another variable-length repeat (like (a+)+ or (.*)*)."
            if high > 1:
                problem = _check_branches(body)
                if problem:
                    return problem
            problem = _check(body, in_repeat=max(in_repeat, high if high > 1 else 0))
            if problem:
                return problem
        elif op == C.SUBPATTERN:
            problem = _check(list(av[-1]), in_repeat=in_repeat)
            if problem:
                return problem
        elif op in (C.ASSERT, C.ASSERT_NOT):
            problem = _check(list(av[1]), in_repeat=in_repeat)
            if problem:
                return problem
        elif op == getattr(C, "ATOMIC_GROUP", None):
            problem = _check(list(av), in_repeat=in_repeat)
            if problem:
                return problem
        elif op == C.BRANCH:
            for branch in av[1]:
                problem = _check(list(branch), in_repeat=in_repeat)
                if problem:
                    return problem
    return None


def _check_branches(items) -> str | None:
    """Inside a repeat, alternatives must be unambiguous: non-empty, with disjoint first characters."""
    for op, av in items:
        if op == C.SUBPATTERN:
            problem = _check_branches(list(av[-1]))
            if problem:
                return problem
        elif op == C.BRANCH:
            seen: set[str] = set()
            for branch in av[1]:
                first = _first_chars(list(branch))
                if first is None or not first or seen & first:
                    return "Ambiguous alternation inside a repeat (like (a|ab)+): alternatives must start differently."
                seen |= first
    return None


def _first_chars(items) -> set[str] | None:
    """The characters a sequence can start with: a set, or None for 'too many to tell'."""
    if not items:
        return set()
    op, av = items[0]
    if op == C.LITERAL:
        ch = chr(av)
        return {ch.lower(), ch.upper()}
    if op == C.IN:
        chars: set[str] = set()
        for sub_op, sub_av in av:
            if sub_op == C.LITERAL:
                chars |= {chr(sub_av).lower(), chr(sub_av).upper()}
            elif sub_op == C.RANGE and sub_av[1] - sub_av[0] <= 256:
                for code in range(sub_av[0], sub_av[1] + 1):
                    chars |= {chr(code).lower(), chr(code).upper()}
            else:  # categories, negation, wide ranges
                return None
        return chars
    if op == C.SUBPATTERN:
        return _first_chars(list(av[-1]) + items[1:])
    if op == C.AT:  # anchors such as \b take no character
        return _first_chars(items[1:])
    if op in REPEATS and av[0] >= 1:
        return _first_chars(list(av[2]))
    return None


# --- layer 2: probe -------------------------------------------------------------------

PROBE_SCRIPT = r"""
import json, re, sys, time
job = json.loads(sys.stdin.read())
rx = re.compile(job["pattern"], re.IGNORECASE)
budget = job["budget_s"]
for text in job["inputs"]:
    best = None
    for _ in range(3):
        start = time.perf_counter()
        rx.search(text)
        spent = time.perf_counter() - start
        best = spent if best is None else min(best, spent)
        # Within budget: next input. Far over it: slow. Just over: measure
        # again, so a busy machine does not refuse a cheap pattern.
        if best <= budget or best > 10 * budget:
            break
    if best > budget:
        print(json.dumps({"slow": text[:40], "ms": round(best * 1000, 1)}))
        sys.exit(0)
print(json.dumps({"slow": None}))
"""


def probe_inputs(pattern: str, length: int) -> list[str]:
    """Adversarial texts of ``length`` characters for the pattern: runs of each relevant character."""
    alphabet = dict.fromkeys(PROBE_ALPHABET)
    for ch in _pattern_chars(pattern):
        alphabet.setdefault(ch)
    chars = list(alphabet)[:40]
    inputs = []
    for ch in chars:
        run = ch * length
        inputs.append(run)
        for breaker in ("!", "\u3000", "a"):
            if breaker != ch:
                inputs.append(run[:-1] + breaker)
    # Alternations of two characters defeat patterns that need a change of class.
    for a in chars[:12]:
        for b in chars[:12]:
            if a != b:
                inputs.append(((a + b) * length)[: length - 1] + "!")
    return inputs


def _pattern_chars(pattern: str) -> list[str]:
    chars: list[str] = []

    def walk(items):
        for op, av in items:
            if op == C.LITERAL:
                chars.append(chr(av))
            elif op == C.IN:
                for sub_op, sub_av in av:
                    if sub_op == C.LITERAL:
                        chars.append(chr(sub_av))
                    elif sub_op == C.RANGE:
                        chars.append(chr(sub_av[0]))
            elif op in REPEATS:
                walk(av[2])
            elif op == C.SUBPATTERN:
                walk(av[-1])
            elif op == C.BRANCH:
                for branch in av[1]:
                    walk(branch)
            elif op in (C.ASSERT, C.ASSERT_NOT):
                walk(av[1])

    try:
        walk(sre_parse.parse(pattern, FLAGS))
    except Exception:
        pass
    return chars


def probe(pattern: str) -> str | None:
    """Why the pattern is too slow on adversarial input of the longest comment, or None."""
    return _probe(
        pattern,
        length=max(settings.DANMAKU_MAX_LENGTH, 1),
        budget_ms=settings.MODERATION_REGEX_BUDGET_MS,
        timeout_ms=settings.MODERATION_REGEX_PROBE_TIMEOUT_MS,
    )


@functools.lru_cache(maxsize=256)  # a form's clean() and the service's full_clean() probe the same pattern
def _probe(pattern: str, *, length: int, budget_ms: int, timeout_ms: int) -> str | None:
    job = {"pattern": pattern, "budget_s": budget_ms / 1000, "inputs": probe_inputs(pattern, length)}
    timeout = timeout_ms / 1000
    try:
        result = subprocess.run(
            [sys.executable, "-I", "-S", "-c", PROBE_SCRIPT],
            input=json.dumps(job),
            capture_output=True,
            text=True,
            timeout=timeout,
        )
    except subprocess.TimeoutExpired:
        return f"This pattern is too slow: it did not finish on a {length}-character test comment."
    try:
        answer = json.loads(result.stdout.strip().splitlines()[-1])
    except (ValueError, IndexError):
        return "This pattern could not be tested; simplify it."
    if answer["slow"] is not None:
        return (
            f"This pattern is too slow: {answer['ms']} ms on a {length}-character test comment "
            f"(at most {budget_ms} ms). Avoid several .* or \\w+ in a row."
        )
    return None


# --- matching ---------------------------------------------------------------------------


def variants(text: str) -> list[str]:
    """
    The text, and its NFKC form when that differs (so ｓｐａｍ matches spam).

    >>> variants("ｓｐａｍ")
    ['ｓｐａｍ', 'spam']
    """
    normal = unicodedata.normalize("NFKC", text)
    return [text] if normal == text else [text, normal]


def mask(regex: re.Pattern, text: str) -> str:
    """
    Replace each match with asterisks of the same length.

    >>> mask(re.compile("bad", re.I), "so BAD, so bad")
    'so ***, so ***'
    """
    return regex.sub(lambda m: "*" * len(m.group(0)), text)
