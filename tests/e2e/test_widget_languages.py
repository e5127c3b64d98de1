"""The widget in Arabic (right to left) and Tigrinya in real headless Chromium, and the
organisation's choice of languages (JOURCHATT_LANGUAGES).

Built on tests/e2e/test_widget.py's watched pages (every request outside the server is
refused and recorded; axe-core for WCAG 2.1 AA). Screenshots go to test-artifacts/
(widget-ar-*.png, widget-ti-*.png). This machine has no Ethiopic font, so the Tigrinya
screenshots show boxes where a phone (Noto Sans Ethiopic, Kefa, Ebrima) shows letters;
the assertions read the page's text, not its pixels.
"""

from __future__ import annotations

import json
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any, AsyncIterator

import pytest
import pytest_asyncio
from playwright.async_api import Browser, Page, WebSocketRoute, expect

from tests.conftest import Running, make_settings, start_server
from tests.e2e.test_widget import Watched, browser, closed_schedule, serve_host_page_later, watched  # noqa: F401  (browser: the fixture)
from volunteer import hours_store
from volunteer.hours import parse

pytestmark = pytest.mark.asyncio(loop_scope="module")

OWN_NAMES = ["Svenska", "English", "العربية", "فارسی", "Soomaali", "ትግርኛ", "Українська"]
CARD = {"id": "rvc-sodermalm", "kind": "rvc", "name": "Relationsvåldscentrum Söder", "code": "K7QX-42MP",
        "description": {"sv": "Stöd för dig som utsätts för våld.", "ar": "دعم لمن يتعرض للعنف."},
        "phone": "08-508 00 000", "url": "https://example.org/rvc", "anonymous": True}


@pytest_asyncio.fixture(loop_scope="module")
async def server(tmp_path: Path) -> AsyncIterator[Running]:
    running, stop = await start_server(make_settings(tmp_path))
    yield running
    await stop()


@asynccontextmanager
async def embedded(browser: Browser, tmp_path: Path, lang: str, **settings: str) -> AsyncIterator[Watched]:  # noqa: F811
    """A foundation's page on a second loopback origin embedding the widget with ``data-lang=lang``."""
    holder: dict[str, str] = {}
    site, origin = await serve_host_page_later(holder)
    running, stop = await start_server(make_settings(tmp_path, allowed_origins=origin, **settings))
    holder["body"] = (f'<!doctype html><html lang="{lang}"><meta charset="utf-8">'
                      '<meta name="viewport" content="width=device-width, initial-scale=1"><title>Stöd</title>'
                      f'<main><h1>Stöd</h1></main><script src="{running.http}/static/widget.js" defer '
                      f'data-lang="{lang}"></script>')
    try:
        w = await watched(browser, running, bypass_csp=True, host=origin, viewport={"width": 390, "height": 800})
        await w.page.goto(origin + "/")
        yield w
        await w.context.close()
    finally:
        await stop()
        site.close()


async def axe_widget(w: Watched) -> list[dict[str, Any]]:
    """axe-core over the widget alone (on a phone the demo page's own <pre> scrolls sideways)."""
    await w.axe()                                     # puts axe-core into the page
    result = await w.page.evaluate(
        "axe.run('#jourchatt', {runOnly: {type: 'tag', values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa']}})")
    return [{"id": v["id"], "impact": v["impact"], "nodes": [n["target"] for n in v["nodes"]]}
            for v in result["violations"] if v["impact"] in ("serious", "critical")]


async def no_sideways_scrolling(page: Page) -> bool:
    return bool(await page.evaluate("document.documentElement.scrollWidth <= window.innerWidth"))


async def test_arabic_is_right_to_left_accessible_at_200_percent_and_on_a_phone(
        browser: Browser, server: Running) -> None:  # noqa: F811
    w = await watched(browser, server, bypass_csp=True)
    page = w.page
    pipes: list[WebSocketRoute] = []

    def through(ws: WebSocketRoute) -> None:
        ws.connect_to_server()
        pipes.append(ws)

    await page.route_web_socket("**/ws/visitor", through)
    await w.open_widget()
    panel = page.locator("#jc-panel")
    ltr_box = await panel.bounding_box()
    assert ltr_box and ltr_box["x"] > 500                     # Swedish: bottom right

    # The switch names each language in its own words; the choice is Arabic.
    switch = page.get_by_label("Språk")
    assert await switch.locator("option").all_inner_texts() == OWN_NAMES
    assert await switch.locator("option[value=ar]").get_attribute("lang") == "ar"
    await switch.select_option("ar")
    root = page.locator("#jourchatt")
    await expect(root).to_have_attribute("dir", "rtl")
    await expect(root).to_have_attribute("lang", "ar")
    await expect(page.get_by_role("heading", name="تحدّث معنا")).to_be_visible()
    await expect(page.get_by_label("اللغة")).to_have_value("ar")
    await expect(page.get_by_text("هذه الترجمة لم يراجعها متحدث أصلي باللغة بعد.")).to_be_visible()
    await expect(page.get_by_text("لا يوجد متطوع متصل الآن.", exact=True)).to_be_visible()   # nobody on duty yet
    await expect(page.get_by_text("هل أنت في خطر مباشر؟ اتصل بالرقم 112.")).to_be_visible()
    rtl_box = await panel.bounding_box()
    assert rtl_box and rtl_box["x"] < 100                     # mirrored: bottom left
    exit_box = await page.locator(".jc-exit").bounding_box()
    assert exit_box and exit_box["x"] < 100
    assert await page.evaluate("getComputedStyle(document.querySelector('.jc-body')).direction") == "rtl"
    await w.shot("ar-start")
    assert await w.axe() == []

    # Two volunteers on duty, the Swedish speaker idle the longest: the Arabic speaker gets the chat.
    await server.add_account("sara", languages="sv", display_name="Sara")
    sara = await server.volunteer("sara")
    await server.add_account("amal", languages="sv,ar", display_name="Amal")
    amal = await server.volunteer("amal")
    await page.get_by_label("كم عمرك؟").select_option("15")
    await page.get_by_role("radio", name="فتاة").check()
    await page.get_by_role("button", name="ابدأ المحادثة").click()
    await expect(page.get_by_text("أنت تتحدث مع")).to_contain_text("\u2068Amal\u2069")  # the name isolated
    assert json.loads(await page.evaluate("sessionStorage.getItem('jourchatt')"))["l"] == "ar"

    assigned = await amal.expect("assigned")
    assert assigned["lang"] == "ar"
    await sara.none_of("assigned", 0.3)
    chat = assigned["chat"]
    await amal.send({"type": "message", "chat": chat, "id": "v1", "text": "مرحبا، أنا هنا لأستمع إليك."})
    line = page.get_by_role("log").get_by_text("مرحبا، أنا هنا لأستمع إليك.")
    await expect(line).to_have_attribute("dir", "auto")
    box = page.get_by_label("اكتب رسالة")
    await box.fill("شكرا")
    await box.press("Enter")
    assert (await amal.line("visitor"))["text"] == "شكرا"
    mine = page.locator(".jc-visitor").filter(has_text="شكرا")
    await expect(mine.locator(".jc-state")).to_have_text("وصلت")

    # A referral card: labels in Arabic, the code, phone number and address kept left to right.
    pipes[-1].send(json.dumps({"type": "referral", "services": [CARD]}))
    referral = page.locator(".jc-referral")
    await expect(referral.get_by_text("دعم لمن يتعرض للعنف.")).to_be_visible()
    await expect(referral.get_by_text("رمزك")).to_be_visible()
    code = referral.locator(".jc-code-value")
    await expect(code).to_have_text("K7QX-42MP")
    await expect(code).to_have_attribute("dir", "ltr")
    assert await code.evaluate("e => getComputedStyle(e).direction") == "ltr"
    call = referral.get_by_role("link", name="اتصل بالرقم 08-508 00 000")
    await expect(call).to_have_attribute("href", "tel:0850800000")
    await expect(call.locator("bdi[dir=ltr]")).to_have_text("08-508 00 000")
    await expect(referral.get_by_role("button", name="انسخ الرمز")).to_be_visible()
    await w.shot("ar-chat")
    assert await w.axe() == []

    # 200 % zoom: a 640 px wide window, the panel without sideways scrolling.
    await page.set_viewport_size({"width": 640, "height": 400})
    assert await no_sideways_scrolling(page)
    await expect(page.get_by_role("button", name="إرسال")).to_be_visible()
    await w.shot("ar-zoom-200")
    # A phone: the panel fills the width, still right to left, nothing sideways.
    await page.set_viewport_size({"width": 360, "height": 740})
    assert await no_sideways_scrolling(page)
    phone_box = await panel.bounding_box()
    assert phone_box and phone_box["x"] == 0 and phone_box["width"] == 360
    await expect(page.get_by_role("button", name="إنهاء المحادثة")).to_be_visible()
    await w.shot("ar-phone")
    assert await axe_widget(w) == []

    await amal.send({"type": "end", "chat": chat})
    await expect(page.get_by_text("أنهى المتطوع المحادثة.")).to_be_visible()    # one sentence (test_widget_states)
    await expect(page.get_by_role("button", name="ابدأ محادثة جديدة")).to_be_visible()
    assert await page.evaluate("sessionStorage.length") == 0
    await w.shot("ar-ended")
    assert w.foreign == []
    await w.context.close()


async def test_tigrinya_from_the_page_with_the_closed_answer_in_tigrinya(
        browser: Browser, tmp_path: Path) -> None:  # noqa: F811
    async with embedded(browser, tmp_path, "ti") as w:
        page, server = w.page, w.server
        await page.get_by_role("button", name="ብዘይ ስም ተዘራረብ").click()
        await expect(page.get_by_role("heading", name="ምሳና ተዛረብ")).to_be_focused()
        root = page.locator("#jourchatt")
        await expect(root).to_have_attribute("lang", "ti")
        await expect(root).to_have_attribute("dir", "ltr")
        await expect(page.get_by_label("ቋንቋ")).to_have_value("ti")
        await expect(page.get_by_text("እዚ ትርጉም ገና ብተዛራባይ ቋንቋ ኣይተመርመረን።")).to_be_visible()
        await expect(page.get_by_text("ሕጂ ዝኣተወ ወለንተኛ የለን።", exact=True)).to_be_visible()   # nobody on duty yet
        await expect(page.get_by_role("button", name="ካብዚ ገጽ ቀልጢፍካ ውጻእ")).to_be_visible()
        await w.shot("ti-start")
        assert await w.axe() == []

        # Closing time comes while the page is open: the server's closed answer and its cards in Tigrinya.
        await hours_store.save(server.app.state.db, parse(closed_schedule()))
        await server.hub.hours.refresh()
        await page.get_by_role("button", name="ቻት ጀምር").click()
        closed = page.get_by_text("እቲ ቻት ሕጂ ዕጹው እዩ።", exact=False).first
        await expect(closed).to_contain_text("ሰዓት 18:00")
        # (the start view, hidden now, showed the same card while nobody was on duty)
        await expect(page.get_by_text("ንስኻ ወይ ካልእ ሰብ ኣብ ህጹጽ ሓደጋ እንተሃሊኹም፡ ናብ 112 ደውል።").filter(visible=True)).to_be_visible()
        await expect(page.get_by_role("link", name="ናብ 112 ደውል").filter(visible=True)).to_have_attribute("href", "tel:112")
        await expect(page.get_by_role("button", name="ሓድሽ ቻት ጀምር")).to_be_visible()
        assert await no_sideways_scrolling(page)
        await w.shot("ti-closed")
        assert await w.axe() == []

        # And back to Swedish in one choice: every text follows, the direction stays.
        await page.get_by_label("ቋንቋ").select_option("sv")
        await expect(page.get_by_role("button", name="Starta en ny chatt")).to_be_visible()
        await expect(page.get_by_text("Översättningen är inte granskad än.")).to_be_hidden()
        assert w.foreign == []


async def test_an_organisation_offers_only_the_reviewed_languages(browser: Browser, tmp_path: Path) -> None:  # noqa: F811
    async with embedded(browser, tmp_path, "ar", languages="sv,en") as w:   # the page asks for Arabic, off here
        page = w.page
        await page.get_by_role("button", name="Chatta anonymt").click()
        await expect(page.get_by_text("Ingen volontär är inloggad just nu.", exact=True)).to_be_visible()
        await expect(page.locator("#jourchatt")).to_have_attribute("dir", "ltr")
        switch = page.get_by_label("Språk")
        await expect(switch.locator("option")).to_have_count(2)
        assert await switch.locator("option").all_inner_texts() == ["Svenska", "English"]
        assert w.foreign == []
