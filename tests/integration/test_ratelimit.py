"""Per-token rate limits: RateLimit headers and 429 problems with Retry-After."""

from __future__ import annotations

import re

from fastapi.testclient import TestClient

from medsign.ratelimit.bucket import TokenBuckets
from medsign.runtime import Runtime
from tests.support.api import new_org


def test_bucket_refills_over_time() -> None:
    now = [0.0]
    buckets = TokenBuckets(2, 60, clock=lambda: now[0])
    assert buckets.take("a").remaining == 1
    assert buckets.take("a").remaining == 0
    refused = buckets.take("a")
    assert not refused.allowed and refused.retry_after == 30
    assert buckets.take("b").allowed  # another token has its own bucket
    now[0] += 30
    assert buckets.take("a").allowed


def test_each_token_gets_its_quota_with_headers_then_429(client: TestClient, rt: Runtime) -> None:
    rt.settings.api_rate_per_minute = 3
    _, headers = new_org(rt)
    _, other = new_org(rt, "Other clinic")
    for remaining in (2, 1, 0):
        res = client.get("/api/v1/webhooks", headers=headers)
        assert res.status_code == 200
        assert res.headers["RateLimit-Policy"] == '"token";q=3;w=60'
        assert re.fullmatch(rf'"token";r={remaining};t=\d+', res.headers["RateLimit"])
    res = client.get("/api/v1/webhooks", headers=headers)
    assert res.status_code == 429
    assert res.headers["content-type"] == "application/problem+json"
    assert res.json()["type"] == "/problems/too-many-requests"
    assert 1 <= int(res.headers["Retry-After"]) <= 20
    assert res.headers["RateLimit"].startswith('"token";r=0;')
    assert client.get("/api/v1/webhooks", headers=other).status_code == 200
    assert client.get("/healthz").status_code == 200  # not an API call with a token
