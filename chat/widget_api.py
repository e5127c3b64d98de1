"""Public routes the widget reads before it connects, answered with CORS for allowed origins.

``GET /api/places`` lists where a visitor may say they live (``referral.geography``),
so the widget's picker and the server's validation use the same table.
"""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from referral import geography

from .endpoints import origin_allowed


def public_cors(request: Request, response: Response) -> Response:
    """Let the widget on an allowed origin read this response (GET only, no credentials)."""
    origin = request.headers.get("origin")
    if origin and origin_allowed(request, request.app.state.settings.allowed_origins):
        response.headers["access-control-allow-origin"] = origin
    response.headers["vary"] = "Origin"
    return response


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
