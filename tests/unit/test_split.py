from hypothesis import given, strategies as st

from profile360.store.writer import Entry
from profile360.worker.runner import split_by_partition

entries = st.lists(st.tuples(st.sampled_from(["a", "b"]), st.integers(0, 3)), max_size=60).map(
    lambda tps: [Entry(t, p, i, None) for i, (t, p) in enumerate(tps)])


@given(entries, st.integers(1, 4))
def test_groups_partition_the_batch_and_keep_each_partition_whole_and_ordered(batch, ways):
    groups = split_by_partition(batch, ways)
    assert len(groups) <= ways and all(groups)
    assert sorted(e.offset for g in groups for e in g) == [e.offset for e in batch]
    owners = {}
    for n, g in enumerate(groups):
        for e in g:
            assert owners.setdefault((e.topic, e.partition), n) == n
        for tp in {(e.topic, e.partition) for e in g}:
            offsets = [e.offset for e in g if (e.topic, e.partition) == tp]
            assert offsets == sorted(offsets)
