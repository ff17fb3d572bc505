"""
The room socket's comments, stored in batches (``companion.batch``): every
comment that arrived while the previous database call ran is stored in one
transaction, with one INSERT, and acknowledged after its commit.
"""
from companion.batch import Batcher, batcher

from . import services


def get_batcher() -> Batcher:
    """This process's comment batcher: ``await get_batcher().submit(post)`` is the stored Comment."""
    return batcher("danmaku-posts", services.danmaku_post_batch)
