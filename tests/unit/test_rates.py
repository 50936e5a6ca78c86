"""Token buckets per key and per tenant (``api.rates``), on a clock the test moves."""
from hypothesis import given, strategies as st

from profile360.api.rates import Limiter


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_a_full_bucket_allows_one_second_of_burst_then_refuses_until_a_token_returns():
    clock = Clock()
    limiter = Limiter(per_key=5, per_tenant=0, clock=clock)
    verdicts = [limiter.take("k", None, "t") for _ in range(6)]
    assert [v.allowed for v in verdicts] == [True] * 5 + [False]
    assert [v.remaining for v in verdicts[:5]] == [4, 3, 2, 1, 0]
    refused = verdicts[-1]
    assert refused.by == "API key" and abs(refused.retry_after - 0.2) < 1e-9
    assert refused.headers() == {"RateLimit-Limit": "5", "RateLimit-Remaining": "0", "RateLimit-Reset": "1",
                                 "Retry-After": "1"}
    clock.now += 0.19
    assert not limiter.take("k", None, "t").allowed
    clock.now += 0.02
    assert limiter.take("k", None, "t").allowed


def test_the_tighter_bucket_decides_and_a_refused_request_takes_from_neither():
    clock = Clock()
    limiter = Limiter(per_key=10, per_tenant=3, clock=clock)
    assert [limiter.take("k1", None, "t").allowed for _ in range(4)] == [True, True, True, False]
    refused = limiter.take("k1", None, "t")
    assert refused.by == "tenant" and refused.limit == 3
    # the refusals took nothing from k1's bucket: once the tenant's refills, k1 has 7 left
    clock.now += 1
    allowed = limiter.take("k1", None, "t")
    assert allowed.allowed and allowed.by == "tenant" and allowed.remaining == 2
    # another tenant is not affected by this one
    assert all(limiter.take("k2", None, "u").allowed for _ in range(3))


def test_a_key_of_its_own_rate_and_a_key_without_limit():
    clock = Clock()
    limiter = Limiter(per_key=100, per_tenant=0, clock=clock)
    assert [limiter.take("slow", 2, "t").allowed for _ in range(3)] == [True, True, False]
    assert limiter.take("free", 0, "t") is None  # neither bucket limits it: no headers either
    assert all(limiter.take("free", 0, "t") is None for _ in range(1000))


@given(st.floats(0.5, 50), st.lists(st.floats(0, 0.5), min_size=1, max_size=300))
def test_never_more_than_the_burst_plus_the_rate_times_the_time(rate, gaps):
    clock = Clock()
    limiter = Limiter(per_key=rate, per_tenant=0, clock=clock)
    allowed = 0
    for gap in gaps:
        clock.now += gap
        allowed += limiter.take("k", None, "t").allowed
    assert allowed <= rate + rate * sum(gaps) + 1e-6
