"""Public routes the widget reads before it connects, answered with CORS for allowed origins.

``GET /api/places`` lists where a visitor may say they live (``referral.geography``),
so the widget's picker and the server's validation use the same table.
"""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from referral import geography

from .kernel.web import public_cors


def places_document() -> dict[str, object]:
    return {
        "municipalities": [{"code": code, "name": name} for code, name in geography.by_name(geography.MUNICIPALITIES)],
        "districts": {code: [{"id": d, "name": name} for d, name in geography.by_name(ds)]
                      for code, ds in geography.DISTRICTS.items()},
        "other": geography.OTHER_MUNICIPALITY,
    }


async def places(request: Request) -> Response:
    return public_cors(request, JSONResponse(places_document()))


routes = [Route("/api/places", places, methods=["GET"])]
