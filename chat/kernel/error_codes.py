"""Every error code a client can see: the registry.

One ``Code`` per stable code: its Swedish and English detail (the default text a
person reads, Swedish first), the HTTP status of a JSON body that carries it, the
WebSocket close code that follows an ``error`` frame carrying it, and where it is
sent. The edges read this table (``FrameError.of``, ``chat.kernel.web.refuse``), the
docs test checks docs/protocol.md against it, and a test scans the packages so no
code is used that is not here.

    raise FrameError.of(codes.UNKNOWN_CHAT)                    # the registered detail
    raise FrameError.of(codes.INVALID_FIELD, "age: must be …")  # a more precise one
    return refuse(codes.FORBIDDEN, "only a supervisor may …")   # HTTP: status from here

A code's ``name`` never changes once released (clients switch on it); its texts may.
"""

from __future__ import annotations

from dataclasses import dataclass

# Where a code may be sent.
VISITOR = "visitor"        # an error frame on /ws/visitor
VOLUNTEER = "volunteer"    # an error frame on /ws/volunteer
HTTP = "http"              # the "error" of a JSON body
CLI = "cli"                # a command-line message
SOCKETS = frozenset({VISITOR, VOLUNTEER})


@dataclass(frozen=True, slots=True)
class Code:
    """One client-visible error code (see the module docstring)."""

    name: str
    sv: str
    en: str
    where: frozenset[str]
    status: int | None = None       # HTTP status of a body with this code
    close: int | None = None        # close code after an error frame with this code
    bad_frame: bool = False         # counts toward the connection's bad frames (close 4400 at 50)

    @property
    def detail(self) -> str:
        """The registered text, Swedish first: ``"sv / en"``."""
        return f"{self.sv} / {self.en}"

    def frame(self, detail: str | None = None) -> dict[str, str]:
        """The ``error`` frame for this code."""
        return {"type": "error", "code": self.name, "detail": detail or self.detail}

    def body(self, detail: str | None = None) -> dict[str, str]:
        """The JSON body of an HTTP answer with this code (its status is ``self.status``)."""
        return {"error": self.name, "detail": detail or self.detail}

    def __str__(self) -> str:
        return self.name


REGISTRY: dict[str, Code] = {}


def _code(name: str, sv: str, en: str, where: frozenset[str] | set[str], *, status: int | None = None,
          close: int | None = None, bad_frame: bool = False) -> Code:
    if name in REGISTRY:
        raise ValueError(f"error code {name!r} is registered twice")
    if (status is not None) != (HTTP in where):
        raise ValueError(f"error code {name!r}: give an HTTP status exactly when it is sent over HTTP")
    code = Code(name, sv, en, frozenset(where), status, close, bad_frame)
    REGISTRY[name] = code
    return code


def lookup(name: str) -> Code:
    """The registered code called ``name``; KeyError names the fix if there is none."""
    try:
        return REGISTRY[name]
    except KeyError:
        raise KeyError(f"{name!r} is not a registered error code; add it to chat/kernel/error_codes.py") from None


# -- bad frames (both sockets; the connection stays open) ---------------------------

INVALID_JSON = _code("invalid_json", "Ramen är inte giltig JSON.", "The frame is not valid JSON.",
                     SOCKETS, bad_frame=True)
INVALID_FRAME = _code("invalid_frame", "Skicka JSON-objekt med en \"type\" som textramar.",
                      "Send JSON objects with a \"type\" as text frames.", SOCKETS, bad_frame=True)
FRAME_TOO_LARGE = _code("frame_too_large", "Ramen är för stor.", "The frame is too large.",
                        SOCKETS, bad_frame=True)
UNKNOWN_TYPE = _code("unknown_type", "Okänd typ av ram.", "Unknown frame type.", SOCKETS, bad_frame=True)
INVALID_FIELD = _code("invalid_field", "Ett fält saknas eller har fel värde.",
                      "A field is missing or has a wrong value.", SOCKETS | {HTTP}, status=400, bad_frame=True)
TEXT_TOO_LONG = _code("text_too_long", "Meddelandet är för långt.", "The message is too long.",
                      SOCKETS, bad_frame=True)
OUT_OF_ORDER = _code("out_of_order", "Ramen kom i fel ordning.", "The frame came out of order.",
                     SOCKETS, bad_frame=True)
CHAT_ENDED = _code("chat_ended", "Chatten är slut.", "The chat is over.", SOCKETS, bad_frame=True)
RATE_LIMITED = _code("rate_limited", "För många försök; försök igen om en stund.",
                     "Too many attempts; try again in a moment.", SOCKETS | {HTTP}, status=429, bad_frame=True)
UNKNOWN_CHAT = _code("unknown_chat", "Du har ingen chatt med det id:t.", "You have no chat with that id.",
                     {VOLUNTEER}, bad_frame=True)
REPLACED = _code("replaced", "En nyare anslutning har tagit över.", "A newer connection has taken over.",
                 SOCKETS, bad_frame=True)
UNKNOWN_SERVICE = _code("unknown_service", "Tjänsten finns inte i hänvisningskatalogen.",
                        "The service is not in the referral directory.", {VOLUNTEER}, bad_frame=True)
INELIGIBLE_SERVICE = _code("ineligible_service", "Tjänsten passar inte det den unga personen har berättat.",
                           "The service does not fit what the young person told.", {VOLUNTEER}, bad_frame=True)
SUPERVISOR_ONLY = _code("supervisor_only", "Det här kräver rollen handledare.",
                        "This needs the supervisor role.", {VOLUNTEER}, bad_frame=True)
NOT_FOR_TRAINEES = _code("not_for_trainees", "Som praktikant följer du chattar och svarar i övningschattar, "
                         "men tar inte egna chattar.", "As a trainee you follow chats and answer practice chats, "
                         "but do not take chats of your own.", {VOLUNTEER}, bad_frame=True)
TRAINEES_ONLY = _code("trainees_only", "Det här är för praktikanter (handledare observerar i stället).",
                      "This is for trainees (supervisors observe instead).", {VOLUNTEER}, bad_frame=True)
PRACTICE_REFUSED = _code("practice_refused", "Övningschatten kan inte öppnas med den personen just nu.",
                         "The practice chat cannot be opened with that person now.", {VOLUNTEER}, bad_frame=True)
UNKNOWN_ALERT = _code("unknown_alert", "Larmet finns inte (det kan redan vara avfärdat).",
                      "No such alert (it may have been dismissed already).", {VOLUNTEER}, bad_frame=True)
TRANSFER_REFUSED = _code("transfer_refused", "Chatten kan inte flyttas dit just nu.",
                         "The chat cannot be moved there now.", {VOLUNTEER}, bad_frame=True)
UNKNOWN_OFFER = _code("unknown_offer", "Erbjudandet finns inte längre (det kan ha gått ut eller tagits).",
                      "The offer is no longer there (it may have lapsed or been taken).", {VOLUNTEER},
                      bad_frame=True)

# -- told, not counted ------------------------------------------------------------------

RESUME_FAILED = _code("resume_failed", "Chatten kunde inte återupptas; en ny chatt börjar.",
                      "The chat could not be resumed; a new chat starts.", {VISITOR})
FOLLOWUP_UNKNOWN = _code("followup_unknown", "Uppföljningskoden är okänd eller för gammal.",
                         "The follow-up code is unknown or expired.", {VISITOR})
FOLLOWUP_NOT_WAITING = _code("followup_not_waiting", "Det finns ingen volontär att vänta på i den här chatten "
                             "just nu.", "There is no volunteer to wait for in this chat now.", {VISITOR})
INTERNAL_ERROR = _code("internal_error", "Något gick fel hos oss; försök igen.",
                       "Something went wrong on our side; please try again.", SOCKETS | {HTTP}, status=500)
UNAVAILABLE = _code("unavailable", "Tjänsten är tillfälligt otillgänglig, försök igen.",
                    "The service is briefly unavailable; try again.", SOCKETS | {HTTP}, status=503)
CHAT_LOST = _code("chat_lost", "Chatten gick förlorad hos oss och är slut.",
                  "The chat was lost on our side and is over.", SOCKETS, close=1000)

# -- followed by a close ----------------------------------------------------------------

HELLO_TIMEOUT = _code("hello_timeout", "Skicka hello inom 15 sekunder.", "Send hello within 15 seconds.",
                      {VISITOR}, close=4008)
TOO_MANY_ERRORS = _code("too_many_errors", "För många felaktiga ramar; anslutningen stängs.",
                        "Too many bad frames; the connection is closed.", SOCKETS, close=4400)
NOT_AUTHENTICATED = _code("not_authenticated", "Logga in först.", "Sign in first.",
                          {VOLUNTEER, HTTP}, status=401, close=4401)
SECOND_FACTOR_REQUIRED = _code("second_factor_required",
                               "Slutför inloggningen: aktivera tvåstegsverifiering "
                               "(och byt lösenord om du ombeds) först.",
                               "Finish signing in: set up the second factor "
                               "(and choose a new password if asked) first.",
                               {VOLUNTEER}, close=4401)
SIGNED_OUT = _code("signed_out", "Du har loggat ut.", "You have signed out.", {VOLUNTEER}, close=4401)
ROLE_CHANGED = _code("role_changed", "En administratör har ändrat kontots roll; logga in igen.",
                     "An admin changed this account's role; sign in again.", {VOLUNTEER}, close=4401)
SESSION_EXPIRED = _code("session_expired", "Din inloggning har upphört; logga in igen.",
                        "Your sign-in has ended; sign in again.", {VOLUNTEER}, close=4401)
NOT_ALLOWED = _code("not_allowed", "Kontot får inte ta chattar (det behöver giltig grundutbildning).",
                    "This account may not take chats (it needs valid basic training).", {VOLUNTEER}, close=4403)
FULL = _code("full", "Servern är full just nu.", "The server is full right now.", {VOLUNTEER}, close=1013)

# -- HTTP -------------------------------------------------------------------------------

INVALID_REQUEST = _code("invalid_request", "Begäran är felaktig.", "The request is malformed.",
                        {HTTP, CLI}, status=400)
CROSS_ORIGIN = _code("cross_origin", "Begäran måste komma från tjänstens egna sidor.",
                     "This request must come from the service's own pages.", {HTTP}, status=403)
CSRF_REQUIRED = _code("csrf_required", "Skicka rubriken X-Jourchatt-CSRF med varje ändring.",
                      "Send the X-Jourchatt-CSRF header with every change made with a session cookie.",
                      {HTTP}, status=403)
INVALID_CREDENTIALS = _code("invalid_credentials", "Fel användarnamn, lösenord eller kod.",
                            "Wrong username, password or code.", {HTTP}, status=401)
CODE_REUSED = _code("code_reused", "Koden har redan använts. Vänta tills appen visar en ny kod och försök igen.",
                    "That code has been used already. Wait for the app to show a new code and try again.",
                    {HTTP}, status=401)
TOO_MANY_ATTEMPTS = _code("too_many_attempts", "För många misslyckade inloggningar; försök igen senare.",
                          "Too many failed logins; try again later.", {HTTP}, status=429)
INVALID_BODY = _code("invalid_body", "Kroppen är inte det JSON-objekt som väntas.",
                     "The body is not the JSON object expected.", {HTTP}, status=400)
BODY_TOO_LARGE = _code("body_too_large", "Kroppen är för stor.", "The body is too large.", {HTTP}, status=413)
NOT_FOUND = _code("not_found", "Finns inte.", "Not found.", {HTTP}, status=404)
METHOD_NOT_ALLOWED = _code("method_not_allowed", "Metoden är inte tillåten här.",
                           "The method is not allowed here.", {HTTP}, status=405)
HTTP_ERROR = _code("http_error", "Begäran kunde inte besvaras.", "The request could not be answered.",
                   {HTTP}, status=400)
FORBIDDEN = _code("forbidden", "Det här får ditt konto inte göra.", "Your account may not do this.",
                  {HTTP}, status=403)
ALREADY_ENROLLED = _code("already_enrolled", "Tvåstegsverifiering är redan aktiverad.",
                         "Two-step verification is already set up.", {HTTP}, status=409)
INVALID_CODE = _code("invalid_code", "Koden stämmer inte.", "The code is not right.", {HTTP}, status=400)
NOT_REQUIRED = _code("not_required", "Inget lösenordsbyte krävs.", "No password change is required.",
                     {HTTP}, status=409)
WEAK_PASSWORD = _code("weak_password", "Lösenordet är för svagt.", "The password is too weak.",
                      {HTTP}, status=400)
UNKNOWN_ACCOUNT = _code("unknown_account", "Kontot finns inte.", "No such account.", {HTTP, CLI}, status=404)
USERNAME_TAKEN = _code("username_taken", "Användarnamnet är upptaget.", "The username is taken.",
                       {HTTP, CLI}, status=409)
SHIFTS_MISSING = _code("shifts_missing", "Praktikanten har skuggat färre pass än vad som krävs innan hen svarar "
                       "själv. Bekräfta om rollen ska ges ändå.",
                       "The trainee has shadowed fewer shifts than required before answering alone. "
                       "Confirm to give the role anyway.", {HTTP}, status=409)
OWN_ACCOUNT = _code("own_account", "Det egna kontot ändras av en annan administratör.",
                    "Your own account is changed by another admin.", {HTTP}, status=409)
INVALID_HOURS = _code("invalid_hours", "Öppettiderna är felaktiga.", "The opening hours are invalid.",
                      {HTTP, CLI}, status=400)
INVALID_QUERY = _code("invalid_query", "Frågan är felaktig.", "The query is malformed.", {HTTP}, status=400)
INVALID_DIRECTORY = _code("invalid_directory", "Katalogen är felaktig.", "The directory is invalid.",
                          {HTTP, CLI}, status=422)
DIRECTORY_CHANGED = _code("directory_changed", "Någon annan har ändrat katalogen; läs om den.",
                          "Someone else changed the directory; read it again.", {HTTP}, status=409)
INVALID_KEY = _code("invalid_key", "Okänd eller spärrad API-nyckel.", "Unknown or revoked API key.",
                    {HTTP}, status=401)
UNKNOWN_CODE = _code("unknown_code", "Koden finns inte.", "No such code.", {HTTP}, status=404)
EXPIRED_CODE = _code("expired_code", "Kodens tid har gått ut.", "The code has expired.", {HTTP}, status=410)
ALREADY_REDEEMED = _code("already_redeemed", "Koden är redan använd.", "The code was already used.",
                         {HTTP}, status=409)
UNKNOWN_SURVEY = _code("unknown_survey", "Enkäten finns inte.", "No such survey.", {HTTP}, status=400)
INVALID_ANSWER = _code("invalid_answer", "Svaret finns inte bland svarsalternativen.",
                       "The answer is not one of the choices.", {HTTP}, status=400)
SURVEY_CLOSED = _code("survey_closed", "Enkäten är redan besvarad eller stängd.",
                      "The survey was already answered or is closed.", {HTTP}, status=409)
INVALID_PERIOD = _code("invalid_period", "Perioden är felaktig.", "The period is invalid.",
                       {HTTP, CLI}, status=400)
INVALID_MUNICIPALITY = _code("invalid_municipality", "Okänd kommun.", "Unknown municipality.",
                             {HTTP, CLI}, status=400)
INVALID_STATS_QUERY = _code("invalid_stats_query", "Statistikfrågan är felaktig.",
                            "The statistics request is malformed.", {HTTP, CLI}, status=400)
UNKNOWN_PARTNERSHIP = _code("unknown_partnership", "Samverkan finns inte.", "No such partnership.",
                            {HTTP, CLI}, status=404)
INVALID_PARTNERSHIP = _code("invalid_partnership", "Samverkansfilen är felaktig.",
                            "The partnership document is invalid.", {HTTP, CLI}, status=400)
INVALID_RECORDS_FILE = _code("invalid_records_file", "Filen har felaktiga rader; inget importerades.",
                             "The file has bad lines; nothing was imported.", {CLI})


def frame_codes() -> list[Code]:
    """The codes an ``error`` frame may carry, in registry order."""
    return [c for c in REGISTRY.values() if c.where & SOCKETS]


def http_codes() -> list[Code]:
    """The codes an HTTP body may carry, in registry order."""
    return [c for c in REGISTRY.values() if HTTP in c.where]
