from silentcert.services.security.rate_limit import RateLimit, RateLimiter


class Clock:
    def __init__(self):
        self.now = 0.0

    def __call__(self):
        return self.now


def test_bucket_allows_the_burst_then_refills_at_the_rate():
    clock = Clock()
    limiter = RateLimiter(RateLimit(rate=2, burst=3), clock)
    assert [limiter.allow("a") for _ in range(4)] == [True, True, True, False]
    assert limiter.retry_after("a") == 0.5
    clock.now = 0.5
    assert limiter.allow("a") and not limiter.allow("a")


def test_callers_have_separate_buckets():
    limiter = RateLimiter(RateLimit(rate=1, burst=1), Clock())
    assert limiter.allow("a") and not limiter.allow("a")
    assert limiter.allow("b")
