"""
The room socket's votes, counted in batches (``companion.batch``): every vote
that arrived while the previous database call ran is counted in one statement.
"""
from companion.batch import Batcher, batcher

from . import services


def _count(ballots: list[services.Ballot]) -> list:
    return services.poll_vote_batch(ballots=ballots)


def get_batcher() -> Batcher:
    """This process's vote batcher: ``await get_batcher().submit(ballot)`` is the Vote."""
    return batcher("poll-votes", _count)
