"""The bench's pure parts: the goals table, the 304 check, the profile-change probe's reading
of a unified profile, and the share of the trivial endpoint in the report."""
from __future__ import annotations

from bench import freshness, goals, profile_reads, report
from bench.report import Figure


def _api(key: str, rate: float, p99: float = 5.0) -> Figure:
    return Figure(f"API: {key}", rate, "requests/s", role="api", key=key, measures={"p99_ms": p99})


def _row(table: str, start: str) -> list[str]:
    line = next(line for line in table.splitlines() if line.startswith(f"| {start}"))
    return [c.strip() for c in line.strip("|").split(" | ")]


def test_goals_table_marks_each_goal_met_missed_or_not_measured():
    figures = [_api("trivial", 10_000), _api("unified_profile", 4_500, p99=12.0), _api("unified_profile@2", 6_000),
               _api("history_newest", 2_999), _api("history_hot", 3_000),
               Figure("e2e", 20_000, "events/s", role="e2e", key="e2e"),
               Figure("faust", 10_000, "events/s", role="faust", key="faust"),
               Figure("fresh", 40, "ms", role="info", key="freshness_profile", measures={"p99_ms": 900}),
               _api("unified_revalidated", 5_000) ]
    figures[-1].measures["not_modified"] = 0.0
    table = goals.table(figures, 2)
    unified_share, unified_p99 = [r for r in table.splitlines() if r.startswith(f"| {goals.UNIFIED}")]
    assert "| 45.0% | 60.0% | met |" in unified_share
    assert "| 12.0 ms |" in unified_p99 and unified_p99.endswith("**missed** |")
    assert _row(table, "History, tenant's newest 20")[-1] == "**missed**"  # 29.99 % < 30 %
    assert _row(table, "History of the hottest customer")[-1] == "met"
    assert _row(table, "Summary groupBy=action")[-1] == "not measured"
    assert _row(table, "End-to-end interaction ingest")[2:] == ["2.00×", "", "met"]
    assert _row(table, "Freshness of a profile change")[-1] == "met"
    assert _row(table, "If-None-Match")[2:] == ["0.0%", "", "**missed**"]
    assert _row(table, "Where the per-request time goes")[-1] == "not a bench figure"


def test_goals_table_without_a_second_pass_has_no_such_column():
    table = goals.table([_api("trivial", 100), _api("unified_profile", 50)], 1)
    assert "API processes" not in table.splitlines()[0]
    assert _row(table, goals.UNIFIED)[2:] == ["50.0%", "met"]


def test_a_failed_figure_is_not_measured():
    failed = _api("unified_profile", 9_000)
    failed.failure = "3 errors"
    assert goals.measured(goals.GOALS[0], {"trivial": _api("trivial", 10_000)}) is None
    assert _row(goals.table([_api("trivial", 10_000), failed]), goals.UNIFIED)[-1] == "not measured"


def test_api_rows_show_their_share_of_the_trivial_endpoint():
    table = report.table([_api("trivial", 10_000), _api("history_newest", 1_234)])
    assert "| API: trivial | 10,000 | requests/s |  |" in table
    assert "| API: history_newest | 1,234 | requests/s | 12.3% of trivial |" in table


def test_conditional_answers_304_without_body_or_200_count_anything_else_is_an_error():
    assert profile_reads.conditional(304, b"") is None
    assert profile_reads.conditional(200, b"{}") is None
    assert profile_reads.conditional(304, b"{}") == "304 with a 2-byte body"
    assert profile_reads.conditional(404, b"{}") == "HTTP 404"
    assert profile_reads.ENTITY_TAG.fullmatch('"g1-42"') and profile_reads.ENTITY_TAG.fullmatch('W/"x"')
    assert not profile_reads.ENTITY_TAG.fullmatch("g1-42")


def test_profile_change_probe_sees_the_trait_and_the_link_separately():
    probe = freshness.ProfileChangeProbe.__new__(freshness.ProfileChangeProbe)
    probe.run_id = 7
    token = probe._token(3)
    attributes = {"name": "attributes", "data": {"attributes": {"benchProbe": token}}}
    identities = {"name": "identities", "data": [{"type": "device_id", "value": f"probe-device-{token}"}]}
    assert probe.shown({"sections": [attributes]}, 3) == {"trait"}
    assert probe.shown({"sections": [attributes, identities]}, 3) == {"trait", "link"}
    assert probe.shown({"sections": [attributes, identities]}, 4) == set()
    assert probe.shown(None, 3) == set()  # a 404 while the profile does not exist yet


def test_a_change_never_shown_makes_the_freshness_p99_miss_its_goal():
    probe = freshness.ProfileChangeProbe.__new__(freshness.ProfileChangeProbe)
    probe.latencies, probe.missed = {"all": [0.1] * 5, "trait": [0.1] * 5, "link": [0.1] * 5}, 1
    fig = freshness.figure(probe, 1_000)
    assert fig.value == 100.0 and "p99 over 30 s over 5 changes" in fig.detail and "1 not shown within 30 s" in fig.detail
    assert _row(goals.table([fig]), "Freshness of a profile change")[-1] == "**missed**"
    probe.missed = 0
    assert _row(goals.table([freshness.figure(probe, 1_000)]), "Freshness of a profile change")[-1] == "met"
