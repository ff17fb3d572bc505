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


def test_own_comment_broadcast_before_its_ack_is_outlined_not_doubled(new_viewer):
    """When the broadcast of one's comment beats the ack, the comment on screen is claimed, not added again."""
    page = new_viewer("/events/demo/")
    page.wait_for_selector('[data-conn][data-state="live"]')
    result = page.evaluate(
        """async () => {
            const stage = companion.stage;
            const now = Math.round(companion.media.currentTime * 1000);
            const item = { id: 987654321, text: 'raced the ack', color: '#ffffff', mode: 'scroll', size: 'normal',
                           media_ms: now, author: { id: 1, name: 'Me' }, created_at: null };
            stage.add(item, { live: true });
            await new Promise((r) => setTimeout(r, 400));
            stage.add(item, { live: true, own: true });
            await new Promise((r) => setTimeout(r, 300));
            const nodes = [...document.querySelectorAll('[data-danmaku-layer] .dm')].filter((n) => n.textContent.includes('raced the ack'));
            const rows = [...document.querySelectorAll('[data-log] .log-item')].filter((n) => n.textContent.includes('raced the ack'));
            return { nodes: nodes.length, mine: nodes.every((n) => n.classList.contains('dm-mine')), rows: rows.length,
                     rowMine: rows.every((n) => n.classList.contains('log-mine')) };
        }"""
    )
    assert result == {"nodes": 1, "mine": True, "rows": 1, "rowMine": True}
