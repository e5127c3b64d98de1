"""The web-security checklist of the hardening issue, walked over every page and route.

Content-Security-Policy and frame/referrer policies on every HTML page and no
inline script in any of them; HSTS only over TLS; the CSRF guard on every
cookie-authenticated change; no session fixation; cookies scoped and flagged; no
user enumeration at login. The pages and changes are read from the OpenAPI
description, which tests/unit/test_openapi.py ties to the app's routes, so a new
page or route is walked without editing this file.
"""

from __future__ import annotations

import base64
import json
import re
import time
from html.parser import HTMLParser
from pathlib import Path
from typing import Any
from urllib.parse import urljoin

import httpx
import pytest
from sqlalchemy import update

from chat.app import OPENAPI, STATIC
from volunteer import totp
from volunteer.models import Account

from ..conftest import PASSWORD, Running

CSRF = {"X-Jourchatt-CSRF": "1"}
CSP = ("default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; "
       "frame-ancestors 'none'; base-uri 'none'; form-action 'self'")
DOC = json.loads(OPENAPI.read_text(encoding="utf-8"))
# Values for path parameters when a route is walked.
PATH_VALUES = {"{username}": "anna", "{service_id}": "rvc-sydvast", "{path}": "widget.js"}


def _path(template: str) -> str:
    for name, value in PATH_VALUES.items():
        template = template.replace(name, value)
    return template


def html_pages() -> list[str]:
    """Every HTML page the app serves: the routes described as text/html, and every .html under /static/."""
    pages = [path for path, item in DOC["paths"].items()
             if "{" not in path and "text/html" in item.get("get", {}).get("responses", {}).get("200", {}).get("content", {})]
    pages += [f"/static/{p.name}" for p in sorted(Path(STATIC).glob("*.html"))]
    return pages


def changes() -> list[tuple[str, str]]:
    return [(method.upper(), _path(path)) for path, item in DOC["paths"].items()
            for method in item if method in ("post", "put", "patch", "delete")]


class InlineFinder(HTMLParser):
    """Collects whatever a strict CSP would block or that runs script inline."""

    def __init__(self) -> None:
        super().__init__()
        self.problems: list[str] = []
        self._in_script = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        names = {name.lower(): value or "" for name, value in attrs}
        for name, value in names.items():
            if name.startswith("on"):
                self.problems.append(f"<{tag} {name}=...>: an inline event handler")
            if value.strip().lower().startswith("javascript:"):
                self.problems.append(f"<{tag} {name}={value!r}>: a javascript: URL")
        if "style" in names:
            self.problems.append(f"<{tag} style=...>: an inline style")
        if tag == "style":
            self.problems.append("<style>: an inline stylesheet")
        if tag == "script":
            src = names.get("src", "")
            if not src:
                self._in_script = True
            elif src.startswith("//") or "://" in src:
                self.problems.append(f"<script src={src!r}>: not the server's own")

    def handle_endtag(self, tag: str) -> None:
        if tag == "script":
            self._in_script = False

    def handle_data(self, data: str) -> None:
        if self._in_script and data.strip():
            self.problems.append(f"an inline <script>: {data.strip()[:60]!r}")


def check_page(r: httpx.Response) -> None:
    url = str(r.url)
    assert r.headers["content-type"].startswith("text/html"), url
    assert r.headers["content-security-policy"] == CSP, url
    assert "unsafe-inline" not in CSP and "unsafe-eval" not in CSP
    assert r.headers["x-frame-options"] == "DENY", url
    assert r.headers["referrer-policy"] == "no-referrer", url
    assert r.headers["x-content-type-options"] == "nosniff", url
    finder = InlineFinder()
    finder.feed(r.text)
    finder.close()
    assert finder.problems == [], (url, finder.problems)


def test_the_walk_finds_every_page() -> None:
    pages = html_pages()
    for expected in ("/", "/login", "/admin", "/console", "/stats", "/referrals/directory", "/partner/redeem",
                     "/static/history.html"):
        assert expected in pages


async def test_every_html_page_has_a_strict_csp_and_no_inline_script(server: Running) -> None:
    await server.add_account("kim", role="coordinator")
    coordinator = await server.login("kim")
    seen = 0
    async with httpx.AsyncClient(base_url=server.http) as anonymous, \
            httpx.AsyncClient(base_url=server.http, headers={"Cookie": coordinator}) as signed_in:
        for page in html_pages():
            for client in (anonymous, signed_in):
                r = await client.get(page)
                assert r.status_code in (200, 401), (page, r.status_code)
                check_page(r)
                seen += 1
        # The dashboard is rendered on the server: its form with a problem, and its charts.
        r = await signed_in.get("/stats", params={"from": "2026-02-01", "to": "2026-01-01"})
        assert r.status_code == 400
        check_page(r)
        r = await signed_in.get("/stats", params={"preset": "2025"})
        assert r.status_code == 200 and "<svg" in r.text
        check_page(r)
    assert seen == 2 * len(html_pages())


class ScriptFinder(HTMLParser):
    """The (src, is a module) of every <script src> of a page."""

    def __init__(self) -> None:
        super().__init__()
        self.scripts: list[tuple[str, bool]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        names = {name.lower(): value or "" for name, value in attrs}
        if tag == "script" and names.get("src"):
            self.scripts.append((names["src"], names.get("type", "").lower() == "module"))


# A static import of an ES module: `import … from "./x.js";` or `import "./x.js";`.
MODULE_IMPORT = re.compile(r'^import\s+(?:[^"\n;]*?\s+from\s+)?"([^"]+)";', re.M)


async def test_every_script_and_every_module_it_imports_is_served_as_javascript(server: Running) -> None:
    """A module script runs only with a JavaScript MIME type (nosniff makes classic scripts strict too)."""
    todo: list[tuple[str, bool]] = []
    seen: set[str] = set()
    async with httpx.AsyncClient(base_url=server.http) as c:
        for page in html_pages():
            finder = ScriptFinder()
            finder.feed((await c.get(page)).text)
            todo += [(urljoin(page, src), module) for src, module in finder.scripts]
        while todo:
            url, module = todo.pop()
            if url in seen:
                continue
            seen.add(url)
            r = await c.get(url)
            assert r.status_code == 200, url
            assert r.headers["content-type"].split(";")[0] in ("text/javascript", "application/javascript"), url
            assert r.headers["x-content-type-options"] == "nosniff", url
            if module:
                todo += [(urljoin(url, spec), True) for spec in MODULE_IMPORT.findall(r.text)]
    assert {"/static/widget.js", "/static/console.js", "/static/i18n.js", "/static/console/chats.js",
            "/static/console/hours.js", "/static/login.js", "/static/admin.js"} <= seen


async def test_hsts_only_when_the_client_came_over_tls(server_factory: Any) -> None:
    proxied = await server_factory(trusted_proxies="127.0.0.1")
    plain = await server_factory()
    tls = {"X-Forwarded-Proto": "https"}
    async with httpx.AsyncClient(base_url=proxied.http) as c:
        for path in ("/", "/api/me", "/healthz"):
            r = await c.get(path, headers=tls)
            assert r.headers["strict-transport-security"] == "max-age=31536000", path
        assert "strict-transport-security" not in (await c.get("/")).headers           # plain http
        r = await c.get("/", headers={"X-Forwarded-Proto": "http"})
        assert "strict-transport-security" not in r.headers
    async with httpx.AsyncClient(base_url=plain.http) as c:
        # Without JOURCHATT_TRUSTED_PROXIES no client can claim TLS (uvicorn's own proxy
        # handling, which would believe 127.0.0.1, is off).
        assert "strict-transport-security" not in (await c.get("/", headers=tls)).headers


@pytest.mark.parametrize("method, path", changes())
async def test_every_cookie_authenticated_change_needs_the_csrf_header_and_our_origin(
        server: Running, method: str, path: str) -> None:
    await server.add_account("root", role="admin", trained=False)
    cookie = await server.login("root")
    async with httpx.AsyncClient(base_url=server.http, headers={"Cookie": cookie}) as c:
        r = await c.request(method, path, json={})
        assert r.status_code == 403 and r.json()["error"] == "csrf_required", r.text
        for origin in ("https://evil.example", "null", f"http://127.0.0.1:{server.port + 1}"):
            r = await c.request(method, path, json={}, headers={**CSRF, "Origin": origin})
            assert r.status_code == 403 and r.json()["error"] == "cross_origin", (origin, r.text)
        assert "set-cookie" not in r.headers
        # The session is untouched by the refusals (a refused logout ended nothing).
        assert (await c.get("/api/me")).status_code == 200


async def test_a_session_token_presented_before_login_never_becomes_authenticated(server: Running) -> None:
    await server.add_account("anna")
    planted = "a" * 43                         # what an attacker might have put in the victim's browser
    async with httpx.AsyncClient(base_url=server.http, cookies={"jourchatt_session": planted}) as c:
        assert (await c.get("/api/me")).status_code == 401
        r = await c.post("/api/login", headers=CSRF,
                         json={"username": "anna", "password": PASSWORD, "otp": await server.code("anna")})
        assert r.status_code == 200
        issued = r.headers["set-cookie"].split(";")[0].split("=", 1)[1]
        assert issued != planted and len(issued) == 43
    async with httpx.AsyncClient(base_url=server.http, cookies={"jourchatt_session": planted}) as attacker:
        assert (await attacker.get("/api/me")).status_code == 401


async def test_a_role_change_ends_the_accounts_sessions(server: Running) -> None:
    admin = await server.client("root", role="admin", trained=False)
    await server.add_account("anna")
    cookie = await server.login("anna")
    async with admin, httpx.AsyncClient(base_url=server.http, headers={"Cookie": cookie}) as anna:
        assert (await anna.get("/api/me")).json()["roles"] == ["volunteer"]
        r = await admin.post("/api/admin/accounts/anna/role", json={"role": "supervisor"})
        assert r.status_code == 200 and r.json()["account"]["role"] == "supervisor"
        assert (await anna.get("/api/me")).status_code == 401        # sign in again: a new session
    fresh = await server.login("anna")
    async with httpx.AsyncClient(base_url=server.http, headers={"Cookie": fresh}) as anna:
        assert (await anna.get("/api/me")).json()["roles"] == ["volunteer", "supervisor"]


def _cookie_attributes(header: str) -> tuple[str, dict[str, str]]:
    first, *rest = [part.strip() for part in header.split(";")]
    attrs = {}
    for part in rest:
        name, _, value = part.partition("=")
        attrs[name.lower()] = value
    return first.split("=", 1)[0], attrs


@pytest.mark.parametrize("host, name, secure", [("127.0.0.1", "jourchatt_session", False),
                                                 ("chat.example.org", "__Host-jourchatt", True)])
async def test_every_session_cookie_is_scoped_and_flagged(server: Running, host: str, name: str,
                                                          secure: bool) -> None:
    """Login, second-factor enrolment, the forced password change and logout all set the same kind of cookie."""
    await server.add_account("ny", totp=False)
    async with server.app.state.db() as s, s.begin():
        await s.execute(update(Account).where(Account.username == "ny").values(must_change_password=True))
    headers = {"Host": host, **CSRF}
    set_cookies: list[str] = []
    async with httpx.AsyncClient(base_url=server.http, headers=headers) as c:
        r = await c.post("/api/login", json={"username": "ny", "password": PASSWORD})
        set_cookies.append(r.headers["set-cookie"])
        token = r.headers["set-cookie"].split(";")[0]
        r = await c.post("/api/password", json={"new_password": "ett nytt långt lösenord"}, headers={"Cookie": token})
        assert r.status_code == 200, r.text
        set_cookies.append(r.headers["set-cookie"])
        token = r.headers["set-cookie"].split(";")[0]
        setup = (await c.post("/api/totp/setup", headers={"Cookie": token})).json()
        secret = base64.b32decode(setup["secret"] + "=" * (-len(setup["secret"]) % 8))
        r = await c.post("/api/totp/confirm", json={"otp": totp.code_at(secret, time.time())}, headers={"Cookie": token})
        assert r.status_code == 200, r.text
        set_cookies.append(r.headers["set-cookie"])
        token = r.headers["set-cookie"].split(";")[0]
        r = await c.post("/api/logout", headers={"Cookie": token})
        logout = r.headers["set-cookie"]
    for header in set_cookies + [logout]:
        cookie_name, attrs = _cookie_attributes(header)
        assert cookie_name == name, header
        assert "httponly" in attrs and attrs["samesite"].lower() == "strict" and attrs["path"] == "/", header
        assert "domain" not in attrs, header                   # host-only: no subdomain receives it
        assert ("secure" in attrs) == secure, header
    for header in set_cookies:                                 # a browser-session cookie: gone when it closes
        _, attrs = _cookie_attributes(header)
        assert "max-age" not in attrs and "expires" not in attrs, header
    assert _cookie_attributes(logout)[1]["max-age"] == "0"


async def test_unknown_names_cost_the_same_password_hashing_as_wrong_passwords(
        server: Running, monkeypatch: pytest.MonkeyPatch) -> None:
    """No user enumeration by timing: Argon2id runs once for an unknown name, as for a
    wrong password or a disabled account (structural; speed is never asserted in tests)."""
    from volunteer import passwords

    calls: list[str] = []
    real_verify = passwords.verify_password      # an unknown name's dummy hash goes through it too
    monkeypatch.setattr(passwords, "verify_password", lambda p, e: calls.append(e) or real_verify(p, e))
    await server.add_account("anna")
    await server.add_account("bo")
    async with server.app.state.db() as s, s.begin():
        await s.execute(update(Account).where(Account.username == "bo").values(disabled=True))
    answers = []
    async with httpx.AsyncClient(base_url=server.http) as c:
        for body in ({"username": "nobody", "password": PASSWORD},
                     {"username": "anna", "password": "wrong password!"},
                     {"username": "bo", "password": PASSWORD, "otp": await server.code("bo")},
                     {"username": "anna", "password": PASSWORD, "otp": "000000"}):
            before = len(calls)
            r = await c.post("/api/login", json=body)
            answers.append((r.status_code, r.content, r.headers.get("set-cookie")))
            assert len(calls) - before == 1, (body, calls[before:])
    assert len(set(answers)) == 1 and answers[0][0] == 401
