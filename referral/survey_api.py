"""``POST /api/survey``: the visitor's anonymous answers after a chat (referral.survey).

No cookie; the widget posts from the sites it is embedded in, so the answer and
its CORS preflight carry ``Access-Control-Allow-Origin`` for the allowed origins
(``JOURCHATT_ALLOWED_ORIGINS``, and the server's own). Rate limited per keyed
address hash in the broker, like the partners' redemptions per key
(``referral.ratelimit``): ``SURVEY_PER_MINUTE`` answers a minute, and
``SURVEY_FAILURES_PER_HOUR`` refused ones (unknown, used, expired) an hour.
"""

from __future__ import annotations

from typing import Literal, NotRequired, TypedDict

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from chat.kernel import error_codes
from chat.kernel.addresses import peer_address
from chat.kernel.logs import get_logger
from chat.kernel.web import json_body, origin_allowed, public_cors, refuse

from . import ratelimit, survey

log = get_logger("referral.survey")

# Answers a minute from one address: a school's network behind one address still
# fits; a script replaying tokens does not.
SURVEY_PER_MINUTE = 20
# Refused answers an hour from one address (a widget never sends any).
SURVEY_FAILURES_PER_HOUR = 30
# How long a browser may keep the preflight's answer.
PREFLIGHT_MAX_AGE_S = 600


class SurveyAnswers(TypedDict):
    """Each optional; ``null`` is no answer (referral.survey.QUESTIONS)."""

    helped: NotRequired[Literal["yes", "partly", "no"] | None]
    knows_where_to_turn: NotRequired[Literal["yes", "no", "unsure"] | None]
    would_return: NotRequired[Literal["yes", "no", "unsure"] | None]


class SurveyBody(TypedDict):
    """``POST /api/survey`` (chat/openapi.json is checked against it)."""

    token: str
    answers: NotRequired[SurveyAnswers]


# operationId -> the type of its JSON body (tests/unit/test_openapi.py compares them, body-deep).
REQUEST_BODIES: dict[str, type] = {"answerSurvey": SurveyBody}


def _cors(request: Request, response: Response) -> Response:
    public_cors(request, response)
    if "access-control-allow-origin" in response.headers:
        response.headers["access-control-allow-methods"] = "POST"
        response.headers["access-control-allow-headers"] = "content-type"
        response.headers["access-control-max-age"] = str(PREFLIGHT_MAX_AGE_S)
    return response


async def answer(request: Request) -> Response:
    if request.method == "OPTIONS":
        if not origin_allowed(request, request.app.state.settings.allowed_origins):
            return refuse(error_codes.CROSS_ORIGIN)
        return _cors(request, Response(status_code=204))
    return _cors(request, await _answer(request))


async def _answer(request: Request) -> Response:
    state = request.app.state
    body = await json_body(request, 1024)
    if isinstance(body, Response):
        return body
    if not isinstance(body, dict):
        return refuse(error_codes.INVALID_BODY, "send {\"token\": \"…\", \"answers\": {\"helped\": \"yes\"}}",
                      field="body")
    now = state.hub.clock()
    who = await state.addresses.hash(peer_address(request.scope, state.settings.trusted_proxies)) or "-"
    wait = await ratelimit.admit(state.broker, who, now, per_minute=SURVEY_PER_MINUTE,
                                 failures_per_hour=SURVEY_FAILURES_PER_HOUR, route="survey")
    if wait is not None:
        seconds = max(1, int(wait + 0.999))
        return refuse(error_codes.RATE_LIMITED,
                      f"För många svar härifrån; försök igen om {seconds} s. / "
                      f"Too many answers from here; try again in {seconds} s.",
                      headers={"Retry-After": str(seconds)})
    try:
        token, answers = survey.validate(body)
        await survey.answer(state.db, state.survey_key, token, answers, now)
    except survey.SurveyError as exc:
        await ratelimit.failed(state.broker, who, now, failures_per_hour=SURVEY_FAILURES_PER_HOUR, route="survey")
        log.info("survey.refused", code=exc.code)
        return refuse(error_codes.lookup(exc.code), exc.detail, field=exc.field)
    log.info("survey.answered", count=len(answers))
    return Response(status_code=204)


routes = [
    Route("/api/survey", answer, methods=["POST", "OPTIONS"]),
]
