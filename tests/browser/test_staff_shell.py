"""Issue 22 in real headless Chromium: each role walks its staff pages under the one staff shell.

A coordinator (statistics opening on the current half year, in words and units, one language at a
time, the printable half-year report printed to PDF, the directory), a supervisor (the console), an
admin (accounts with training only where it applies, the audit-log viewer, the console that is not
theirs) and a partner (the redeem page; the key kept for the tab only when asked). axe-core runs on
every staff page (no serious or critical WCAG 2.1 A/AA violation); screenshots and the PDF go to
test-artifacts/. And the sign-in page's message when a code is used twice.
"""

from __future__ import annotations

import json
import re
from datetime import date, timedelta
from pathlib import Path
from typing import Any, AsyncIterator

import pytest
import pytest_asyncio
from playwright.async_api import Browser, BrowserContext, Page, async_playwright, expect

from referral import codes, store
from referral.stats import dashboard, partnership_store, partnerships, records_io
from tests.worked_example import jsonl

from ..conftest import CHROMIUM, CHROMIUM_ARGS, PASSWORD, Running, make_settings, start_server

ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = ROOT / "test-artifacts"
AXE = ROOT / "tests" / "e2e" / "vendor" / "axe.min.js"
SAMPLE = ROOT / "referral" / "stats" / "data" / "partnerships.sample.json"
pytestmark = pytest.mark.asyncio(loop_scope="module")
# Words that are codes, never meant for a reader (issue 22 found these on /stats).
CODES = ("under_13", "over_23", "left_queued", "physical", "psychological", "completed", "not_stated",
         "none_recorded", "uses_violence", "friend_relative", "stodcentrum", "svenska / English")


def this_half_year(today: date) -> list[dict[str, Any]]:
    """Records of the current half year up to today, and of the same half a year earlier."""
    start = date(today.year, 7 if today.month > 6 else 1, 1)
    out = []
    for year_back, n in ((0, 40), (1, 25)):
        first = start.replace(year=start.year - year_back)
        last = today.replace(year=today.year - year_back)
        days = max(1, (last - first).days)
        for i in range(n):
            out.append({
                "day": (first + timedelta(days=(i * 5) % days)).isoformat(), "channel": "web",
                "outcome": "left_queued" if i % 10 == 9 else "completed", "wait_s": 60 + 30 * (i % 9),
                "duration_s": 1500, "age": [13, 15, 16, 17, 19, 21, 24][i % 7],
                "gender": ["girl", "boy", "nonbinary", "not_stated"][i % 4], "municipality": "0180",
                "district": None, "topic": ["exposed", "uses_violence", "friend_relative", "other"][i % 4],
                "violence": ["psychological"] + (["physical"] if i % 3 == 0 else []),
                "first_contact": ["yes", "no", "not_stated"][i % 3],
                "referrals": [{"service": "stodcentrum", "redeemed_on": None}] if i % 4 == 0 else [],
            })
    return out


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def site(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Running]:
    running, stop = await start_server(make_settings(tmp_path_factory.mktemp("shell")))
    try:
        today = date.today()
        lines = jsonl().splitlines() + [json.dumps(x) for x in this_half_year(today)]
        recs, refs = records_io.parse(lines, today=today)
        await records_io.write(running.app.state.engine, recs, refs)
        for doc in json.loads(SAMPLE.read_text()):
            await partnership_store.save(running.app.state.db, partnerships.validate(doc))
        await running.hub.directory.ensure_seeded()
        for name, role in (("cora", "coordinator"), ("sune", "supervisor"), ("adam", "admin"), ("vera", "volunteer")):
            await running.add_account(name, role=role, trained=role in ("supervisor", "volunteer"))
        yield running
    finally:
        await stop()


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def browser() -> AsyncIterator[Browser]:
    if not Path(CHROMIUM).exists():
        raise RuntimeError(f"{CHROMIUM} is missing: apt-get install chromium")
    async with async_playwright() as p:
        b = await p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        try:
            yield b
        finally:
            await b.close()


class Visit:
    """One person's browser: their pages, the script errors seen, axe and screenshots."""

    def __init__(self, context: BrowserContext, page: Page, role: str) -> None:
        self.context, self.page, self.role = context, page, role
        self.errors: list[str] = []
        page.on("pageerror", lambda e: self.errors.append(str(e)))
        page.on("console", lambda m: self.errors.append(m.text)
                if m.type == "error" and "Failed to load resource" not in m.text else None)

    async def shot(self, name: str) -> None:
        ARTIFACTS.mkdir(exist_ok=True)
        await self.page.screenshot(path=str(ARTIFACTS / f"staff-{self.role}-{name}.png"), full_page=True)

    async def axe(self) -> list[dict[str, Any]]:
        """axe-core (WCAG 2.0/2.1 A and AA) on the page as it stands: the serious and critical violations."""
        if not await self.page.evaluate("typeof window.axe !== 'undefined'"):
            await self.page.add_script_tag(path=str(AXE))
        result = await self.page.evaluate(
            "axe.run(document, {runOnly: {type: 'tag', values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa']}})")
        return [{"id": v["id"], "impact": v["impact"], "nodes": [n["target"] for n in v["nodes"]][:5]}
                for v in result["violations"] if v["impact"] in ("serious", "critical")]

    async def nav(self) -> list[str]:
        return [x.strip() for x in await self.page.locator("header.shell nav a").all_inner_texts()]


async def visit(browser: Browser, role: str, width: int = 1280) -> Visit:
    # axe is added as a script tag, which the strict CSP would refuse; the CSP itself is checked
    # by tests/integration/test_web_security.py and the dashboard's e2e test.
    context = await browser.new_context(locale="sv-SE", viewport={"width": width, "height": 900}, bypass_csp=True)
    page = await context.new_page()
    page.on("dialog", lambda dialog: dialog.accept())
    return Visit(context, page, role)


async def sign_in(v: Visit, site: Running, username: str, lands: str, code: str | None = None) -> None:
    page = v.page
    await page.goto(f"{site.http}/login")
    await expect(page.locator("header.shell #lang")).to_have_value("sv")
    await page.locator("#username").fill(username)
    await page.locator("#password").fill(PASSWORD)
    await page.locator("#otp").fill(code or await site.code(username))
    await page.get_by_role("button", name="Logga in").click()
    await page.wait_for_url(f"{site.http}{lands}")
    await expect(page.locator("header.shell .shell-account")).to_be_visible()


async def sign_out(v: Visit, site: Running) -> None:
    await v.page.locator("header.shell").get_by_role("button", name="Logga ut").click()
    await v.page.wait_for_url(f"{site.http}/login")
    assert (await v.page.evaluate("fetch('/api/me').then(r => r.status)")) == 401


async def test_a_coordinator_reads_the_statistics_prints_the_report_and_opens_the_directory(
        site: Running, browser: Browser) -> None:
    v = await visit(browser, "coordinator")
    page = v.page
    await page.goto(f"{site.http}/login")
    assert await v.axe() == []
    await v.shot("login")
    await sign_in(v, site, "cora", "/stats")
    assert await v.nav() == ["Statistik", "Hänvisningskatalog"]
    await expect(page.locator("header.shell nav a[aria-current=page]")).to_have_text("Statistik")
    await expect(page.locator("header.shell .shell-account")).to_have_text("Inloggad som Cora (samordnare)")

    # It opens on the half year containing today, with this half year's chats and a year earlier.
    current = dashboard.default_preset()
    await expect(page.locator("#preset")).to_have_value(current)
    await expect(page.locator("#preset option:checked")).to_contain_text("(nuvarande)")
    assert await page.locator("#empty").count() == 0
    summary = await page.inner_text("#t-summary")
    assert re.search(r"Samtal\s+36\s+23", summary), summary           # 40 and 25 records, 1 in 10 left the queue
    assert "%" in summary and "min" in summary and "år" in summary and "timmar" in summary
    text = await page.inner_text("main")
    for code in CODES:
        assert code not in text, code
    assert "English" not in text
    for chart in ("chart-weeks", "chart-gender", "chart-topic", "chart-yoy", "chart-yoy-summary"):
        assert await page.locator(f"#{chart} rect").count() > 0, chart
    assert await v.axe() == []
    await v.shot("stats")

    # A period with no chats says why.
    await page.goto(f"{site.http}/stats?preset={date.today().year - 3}H2")
    await expect(page.locator("#empty")).to_contain_text("Inga samtal är registrerade i perioden")

    # One language at a time, the shell's choice, kept across pages.
    await page.goto(f"{site.http}/stats")
    await page.locator("header.shell #lang").select_option("en")
    await expect(page.locator("h1")).to_have_text("Partnership statistics")
    await expect(page.locator("html")).to_have_attribute("lang", "en")
    assert "Conversations" in await page.inner_text("#t-summary")
    assert not re.search(r"\bSamtal\b|\bKön\b|\bPerioden\b", await page.inner_text(".panels"))
    assert await v.nav() == ["Statistics", "Referral directory"]
    await v.shot("stats-english")
    await page.locator("header.shell #lang").select_option("sv")
    await expect(page.locator("h1")).to_have_text("Statistik för partnerskapen")
    # An address naming the language (?lang=en) is shown in it once, and becomes the choice.
    await page.goto(f"{site.http}/stats?lang=en")
    await expect(page.locator("header.shell #lang")).to_have_value("en")
    await expect(page.locator("h1")).to_have_text("Partnership statistics")
    await page.goto(f"{site.http}/stats")
    await expect(page.locator("h1")).to_have_text("Partnership statistics")
    await page.locator("header.shell #lang").select_option("sv")
    await expect(page.locator("h1")).to_have_text("Statistik för partnerskapen")

    # The half-year report of the Stockholm partnership for January–June 2022, printed to PDF on A4.
    await page.goto(f"{site.http}/stats?preset=2022H1&partnership=stockholm-unga-relationer")
    await page.locator("#print-report").click()
    await page.wait_for_url("**/stats/report?**")
    await expect(page.locator("#report-title")).to_contain_text("IOP Förebygga våld i ungas relationer")
    await expect(page.locator("dl.facts")).to_contain_text("1 januari 2022 – 30 juni 2022")
    await expect(page.locator("dl.facts")).to_contain_text("unga 13–23 år, Stockholm")
    await expect(page.locator(".goals")).to_contain_text("Nå fler unga våldsutövare")
    assert "228" in await page.inner_text("#t-summary") and "151" in await page.inner_text("#t-gender")
    assert "Stödcentrum för unga brottsutsatta och vittnen" in await page.inner_text("#t-referrals")
    # The interim report's tables: where in Stockholm they live (57 each in Bromma, Farsta and
    # Södermalm, 57 who did not say), and who the conversation was about by gender.
    districts = await page.inner_text("#t-district-0180")
    for name in ("Bromma", "Farsta", "Södermalm", "Stadsdel inte angiven"):
        assert re.search(rf"{name}\s+57\s+25 %", districts), (name, districts)
    assert re.search(r"Rinkeby-Kista\s+0\s", districts), districts
    cross = await page.inner_text("#t-topic-gender")
    assert re.search(r"Utövar våld(\s+(\d+|\.\.|–)){5}", cross), cross
    assert re.search(r"Totalt\s+151\s+35\s+0\s+42\s+228", cross), cross
    assert await page.locator("#t-topic-gender-before").count() == 1
    assert "..” " in await page.inner_text(".report-foot") or "..”," in await page.inner_text(".report-foot")
    for code in CODES:
        assert code not in await page.inner_text("main"), code
    assert await v.axe() == []
    await v.shot("report")
    await page.emulate_media(media="print")
    assert await page.locator("header.shell").is_hidden()
    assert await page.locator("nav.screen-only").is_hidden()
    assert await page.evaluate("document.documentElement.scrollWidth <= 794 + 1 || "
                               "document.querySelector('main.report').scrollWidth <= "
                               "document.querySelector('main.report').clientWidth")
    pdf = await page.pdf(prefer_css_page_size=True, print_background=True)
    await page.emulate_media(media="screen")
    ARTIFACTS.mkdir(exist_ok=True)
    (ARTIFACTS / "half-year-report.pdf").write_bytes(pdf)
    assert pdf.startswith(b"%PDF-")
    boxes = re.findall(rb"/MediaBox\s*\[\s*0 0 ([\d.]+) ([\d.]+)\s*\]", pdf)
    assert boxes and all(abs(float(w) - 595.9) < 2 and abs(float(h) - 842.9) < 2 for w, h in boxes), boxes[:3]
    pages = len(re.findall(rb"/Type\s*/Page[^s]", pdf))
    assert 2 <= pages <= 8, pages

    # The directory, from the shell's menu.
    await page.goto(f"{site.http}/stats")
    await page.locator("header.shell nav").get_by_role("link", name="Hänvisningskatalog").click()
    await page.wait_for_url(f"{site.http}/referrals/directory")
    await expect(page.locator("header.shell nav a[aria-current=page]")).to_have_text("Hänvisningskatalog")
    await expect(page.locator("#editor")).to_be_visible()              # signed in by the shell's session
    assert await v.axe() == []
    await v.shot("directory")
    await sign_out(v, site)
    assert v.errors == []
    await v.context.close()


async def test_a_supervisor_has_the_console_and_nothing_else(site: Running, browser: Browser) -> None:
    v = await visit(browser, "supervisor")
    await sign_in(v, site, "sune", "/console")
    page = v.page
    assert await v.nav() == ["Konsol"]
    await expect(page.locator("header.shell .shell-account")).to_have_text("Inloggad som Sune (handledare)")
    await expect(page.locator("#status")).to_be_enabled()
    await expect(page.locator("#banner")).to_be_hidden()
    await expect(page.locator("#supervisor")).to_be_visible()
    assert await v.axe() == []
    await v.shot("console")
    # Statistics and admin are not theirs: the pages say so in words.
    r = await page.goto(f"{site.http}/stats")
    assert r is not None and r.status == 403
    await expect(page.locator("main")).to_contain_text("Bara samordnare och administratörer ser statistiken.")
    await page.goto(f"{site.http}/console")
    await expect(page.locator("#status")).to_be_enabled()
    await sign_out(v, site)
    assert v.errors == []
    await v.context.close()


async def test_an_admin_manages_accounts_reads_the_audit_log_and_is_not_a_volunteer(
        site: Running, browser: Browser) -> None:
    v = await visit(browser, "admin")
    await sign_in(v, site, "adam", "/admin")
    page = v.page
    assert await v.nav() == ["Statistik", "Hänvisningskatalog", "Administration"]
    accounts = page.locator("#rows")
    # Training only where it applies: the coordinator and the admin need none.
    await expect(accounts.get_by_role("row", name="cora")).to_contain_text("Behövs inte för rollen")
    await expect(accounts.get_by_role("row", name="adam")).to_contain_text("Behövs inte för rollen")
    await expect(accounts.get_by_role("row", name="sune")).to_contain_text("Giltig")
    await expect(accounts.get_by_role("row", name="cora")).not_to_contain_text("Saknas")
    assert "cora" not in await page.locator("#t-user").inner_text()      # the training form: chat roles only

    # The audit log: the coordinator's report exports (the test before), in words, filtered and paged.
    audit = page.locator("#audit-rows")
    await expect(audit.locator("tr").first).to_be_visible()
    await page.locator("#a-account").select_option("cora")
    await page.locator("#a-action").select_option("stats.export")
    await page.locator("#form-audit").get_by_role("button", name="Visa").click()
    await expect(audit.locator("tr").first).to_contain_text("Exporterade statistik")
    rows = await audit.locator("tr").all_inner_texts()
    assert rows and all("cora" in r and "Exporterade statistik" in r for r in rows), rows
    assert all("stats.export" not in r for r in rows)
    # Change a role twice: two rows of the admin; a page of one row at a time is not offered, so page
    # through the admin's own rows with the buttons after making more than fit the first page.
    await page.locator("#a-account").select_option("adam")
    await page.locator("#a-action").select_option("")
    await page.locator("#form-audit").get_by_role("button", name="Visa").click()
    await expect(page.locator("#audit-caption")).to_have_text("Inga händelser matchar urvalet.")
    await accounts.get_by_label("Roll för vera").select_option("supervisor")
    await expect(page.locator("#notice")).to_have_text("vera har nu rollen Handledare.")
    await page.locator("#a-account").select_option("adam")
    await page.locator("#form-audit").get_by_role("button", name="Visa").click()
    await expect(audit.locator("tr")).to_have_count(1)
    await expect(audit.locator("tr").first).to_contain_text("Ändrade roll")
    await expect(audit.locator("tr").first).to_contain_text("vera")
    await expect(page.locator("#audit-older")).to_be_disabled()
    assert await v.axe() == []
    await v.shot("admin")

    # The console is for those who take chats: a calm note, no red training warning, no status button.
    await page.goto(f"{site.http}/console")
    await expect(page.locator("#empty")).to_have_text(
        "Konsolen är till för volontärer och handledare som tar chattar. Dina sidor finns i menyn högst upp.")
    await expect(page.locator("#banner")).to_be_hidden()
    await expect(page.locator("#status")).to_be_hidden()
    assert await v.axe() == []
    await v.shot("console")
    await page.goto(f"{site.http}/stats")
    assert await v.axe() == []
    await sign_out(v, site)
    assert v.errors == []
    await v.context.close()


async def test_a_partner_redeems_and_keeps_the_key_for_the_tab_only_when_asked(
        site: Running, browser: Browser) -> None:
    db = site.app.state.db
    key = await store.add_partner(db, "stodcentrum-shell", "Stödcentrum", ["stodcentrum"], date.today())
    issued = await store.issue_codes(db, site.hub.code_key, ["stodcentrum", "stodcentrum"], issued_on=date.today(),
                                     valid_days=90)
    first, second = (codes.display(i.code) for i in issued)
    v = await visit(browser, "partner", width=800)
    page = v.page
    await page.goto(f"{site.http}/partner/redeem")
    await expect(page.locator("h1")).to_have_text("Lös in en hänvisningskod")
    assert await v.nav() == []
    await expect(page.locator("header.shell #logout")).to_be_hidden()
    assert await v.axe() == []
    result = page.locator("#result")
    # Without the box ticked nothing is kept.
    await page.locator("#key").fill(key)
    await page.locator("#code").fill(first)
    await page.get_by_role("button", name="Lös in").click()
    await expect(result).to_have_attribute("data-result", "ok")
    await expect(result).to_contain_text("Stödcentrum för unga brottsutsatta och vittnen")
    assert await page.evaluate("localStorage.length + sessionStorage.length + document.cookie.length") == 0
    await page.reload()
    assert await page.locator("#key").input_value() == ""
    # Ticked: kept in this tab (sessionStorage), not in another tab, never in localStorage.
    await page.locator("#key").fill(key)
    await page.get_by_label("Kom ihåg nyckeln i den här fliken").check()
    await page.locator("#code").fill(second)
    await page.get_by_role("button", name="Lös in").click()
    await expect(result).to_have_attribute("data-result", "ok")
    await page.reload()
    assert await page.locator("#key").input_value() == key
    await expect(page.get_by_label("Kom ihåg nyckeln i den här fliken")).to_be_checked()
    assert await page.evaluate("localStorage.length") == 0
    other = await v.context.new_page()
    await other.goto(f"{site.http}/partner/redeem")
    assert await other.locator("#key").input_value() == ""
    await other.close()
    await page.locator("#code").fill(second)
    await page.get_by_role("button", name="Lös in").click()
    await expect(result).to_have_text("Koden är redan inlöst.")
    await expect(page.locator("#code")).to_have_attribute("aria-invalid", "true")
    assert await v.axe() == []
    await v.shot("redeem")
    # Unticked: forgotten at once.
    await page.get_by_label("Kom ihåg nyckeln i den här fliken").uncheck()
    assert await page.evaluate("sessionStorage.length") == 0
    # English, one language at a time.
    await page.locator("header.shell #lang").select_option("en")
    await expect(page.locator("h1")).to_have_text("Redeem a referral code")
    await expect(result).to_have_text("The code was already redeemed.")
    assert v.errors == []
    await v.context.close()


async def test_a_second_sign_in_with_the_same_code_is_told_to_wait_for_a_new_one(
        site: Running, browser: Browser) -> None:
    v = await visit(browser, "volunteer")
    code = await site.code("vera")
    await sign_in(v, site, "vera", "/console", code=code)
    await sign_out(v, site)
    page = v.page
    await page.locator("#username").fill("vera")
    await page.locator("#password").fill(PASSWORD)
    await page.locator("#otp").fill(code)
    await page.get_by_role("button", name="Logga in").click()
    await expect(page.locator("#message")).to_have_text(
        "Koden har redan använts för en inloggning. Vänta tills appen visar en ny kod (den byts var 30:e sekund) "
        "och skriv den.")
    await expect(page.locator("#otp")).to_be_focused()
    assert await page.locator("#password").input_value() == PASSWORD      # only the code must be new
    await v.shot("code-reused")
    assert v.errors == []
    await v.context.close()
