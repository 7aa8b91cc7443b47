"""The blocks of a kernel spread over the cores: every item once, in order, results per chunk."""

import multiprocessing
import os
import threading

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from scratch.kernels import spread as S


@given(n=st.integers(0, 50))
def test_spread_covers_every_item_once_in_contiguous_chunks(n):
    seen = []
    chunks = S.spread(lambda chunk: seen.append(list(chunk)) or list(chunk), range(n))
    assert sum(chunks, []) == list(range(n))  # in order, each item once
    assert len(chunks) == (1 if n <= 1 else min(S.threads(), n))
    assert sorted(map(tuple, seen)) == sorted(map(tuple, chunks))


def test_spread_runs_the_chunks_at_once():
    """Each chunk waits for all the others at a barrier: run one after another, it would time out."""
    n = S.threads()
    barrier = threading.Barrier(n, timeout=10)
    ids = S.spread(lambda chunk: (barrier.wait(), threading.get_ident())[1], range(4 * n))
    assert len(ids) == n and len(set(ids)) == n


def test_spread_inside_spread_runs_serially_instead_of_deadlocking():
    inner = S.spread(lambda chunk: S.spread(lambda c: sum(c), chunk), range(10))
    assert sum(sum(part) for part in inner) == 45
    assert all(len(part) == 1 for part in inner)  # the inner calls ran in their worker


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs fork")
@pytest.mark.filterwarnings("ignore::DeprecationWarning")  # 3.12 warns of fork with threads
def test_spread_works_in_a_forked_child():
    S.spread(lambda chunk: None, range(4))  # the parent's pool exists
    context = multiprocessing.get_context("fork")
    with context.Pool(1) as pool:
        assert pool.apply_async(_sum_in_chunks, (10,)).get(timeout=30) == 45


def _sum_in_chunks(n):
    return sum(sum(part) for part in S.spread(lambda chunk: list(chunk), range(n)))


def test_spread_returns_what_each_chunk_returns():
    partial = S.spread(lambda chunk: np.sum([2.0**i for i in chunk]), range(20))
    assert sum(partial) == 2.0**20 - 1


@given(n=st.integers(0, 10**5), fits=st.integers(0, 5000), least=st.integers(1, 300))
def test_block_length_is_cache_sized_and_gives_every_thread_a_block(n, fits, least):
    m = S.block_length(n, fits, least)
    assert 1 <= m <= max(least, fits)  # never larger than a block may be
    assert -(-n // m) >= min(n, S.threads())  # no thread left idle


def test_block_length_shares_evenly_at_small_batches():
    """The U-Net's 7x7 layer at batch 20: 320 tiles, 128 fit; 3 blocks would leave one core idle
    a third of the time, so 4 of 80 tiles."""
    if S.threads() == 2:
        assert S.block_length(320, 128, 64) == 80
