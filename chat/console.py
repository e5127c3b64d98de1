"""The console page and its canned replies (``/console``, ``/api/snippets``).

Snippets are short texts written by staff (a supervisor manages them), not chat
content, so they are kept in the database: a title and a text per language.
Every signed-in account that may take chats reads them; only a supervisor
replaces the list (``PUT``, the whole list at once, audited as ``snippets.update``).
"""

from __future__ import annotations

import unicodedata
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Literal, NotRequired, TypedDict, cast

from sqlalchemy import DateTime, Integer, String, Text, delete, select
from sqlalchemy.orm import Mapped, mapped_column
from starlette.requests import Request
from starlette.responses import FileResponse, JSONResponse, Response
from starlette.routing import Route

from referral import vocab
from volunteer.api import current_profile

from .kernel.web import read_json, refuse
from volunteer.audit import audit

from .kernel import error_codes as codes
from .kernel.db import Base

STATIC = Path(__file__).parent / "static"
MAX_SNIPPETS = 200
MAX_TITLE = 80
MAX_TEXT = 2000
MAX_BODY = 512 * 1024


class Snippet(Base):
    __tablename__ = "snippets"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    position: Mapped[int] = mapped_column(Integer)
    lang: Mapped[str] = mapped_column(String(8))
    title: Mapped[str] = mapped_column(String(MAX_TITLE))
    text: Mapped[str] = mapped_column(Text)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    updated_by: Mapped[str] = mapped_column(String(32))


async def console_page(_request: Request) -> Response:
    return FileResponse(STATIC / "console.html")


def _clean(value: object, field: str, limit: int) -> str:
    if not isinstance(value, str):
        raise ValueError(f"{field}: must be a string")
    value = unicodedata.normalize("NFC", value).strip()
    if not value or len(value) > limit:
        raise ValueError(f"{field}: must be 1 to {limit} characters")
    if any(unicodedata.category(c) == "Cc" and c not in "\n\t" for c in value):
        raise ValueError(f"{field}: must not contain control characters")
    return value


class SnippetItem(TypedDict):
    title: str
    text: str
    lang: NotRequired[Literal["sv", "en", "ar", "fa", "so", "ti", "uk"]]


class SnippetsBody(TypedDict):
    """``PUT /api/snippets`` (chat/openapi.json is checked against it)."""

    snippets: list[SnippetItem]


# operationId -> the type of its JSON body (tests/unit/test_openapi.py compares them, body-deep).
REQUEST_BODIES: dict[str, type] = {"putSnippets": SnippetsBody}


def parse_snippets(body: Any) -> list[dict[str, str]]:
    """The body of ``PUT /api/snippets``; raise ValueError with a reason."""
    if not isinstance(body, dict) or not isinstance(body.get("snippets"), list):
        raise ValueError('send {"snippets": [{"title", "text", "lang"}, ...]}')
    items = cast(SnippetsBody, body)["snippets"]
    if len(items) > MAX_SNIPPETS:
        raise ValueError(f"snippets: at most {MAX_SNIPPETS}")
    out = []
    for i, item in enumerate(items):
        if not isinstance(item, dict):
            raise ValueError(f"snippets[{i}]: must be an object")
        lang = item.get("lang", "sv")
        if lang not in vocab.LANGUAGES:
            raise ValueError(f"snippets[{i}].lang: must be one of {', '.join(vocab.LANGUAGES)}")
        out.append({"title": _clean(item.get("title"), f"snippets[{i}].title", MAX_TITLE),
                    "text": _clean(item.get("text"), f"snippets[{i}].text", MAX_TEXT), "lang": lang})
    return out


async def list_snippets(sessions: Any) -> list[dict[str, str]]:
    async with sessions() as session:
        rows = (await session.scalars(select(Snippet).order_by(Snippet.position))).all()
    return [{"title": r.title, "text": r.text, "lang": r.lang} for r in rows]


async def snippets(request: Request) -> Response:
    profile = await current_profile(request)
    if profile is None:
        return refuse(codes.NOT_AUTHENTICATED, "Logga in först. / Sign in first.")
    db = request.app.state.db
    if request.method in ("GET", "HEAD"):
        if not (profile.may_take_chats or profile.role in ("supervisor", "trainee")):
            return refuse(codes.FORBIDDEN, "only volunteers, supervisors and trainees read canned replies")
        return JSONResponse({"snippets": await list_snippets(db)})
    if profile.role != "supervisor":
        return refuse(codes.FORBIDDEN, "only a supervisor may change canned replies")
    try:
        items = parse_snippets(await read_json(request, MAX_BODY))
    except OverflowError as exc:
        return refuse(codes.BODY_TOO_LARGE, str(exc))
    except ValueError as exc:
        return refuse(codes.INVALID_BODY, str(exc))
    now = datetime.now(timezone.utc)
    async with db() as session, session.begin():
        await session.execute(delete(Snippet))
        session.add_all(Snippet(position=i, lang=s["lang"], title=s["title"], text=s["text"], updated_at=now,
                                updated_by=profile.id) for i, s in enumerate(items))
    await audit(db, actor=profile.id, action="snippets.update", subject=str(len(items)))
    return JSONResponse({"snippets": items})


routes = [
    Route("/console", console_page, methods=["GET"]),
    Route("/api/snippets", snippets, methods=["GET", "PUT"]),
]
