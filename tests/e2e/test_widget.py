"""The visitor's widget in real headless Chromium against the real server.

One browser for the module (Debian's /usr/bin/chromium, no download); each test
gets its own server on the embedded defaults (SQLite, memory://) and its own
browser context. The volunteer is the test's websockets client. Every request
the page makes is watched: anything not to the server is recorded and refused,
so a third-party request fails the test. Screenshots go to test-artifacts/.
"""

from __future__ import annotations

import asyncio
import json
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any, AsyncIterator
from urllib.parse import urlsplit

import pytest
import pytest_asyncio
from playwright.async_api import Browser, BrowserContext, Page, Route, WebSocketRoute, async_playwright, expect

from tests.conftest import CHROMIUM, CHROMIUM_ARGS, Running, make_settings, start_server
from volunteer import hours_store
from volunteer.hours import parse

pytestmark = pytest.mark.asyncio(loop_scope="module")

ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = ROOT / "test-artifacts"
AXE = Path(__file__).parent / "vendor" / "axe.min.js"
LAUNCH_ARGS = CHROMIUM_ARGS
EXIT_URL = "https://www.smhi.se/"
WAIT_MS = 5000


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def browser() -> AsyncIterator[Browser]:
    async with async_playwright() as pw:
        b = await pw.chromium.launch(executable_path=CHROMIUM, args=LAUNCH_ARGS, headless=True)
        yield b
        await b.close()


@pytest_asyncio.fixture(loop_scope="module")
async def server(tmp_path: Path) -> AsyncIterator[Running]:
    running, stop = await start_server(make_settings(tmp_path))
    yield running
    await stop()


class Watched:
    """A page whose every request outside the server is recorded and refused."""

    def __init__(self, context: BrowserContext, page: Page, server: Running) -> None:
        self.context, self.page, self.server = context, page, server
        self.foreign: list[str] = []

    async def open_widget(self) -> None:
        await self.page.goto(self.server.http + "/")
        await self.page.get_by_role("button", name="Chatta anonymt").click()
        await expect(self.page.get_by_role("heading", name="Prata med oss")).to_be_focused()

    async def shot(self, name: str) -> None:
        ARTIFACTS.mkdir(exist_ok=True)
        await self.page.screenshot(path=str(ARTIFACTS / f"widget-{name}.png"))

    async def axe(self) -> list[dict[str, Any]]:
        """axe-core in the page (WCAG 2.0/2.1 A and AA); the serious and critical violations."""
        if not await self.page.evaluate("typeof window.axe !== 'undefined'"):
            await self.page.add_script_tag(path=str(AXE))
        result = await self.page.evaluate(
            "axe.run(document, {runOnly: {type: 'tag', values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa']}})")
        return [{"id": v["id"], "impact": v["impact"], "nodes": [n["target"] for n in v["nodes"]]}
                for v in result["violations"] if v["impact"] in ("serious", "critical")]


async def watched(browser: Browser, server: Running, *, bypass_csp: bool = False,
                  viewport: dict[str, int] | None = None, host: str | None = None) -> Watched:
    context = await browser.new_context(bypass_csp=bypass_csp, viewport=viewport or {"width": 1000, "height": 800},
                                        locale="sv-SE", timezone_id="Europe/Stockholm")
    page = await context.new_page()
    page.set_default_timeout(WAIT_MS)
    w = Watched(context, page, server)
    own = urlsplit(server.http).netloc

    async def gate(route: Route) -> None:
        url = route.request.url
        if urlsplit(url).netloc == own:
            await route.continue_()
        elif host is not None and url.startswith(host + "/"):
            await route.continue_()
        elif url.startswith(EXIT_URL):
            await route.fulfill(status=200, content_type="text/html",
                                body="<!doctype html><title>SMHI</title><p>Väder</p>")
        else:
            w.foreign.append(url)
            await route.abort()

    await context.route("**/*", gate)
    return w


async def volunteer_takes(server: Running, name: str = "anna") -> tuple[Any, dict[str, Any]]:
    await server.add_account(name, display_name=name.capitalize())
    vol = await server.volunteer(name)
    return vol, await vol.expect("assigned")


def closed_schedule() -> dict[str, Any]:
    soon = datetime.now(timezone.utc) + timedelta(days=3)
    return {"weekly": {}, "exceptions": [{"date": soon.date().isoformat(), "hours": ["18:00-21:00"]}]}


async def test_a_whole_chat_from_the_widget(browser: Browser, server: Running) -> None:
    w = await watched(browser, server)
    page = w.page
    await w.open_widget()
    await expect(page.get_by_text("Ingen volontär är inloggad just nu.", exact=True)).to_be_visible()
    await expect(page.get_by_text("Är du i akut fara? Ring 112.", exact=True)).to_be_visible()
    await page.get_by_label("Hur gammal är du?").select_option("16")
    await page.get_by_role("radio", name="Tjej").check()
    await page.get_by_label("Var bor du?").select_option("0180")
    await page.get_by_label("Stadsdel").select_option("sodermalm")
    await page.get_by_role("radio", name="Ja", exact=True).check()
    await w.shot("start")
    await page.get_by_role("button", name="Starta chatten").click()

    await expect(page.get_by_text("Du är nummer 1 i kön.")).to_be_visible()
    await expect(page.get_by_role("button", name="Lämna kön")).to_be_visible()
    assert await page.evaluate("JSON.parse(sessionStorage.getItem('jourchatt')).t.length") == 43
    await w.shot("queue")

    vol, assigned = await volunteer_takes(server)
    assert assigned["intake"] == {"age": 16, "gender": "girl", "municipality": "0180",
                                  "district": "sodermalm", "first_contact": "yes"}
    chat = assigned["chat"]
    await expect(page.get_by_text("Du pratar med Anna.")).to_be_visible()

    box = page.get_by_label("Skriv ett meddelande")
    await box.fill("hej, jag vill prata")
    assert (await vol.expect("typing"))["active"] is True
    await box.press("Enter")
    line = await vol.line("visitor")
    assert line["text"] == "hej, jag vill prata"
    mine = page.locator(".jc-visitor").filter(has_text="hej, jag vill prata")
    await expect(mine.locator(".jc-state")).to_have_text("Levererat")

    await vol.send({"type": "typing", "chat": chat, "active": True})
    await expect(page.get_by_text("Anna skriver …")).to_be_visible()
    await vol.send({"type": "message", "chat": chat, "id": "v1", "text": "Hej! Jag heter Anna. Berätta."})
    await expect(page.get_by_role("log").get_by_text("Hej! Jag heter Anna. Berätta.")).to_be_visible()
    await expect(page.get_by_text("Anna skriver …")).to_be_hidden()

    # The gentle guard: a hint in the page, nothing sent for it.
    hint = page.get_by_text("Du behöver inte berätta vem du är.")
    for personal in ("mitt nummer är 070-123 45 67", "skriv till kim.svensson@example.se",
                     "jag är 20080412-1234"):
        await box.fill(personal)
        await expect(hint).to_be_visible()
        await box.fill("jag är 16 och bor i Nacka")
        await expect(hint).to_be_hidden()
    await box.fill("")
    await vol.none_of("message", 0.2)
    await w.shot("chat")

    await vol.send({"type": "end", "chat": chat})
    await expect(page.get_by_text("Volontären avslutade chatten.")).to_be_visible()
    assert await page.evaluate("sessionStorage.length") == 0
    await w.shot("ended")
    assert w.foreign == []
    await w.context.close()


async def test_connection_cut_mid_chat_loses_no_message(browser: Browser, server: Running) -> None:
    w = await watched(browser, server)
    page = w.page
    routes: list[WebSocketRoute] = []
    down = asyncio.Event()

    def through(ws: WebSocketRoute) -> None:
        if down.is_set():            # no network: every attempt fails at once
            asyncio.ensure_future(ws.close(code=1011))
            return
        ws.connect_to_server()       # a transparent pipe the test can cut
        routes.append(ws)

    await page.route_web_socket("**/ws/visitor", through)
    await w.open_widget()
    await page.get_by_role("button", name="Starta chatten").click()
    vol, assigned = await volunteer_takes(server)
    chat = assigned["chat"]
    box = page.get_by_label("Skriv ett meddelande")
    await box.fill("före")
    await box.press("Enter")
    assert (await vol.line("visitor"))["text"] == "före"
    await vol.send({"type": "message", "chat": chat, "id": "v1", "text": "ett"})
    await expect(page.get_by_role("log").get_by_text("ett")).to_be_visible()

    down.set()
    await routes[-1].close(code=1001)               # the network goes away
    await expect(page.get_by_text("Anslutningen bröts.")).to_be_visible()
    for n, text in enumerate(["två", "tre"], start=2):  # said while the visitor was away
        await vol.send({"type": "message", "chat": chat, "id": f"v{n}", "text": text})
    await box.fill("under")                         # written while away: kept and sent later
    await box.press("Enter")
    offline = page.locator(".jc-visitor").filter(has_text="under").locator(".jc-state")
    await expect(offline).not_to_have_text("Levererat")
    await asyncio.sleep(0.5)
    down.clear()

    await expect(offline).to_have_text("Levererat", timeout=15000)
    assert (await vol.line("visitor"))["text"] == "under"
    assert len(routes) == 2
    await expect(page.get_by_role("log").get_by_text("tre")).to_be_visible()
    await box.fill("efter")
    await box.press("Enter")
    assert (await vol.line("visitor"))["text"] == "efter"

    lines = await page.locator(".jc-log > li").evaluate_all(
        "els => els.map(e => [e.dataset.seq, e.querySelector('.jc-text').textContent])")
    texts = [t for _s, t in lines if t in ("före", "ett", "två", "tre", "under", "efter")]
    assert texts == ["före", "ett", "två", "tre", "under", "efter"]     # each once, in order
    seqs = [int(s) for s, _t in lines if s is not None]
    assert seqs == sorted(seqs) and len(seqs) == len(set(seqs))

    # A reload of the tab (the page keeps no text): the token in sessionStorage
    # resumes the chat and the server's replay brings the conversation back.
    await page.reload()
    await expect(page.get_by_text("Du pratar med Anna.")).to_be_visible()
    await expect(page.get_by_role("log").get_by_text("efter")).to_be_visible()
    again = await page.locator(".jc-log .jc-text").all_text_contents()
    assert again == ["före", "ett", "två", "tre", "under", "efter"]
    assert w.foreign == []
    await w.context.close()


async def test_leaving_the_queue_is_one_click(browser: Browser, server: Running) -> None:
    w = await watched(browser, server)
    page = w.page
    await w.open_widget()
    await page.get_by_role("button", name="Starta chatten").click()
    await expect(page.get_by_text("Du är nummer 1 i kön.")).to_be_visible()
    await page.get_by_role("button", name="Lämna kön").click()
    await expect(page.get_by_text("Du avslutade chatten.")).to_be_visible()
    assert await page.evaluate("sessionStorage.length") == 0
    await page.get_by_role("button", name="Starta en ny chatt").click()
    await expect(page.get_by_text("Ingen volontär är inloggad just nu.", exact=True)).to_be_visible()
    await w.context.close()


async def test_quick_exit_ends_the_chat_and_leaves_nothing(browser: Browser, server: Running) -> None:
    w = await watched(browser, server)
    page = w.page
    await w.open_widget()
    await page.get_by_role("button", name="Starta chatten").click()
    vol, assigned = await volunteer_takes(server)
    await page.get_by_label("Skriv ett meddelande").fill("något hemligt")
    await page.get_by_label("Skriv ett meddelande").press("Enter")
    await vol.line("visitor")
    assert await page.evaluate("sessionStorage.getItem('jourchatt')") is not None

    # Capitals typed with Shift do not count; three presses of Shift alone do.
    await page.get_by_label("Skriv ett meddelande").press("Shift+A")
    await page.get_by_label("Skriv ett meddelande").press("Shift+B")
    assert page.url.startswith(w.server.http)
    for _ in range(3):
        await page.keyboard.press("Shift")
    await page.wait_for_url(EXIT_URL)
    assert (await vol.expect("ended"))["by"] == "visitor"
    assert await page.title() == "SMHI"
    await w.shot("after-exit")

    assert await w.context.cookies() == []
    # Back on the server's origin in the same tab: nothing was kept there.
    await page.goto(w.server.http + "/static/history.html")
    kept = await page.evaluate("[sessionStorage.length, localStorage.length, document.cookie]")
    assert kept == [0, 0, ""]
    await w.context.close()


async def test_quick_exit_button_is_always_there_and_blanks_the_page(browser: Browser, server: Running) -> None:
    w = await watched(browser, server)
    page = w.page
    await page.goto(server.http + "/")
    exit_button = page.get_by_role("button", name="Lämna sidan snabbt")
    await expect(exit_button).to_be_visible()              # before the chat is even opened
    await page.get_by_role("button", name="Chatta anonymt").click()
    await page.get_by_role("button", name="Starta chatten").click()
    await expect(page.get_by_text("Du är nummer 1 i kön.")).to_be_visible()
    await expect(exit_button).to_be_visible()

    # What the page looked like the moment the click was handled, reported from
    # inside it (the old document cannot be inspected once the exit navigation starts).
    seen: list[Any] = []
    await page.expose_function("reportExit", lambda state: seen.append(state))
    await page.evaluate("""() => new MutationObserver(() => window.reportExit([
        document.documentElement.style.visibility, !!document.getElementById('jourchatt'),
        sessionStorage.length])).observe(document.documentElement, {attributes: true})""")
    await exit_button.click(no_wait_after=True)
    await page.wait_for_url(EXIT_URL)
    assert seen and seen[0] == ["hidden", False, 0]        # blank, widget gone, nothing kept
    for _ in range(100):                                   # the chat was left, not abandoned
        if not server.hub.visitors:
            break
        await asyncio.sleep(0.05)
    assert server.hub.visitors == {}
    assert await w.context.cookies() == []
    await w.context.close()


async def test_out_of_hours_shows_next_opening_and_services(browser: Browser, server: Running) -> None:
    w = await watched(browser, server, bypass_csp=True)
    page = w.page
    await w.open_widget()
    await expect(page.get_by_text("Ingen volontär är inloggad just nu.", exact=True)).to_be_visible()
    # Closing time comes while the page is open: the server's closed frame is shown.
    await hours_store.save(server.app.state.db, parse(closed_schedule()))
    await server.hub.hours.refresh()
    await page.get_by_role("button", name="Starta chatten").click()
    await expect(page.get_by_text("Chatten är stängd just nu. Den öppnar igen")).to_contain_text("kl. 18.00")
    await expect(page.get_by_role("link", name="Ring 112")).to_be_visible()
    assert await page.evaluate("sessionStorage.length") == 0

    await page.reload()                  # the state asked over HTTP before any connection
    await page.get_by_role("button", name="Chatta anonymt").click()
    await expect(page.get_by_text("Chatten är stängd just nu.")).to_be_visible()
    await expect(page.get_by_text("Den öppnar igen")).to_contain_text("18:00")
    await expect(page.get_by_role("link", name="Ring 112")).to_have_attribute("href", "tel:112")
    await expect(page.get_by_role("button", name="Starta chatten")).to_be_hidden()
    await w.shot("closed")
    assert await w.axe() == []

    # English is one click away, and every text follows.
    await page.get_by_label("Språk").select_option("en")
    await expect(page.get_by_text("The chat is closed right now.")).to_be_visible()
    await expect(page.get_by_role("heading", name="Talk to us")).to_be_visible()
    await expect(page.locator("#jourchatt")).to_have_attribute("lang", "en")
    await w.shot("closed-en")
    assert w.foreign == []
    await w.context.close()


async def test_too_many_waiting_from_one_network_is_explained_and_not_retried(
        browser: Browser, server: Running, monkeypatch: pytest.MonkeyPatch) -> None:
    """closed network_full (chat/waiting.py): the widget shows the server's sentence and the
    services, and does not reconnect. Every socket here is given one school's address."""
    from chat import endpoints

    monkeypatch.setattr(endpoints, "countable_address", lambda scope, proxies=(): "198.51.100.7")
    server.app.state.waiting.limit = 1
    first = await server.visitor({"lang": "sv"})
    await first.expect("queued")
    w = await watched(browser, server)
    page = w.page
    await w.open_widget()
    await page.get_by_role("button", name="Starta chatten").click()
    await expect(page.get_by_text("Många på samma nätverk som du väntar redan i chatten.")).to_be_visible()
    await expect(page.get_by_text("mobildata i stället för wifi", exact=False)).to_be_visible()
    await expect(page.get_by_role("link", name="Ring 112")).to_be_visible()
    await page.wait_for_timeout(1500)            # no reconnect: still one visitor waiting
    assert len(server.hub.visitors) == 1
    assert await page.evaluate("sessionStorage.length") == 0
    await w.shot("network-full")
    assert w.foreign == []
    await w.context.close()


async def test_accessibility_of_every_state_and_referral_cards(browser: Browser, server: Running) -> None:
    w = await watched(browser, server, bypass_csp=True)
    page = w.page
    pipes: list[WebSocketRoute] = []

    def through(ws: WebSocketRoute) -> None:
        ws.connect_to_server()
        pipes.append(ws)

    await page.route_web_socket("**/ws/visitor", through)
    await page.goto(server.http + "/")
    assert await w.axe() == []                                 # the launcher alone
    await page.get_by_role("button", name="Chatta anonymt").click()
    assert await w.axe() == []                                 # before the chat: hours, promise, intake
    await page.keyboard.press("Escape")
    await expect(page.get_by_role("button", name="Chatta anonymt")).to_be_focused()
    await page.keyboard.press("Enter")
    await page.get_by_role("button", name="Starta chatten").click()
    await expect(page.get_by_text("Du är nummer 1 i kön.")).to_be_visible()
    assert await w.axe() == []                                 # in the queue
    vol, assigned = await volunteer_takes(server)
    await vol.send({"type": "message", "chat": assigned["chat"], "id": "v1", "text": "Hej!"})
    await expect(page.get_by_role("log").get_by_text("Hej!")).to_be_visible()

    # The referral frame (contract.md) as the server would send it, injected into
    # the real socket: the widget's rendering of cards, not the server's making of them.
    card = {"id": "rvc-sodermalm", "kind": "rvc", "name": "Relationsvåldscentrum Söder", "code": "K7QX-42MP",
            "description": {"sv": "Stöd för dig som utsätts för våld.", "en": "Support if you are subjected to violence."},
            "phone": "08-508 00 000", "url": "https://example.org/rvc", "anonymous": True,
            "opening_hours": {"sv": "Vardagar 9–16", "en": "Weekdays 9–16"}}
    pipes[-1].send(json.dumps({"type": "referral", "services": [card]}))
    referral = page.locator(".jc-referral")
    await expect(referral.get_by_role("heading", name="Relationsvåldscentrum Söder")).to_be_visible()
    await expect(referral.locator(".jc-code-value")).to_have_text("K7QX-42MP")
    await expect(referral.get_by_text("Vardagar 9–16")).to_be_visible()
    await expect(referral.get_by_role("link", name="Ring 08-508 00 000")).to_have_attribute("href", "tel:0850800000")
    await w.context.grant_permissions(["clipboard-read", "clipboard-write"], origin=server.http)
    await referral.get_by_role("button", name="Kopiera koden").click()
    await expect(referral.get_by_text("Koden är kopierad.")).to_be_visible()
    assert await page.evaluate("navigator.clipboard.readText()") == "K7QX-42MP"
    await w.shot("referral")
    assert await w.axe() == []                                 # in the chat, with a card

    # 200 % zoom: a 640 px wide window shows the same panel without sideways scrolling.
    await page.set_viewport_size({"width": 640, "height": 400})
    assert await page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
    await expect(page.get_by_role("button", name="Skicka")).to_be_visible()
    await w.shot("zoom-200")
    assert w.foreign == []
    await w.context.close()


async def serve_host_page_later(holder: dict[str, str]) -> tuple[asyncio.AbstractServer, str]:
    """The foundation's site: a second origin on loopback serving ``holder["body"]``."""

    async def answer(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.readuntil(b"\r\n\r\n")
        data = holder["body"].encode()
        writer.write(b"HTTP/1.1 200 OK\r\nContent-Type: text/html; charset=utf-8\r\n"
                     b"Content-Length: %d\r\nConnection: close\r\n\r\n%s" % (len(data), data))
        await writer.drain()
        writer.close()

    site = await asyncio.start_server(answer, "127.0.0.1", 0)
    return site, f"http://127.0.0.1:{site.sockets[0].getsockname()[1]}"


async def test_embedded_on_an_allowed_site_with_one_script_tag(browser: Browser, tmp_path: Path) -> None:
    holder: dict[str, str] = {}                    # the page names the server, whose port comes later
    site, origin = await serve_host_page_later(holder)
    running, stop = await start_server(make_settings(tmp_path, allowed_origins=origin))
    holder["body"] = (f'<!doctype html><html lang="sv"><title>Stiftelsen</title><h1>Stiftelsen</h1>'
                      f'<script src="{running.http}/static/widget.js" defer '
                      f'data-exit-url="{EXIT_URL}" data-channel="stiftelsen"></script>')
    try:
        w = await watched(browser, running, host=origin)
        page = w.page
        await page.goto(origin + "/")
        await page.get_by_role("button", name="Chatta anonymt").click()
        await expect(page.get_by_text("Ingen volontär är inloggad just nu.", exact=True)).to_be_visible()     # CORS for the allowed origin
        await page.get_by_label("Var bor du?").select_option("0182")                # places over CORS too
        await page.get_by_role("button", name="Starta chatten").click()
        await expect(page.get_by_text("Du är nummer 1 i kön.")).to_be_visible()
        assert await page.title() == "Stiftelsen"
        assert await w.context.cookies() == []
        await w.shot("embedded")
        assert w.foreign == []
        await w.context.close()
    finally:
        await stop()
        site.close()
