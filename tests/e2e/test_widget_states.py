"""The widget's honest states (issue 22) in real headless Chromium against the real server.

Nobody on duty: instead of "Beräknad väntetid: cirka 20 min" the widget says that no
volunteer is signed in, what the visitor may do, and the services meanwhile; it turns
into the chat when a volunteer comes. A referral card whose description already says
"Du kan vara anonym." does not say it twice. The end notice is one sentence. While
closed, the intake questions are not shown under the closed notice. Screenshots go to
test-artifacts/ (widget-*.png); axe-core on the new state.
"""

from __future__ import annotations

import asyncio
import json

import pytest
from playwright.async_api import Browser, WebSocketRoute, expect

from tests.conftest import Running
from volunteer import hours_store
from volunteer.hours import parse

from .test_widget import browser, closed_schedule, server, volunteer_takes, watched  # noqa: F401 (fixtures)

pytestmark = pytest.mark.asyncio(loop_scope="module")


async def test_nobody_on_duty_then_a_chat_a_card_said_once_and_one_end_sentence(browser: Browser,  # noqa: F811
                                                                                server: Running) -> None:  # noqa: F811
    w = await watched(browser, server, bypass_csp=True)
    page = w.page
    pipes: list[WebSocketRoute] = []

    def through(ws: WebSocketRoute) -> None:
        ws.connect_to_server()
        pipes.append(ws)

    await page.route_web_socket("**/ws/visitor", through)
    await w.open_widget()
    await page.get_by_role("button", name="Starta chatten").click()

    # Nobody signed in: said plainly, with what to do and where to turn meanwhile; no estimate.
    queue = page.locator(".jc-view:has(.jc-nobody)")
    await expect(queue.get_by_text("Ingen volontär är inloggad just nu.", exact=False)).to_be_visible()
    await expect(queue.get_by_text("Du är nummer 1 i kön.", exact=False)).to_be_visible()
    await expect(queue.get_by_text("Du kan vänta i kön tills någon loggar in, eller komma tillbaka senare.")).to_be_visible()
    await expect(queue.get_by_text("Här kan du få hjälp under tiden:")).to_be_visible()
    await expect(queue.get_by_role("link", name="Ring 112")).to_have_attribute("href", "tel:112")
    await expect(page.get_by_text("Beräknad väntetid", exact=False)).to_have_count(0)
    await w.shot("nobody-on-duty")
    assert await w.axe() == []
    # In English too (the same frame, the other texts).
    await page.get_by_label("Språk").select_option("en")        # the language switch (issue 21)
    await expect(queue.get_by_text("No volunteer is signed in right now.", exact=False)).to_be_visible()
    await page.get_by_label("Language").select_option("sv")

    # A volunteer signs in: the chat begins and the nobody-state goes.
    vol, assigned = await volunteer_takes(server)
    await expect(page.get_by_text("Du pratar med Anna.")).to_be_visible()
    await expect(queue.get_by_text("Ingen volontär är inloggad just nu.", exact=False)).to_be_hidden()

    # A card whose description says it already: "Du kan vara anonym." once, not twice.
    card = {"id": "samtalsmottagning", "kind": "counselling", "name": "Samtalsmottagningen", "code": "K7QX-42MP",
            "description": "Samtal med psykolog för unga. Du kan vara anonym.", "anonymous": True,
            "contact": {"phone": "08-123 456 78"}, "hours": "Vardagar 9–17"}
    other = {**card, "id": "umo", "name": "UMO", "code": "AB12-CD34", "description": "Frågor om kropp och relationer."}
    pipes[-1].send(json.dumps({"type": "referral", "services": [card, other]}))
    cards = page.locator(".jc-referral .jc-card")
    await expect(cards).to_have_count(2)
    await expect(cards.first.get_by_text("Du kan vara anonym", exact=False)).to_have_count(1)
    await expect(cards.last.get_by_text("Du kan vara anonym.", exact=True)).to_have_count(1)   # said by the flag
    await w.shot("card-anonymous-once")

    # The volunteer ends: one sentence, not "Chatten är avslutad. Volontären avslutade chatten."
    await vol.send({"type": "end", "chat": assigned["chat"]})
    ended = page.locator(".jc-view .jc-big").filter(has_text="avslutade")
    await expect(ended).to_have_text("Volontären avslutade chatten.")
    await expect(page.get_by_text("Chatten är avslutad.", exact=False)).to_have_count(0)
    await w.shot("ended-once")
    assert w.foreign == []
    await w.context.close()


async def test_closed_shows_no_intake_under_the_closed_notice(browser: Browser, server: Running) -> None:  # noqa: F811
    await hours_store.save(server.app.state.db, parse(closed_schedule()))
    await server.hub.hours.refresh()
    w = await watched(browser, server)
    page = w.page
    await w.open_widget()
    await expect(page.get_by_text("Chatten är stängd just nu.")).to_be_visible()
    await expect(page.get_by_role("link", name="Ring 112")).to_be_visible()
    for hidden in ("Frivilliga frågor", "Hur gammal är du?", "Var bor du?"):
        await expect(page.get_by_text(hidden)).to_be_hidden()
    await expect(page.get_by_role("button", name="Starta chatten")).to_be_hidden()
    await expect(page.get_by_role("heading", name="Prata med oss")).to_be_focused()
    await w.shot("closed-no-intake")
    # Open again (the schedule removed): the intake is back.
    await hours_store.save(server.app.state.db, None)
    await server.hub.hours.refresh()
    await page.reload()
    await page.get_by_role("button", name="Chatta anonymt").click()
    await expect(page.get_by_text("Ingen volontär är inloggad just nu.", exact=True)).to_be_visible()
    await expect(page.get_by_text("Hur gammal är du?")).to_be_visible()
    assert w.foreign == []
    await w.context.close()


async def test_before_a_chat_nobody_on_duty_is_said_plainly_not_open(browser: Browser,  # noqa: F811
                                                                       server: Running) -> None:  # noqa: F811
    """Within opening hours with nobody signed in and taking chats, the start view does not say
    "Chatten är öppen nu.": it says nobody is signed in, what the visitor may do (wait in the queue
    or come back), and where to turn meanwhile; the questions and the start button stay. A paused
    volunteer does not count; an available one does."""
    w = await watched(browser, server, bypass_csp=True)        # bypass_csp: only for axe-core
    page = w.page
    await w.open_widget()
    start = page.locator("form.jc-view")
    await expect(start.get_by_text("Ingen volontär är inloggad just nu.", exact=True)).to_be_visible()
    await expect(start.get_by_text("Du kan vänta i kön tills någon loggar in, eller komma tillbaka senare.")).to_be_visible()
    await expect(start.get_by_text("Här kan du få hjälp under tiden:")).to_be_visible()
    await expect(start.get_by_role("link", name="Ring 112")).to_have_attribute("href", "tel:112")
    await expect(page.get_by_text("Chatten är öppen nu.")).to_have_count(0)
    await expect(page.get_by_text("Hur gammal är du?")).to_be_visible()
    await expect(page.get_by_role("button", name="Starta chatten")).to_be_visible()
    await w.shot("nobody-before-chat")
    assert await w.axe() == []
    await page.get_by_label("Språk").select_option("en")
    await expect(start.get_by_text("No volunteer is signed in right now.", exact=True)).to_be_visible()
    await expect(start.get_by_text("You can wait in the queue until someone signs in, or come back later.")).to_be_visible()
    await page.get_by_label("Language").select_option("sv")

    # A paused volunteer takes no chats: still nobody. Available: the chat is open.
    await server.add_account("anna", display_name="Anna")
    vol = await server.volunteer("anna", available=False)
    await page.reload()
    await page.get_by_role("button", name="Chatta anonymt").click()
    await expect(page.get_by_text("Ingen volontär är inloggad just nu.", exact=True)).to_be_visible()
    await vol.send({"type": "status", "state": "available"})
    assert (await vol.expect("status"))["state"] == "available"
    await asyncio.sleep(1.1)                      # the node's count is at most a second old
    await page.reload()
    await page.get_by_role("button", name="Chatta anonymt").click()
    await expect(page.get_by_text("Chatten är öppen nu.")).to_be_visible()
    await expect(page.get_by_text("Ingen volontär är inloggad just nu.", exact=True)).to_have_count(0)
    await expect(page.get_by_text("Här kan du få hjälp under tiden:")).to_be_hidden()
    assert w.foreign == []
    await w.context.close()
