"""Follow-up codes in the widget (issue 19), in real headless Chromium against the real server.

A code the volunteer gives is shown large, copyable, left to right also in Arabic, with plain
words, and is kept nowhere (sessionStorage holds only the resume token and the language). A
code typed in before the chat is checked as the server checks it, sent in the hello, and an
unknown one is said plainly while the chat goes on. A busy volunteer: the chat is kept for
them, and the young person may choose someone else now. An off volunteer: when they are next
booked, and the choice to talk with someone else now or to leave. Screenshots go to
test-artifacts/ (widget-followup-*.png); axe-core on each new state.
"""

from __future__ import annotations

from typing import Any

import pytest
from playwright.async_api import Browser, expect
from sqlalchemy import select

from chat import followup
from tests.conftest import WS, Running
from volunteer.models import Account

from .test_widget import browser, server, volunteer_takes, watched  # noqa: F401 (fixtures)

pytestmark = pytest.mark.asyncio(loop_scope="module")


async def code_for(server: Running, username: str) -> str:
    async with server.app.state.db() as session:
        vid = await session.scalar(select(Account.id).where(Account.username == username))
    assert vid is not None
    return await followup.issue(server.app.state.db, server.settings.secret, vid)


async def busy(server: Running, username: str) -> tuple[WS, dict[str, Any]]:
    """``username`` signed in, their one slot taken by another young person."""
    await server.add_account(username, display_name=username.capitalize())
    vol = await server.volunteer(username)
    other = await server.visitor({"lang": "sv"})
    await other.expect("assigned")
    return vol, await vol.expect("assigned")


async def test_a_code_given_is_shown_large_copyable_and_kept_nowhere(browser: Browser,  # noqa: F811
                                                                     server: Running) -> None:  # noqa: F811
    w = await watched(browser, server, bypass_csp=True)
    page = w.page
    await w.open_widget()
    await page.get_by_role("button", name="Starta chatten").click()
    vol, assigned = await volunteer_takes(server)
    await expect(page.get_by_text("Du pratar med Anna.")).to_be_visible()

    await vol.send({"type": "followup", "chat": assigned["chat"]})
    given = await vol.expect("followup_given")
    assert given["valid_days"] == 14
    box = page.locator(".jc-followup")
    await expect(box.get_by_text("Din kod för att prata med samma person igen")).to_be_visible()
    await expect(box.get_by_text("Skriv ner koden eller spara den på ett säkert ställe. Vi sparar den inte åt dig. "
                                 "Den gäller i 14 dagar.")).to_be_visible()
    code = box.locator(".jc-code-value")
    await expect(code).to_have_text(__import__("re").compile(r"^[A-Z2-9]{4}-[A-Z2-9]{4}$"))
    text = await code.text_content()
    assert text is not None
    assert await code.get_attribute("dir") == "ltr"
    assert "monospace" in await code.evaluate("e => getComputedStyle(e).fontFamily")
    assert float(await code.evaluate("e => parseFloat(getComputedStyle(e).fontSize)")) >= 24
    await expect(box.get_by_role("button", name="Kopiera koden")).to_be_visible()
    # Kept nowhere: not in sessionStorage (the only storage the widget touches), not in cookies.
    stored = await page.evaluate("JSON.stringify(Object.entries(sessionStorage))")
    assert text not in stored and text.replace("-", "") not in stored
    assert await page.evaluate("document.cookie") == ""
    await w.shot("followup-given")
    assert await w.axe() == []

    # In Arabic the page runs right to left, the code still left to right.
    await page.get_by_label("Språk").select_option("ar")
    await expect(box.get_by_text("رمزك للتحدث مع الشخص نفسه مرة أخرى")).to_be_visible()
    await expect(box.get_by_text("الرمز صالح لمدة \u206814\u2069 يومًا.", exact=False)).to_be_visible()
    assert await page.locator("#jourchatt").get_attribute("dir") == "rtl"
    assert await code.evaluate("e => getComputedStyle(e).direction") == "ltr"
    # The status line follows the language too (it said "Du pratar med Anna." in Swedish).
    await expect(page.locator("p.jc-status")).to_contain_text("أنت تتحدث مع")
    await w.shot("followup-given-ar")
    await page.get_by_label("اللغة").select_option("sv")

    await vol.send({"type": "end", "chat": assigned["chat"]})
    await expect(page.get_by_text("Volontären avslutade chatten.")).to_be_visible()
    assert await page.evaluate("sessionStorage.length") == 0
    assert w.foreign == []
    await w.context.close()


async def test_a_code_typed_in_waits_for_the_busy_volunteer_or_someone_else_now(browser: Browser,  # noqa: F811
                                                                                server: Running) -> None:  # noqa: F811
    await busy(server, "sara")
    code = await code_for(server, "sara")
    w = await watched(browser, server, bypass_csp=True)
    page = w.page
    await w.open_widget()
    await page.get_by_text("Har du en kod från förra gången?").click()
    field = page.get_by_label("Din kod")
    await expect(field).to_have_attribute("dir", "ltr")
    # Checked as the server checks it: a bad one stops the start and says so.
    await field.fill("a#")
    await page.get_by_role("button", name="Starta chatten").click()
    await expect(page.get_by_text("Koden ser inte rätt ut. Kolla den, eller töm rutan.")).to_be_visible()
    await expect(field).to_be_focused()
    await w.shot("followup-code-bad")
    await field.fill(code.lower())
    await w.shot("followup-code-field")
    assert await w.axe() == []
    await page.get_by_role("button", name="Starta chatten").click()

    # Sara is busy: the chat is kept for her; waiting is the choice made, someone else the other.
    box = page.locator(".jc-fu-box")
    await expect(box.get_by_text("Sara pratar med någon annan just nu. Vi håller din plats åt Sara i högst 10 minuter",
                                 exact=False)).to_be_visible()
    wait = box.get_by_role("button", name="Vänta på Sara")
    other = box.get_by_role("button", name="Prata med någon annan nu")
    await expect(wait).to_have_attribute("aria-pressed", "true")
    await expect(other).to_have_attribute("aria-pressed", "false")
    await expect(page.get_by_text("Du är nummer 1 i kön.", exact=False)).to_be_visible()
    assert code not in await page.evaluate("JSON.stringify(Object.entries(sessionStorage))")
    await page.get_by_label("Språk").select_option("en")            # the buttons follow the language
    await expect(box.get_by_role("button", name="Wait for Sara")).to_be_visible()
    await page.get_by_label("Language").select_option("sv")
    await w.shot("followup-kept")
    assert await w.axe() == []

    await other.click()
    await expect(box.get_by_text("Okej. Du får prata med den som blir ledig först. Du behåller din plats i kön.")
                 ).to_be_visible()
    await expect(box.get_by_role("button", name="Prata med någon annan nu")).to_have_attribute("aria-pressed", "true")
    await w.shot("followup-someone-else")
    # Someone else comes: the chat is theirs.
    await volunteer_takes(server, "bo")
    await expect(page.get_by_text("Du pratar med Bo.")).to_be_visible()
    assert w.foreign == []
    await w.context.close()


async def test_an_unknown_code_is_said_plainly_and_the_chat_goes_on(browser: Browser,  # noqa: F811
                                                                    server: Running) -> None:  # noqa: F811
    w = await watched(browser, server, bypass_csp=True)
    page = w.page
    await w.open_widget()
    await page.get_by_text("Har du en kod från förra gången?").click()
    await page.get_by_label("Din kod").fill("ABCD-EFGH")
    await page.get_by_role("button", name="Starta chatten").click()
    await expect(page.get_by_text("Vi hittade inte koden. Den kan vara felskriven eller för gammal.",
                                  exact=False)).to_be_visible()
    await expect(page.get_by_text("Du är nummer 1 i kön.", exact=False)).to_be_visible()
    await expect(page.get_by_text("Något gick fel", exact=False)).to_have_count(0)
    await w.shot("followup-unknown")
    await volunteer_takes(server)
    await expect(page.get_by_text("Du pratar med Anna.")).to_be_visible()
    await w.context.close()


async def test_an_off_volunteer_someone_else_now_or_leave_and_come_back(browser: Browser,  # noqa: F811
                                                                        server: Running) -> None:  # noqa: F811
    await server.add_account("sara", display_name="Sara")
    code = await code_for(server, "sara")
    w = await watched(browser, server, bypass_csp=True)
    page = w.page
    await w.open_widget()
    await page.get_by_text("Har du en kod från förra gången?").click()
    await page.get_by_label("Din kod").fill(code)
    await page.get_by_role("button", name="Starta chatten").click()
    box = page.locator(".jc-fu-box")
    await expect(box.get_by_text("Sara är inte här just nu och har inte bokat nästa pass än.", exact=False)).to_be_visible()
    await expect(box.get_by_role("button", name="Vänta på Sara")).to_have_count(0)
    await expect(box.get_by_text("Spara din kod:", exact=False)).to_be_visible()
    await expect(box.locator("bdi.jc-code-value")).to_have_text(code)
    await w.shot("followup-off")
    assert await w.axe() == []
    await box.get_by_role("button", name="Gå nu och kom tillbaka en annan gång").click()
    await expect(page.get_by_text("Du avslutade chatten.")).to_be_visible()
    assert await page.evaluate("sessionStorage.length") == 0
    await w.context.close()
