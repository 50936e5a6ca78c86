"""The segment rule language: every error says where and what was expected; evaluation
follows the documented null and type rules."""
from datetime import date
from decimal import Decimal

import pytest
from hypothesis import given, settings, strategies as st

from profile360.projections.buckets import Bucket
from profile360.projections.segment_rules import RuleError, Subject, evaluate, parse, windowed

TODAY = date(2026, 3, 31)


def subject(traits=None, tags=(), consent=None, rows=(), metric=None):
    return Subject(traits or {}, frozenset(tags), consent or {}, list(rows), metric or (lambda name: None), TODAY)


@pytest.mark.parametrize("text, column, words", [
    ("trait.country = ", 17, ["end of the rule", "a string", "a number"]),
    ("(trait.a = 1", 13, ["end of the rule", ")"]),
    ("trait.a 1", 9, ["'1'", "an operator"]),
    ("trait.tier < \"gold\"", 1, ["`<` needs a number"]),
    ("foo.bar = 1", 1, ["unknown field 'foo.bar'", "trait.NAME"]),
    ("count(purchase, 0) > 1", 1, ["1 to 3650 days"]),
    ("avg(purchase) > 1", 1, ["unknown function avg()"]),
    ("tags = \"x\"", 1, ["tags contains"]),
    ("consent.email.marketing = 1", 1, ["true or false"]),
    ("trait.x in \"a\"", 1, ["`in` needs a list"]),
    ("trait.x = [1]", 1, ["only follow `in`"]),
    ("count(purchase, x) > 1", 17, ["whole number of days"]),
    ("trait.and = 1", 7, ["'and'", "a name"]),
])
def test_errors_name_the_column_and_what_was_expected(text, column, words):
    with pytest.raises(RuleError) as err:
        parse(text)
    assert err.value.column == column
    for w in words:
        assert w in str(err.value)


def test_unknown_metrics_are_refused_only_when_the_known_ones_are_given():
    parse("metric.spend_90d > 1")
    with pytest.raises(RuleError, match="unknown metric spend_90d; known: engagement_score"):
        parse("metric.spend_90d > 1", known_metrics=["engagement_score"])


def test_empty_and_oversized_rules():
    with pytest.raises(RuleError, match="empty"):
        parse("  ")
    with pytest.raises(RuleError, match="longer than"):
        parse("trait.a = 1 or " * 300 + "trait.a = 1")


def test_evaluation():
    rule = parse('trait.country in ["AE", "SA"] and consent.email.marketing = true and not tags contains "churned"')
    assert evaluate(rule, subject({"country": "AE"}, consent={("email", "marketing"): True}))
    assert not evaluate(rule, subject({"country": "AE"}, ["churned"], {("email", "marketing"): True}))
    assert not evaluate(rule, subject({"country": "AE"}))  # no consent recorded: false
    rows = [(date(2026, 3, 30), "purchase", Bucket(2, 2, Decimal("30.5"))),
            (date(2026, 1, 1), "purchase", Bucket(5))]
    assert evaluate(parse("count(purchase, 30) = 2 and count(purchase) = 7 and sum(purchase, 30) > 30"), subject(rows=rows))
    assert evaluate(parse("metric.score >= 50"), subject(metric=lambda n: 50.0 if n == "score" else None))


def test_null_and_type_rules():
    s = subject({"tier": None, "orders": 3, "vip": True, "name": "3"})
    assert evaluate(parse("trait.tier = null and trait.missing = null and trait.orders != null"), s)
    assert not evaluate(parse("trait.missing > 1"), s) and not evaluate(parse("trait.missing in [1]"), s)
    assert not evaluate(parse("trait.name > 1"), s), "a string is never ordered against a number"
    assert not evaluate(parse("trait.vip = 1"), s) and evaluate(parse("trait.vip = true"), s)
    assert evaluate(parse("trait.orders in [1, 3]"), s) and not evaluate(parse("trait.name in [3]"), s)


def test_only_rules_on_sliding_windows_or_metrics_are_windowed():
    assert windowed(parse("count(purchase, 30) > 1")) and windowed(parse("metric.engagement_score > 1"))
    assert not windowed(parse("count(purchase) > 1 and trait.a = 1"))


names = st.sampled_from(["trait.a", "trait.b", "count(purchase)", "count(click, 7)", "sum(purchase, 30)"])
literals = st.one_of(st.integers(-5, 5), st.sampled_from(['"x"', "true", "null"]))
comparisons = st.builds(lambda f, op, v: f"{f} {op} {v}", names, st.sampled_from(["=", "!="]), literals)
rules = st.recursive(comparisons, lambda inner: st.one_of(
    st.builds(lambda a, b, op: f"({a}) {op} ({b})", inner, inner, st.sampled_from(["and", "or"])),
    st.builds(lambda a: f"not ({a})", inner)), max_leaves=8)


@settings(max_examples=200, deadline=None)
@given(rules, st.dictionaries(st.sampled_from(["a", "b"]), st.one_of(st.integers(-5, 5), st.just("x"), st.none())))
def test_not_and_de_morgan_hold(text, traits):
    s = subject(traits)
    rule = parse(text)
    assert evaluate(parse(f"not ({text})"), s) is (not evaluate(rule, s))
    assert evaluate(parse(f"({text}) or ({text})"), s) is evaluate(rule, s) is evaluate(parse(f"({text}) and ({text})"), s)
