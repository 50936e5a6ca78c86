"""Profile registers: last writer wins (first for enrolments) across identifiers, whatever the order."""
from datetime import datetime, timedelta, timezone

from hypothesis import given, settings, strategies as st

from profile360.events.people import ConsentChanged, ExperimentAssigned, Identify, JourneyUpdated, RawIdentifier as R
from profile360.projections import profile, traits

T0 = datetime(2026, 3, 1, tzinfo=timezone.utc)
WHO = [R("customer_id", "C1"), R("email", "a@x.com"), R("customer_id", "C2")]


def at(m):
    return T0 + timedelta(minutes=m)


events = st.one_of(
    st.builds(lambda i, m, w, v: Identify(f"i{i}", "t", at(m), (w,), {"city": v}, ("vip",) if v == "Rome" else (),
                                          ("vip",) if v == "Oslo" else ()),
              st.integers(0, 9), st.integers(0, 20), st.sampled_from(WHO), st.sampled_from(["Rome", "Oslo", "Lima"])),
    st.builds(lambda i, m, w, g: ConsentChanged(f"c{i}", "t", at(m), w, "email", "marketing", g),
              st.integers(0, 9), st.integers(0, 20), st.sampled_from(WHO), st.booleans()),
    st.builds(lambda i, m, w, v: ExperimentAssigned(f"x{i}", "t", at(m), w, "exp", v),
              st.integers(0, 9), st.integers(0, 20), st.sampled_from(WHO), st.sampled_from("AB")),
    st.builds(lambda i, m, w, s: JourneyUpdated(f"j{i}", "t", at(m), w, "onb", s),
              st.integers(0, 9), st.integers(0, 20), st.sampled_from(WHO),
              st.sampled_from(["enrolled", "active", "completed", "exited"])),
)


def unique(evs):
    return list({(type(e).__name__, e.event_id): e for e in evs}.values())


def stored(evs, batch):
    """What the table holds after upserting the winners of each batch in turn."""
    table = {}
    for i in range(0, len(evs), batch):
        for k, f in traits.winners([f for e in evs[i:i + batch] for f in traits.facts_of(e)]).items():
            table[k] = traits.winners([table[k], f])[k] if k in table else f
    return table


@settings(max_examples=200, deadline=None)
@given(st.lists(events, max_size=20).map(unique), st.randoms(use_true_random=False), st.integers(1, 5))
def test_registers_depend_only_on_the_set_of_events(evs, rnd, batch):
    expected = stored(evs, len(evs) or 1)
    shuffled = evs + evs[: len(evs) // 2]
    rnd.shuffle(shuffled)
    assert stored(shuffled, batch) == expected


def test_the_latest_fact_wins_across_identifiers_and_enrolment_keeps_the_first():
    evs = [Identify("i1", "t", at(5), (WHO[0],), {"city": "Rome"}), Identify("i2", "t", at(3), (WHO[1],), {"city": "Oslo"}),
           JourneyUpdated("j1", "t", at(1), WHO[0], "onb", "enrolled"),
           JourneyUpdated("j2", "t", at(9), WHO[1], "onb", "exited", "step-2")]
    facts = [f for e in evs for f in traits.facts_of(e)]
    assert profile.profile_object("C1", [], facts, [], (None, None))["city"] == "Rome"
    (j,) = profile.journeys(facts)
    assert (j["status"], j["enrolledAt"], j["exitedAt"], j["completedAt"]) == ("exited", at(1), at(9), None)


def test_an_identify_that_adds_and_removes_a_tag_removes_it():
    e = Identify("i1", "t", at(0), (WHO[0],), {}, ("vip", "new"), ("vip",))
    assert profile.profile_object("C1", [], traits.facts_of(e), [], (None, None))["tags"] == ["new"]
