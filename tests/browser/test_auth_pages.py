"""The sign-in and admin pages in real headless Chromium (Debian's /usr/bin/chromium).

One server (SQLite, memory broker) and one browser for the module; screenshots go
to test-artifacts/.
"""

from __future__ import annotations

import base64
import time
from pathlib import Path
from typing import Any, AsyncIterator

import pytest
import pytest_asyncio
from playwright.async_api import Browser, Page, async_playwright, expect

from volunteer import totp

from ..conftest import CHROMIUM, CHROMIUM_ARGS, PASSWORD, Running, make_settings, start_server

ARGS = CHROMIUM_ARGS
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"
pytestmark = pytest.mark.asyncio(loop_scope="module")


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def site(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Running]:
    running, stop = await start_server(make_settings(tmp_path_factory.mktemp("browser")))
    try:
        yield running
    finally:
        await stop()


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def browser() -> AsyncIterator[Browser]:
    if not Path(CHROMIUM).exists():
        raise RuntimeError(f"{CHROMIUM} is missing: apt-get install chromium ('python3 dev.py test' does as root)")
    async with async_playwright() as p:
        b = await p.chromium.launch(executable_path=CHROMIUM, args=ARGS, headless=True)
        try:
            yield b
        finally:
            await b.close()


async def shot(page: Page, name: str) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    await page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)


async def me(page: Page) -> Any:
    return await page.evaluate("fetch('/api/me').then(r => r.json())")


async def test_first_login_enrols_the_second_factor_and_lands_on_the_console(
        site: Running, browser: Browser) -> None:
    await site.add_account("vera", totp=False)
    context = await browser.new_context(locale="sv-SE", viewport={"width": 1024, "height": 768})
    page = await context.new_page()
    await page.goto(f"{site.http}/login")
    await expect(page.locator("h1#h-login")).to_have_text("Logga in")
    # Keyboard only: the username field has focus; Tab to the password; Enter submits.
    await expect(page.locator("#username")).to_be_focused()
    await page.keyboard.type("vera")
    await page.keyboard.press("Tab")
    await page.keyboard.type(PASSWORD)
    await page.keyboard.press("Enter")

    enroll = page.locator("#view-enroll")
    await expect(enroll).to_be_visible()
    await expect(page.locator("#enroll-otp")).to_be_focused()
    await expect(page.locator("#qr svg")).to_be_visible()
    b32 = (await page.locator("#secret").inner_text()).replace(" ", "")
    secret = base64.b32decode(b32 + "=" * (-len(b32) % 8))
    await shot(page, "login-enroll")

    # A wrong code is refused and announced.
    wrong = totp.code_for_step(secret, totp.step_at(time.time()) + 5)
    await page.keyboard.type(wrong)
    await page.keyboard.press("Enter")
    await expect(page.locator("#message")).to_have_text("Koden stämmer inte. Skriv koden som appen visar just nu.")
    await expect(page.locator("#message")).to_have_attribute("role", "alert")
    await expect(page.locator("#enroll-otp")).to_have_attribute("aria-invalid", "true")

    await page.locator("#enroll-otp").fill(totp.code_at(secret, time.time()))
    await page.keyboard.press("Enter")
    await page.wait_for_url(f"{site.http}/console")
    who = await me(page)
    assert who["username"] == "vera" and who["second_factor"] == "enabled" and who["may_take_chats"] is True
    await shot(page, "login-console")

    # Signed out, the code field is needed: a wrong code is refused with the one login error.
    # The console notices the logout (its socket gets error signed_out) and goes to
    # /login by itself, possibly before the fetch's answer is read: the evaluate starts
    # the fetch without waiting for it (a context destroyed under an awaited promise
    # fails or hangs Playwright), and the test waits for that navigation instead.
    await page.evaluate("void fetch('/api/logout', {method: 'POST', headers: {'X-Jourchatt-CSRF': '1'}})")
    await page.wait_for_url(lambda url: url == f"{site.http}/login?next=/console")   # and back there once signed in
    await page.close()
    page = await context.new_page()
    await page.goto(f"{site.http}/login")
    await page.locator("#lang").select_option("en")           # English, kept for the session
    await expect(page.locator("h1#h-login")).to_have_text("Sign in")
    await expect(page.locator("html")).to_have_attribute("lang", "en")
    await page.locator("#username").fill("vera")
    await page.locator("#password").fill(PASSWORD)
    await page.locator("#otp").fill(wrong)
    await page.get_by_role("button", name="Sign in").click()
    await expect(page.locator("#message")).to_have_text("Wrong username, password or code.")
    await shot(page, "login-wrong-code")
    assert (await page.evaluate("fetch('/api/me').then(r => r.status)")) == 401
    await context.close()


async def test_admin_creates_and_resets_an_account(site: Running, browser: Browser) -> None:
    await site.add_account("root", role="admin", trained=False)
    context = await browser.new_context(locale="sv-SE", viewport={"width": 1280, "height": 900})
    page = await context.new_page()
    page.on("dialog", lambda dialog: dialog.accept())
    await page.goto(f"{site.http}/login")
    await page.locator("#username").fill("root")
    await page.locator("#password").fill(PASSWORD)
    await page.locator("#otp").fill(await site.code("root"))
    await page.get_by_role("button", name="Logga in").click()
    await page.wait_for_url(f"{site.http}/admin")
    await expect(page.locator("#rows").get_by_role("row", name="root")).to_be_visible()

    await page.get_by_label("Användarnamn").fill("nils")
    await page.get_by_label("Namn som besökaren ser").fill("Nils")
    await page.get_by_label("Engelska").check()
    await page.get_by_role("button", name="Skapa konto").click()
    notice = page.locator("#notice")
    await expect(notice).to_contain_text("Tillfälligt lösenord för nils:")
    row = page.locator("#rows").get_by_role("row", name="nils")
    await expect(row).to_contain_text("Saknas")                # no training yet
    await expect(row).to_contain_text("Ej aktiverad")          # no second factor yet

    # Record a basic course for nils.
    await page.get_by_label("Användare", exact=True).select_option("nils")
    await page.get_by_role("button", name="Registrera").click()
    await expect(notice).to_have_text("Utbildningen är registrerad för nils.")
    await expect(row).to_contain_text("Giltig")

    await page.get_by_role("button", name="Återställ nils").click()
    await expect(notice).to_contain_text("Tillfälligt lösenord för nils:")
    temporary = (await notice.inner_text()).split("nils: ")[1].split(" ")[0]
    await expect(row).to_contain_text("Återställt")
    await shot(page, "admin-reset")

    # The temporary password opens a restricted session that demands a new password.
    async with __import__("httpx").AsyncClient(base_url=site.http) as c:
        r = await c.post("/api/login", json={"username": "nils", "password": temporary})
        assert r.status_code == 200 and r.json()["password_change"] is True

    await page.get_by_label("Roll för nils").select_option("supervisor")
    await expect(notice).to_have_text("nils har nu rollen Handledare.")

    await page.get_by_role("button", name="Stäng av nils").click()
    await expect(row).to_contain_text("Avstängt")
    await context.close()


async def test_pages_reflow_at_200_percent_zoom(site: Running, browser: Browser) -> None:
    """A 1280 px laptop at 200 % zoom is a 640 px wide viewport at twice the pixel density."""
    await site.add_account("zoe", role="admin", trained=False)
    context = await browser.new_context(viewport={"width": 640, "height": 800}, device_scale_factor=2)
    page = await context.new_page()
    wide = "document.documentElement.scrollWidth > window.innerWidth"
    await page.goto(f"{site.http}/login")
    assert await page.evaluate(wide) is False
    await page.locator("#username").fill("zoe")
    await page.locator("#password").fill(PASSWORD)
    await page.locator("#otp").fill(await site.code("zoe"))
    await page.keyboard.press("Enter")
    await page.wait_for_url(f"{site.http}/admin")
    await expect(page.locator("#rows").get_by_role("row", name="zoe")).to_be_visible()
    assert await page.evaluate(wide) is False          # the table scrolls inside its own box
    await shot(page, "admin-zoom-200")
    await context.close()


async def test_login_returns_to_the_page_that_sent_one_there_only_within_the_site(
        site: Running, browser: Browser) -> None:
    """``/login?next=`` (a staff page that found nobody signed in sends one there with it): after
    signing in the person is back on that page. Only a path of this site is followed; another
    origin, a scheme, "//host", a backslash, /login itself or an API address is ignored and the
    role's own page is used."""
    await site.add_account("cleo", role="coordinator", display_name="Cleo")
    context = await browser.new_context(locale="sv-SE", viewport={"width": 1024, "height": 768})
    page = await context.new_page()

    async def sign_in_with(next_: str) -> None:
        await context.clear_cookies()
        await page.goto(f"{site.http}/login?next={next_}")
        await page.locator("#username").fill("cleo")
        await page.locator("#password").fill(PASSWORD)
        await page.locator("#otp").fill(await site.code("cleo"))
        await page.get_by_role("button", name="Logga in").click()

    # The directory, signed out: to /login with next, and back there after signing in.
    await page.goto(f"{site.http}/referrals/directory?q=1")
    await expect(page).to_have_url(f"{site.http}/login?next=%2Freferrals%2Fdirectory%3Fq%3D1")
    await page.locator("#username").fill("cleo")
    await page.locator("#password").fill(PASSWORD)
    await page.locator("#otp").fill(await site.code("cleo"))
    await page.get_by_role("button", name="Logga in").click()
    await expect(page).to_have_url(f"{site.http}/referrals/directory?q=1")
    await expect(page.locator("#editor")).to_be_visible()
    # The shell's sign-in link on a page that refused (the dashboard, signed out) carries it too.
    await context.clear_cookies()
    await page.goto(f"{site.http}/stats?preset=2026H2")
    await expect(page.locator("#shell-login")).to_have_attribute("href", "/login?next=%2Fstats%3Fpreset%3D2026H2")
    await expect(page.locator("main a[href^='/login']")).to_have_attribute(
        "href", "/login?next=%2Fstats%3Fpreset%3D2026H2")

    for bad in ("//evil.example/x", "%2F%2Fevil.example", "/%5Cevil.example", "https://evil.example/",
                "javascript:alert(1)", "/login", "/api/me", "%2F%0Aevil",
                # dot segments that collapse into "//host" once parsed
                "/.//evil.example", "/x/..//evil.example", "/%2e//evil.example", "%2F.%2F%2Fevil.example"):
        await sign_in_with(bad)
        await expect(page).to_have_url(f"{site.http}/stats", timeout=10_000)    # a coordinator's own page
    await context.close()
