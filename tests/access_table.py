"""Who may do what: every HTTP route and every socket frame against every role.

This is the service's access-control decision, written down as data a reviewer can
read. ``tests/integration/test_access_control.py`` makes every request as every role
against a real server and checks that exactly the allowed ones get through;
``tests/unit/test_access_table.py`` checks that the tables name every route of the
app and every frame type of ``chat/frames.py`` (so a new route or frame without a
decision fails the build) and that ``docs/access-control.md`` shows these tables.
Rewrite the doc's tables with ``python -m tests.access_table``.
"""

from __future__ import annotations

import re
import sys
from pathlib import Path
from typing import Any

from starlette.routing import Mount, Route, WebSocketRoute

# -- roles --------------------------------------------------------------------------

ROLES: dict[str, str] = {
    "anonymous": "no cookie, no key",
    "visitor": "a young person with a live chat, offering its resume token (its only credential) "
               "as a session cookie and as a Bearer key",
    "partner": "a partner service's API key (`Authorization: Bearer`, from `jourchatt partner add`)",
    "restricted": "signed in with the password only: an account an admin made or reset, whose new "
                  "password and second factor are still due",
    "untrained": "a volunteer account without valid basic training (full session)",
    "volunteer": "a trained volunteer (full session: password and TOTP)",
    "supervisor": "a trained supervisor (full session)",
    "coordinator": "a coordinator (full session)",
    "admin": "an admin (full session)",
    "trainee": "a trainee (full session): follows chats with the volunteer's consent and answers practice "
               "chats, never takes a chat",
    "scraper": "a monitoring system with `Authorization: Bearer $JOURCHATT_METRICS_TOKEN` (no person's "
               "credential: no account, no session)",
}
SHORT = {"anonymous": "anon", "visitor": "visitor", "partner": "partner", "restricted": "restr.",
         "untrained": "untrained", "volunteer": "vol.", "supervisor": "sup.", "coordinator": "coord.",
         "admin": "admin", "trainee": "trainee", "scraper": "scraper"}

EVERYONE = " ".join(ROLES)
SIGNED_IN = "restricted untrained volunteer supervisor coordinator admin trainee"   # restricted sessions too
STAFF = "untrained volunteer supervisor coordinator admin trainee"                 # full sessions

# -- HTTP: "METHOD path" -> (who may, why). A GET row covers HEAD too. ----------------
# Everyone not named is refused: 401 without a credential the route accepts (a
# restricted session counts as none), 403 for a signed-in account of another role.

HTTP: dict[str, tuple[str, str]] = {
    "GET /": (EVERYONE, "the demo page with the widget"),
    "GET /healthz": (EVERYONE, "liveness probe"),
    "GET /readyz": (EVERYONE, "readiness probe; check names and exception type names only"),
    "GET /static/{path}": (EVERYONE, "the widget, the pages' scripts and styles"),
    "GET /login": (EVERYONE, "sign-in page"),
    "GET /admin": (EVERYONE, "page shell, no data: its data comes from /api/admin/… (admin only)"),
    "GET /console": (EVERYONE, "page shell, no data: chats come over /ws/volunteer"),
    "GET /referrals/directory": (EVERYONE, "editor shell, no data: edits need coordinator or admin"),
    "GET /referrals/directory.js": (EVERYONE, "the editor's script"),
    "GET /referrals/directory.css": (EVERYONE, "the editor's style"),
    "GET /partner/redeem": (EVERYONE, "page shell: redeeming needs a partner key"),
    "GET /partner/redeem.js": (EVERYONE, "the redeem page's script"),
    "POST /api/login": (EVERYONE, "signs in (ends the caller's old session)"),
    "POST /api/logout": (EVERYONE, "ends the caller's session, if any"),
    "GET /api/me": (SIGNED_IN, "the signed-in account, restricted sessions included"),
    "POST /api/totp/setup": (SIGNED_IN, "enrolment; a full session gets 409 already_enrolled"),
    "POST /api/totp/confirm": (SIGNED_IN, "enrolment; a full session gets 409 already_enrolled"),
    "POST /api/password": (SIGNED_IN, "the demanded new password; otherwise 409 not_required"),
    "GET /api/admin/accounts": ("admin", "accounts, roles, training"),
    "POST /api/admin/accounts": ("admin", "creates an account"),
    "POST /api/admin/accounts/{username}/{action}": ("admin", "disable, enable, reset, role, training, skills"),
    "GET /api/admin/audit": ("admin", "the audit log (ids and fixed action words; never chat text)"),
    "GET /api/trainees": ("supervisor admin", "trainees and the shifts they shadowed (names, days)"),
    "POST /api/trainees/{username}/shifts": ("supervisor", "marks a shift a trainee shadowed"),
    "DELETE /api/trainees/{username}/shifts/{day}": ("supervisor", "unmarks it"),
    "GET /api/opening-hours": (EVERYONE, "the widget asks before it connects"),
    "PUT /api/opening-hours": ("supervisor admin", "replaces the schedule (the console's editor)"),
    "DELETE /api/opening-hours": ("supervisor admin", "removes the schedule"),
    "GET /api/shifts": ("untrained volunteer supervisor coordinator", "the booked shifts, with display names"),
    "POST /api/shifts": ("untrained volunteer supervisor coordinator",
                         "books one's own shift; supervisor, coordinator: anyone's (audited); a coordinator "
                         "names the account (400 without)"),
    "GET /api/shifts/roster": ("supervisor coordinator", "shifts beside the opening hours, uncovered hours"),
    "DELETE /api/shifts/{shift_id}": ("untrained volunteer supervisor coordinator",
                                      "cancels one's own shift (another's is 404); supervisor, coordinator: "
                                      "anyone's (audited)"),
    "GET /api/places": (EVERYONE, "the widget's place picker"),
    "GET /api/vocabularies": (EVERYONE, "the vocabularies' words and labels; the same for everyone, no secret"),
    "GET /api/openapi.json": (EVERYONE, "the HTTP API's OpenAPI description; holds no secret"),
    "GET /api/referrals/suggest": (STAFF, "the directory is not confidential (its cards go to visitors)"),
    "GET /api/referrals/directory": (STAFF, "the directory as loaded"),
    "PUT /api/referrals/directory": ("coordinator admin", "replaces the whole directory (the editor's bulk import)"),
    "PUT /api/referrals/directory/{service_id}": ("coordinator admin", "edits the directory"),
    "DELETE /api/referrals/directory/{service_id}": ("coordinator admin", "edits the directory"),
    "POST /api/referrals/redeem": ("partner", "the only thing a partner key opens"),
    "POST /api/survey": (EVERYONE, "a visitor's anonymous answers after a chat: the one-time token in "
                                   "`ended` is the only credential; a cookie or key is ignored"),
    "OPTIONS /api/survey": (EVERYONE, "the CORS preflight of the widget on an allowed site"),
    "GET /api/snippets": ("volunteer supervisor trainee", "canned replies, for those who take chats (and "
                                                          "trainees, in practice chats)"),
    "PUT /api/snippets": ("supervisor", "replaces the canned replies"),
    "GET /api/stats": ("coordinator admin", "de-identified statistics"),
    "GET /api/partnerships": ("coordinator admin", "the partnerships"),
    "GET /stats": ("coordinator admin", "the statistics dashboard (rendered on the server)"),
    "GET /stats/report": ("coordinator admin", "the printable half-year report (publication-safe figures; audited "
                          "as an export)"),
    "GET /metrics": ("scraper", "Prometheus figures (no chat text, chat id, account name or address); "
                                "404 for everyone when JOURCHATT_METRICS_TOKEN is unset"),
}

# -- sockets: path -> (who may open it, why) -------------------------------------------

SOCKETS: dict[str, tuple[str, str]] = {
    "/ws/visitor": (EVERYONE, "no login: a cookie or key is ignored, whoever connects is an anonymous visitor"),
    "/ws/volunteer": ("volunteer supervisor trainee", "a full session of an account that may take chats, or "
                                                      "a trainee's (shadowing, practice chats)"),
}
# How /ws/volunteer refuses the others: the error frame's code and the close code.
VOLUNTEER_SOCKET_REFUSAL: dict[str, tuple[str, int]] = {
    "anonymous": ("not_authenticated", 4401), "visitor": ("not_authenticated", 4401),
    "partner": ("not_authenticated", 4401), "scraper": ("not_authenticated", 4401),
    "restricted": ("second_factor_required", 4401),
    "untrained": ("not_allowed", 4403), "coordinator": ("not_allowed", 4403), "admin": ("not_allowed", 4403),
}

# -- frames: type -> outcome as sent by (visitor on /ws/visitor, volunteer, supervisor on /ws/volunteer) --
# Only these three can open a socket that takes frames. Outcomes:
#   ok               carried out
#   own              carried out for the sender's own chat; any other chat gets unknown_chat
#   own+joined       as own, and also for a chat the supervisor joined
#   any              carried out for any live chat; a chat that does not exist gets unknown_chat
#   unknown_type     not a frame of this socket: error unknown_type, nothing happens
#   supervisor_only  error supervisor_only, nothing happens
#   trainees_only    error trainees_only, nothing happens (a trainee's own frames: chat.shadowing)
# A visitor's frames never name a chat: a "chat" field is ignored, they act on its own chat.

FRAME_ROLES = ("visitor", "volunteer", "supervisor")
OUTCOMES = ("ok", "own", "own+joined", "any", "unknown_type", "supervisor_only", "trainees_only")
REFUSALS = ("unknown_type", "supervisor_only", "trainees_only")

FRAMES: dict[str, tuple[str, str, str]] = {
    #             visitor         volunteer          supervisor
    "hello":     ("ok",           "unknown_type",    "unknown_type"),
    "intake":    ("ok",           "unknown_type",    "unknown_type"),
    "message":   ("ok",           "own",             "own+joined"),
    "typing":    ("ok",           "own",             "own+joined"),
    "leave":     ("ok",           "unknown_type",    "unknown_type"),
    "followup_choice": ("ok",     "unknown_type",    "unknown_type"),
    "status":    ("unknown_type", "ok",              "ok"),
    "refer":     ("unknown_type", "own",             "own"),
    "end":       ("unknown_type", "own",             "own+joined"),
    "wrapup":    ("unknown_type", "own",             "own"),
    "escalate":  ("unknown_type", "own",             "own"),
    "followup":  ("unknown_type", "own",             "own"),
    "transfer":  ("unknown_type", "own",             "any"),
    "supervise": ("unknown_type", "supervisor_only", "ok"),
    "observe":   ("unknown_type", "supervisor_only", "any"),
    "whisper":   ("unknown_type", "supervisor_only", "any"),
    "join":      ("unknown_type", "supervisor_only", "any"),
    "takeover":  ("unknown_type", "supervisor_only", "any"),
    "dismiss":   ("unknown_type", "supervisor_only", "ok"),
    "block":     ("unknown_type", "supervisor_only", "any"),
    "offer":     ("unknown_type", "own",             "any"),
    "offer_reply": ("unknown_type", "ok",            "ok"),
    "offer_cancel": ("unknown_type", "ok",           "ok"),
    "colleagues": ("unknown_type", "ok",             "ok"),
    "debrief":   ("unknown_type", "own",             "own"),
    "route_any": ("unknown_type", "supervisor_only", "any"),
    # Trainees and practice chats (a trainee's own rights: docs/protocol.md, "Trainees").
    "shadowable": ("unknown_type", "trainees_only", "trainees_only"),
    "shadow":    ("unknown_type", "trainees_only", "trainees_only"),
    "shadow_answer": ("unknown_type", "own",         "own"),
    "practice_partners": ("unknown_type", "ok",      "ok"),
    "practice_open": ("unknown_type", "ok",          "ok"),
    "practice_visitor": ("unknown_type", "own",      "own"),
    "practice_resume": ("unknown_type", "own",       "own"),
}


def roles_of(spec: str) -> frozenset[str]:
    names = frozenset(spec.split())
    unknown = names - set(ROLES)
    if unknown:
        raise ValueError(f"unknown role(s) {sorted(unknown)}; the roles are {', '.join(ROLES)}")
    return names


def allowed(key: str) -> frozenset[str]:
    return roles_of(HTTP[key][0])


def frame_outcome(kind: str, role: str) -> str:
    return FRAMES[kind][FRAME_ROLES.index(role)]


_CONVERTER = re.compile(r"\{(\w+)(:\w+)?\}")


def app_routes(app: Any) -> tuple[set[str], set[str]]:
    """What the app really serves: {"METHOD path"} for HTTP and {path} for sockets.

    Walks ``app.routes`` and into every mount: a mount of a router (a Starlette app
    or ``Router``) is walked; a mount of anything else (``StaticFiles``) serves GET
    and HEAD under ``{path}``. Path converters are dropped (``{id:str}`` → ``{id}``).
    """
    http: set[str] = set()
    sockets: set[str] = set()

    def walk(routes: list[Any], prefix: str) -> None:
        for route in routes:
            path = prefix + _CONVERTER.sub(r"{\1}", route.path)
            if isinstance(route, Route):
                http.update(f"{m} {path}" for m in route.methods or ())
            elif isinstance(route, WebSocketRoute):
                sockets.add(path)
            elif isinstance(route, Mount):
                inner = getattr(route.app, "routes", None)
                if inner is not None:
                    walk(list(inner), path)
                else:
                    http.update(f"{m} {path}/{{path}}" for m in ("GET", "HEAD"))
            else:
                raise TypeError(f"{path}: a {type(route).__name__} is neither a Route, a WebSocketRoute nor a Mount")

    walk(list(app.routes), "")
    return http, sockets


def table_routes() -> set[str]:
    """The HTTP table's rows as "METHOD path", a GET row also standing for HEAD."""
    out = set(HTTP)
    out.update("HEAD " + key.split(" ", 1)[1] for key in HTTP if key.startswith("GET "))
    return out


def row_of(method_path: str) -> str:
    """The table row that decides ``method_path`` (HEAD is decided by the GET row)."""
    method, path = method_path.split(" ", 1)
    return f"GET {path}" if method == "HEAD" else method_path


# -- the docs ----------------------------------------------------------------------------

DOC = Path(__file__).resolve().parents[1] / "docs" / "access-control.md"
BEGIN = "<!-- tables: generated from tests/access_table.py by `python -m tests.access_table`; do not edit -->"
END = "<!-- end of generated tables -->"


def _row(cells: list[str]) -> str:
    return "| " + " | ".join(cells) + " |"


def render() -> str:
    """The tables as Markdown, exactly as docs/access-control.md shows them."""
    out = [BEGIN, "", "### Roles", "", _row(["role", "column", "who"]), _row(["---"] * 3)]
    out += [_row([f"`{r}`", SHORT[r], why]) for r, why in ROLES.items()]
    out += ["", "### HTTP routes", "",
            "✓ allowed; — refused (401 without a credential the route accepts, 403 for another role). "
            "A GET row covers HEAD.", "",
            _row(["route", *(SHORT[r] for r in ROLES), "why"]), _row(["---"] * (len(ROLES) + 2))]
    for key, (spec, why) in HTTP.items():
        who = roles_of(spec)
        out.append(_row([f"`{key}`", *("✓" if r in who else "—" for r in ROLES), why]))
    out += ["", "### Opening a socket", "",
            _row(["socket", *(SHORT[r] for r in ROLES), "why"]), _row(["---"] * (len(ROLES) + 2))]
    for path, (spec, why) in SOCKETS.items():
        who = roles_of(spec)
        cells = []
        for r in ROLES:
            if r in who:
                cells.append("✓")
            elif path == "/ws/volunteer":
                code, close = VOLUNTEER_SOCKET_REFUSAL[r]
                cells.append(f"{close}")
            else:
                cells.append("—")
        out.append(_row([f"`{path}`", *cells, why]))
    refusals = ", ".join(f"{c} `{e}` ({', '.join(SHORT[r] for r, v in VOLUNTEER_SOCKET_REFUSAL.items() if v == (e, c))})"
                         for e, c in dict.fromkeys(VOLUNTEER_SOCKET_REFUSAL.values()))
    out += ["", f"`/ws/volunteer` refuses with an `error` frame, then closes: {refusals}.", "",
            "### Socket frames", "",
            "Outcomes: `ok` carried out; `own` for the sender's own chat, any other chat gets "
            "`unknown_chat`; `own+joined` also for a chat the supervisor joined; `any` for any live "
            "chat (one that does not exist gets `unknown_chat`); `unknown_type`, `supervisor_only` and "
            "`trainees_only` are error frames and nothing happens. `whisper` needs an `observe` first, and a "
            "supervisor's `message`, `typing` and `end` for another's chat a `join`. A visitor's "
            "frames never name a chat: a `chat` field is ignored and the frame acts on the "
            "visitor's own chat. A trainee's console takes `shadowable`, `shadow`, `whisper` (in a "
            "chat it follows) and, in a practice chat it answers, `message`, `typing`, `refer`, `end` "
            "and `wrapup`; anything else gets `not_for_trainees` (docs/protocol.md, \"Trainees\").", "",
            _row(["frame", "visitor (`/ws/visitor`)", "volunteer (`/ws/volunteer`)", "supervisor (`/ws/volunteer`)"]),
            _row(["---"] * 4)]
    for kind, outcomes in FRAMES.items():
        out.append(_row([f"`{kind}`", *(f"`{o}`" for o in outcomes)]))
    out += ["", END]
    return "\n".join(out) + "\n"


def doc_section(text: str) -> str:
    """The generated part of the doc's text (markers included), or "" if it has none."""
    m = re.search(re.escape(BEGIN) + r".*?" + re.escape(END) + r"\n", text, re.S)
    return m.group(0) if m else ""


def write_doc() -> None:
    text = DOC.read_text()
    old = doc_section(text)
    if not old:
        raise SystemExit(f"{DOC}: no generated section (the markers {BEGIN!r} … {END!r})")
    DOC.write_text(text.replace(old, render()))


if __name__ == "__main__":
    write_doc()
    print(f"rewrote the tables in {DOC}", file=sys.stderr)
