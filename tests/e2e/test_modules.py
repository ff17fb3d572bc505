"""Small pure parts of the front end, run in the browser as the pages load them."""
import pytest

pytestmark = pytest.mark.e2e


def test_backoff_is_exponential_with_full_jitter_and_merge_keys_fold_noise(new_viewer):
    """Reconnect delays are uniform in [0, min(30 s, 0.5 s * 2^n)); duplicates fold case, spaces, punctuation, runs."""
    page = new_viewer("/")
    result = page.evaluate(
        """async () => {
            const { backoffDelay } = await import('/static/js/socket.js');
            const { mergeKey } = await import('/static/js/stage.js');
            const ceilings = [0, 1, 2, 3, 6, 10, 20].map((n) => backoffDelay(n, () => 0.999999));
            const floors = [0, 5, 20].map((n) => backoffDelay(n, () => 0));
            const samples = Array.from({ length: 200 }, () => backoffDelay(4));
            return {
                ceilings, floors,
                spread: new Set(samples).size, max: Math.max(...samples),
                same: [mergeKey('GO GO GO!'), mergeKey('go go go'), mergeKey('ＧＯ　ＧＯ　ＧＯ！！')],
                runs: [mergeKey('8888888'), mergeKey('88888')],
                differ: [mergeKey('+1'), mergeKey('1')],
            };
        }"""
    )
    assert result["ceilings"] == [499, 999, 1999, 3999, 29999, 29999, 29999]
    assert result["floors"] == [0, 0, 0]
    assert result["spread"] > 150 and result["max"] < 8000
    assert len(set(result["same"])) == 1
    assert result["runs"][0] == result["runs"][1]
    assert result["differ"][0] != result["differ"][1]
