"""The admin page's skills form in real Chromium: labels from the vocabularies, the
current skills checked, a change saved and shown in the accounts table (issue 18)."""

from __future__ import annotations

from playwright.async_api import async_playwright, expect

from volunteer import manage

from ..conftest import CHROMIUM, Running
from .test_console import ARGS, ARTIFACTS, signed_in


async def test_an_admin_sets_a_volunteers_skills(server: Running) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    await server.add_account("ada", role="admin", display_name="Ada")
    await server.add_account("sara", display_name="Sara", skills=("honour",))
    async with async_playwright() as pw:
        browser = await pw.chromium.launch(executable_path=CHROMIUM, args=ARGS, headless=True)
        try:
            ctx, page = await signed_in(browser, server, "ada", {"width": 1280, "height": 900})
            await page.goto(f"{server.http}/admin")
            row = page.locator("#rows tr", has_text="sara")
            await expect(row).to_contain_text("hedersrelaterat")
            await page.locator("#s-user").select_option("sara")
            form = page.locator("#form-skills")
            await expect(form.get_by_label("hedersrelaterat")).to_be_checked()
            await form.get_by_label("utövar våld").check()
            await form.get_by_label("hedersrelaterat").uncheck()
            await form.get_by_role("button", name="Spara kompetenser").click()
            await expect(page.locator("#notice")).to_contain_text("Kompetenserna för sara är sparade.")
            await expect(row).to_contain_text("utövar våld")
            await page.screenshot(path=str(ARTIFACTS / "admin-skills.png"), full_page=True)
            [sara] = [a for a in await manage.list_accounts(server.app.state.db, __import__("datetime").date.today())
                      if a.username == "sara"]
            assert sara.skills == ["uses_violence"]
            await ctx.close()
        finally:
            await browser.close()
