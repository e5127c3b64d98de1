"""GET /api/vocabularies: public, the same for everyone, cacheable with an ETag."""

from __future__ import annotations

import httpx

from referral import labels

from ..conftest import Running


async def test_the_vocabularies_are_public_json_with_both_labels_and_cacheable(server: Running) -> None:
    async with httpx.AsyncClient(base_url=server.http) as c:
        r = await c.get("/api/vocabularies")
        assert r.status_code == 200 and r.headers["content-type"].startswith("application/json")
        assert r.json() == labels.document()
        assert r.headers["cache-control"] == "public, max-age=3600"    # the route's own, not no-store
        etag = r.headers["etag"]
        assert r.headers["content-security-policy"]                    # the edge's headers still come
        again = await c.get("/api/vocabularies", headers={"if-none-match": etag})
        assert again.status_code == 304 and again.content == b"" and again.headers["etag"] == etag
        other = await c.get("/api/vocabularies", headers={"if-none-match": '"something-else"'})
        assert other.status_code == 200 and other.json() == r.json()
        head = await c.head("/api/vocabularies")
        assert head.status_code == 200 and head.headers["etag"] == etag
        # Every other API answer is still no-store.
        assert (await c.get("/api/places")).headers["cache-control"] == "no-store"
