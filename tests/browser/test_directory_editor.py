"""The coordinators' directory editor (/referrals/directory) as forms, in real headless Chromium.

A coordinator searches the list, opens Stödcentrum, changes its Swedish description,
its upper age and adds a municipality (Nacka) with the pickers (labels, never codes),
saves, and the live directory holds exactly that; a bad age comes back from the
server's 422 and is shown at that very field (aria-invalid, the message beside it)
and nothing is stored; a new service is added through the form and found by the
search. axe-core finds no serious violation on the page. Screenshots go to
test-artifacts/.
"""

from __future__ import annotations

import asyncio
import json
import re
from pathlib import Path
from typing import Any

import httpx
from playwright.async_api import Browser, BrowserContext, Page, async_playwright, expect

from ..conftest import PASSWORD, Running
from .test_console import ARGS, ARTIFACTS, CHROMIUM

AXE = Path(__file__).resolve().parents[1] / "e2e" / "vendor" / "axe.min.js"


async def serious_violations(page: Page) -> list[dict[str, Any]]:
    """axe-core (WCAG 2.0/2.1 A and AA): the serious and critical violations."""
    if not await page.evaluate("typeof window.axe !== 'undefined'"):
        await page.add_script_tag(path=str(AXE))
    result = await page.evaluate(
        "axe.run(document, {runOnly: {type: 'tag', values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa']}})")
    return [{"id": v["id"], "impact": v["impact"], "nodes": [n["target"] for n in v["nodes"]]}
            for v in result["violations"] if v["impact"] in ("serious", "critical")]


async def coordinator_page(browser: Browser, server: Running, username: str) -> tuple[BrowserContext, Page]:
    """A signed-in context; CSP bypassed only so that axe-core can be injected (the test's own script)."""
    cookie = await server.login(username)
    name, _, value = cookie.partition("=")
    context = await browser.new_context(viewport={"width": 1280, "height": 1000}, locale="sv-SE", bypass_csp=True)
    await context.add_cookies([{"name": name, "value": value, "url": server.http}])
    page = await context.new_page()
    page.on("dialog", lambda dialog: asyncio.ensure_future(dialog.accept()))
    return context, page


async def sign_in(page: Page, server: Running, username: str) -> None:
    """The /login page's form: username, password and a fresh code."""
    await page.locator("#username").fill(username)
    await page.locator("#password").fill(PASSWORD)
    await page.locator("#otp").fill(await server.code(username))
    await page.get_by_role("button", name="Logga in").click()


async def directory(server: Running, cookie: str) -> dict[str, Any]:
    async with httpx.AsyncClient(base_url=server.http, headers={"Cookie": cookie}) as client:
        r = await client.get("/api/referrals/directory")
    assert r.status_code == 200
    return r.json()  # type: ignore[no-any-return]


async def test_coordinator_edits_a_service_in_the_form_sees_a_field_error_and_searches(server: Running) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    pair = "redis" if server.app.state.broker.shared else "memory"
    await server.add_account("cora", role="coordinator", display_name="Cora")
    cookie = await server.login("cora")
    before = await directory(server, cookie)
    async with async_playwright() as pw:
        browser = await pw.chromium.launch(executable_path=CHROMIUM, args=ARGS, headless=True)
        try:
            ctx, page = await coordinator_page(browser, server, "cora")
            unsafe: list[dict[str, str]] = []
            page.on("request", lambda req: unsafe.append(req.headers) if req.method in ("POST", "PUT") else None)
            await page.goto(f"{server.http}/referrals/directory")
            items = page.locator("#services li")
            await expect(items).to_have_count(len(before["services"]))
            body = await page.locator("body").inner_text()
            assert "jourchatt directory" not in body and "CLI" not in body     # no coordinator is sent to a command line
            # The list is one column of rows: every row starts at the same left edge, none overlaps the next.
            boxes = [await items.nth(i).bounding_box() for i in range(await items.count())]
            assert len({round(b["x"]) for b in boxes if b}) == 1
            assert all(a and b and a["y"] + a["height"] <= b["y"] + 1 for a, b in zip(boxes, boxes[1:]))
            assert await serious_violations(page) == []

            # Search by words of the name (case ignored); the count is told.
            search = page.get_by_label("Sök bland tjänsterna")
            await search.fill("stödcentrum")
            await expect(items).to_have_count(1)
            await expect(page.locator("#search-count")).to_have_text(f"1 av {len(before['services'])} tjänster.")
            await search.fill("finns inte alls")
            await expect(page.locator("#search-count")).to_have_text("Ingen tjänst matchar sökningen.")
            await search.fill("Stödcentrum")
            await items.first.get_by_role("button").click()
            await expect(page.get_by_role("heading", name="Stödcentrum för unga brottsutsatta och vittnen")).to_be_focused()

            # Labels, not codes: the kind, the roles and the municipalities read as words.
            form = page.locator("#entry")
            await expect(form.get_by_label("Sorts tjänst")).to_have_value("stodcentrum")
            assert "stödcentrum för unga brottsutsatta" in (await form.get_by_label("Sorts tjänst").inner_text())
            clause = form.locator("fieldset.clause").first
            await expect(clause.get_by_label("Nacka", exact=True)).to_be_visible()
            await expect(clause.get_by_label("utsatt", exact=True)).to_be_visible()
            assert "0182" not in await form.inner_text() and "uses_violence" not in await form.inner_text()
            # The languages a service speaks are named as GET /api/vocabularies names them (the page
            # keeps no table of its own), in the page's language.
            async with httpx.AsyncClient(base_url=server.http) as c:
                served = (await c.get("/api/vocabularies")).json()["vocabularies"]["service_language"]
            spoken = form.locator('[data-field="languages"] .check label')
            assert await spoken.all_inner_texts() == [entry["sv"] for entry in served]
            await expect(form.locator('[data-field="languages"]').get_by_label("svenska", exact=True)).to_be_checked()
            await form.locator('[data-field="languages"]').get_by_label("tyska", exact=True).check()

            # Edit: the Swedish description, the upper age, and Nacka added.
            description = form.locator('[data-field="description"]').get_by_label("På svenska")
            await description.fill("Stöd för unga som utsatts för brott. Nytt i testet.")
            await clause.get_by_label("Till och med ålder").fill("20")
            await clause.get_by_label("Nacka", exact=True).check()
            await form.get_by_role("button", name="Spara ändringarna").click()
            await expect(page.locator("#status")).to_have_text("Ändringarna är sparade.")
            saved = next(s for s in (await directory(server, cookie))["services"] if s["id"] == "stodcentrum")
            assert saved["description"]["sv"] == "Stöd för unga som utsatts för brott. Nytt i testet."
            assert saved["eligibility"][0]["max_age"] == 20
            assert "0182" in saved["eligibility"][0]["municipalities"]
            assert "de" in saved["languages"]
            await page.screenshot(path=str(ARTIFACTS / f"directory-saved-{pair}.png"), full_page=True)

            # English, one language at a time: the page, the list and the open form; typed text stays.
            await form.get_by_label("Organisation").fill("Stockholms stad, ändrad")
            await page.locator("#lang").select_option("en")   # the staff shell's language menu
            await expect(page.get_by_role("heading", name="Referral directory")).to_be_visible()
            await expect(page.locator("html")).to_have_attribute("lang", "en")
            await expect(form.get_by_label("Kind of service")).to_have_value("stodcentrum")
            await expect(clause.get_by_label("exposed", exact=True)).to_be_visible()
            assert await spoken.all_inner_texts() == [entry["en"] for entry in served]
            await expect(form.locator('[data-field="languages"]').get_by_label("German", exact=True)).to_be_checked()
            await expect(form.get_by_label("Organisation")).to_have_value("Stockholms stad, ändrad")
            assert "Villkor" not in await form.inner_text() and "Sök bland" not in await page.inner_text("body")
            await page.screenshot(path=str(ARTIFACTS / f"directory-english-{pair}.png"), full_page=True)
            await page.locator("#lang").select_option("sv")
            await expect(page.get_by_role("heading", name="Hänvisningskatalogen")).to_be_visible()
            clause = form.locator("fieldset.clause").first

            # A field error: an age the server refuses is shown at that field, and nothing is stored.
            version = (await directory(server, cookie))["version"]
            await clause.get_by_label("Från ålder").fill("200")
            await form.get_by_role("button", name="Spara ändringarna").click()
            min_age = clause.get_by_label("Från ålder")
            await expect(min_age).to_have_attribute("aria-invalid", "true")
            await expect(min_age).to_be_focused()
            error = clause.locator('[data-field$=".min_age"] .field-error')
            await expect(error).to_have_text("En ålder från 0 till 120, eller tomt.")
            assert await min_age.get_attribute("aria-describedby") == await error.get_attribute("id")
            await expect(page.locator("#status")).to_have_text("Tjänsten sparades inte: ett fält behöver ändras.")
            assert (await directory(server, cookie))["version"] == version
            # From above the upper age: the message names the order, at the clause.
            await min_age.fill("22")
            await form.get_by_role("button", name="Spara ändringarna").click()
            await expect(clause.locator(".field-error")).to_have_text(["Från-åldern är högre än till-åldern."])
            await expect(clause.get_by_label("Till och med ålder")).not_to_have_attribute("aria-invalid", "true")
            await page.screenshot(path=str(ARTIFACTS / f"directory-field-error-{pair}.png"), full_page=True)
            assert await serious_violations(page) == []

            # A new service through the form; a web address without https is refused at its field.
            await search.fill("")
            await page.get_by_role("button", name="Ny tjänst").click()
            await expect(page.get_by_role("heading", name="Ny tjänst")).to_be_focused()
            await form.get_by_label("Namn (det den unga ser)").fill("Tjejjouren Test")
            await form.get_by_label("Id (kort och unikt, a–z, 0–9 och bindestreck)").fill("tjejjouren-test")
            await form.get_by_label("Sorts tjänst").select_option(label="kvinno- och tjejjour")
            await form.locator('[data-field="description"]').get_by_label("På svenska").fill("Stöd för tjejer.")
            await form.locator('[data-field="hours"]').get_by_label("På svenska").fill("Måndag till fredag 18–21")
            await form.get_by_label("Webbplats (https://…)").fill("http://tjejjouren.example")
            await form.get_by_role("button", name="Lägg till tjänsten").click()
            web = form.get_by_label("Webbplats (https://…)")
            await expect(web).to_have_attribute("aria-invalid", "true")
            await expect(form.locator('[data-field="contact.web"] .field-error')).to_have_text(
                "Måste vara en adress som börjar med https://.")
            await web.fill("https://tjejjouren.example")
            await form.get_by_role("button", name="Lägg till tjänsten").click()
            await expect(page.locator("#status")).to_have_text("Tjänsten är tillagd.")
            added = next(s for s in (await directory(server, cookie))["services"] if s["id"] == "tjejjouren-test")
            assert added["kind"] == "womens_shelter" and added["hours"] == {"sv": "Måndag till fredag 18–21"}
            await search.fill("tjejjouren")
            await expect(items).to_have_count(1)
            await expect(items.first).to_contain_text("Tjejjouren Test")
            await page.screenshot(path=str(ARTIFACTS / f"directory-added-{pair}.png"), full_page=True)
            # Every change the page sent carried the CSRF header (chat/csrf.py).
            assert unsafe and all(h.get("x-jourchatt-csrf") == "1" for h in unsafe)
            await ctx.close()
        finally:
            await browser.close()


async def test_bulk_export_import_json_a_conflict_and_delete(server: Running, tmp_path: Path) -> None:
    """Export the whole directory as a file, import a changed file (merged by id, all or nothing), edit
    one service as JSON into the form, lose a race to another coordinator without losing the form,
    and delete a service; a volunteer gets no editor."""
    ARTIFACTS.mkdir(exist_ok=True)
    pair = "redis" if server.app.state.broker.shared else "memory"
    await server.add_account("cora", role="coordinator", display_name="Cora")
    await server.add_account("anna", display_name="Anna")
    cookie = await server.login("cora")
    async with async_playwright() as pw:
        browser = await pw.chromium.launch(executable_path=CHROMIUM, args=ARGS, headless=True)
        try:
            ctx, page = await coordinator_page(browser, server, "cora")
            await page.goto(f"{server.http}/referrals/directory")
            await expect(page.locator("#services li").first).to_be_visible()
            await page.get_by_text("Exportera eller importera (JSON)").click()
            async with page.expect_download() as info:
                await page.get_by_role("button", name="Ladda ner katalogen").click()
            download = await info.value
            exported = json.loads(Path(await download.path()).read_text(encoding="utf-8"))
            live = await directory(server, cookie)
            assert exported["service"] == live["services"] and exported["format"] == 1

            # Import: one service changed, one new that defers to it (order matters, kept).
            umo = next(s for s in exported["service"] if s["id"] == "umo")
            changed = {**umo, "name": "UMO – ungdomsmottagning på nätet"}
            new = {"id": "ny-tjanst", "kind": "counselling", "name": "Ny tjänst", "description": {"sv": "Stöd."},
                   "contact": {"phone": "08-000 00 00"}, "hours": {"sv": "Alltid"}, "anonymous": True,
                   "defers_to": [{"service": "umo"}]}
            bulk = tmp_path / "katalog.json"
            bulk.write_text(json.dumps({"format": 1, "service": [changed, new]}), encoding="utf-8")
            await page.get_by_label("Läs in en JSON-fil").set_input_files(str(bulk))
            count = len(live["services"]) + 1
            await expect(page.locator("#status")).to_have_text(
                f"Filen är inläst: 2 tjänster sparade. Katalogen har nu {count} tjänster.")
            after = {s["id"]: s for s in (await directory(server, cookie))["services"]}
            assert after["umo"]["name"] == "UMO – ungdomsmottagning på nätet" and "ny-tjanst" in after
            assert len(after) == count                  # merged: the services not in the file stay
            # A bad file changes nothing (all or nothing) and names the service by its name.
            version = (await directory(server, cookie))["version"]
            bad = tmp_path / "fel.json"
            bad.write_text(json.dumps({"service": [changed, {**new, "id": "ny-tva", "name": "Andra nya",
                                                             "kind": "finns-inte"}]}), encoding="utf-8")
            await page.get_by_label("Läs in en JSON-fil").set_input_files(str(bad))
            await expect(page.locator("#status")).to_contain_text("Filen lästes inte in, inget är ändrat.")
            await expect(page.locator("#errors")).to_contain_text("Andra nya: kind:")
            assert (await directory(server, cookie))["version"] == version

            # One service as JSON, read into the form, then saved from the form.
            await page.get_by_label("Sök bland tjänsterna").fill("ny tjänst")
            await page.locator("#services li").first.get_by_role("button").click()
            await page.get_by_text("Avancerat: tjänsten som JSON").click()
            box = page.get_by_label("JSON", exact=True)
            await expect(box).to_have_value(re.compile("ny-tjanst"))
            doc = json.loads(await box.input_value())
            assert doc["id"] == "ny-tjanst" and doc["defers_to"] == [{"service": "umo"}]
            await box.fill(json.dumps({**doc, "organisation": "Föreningen Test", "rank": 10}))
            await page.get_by_role("button", name="Läs in i formuläret").click()
            form = page.locator("#entry")
            await expect(form.get_by_label("Organisation")).to_have_value("Föreningen Test")
            await expect(form.get_by_label("Föreslås inte när denna också föreslås")).to_have_value("umo")

            # Meanwhile another coordinator changes the directory: the save is refused, the form stays.
            async with httpx.AsyncClient(base_url=server.http, headers={"Cookie": cookie, "X-Jourchatt-CSRF": "1"}) as c:
                r = await c.put("/api/referrals/directory/umo", json={**after["umo"], "rank": 7})
                assert r.status_code == 200
            await form.get_by_role("button", name="Spara ändringarna").click()
            await expect(page.locator("#status")).to_contain_text("Någon annan ändrade katalogen medan du skrev.")
            await expect(form.get_by_label("Organisation")).to_have_value("Föreningen Test")
            await form.get_by_role("button", name="Spara ändringarna").click()
            await expect(page.locator("#status")).to_have_text("Ändringarna är sparade.")
            saved = {s["id"]: s for s in (await directory(server, cookie))["services"]}
            assert saved["ny-tjanst"]["organisation"] == "Föreningen Test" and saved["ny-tjanst"]["rank"] == 10
            assert saved["umo"]["rank"] == 7
            await page.screenshot(path=str(ARTIFACTS / f"directory-json-{pair}.png"), full_page=True)

            # Delete (confirmed): gone from the list and from the directory.
            await form.get_by_role("button", name="Ta bort tjänsten").click()
            await expect(page.locator("#status")).to_have_text("Ny tjänst är borttagen.")
            assert "ny-tjanst" not in {s["id"] for s in (await directory(server, cookie))["services"]}
            await ctx.close()

            # Not signed in: sent to /login like every staff page (no sign-in form of its own), and
            # back to the directory once signed in there.
            actx = await browser.new_context(viewport={"width": 1280, "height": 900}, locale="sv-SE")
            apage = await actx.new_page()
            await apage.goto(f"{server.http}/referrals/directory")
            await expect(apage).to_have_url(f"{server.http}/login?next=%2Freferrals%2Fdirectory")
            await sign_in(apage, server, "cora")
            await expect(apage).to_have_url(f"{server.http}/referrals/directory")
            await expect(apage.locator("#editor")).to_be_visible()
            listed = len((await directory(server, cookie))["services"])
            await expect(apage.locator("#services li")).to_have_count(listed)
            assert await apage.locator("#login, #username, #password").count() == 0
            await actx.close()

            # A volunteer is told plainly, and gets no editor.
            vctx, vpage = await coordinator_page(browser, server, "anna")
            await vpage.goto(f"{server.http}/referrals/directory")
            await expect(vpage.locator("#status")).to_have_text("Bara samordnare och administratörer kan ändra katalogen.")
            await expect(vpage.locator("#editor")).to_be_hidden()
            await vctx.close()
        finally:
            await browser.close()
