"""``GET /api/vocabularies``: every controlled vocabulary with its Swedish and English labels.

The pages show these words (the console's intake, wrap-up and referral cards) from
this one document (``referral.labels``), never from a copy of their own. It holds
no secret and changes only with a deployment, so it is public and cacheable: an
``ETag`` and an hour's ``max-age`` (the edge middleware leaves a route's own
``Cache-Control`` alone), and ``If-None-Match`` gets a ``304``.
"""

from __future__ import annotations

import hashlib
import json

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from referral import labels

# An hour: long enough that a console opened many times a shift asks once, short
# enough that new labels reach every page within the hour after a deployment.
MAX_AGE_S = 3600

BODY = json.dumps(labels.document(), ensure_ascii=False, separators=(",", ":")).encode("utf-8")
ETAG = '"' + hashlib.sha256(BODY).hexdigest()[:32] + '"'
HEADERS = {"etag": ETAG, "cache-control": f"public, max-age={MAX_AGE_S}"}


def _matches(if_none_match: str) -> bool:
    tags = {tag.strip().removeprefix("W/") for tag in if_none_match.split(",")}
    return ETAG in tags or "*" in tags


async def vocabularies(request: Request) -> Response:
    if _matches(request.headers.get("if-none-match", "")):
        return Response(status_code=304, headers=HEADERS)
    return Response(BODY, media_type="application/json", headers=HEADERS)


routes = [Route("/api/vocabularies", vocabularies, methods=["GET"])]
