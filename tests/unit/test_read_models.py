"""The materialized profile equals the profile computed from scratch, whatever the order and
batching of the events that built it (documents go through their stored JSON form)."""
import dataclasses
from datetime import date, datetime, timedelta, timezone

import orjson
from hypothesis import given, settings, strategies as st

from profile360 import jsonfmt
from profile360.events.definitions import MetricDefined
from profile360.events.model import Interaction
from profile360.projections import buckets, metrics, profile, support_desk
from profile360.projections.read_models import RECENT, ProfileView, fold_customer, profile_doc
from profile360.projections.traits import Fact

T0 = datetime(2026, 3, 1, tzinfo=timezone.utc)
TODAY = date(2026, 3, 20)
times = st.integers(0, 40 * 24 * 60 * 60 * 1000).map(lambda ms: T0 + timedelta(milliseconds=ms))

interactions = st.builds(
    Interaction,
    event_id=st.sampled_from([f"e{i}" for i in range(60)]),
    tenant_id=st.just("t1"),
    occurred_at=times,
    customer_id=st.sampled_from(["c1", "c2"]),
    type=st.sampled_from(["impression", "click", "convert", "purchase", "email_opened"]),
    channel=st.sampled_from([None, "EMAIL"]),
    offer_id=st.sampled_from([None, "o1", "o2"]),
    value=st.sampled_from([None, 0.1, 0.2, 2.5, 1e16, -7.0]),
)
facts = st.builds(
    Fact, tenant_id=st.just("t1"), key=st.sampled_from(["customer_id:c1", "email:a@x.io"]),
    kind=st.sampled_from(["trait", "tag", "consent"]), name=st.sampled_from(["firstName", "vip", "email/marketing"]),
    value=st.sampled_from([True, False, "Ada"]), occurred_at=times, event_id=st.sampled_from(["f1", "f2", "f3"]))
DEFINITIONS = [MetricDefined("m", "t1", T0, "spend_7d", "sum", "purchase", 7, None, False),
               MetricDefined("m", "t1", T0, "last_value", "latest", "convert", None, None, False)]
NODES = [{"key": "customer_id:c1", "id_type": "customer_id", "id_value": "c1", "original": "c1", "valid": True,
          "occurred_at": T0 + timedelta(days=3)},
         {"key": "customer_id:c2", "id_type": "customer_id", "id_value": "c2", "original": "c2", "valid": True,
          "occurred_at": T0 + timedelta(days=5)},
         {"key": "email:a@x.io", "id_type": "email", "id_value": "a@x.io", "original": "A@x.io", "valid": True,
          "occurred_at": T0 + timedelta(days=9)}]


def distinct(evs):
    """The writer folds each event once (only events new to the history)."""
    return list({e.event_id: e for e in evs}.values())


def stored(doc):
    return orjson.loads(jsonfmt.dumps(doc))


def folded(batches):
    docs = {}
    for batch in batches:
        for cid in sorted({e.customer_id for e in batch}):
            docs[cid] = stored(fold_customer(docs.get(cid), [e for e in batch if e.customer_id == cid]))
    return docs


@settings(max_examples=150, deadline=None)
@given(st.lists(interactions, max_size=50).map(distinct), st.randoms(use_true_random=False), st.data())
def test_customer_documents_do_not_depend_on_order_or_batching(evs, rnd, data):
    shuffled = list(evs)
    rnd.shuffle(shuffled)
    cuts = sorted(data.draw(st.lists(st.integers(0, len(shuffled)), max_size=6)))
    batches = [shuffled[a:b] for a, b in zip([0, *cuts], [*cuts, len(shuffled)])]
    assert folded(batches) == folded([evs])


def _days(evs):
    """What ``customer_daily`` holds for ``evs``, as the read statement returns it (offers are not read)."""
    return [(k[2], k[3], dataclasses.replace(b, offers=frozenset())) for k, b in sorted(buckets.customer_buckets(evs).items())]


def _from_scratch(evs, fs):
    rows = metrics.merge_rows(_days(evs))
    first = min((e.occurred_at for e in evs), default=None)
    last = max((e.occurred_at for e in evs), default=None)
    return rows, first, last


@settings(max_examples=150, deadline=None)
@given(st.lists(interactions, max_size=50).map(distinct), st.lists(facts, max_size=8), st.randoms(use_true_random=False))
def test_the_view_answers_what_the_profile_computed_from_scratch_answers(evs, fs, rnd):
    shuffled = list(evs)
    rnd.shuffle(shuffled)
    docs = folded([shuffled[: len(shuffled) // 2], shuffled[len(shuffled) // 2:]])
    view = ProfileView("p1", stored(profile_doc("p1", NODES, [], fs, 0.8)), [docs[c] for c in sorted(docs)], _days(evs), [],
                       DEFINITIONS)
    rows, first, last = _from_scratch(evs, fs)
    assert view.rows == rows
    assert view.total() == len(evs)
    assert view.metrics(TODAY) == metrics.all_metrics(rows, DEFINITIONS, TODAY)
    newest = sorted(evs, key=lambda e: (e.occurred_at, e.event_id), reverse=True)[:RECENT]
    assert [r["id"] for r in view.recent()] == [e.event_id for e in newest]
    object_facts = [f for f in fs if f.kind in ("trait", "tag", "consent")]
    assert view.profile_object() == stored(profile.profile_object("p1", NODES, object_facts, rows, (first, last)))
    desk_times = [t for t in (first, last, *(n["occurred_at"] for n in NODES), *(f.occurred_at for f in fs)) if t]
    assert view.desk() == stored(support_desk.customer("p1", ["c1", "c2"], NODES, [f for f in fs if f.kind == "trait"],
                                                       desk_times))
