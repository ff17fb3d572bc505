"""The examples in the summaries modules' docstrings hold."""
import doctest

import pytest

from summaries import material, offline, prompt, services


@pytest.mark.parametrize("module", [material, offline, prompt, services], ids=lambda m: m.__name__)
def test_docstring_examples(module, settings):
    settings.SUMMARY_MAX_CHARS = 1500
    result = doctest.testmod(module, optionflags=doctest.ELLIPSIS)
    assert result.attempted > 0 and result.failed == 0
