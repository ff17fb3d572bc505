"""Blocked-term patterns: what is refused on save and why, and how matching treats text."""
import re

import pytest
from django.core.exceptions import ValidationError

from moderation import patterns


@pytest.mark.parametrize(
    "pattern",
    [
        r"\bspoil(er|ers|ing)?\b",
        r"f+\W*u+\W*n+",  # repeated letters to dodge a filter: linear, allowed
        r"https?://\S+",
        r"(foo|bar)+",
        r"(?:\d{3}[- ]?){2}\d{4}",
        r"buy\s+cheap\s+\w+",
        r"中奖",
    ],
)
def test_useful_patterns_are_accepted(pattern):
    assert patterns.validate_term(pattern, is_regex=True) == pattern


@pytest.mark.parametrize(
    "pattern, words",
    [
        (r"(a+)+$", "Nested quantifier"),
        (r"(.*)*", "Nested quantifier"),
        (r"(\w+\s?)+$", "Nested quantifier"),
        (r"(a{1,5})*b", "Nested quantifier"),
        (r"(a|ab)+c", "Ambiguous alternation"),
        (r"(ab|\wc)+d", "Ambiguous alternation"),
        (r"(|x)+y", "Ambiguous alternation"),
        (r"(a)\1", "Backreferences"),
        (r"(a)?(?(1)b|c)", "Backreferences"),
        (r"[", "Not a valid regular expression"),
        (r"a?", "matches empty text"),
        (r".*.*.*x", "too slow"),
        (r"\w+\s*\w+\s*\w+\s*!", "too slow"),
        ("x" * 201, "at most 200"),
        ("   ", "Enter a word"),
    ],
)
def test_unsafe_and_invalid_patterns_are_refused_with_the_reason(pattern, words):
    with pytest.raises(ValidationError) as excinfo:
        patterns.validate_term(pattern, is_regex=True)
    assert words in " ".join(excinfo.value.messages)


def test_the_probe_uses_the_longest_comment_and_the_budget(settings):
    """A polynomial pattern fine on short comments is refused when comments may be long."""
    settings.DANMAKU_MAX_LENGTH = 20
    assert patterns.probe(r".*.*.*x") is None
    settings.DANMAKU_MAX_LENGTH = 100
    assert "too slow" in patterns.probe(r".*.*.*x")


def test_a_probe_that_never_finishes_is_killed(settings):
    """Python's re cannot be interrupted; the child process running the probe can."""
    settings.MODERATION_REGEX_PROBE_TIMEOUT_MS = 300
    settings.MODERATION_REGEX_BUDGET_MS = 10_000
    assert "did not finish" in patterns.probe(r"(x+x+)+y")


def test_probe_inputs_cover_the_pattern_characters_and_the_length():
    inputs = patterns.probe_inputs(r"q+[z]", 50)
    assert "q" * 50 in inputs and "z" * 50 in inputs
    assert all(len(text) == 50 for text in inputs)


def test_literal_terms_are_stripped_and_escaped():
    assert patterns.validate_term("  a.b  ", is_regex=False) == "a.b"
    regex = patterns.compile_term("a.b", is_regex=False)
    assert regex.search("A.B") and not regex.search("axb")


def test_mask_keeps_the_length():
    assert patterns.mask(re.compile("ab", re.I), "xABx ab") == "x**x **"


def test_variants_add_the_nfkc_form_only_when_it_differs():
    assert patterns.variants("plain") == ["plain"]
    assert patterns.variants("ﬁne") == ["ﬁne", "fine"]
