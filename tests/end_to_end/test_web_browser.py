"""The web UI in Debian's chromium driven by Selenium (chromium-driver; nothing downloaded
from elsewhere): sign-in, dashboard counts, search, a record's history, a landing-page change
reviewed, approved and sent, a rejection mailed, a reserve upload refused beside its field.
Every page is checked with axe-core (WCAG 2.1 A and AA), no request leaves 127.0.0.1, and
each page is photographed at 1,400 and 360 px wide into tests/.screenshots/ (or the folder
``ORGANISER_TEST_SCREENSHOTS`` names: ``docs/screenshots`` refreshes the README's pictures)."""

from __future__ import annotations

import base64
import copy
import json
import os
import shutil
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
from test_alerts import Inbox, smtp, with_mail  # noqa: F401  (smtp: a fixture)
from test_api import ALICE, Api, start_api  # noqa: F401  (start_api: a fixture)
from test_web_ui import reserve, root, rows

from organiser.storage import notices
from organiser.storage.database import open_database
from organiser.storage.models import Record

from conftest import DATA, Env, template

pytestmark = pytest.mark.slow

CHROMIUM, CHROMEDRIVER = shutil.which("chromium"), shutil.which("chromedriver")
REPO = Path(__file__).resolve().parents[2]
AXE = REPO / "tests" / "web" / "node_modules" / "axe-core" / "axe.min.js"
SCREENSHOTS = Path(os.environ.get("ORGANISER_TEST_SCREENSHOTS") or REPO / "tests" / ".screenshots")
NEW_URL = "https://pds.nasa.gov/ds-view/pds/viewBundle.jsp?identifier=moved_elsewhere"

if CHROMIUM is None or CHROMEDRIVER is None:
    pytestmark = [  # type: ignore[assignment]
        pytest.mark.slow,
        pytest.mark.skip(
            reason="Debian's chromium and chromium-driver are not installed (scripts/test "
            "installs them when run as root)"
        ),
    ]


class Browser:
    """A headless chromium on one test's server, with its network log."""

    def __init__(self, driver: Any, base: str) -> None:
        self.driver, self.base = driver, base
        self.requested: list[str] = []

    def get(self, path: str) -> None:
        self.driver.get(self.base + path)

    def css(self, selector: str) -> Any:
        from selenium.webdriver.common.by import By

        return self.driver.find_element(By.CSS_SELECTOR, selector)

    def all(self, selector: str) -> list[Any]:
        from selenium.webdriver.common.by import By

        return self.driver.find_elements(By.CSS_SELECTOR, selector)

    @property
    def path(self) -> str:
        parts = urlsplit(self.driver.current_url)
        return parts.path + (f"?{parts.query}" if parts.query else "")

    def submit(self, button: Any) -> None:
        """Click ``button`` (or the element found by the CSS selector) and wait for the page
        it loads (the old page's root gone stale)."""
        from selenium.common.exceptions import WebDriverException
        from selenium.webdriver.support.ui import WebDriverWait

        if isinstance(button, str):
            button = self.css(button)
        old = self.css("html")
        button.click()

        def gone(_: Any) -> bool:
            try:
                old.is_enabled()  # any call on an element of a page that is gone fails
            except WebDriverException:  # stale, or "does not belong to the document"
                return True
            return False

        WebDriverWait(self.driver, 30).until(gone)
        WebDriverWait(self.driver, 30).until(
            lambda d: d.execute_script("return document.readyState") == "complete"
        )

    def sign_in(self, api: Api, name: str) -> None:
        """Sign in on the sign-in page the browser is on (or is sent to)."""
        if not self.path.startswith("/ui/signin"):
            self.get("/ui/signin")
        self.css("#token").send_keys(api.tokens[name])
        self.submit("form.card button[type=submit]")

    def sign_out(self) -> None:
        self.submit("form.signout button")
        assert self.path == "/ui/signin"

    def shoot(self, name: str) -> None:
        """Photograph the whole page at 1,400 and 360 px wide (into SCREENSHOTS)."""
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        for width in (1400, 360):
            self.driver.set_window_size(width, 1000)
            shot = self.driver.execute_cdp_cmd(
                "Page.captureScreenshot", {"format": "png", "captureBeyondViewport": True}
            )
            png = base64.b64decode(shot["data"])
            assert png.startswith(b"\x89PNG\r\n\x1a\n") and len(png) > 1000, name
            (SCREENSHOTS / f"{name}-{width}.png").write_bytes(png)
            # nothing wider than the window: the page never scrolls sideways
            wide = self.driver.execute_script(
                "return document.documentElement.scrollWidth > window.innerWidth"
            )
            assert not wide, f"{name} scrolls sideways at {width} px"
        self.driver.set_window_size(1400, 1000)

    def axe(self) -> list[str]:
        """Give axe-core's WCAG 2.1 A/AA violations of the page, one line each."""
        if not AXE.exists():
            pytest.skip("axe-core is not installed (npm ci --prefix tests/web; scripts/test does)")
        self.driver.execute_script(AXE.read_text())
        result = self.driver.execute_async_script(
            "const done = arguments[arguments.length - 1];"
            "axe.run(document, {runOnly: {type: 'tag', values: "
            "['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa']}}).then(done, e => done(String(e)));"
        )
        assert isinstance(result, dict), result
        assert len(result["passes"]) > 10, result  # axe really looked at the page
        return [
            f"{v['id']} ({v['impact']}): {v['help']} at "
            + ", ".join(str(n["target"]) for n in v["nodes"][:5])
            for v in result["violations"]
        ]

    def outside(self) -> list[str]:
        """Give every URL the browser asked for that is not on 127.0.0.1."""
        for entry in self.driver.get_log("performance"):
            message = json.loads(entry["message"])["message"]
            if message["method"] == "Network.requestWillBeSent":
                self.requested.append(message["params"]["request"]["url"])
        return [
            url
            for url in self.requested
            if urlsplit(url).scheme in ("http", "https", "ws", "wss", "ftp")
            and urlsplit(url).hostname != "127.0.0.1"
        ]


@pytest.fixture
def browse(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Callable[[Api], Browser]]:
    """Give a function that opens chromium on a server; it is closed at the end, after
    checking that no request left 127.0.0.1."""
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    monkeypatch.setenv("SE_OFFLINE", "true")  # Selenium Manager never downloads anything
    opened: list[Browser] = []

    def start(api: Api) -> Browser:
        options = webdriver.ChromeOptions()
        options.binary_location = str(CHROMIUM)
        for argument in (
            "--headless=new",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-dev-shm-usage",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--disable-default-apps",
            "--hide-scrollbars",
            "--window-size=1400,1000",
            f"--user-data-dir={tmp_path / f'profile{len(opened)}'}",
            # a request elsewhere fails here instead of going out, and is still in the log
            "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1",
        ):
            options.add_argument(argument)
        options.set_capability("goog:loggingPrefs", {"performance": "ALL"})
        driver = webdriver.Chrome(
            options=options, service=Service(executable_path=str(CHROMEDRIVER))
        )
        driver.set_script_timeout(60)
        opened.append(Browser(driver, root(api)))
        return opened[-1]

    yield start
    try:
        for browser in opened:
            assert browser.outside() == []
            assert any("/ui/static/ui.css" in url for url in browser.requested)
    finally:
        for browser in opened:
            browser.driver.quit()


def _counts(env: Env) -> dict[str, int]:
    open_database(env.db_url)
    counted: dict[str, int] = {}
    for record in Record.select():
        counted[record.status] = counted.get(record.status, 0) + 1
    return counted


def test_sign_in_dashboard_search_record_and_every_page_accessible(
    env: Env,
    start_api: Callable[[], Api],  # noqa: F811
    browse: Callable[[Api], Browser],
) -> None:
    api = start_api()
    records = reserve(env, 5)
    env.ok("register", records[0].doi, records[4].doi)
    env.faults(fail_dois={records[4].doi: 422})
    assert env.run("-r").returncode == 1  # one record failed
    env.faults()
    env.ok("submit", records[1].doi)
    env.ok("delete", records[3].doi)
    open_database(env.db_url)
    notices.update([], "DataCite unreachable: connection refused", False, datetime.now(UTC))
    browser = browse(api)

    # a page asked for without a session: sign in, and back to it
    browser.get("/ui/records?status=reserved")
    assert browser.path == "/ui/signin?next=/ui/records%3Fstatus%3Dreserved"
    browser.shoot("signin")
    assert browser.axe() == []
    browser.sign_in(api, "olive")
    assert browser.path == "/ui/records?status=reserved"
    assert [a.text for a in browser.all("table.records tbody td:first-child a")] == [records[2].doi]

    # the dashboard's counts are the database's
    browser.get("/ui/")
    shown = {
        row.get_attribute("data-status"): int(row.find_element("css selector", "td").text)
        for row in browser.all("tr[data-status]")
    }
    assert {s: n for s, n in shown.items() if n} == _counts(env)
    assert int(browser.css("#total").text) == len(records)
    assert "DataCite unreachable: connection refused" in browser.css(".banner.danger").text
    failing = browser.css("#failing tbody tr").text
    assert records[4].doi in failing and env.records()[4].last_error in failing
    browser.shoot("dashboard")
    assert browser.axe() == []

    # search by wildcard, through the form
    browser.get("/ui/records")
    browser.css("#f-ids").send_keys("URN:NASA:PDS:ORGANISER_TEST_0000[0-1]*")
    browser.submit("form.search button[type=submit]")
    assert browser.all("table.records tbody tr") == []  # brackets are literal
    field = browser.css("#f-ids")
    field.clear()
    field.send_keys("urn:nasa:pds:organiser_test_0000?::1.*")
    browser.submit("form.search button[type=submit]")
    found = [a.text for a in browser.all("table.records tbody td:first-child a")]
    assert found == [r.doi for r in records]
    browser.shoot("records")
    assert browser.axe() == []

    # a record's page: its history as a timeline
    browser.submit(browser.all("table.records tbody td:first-child a")[0])
    assert browser.css("h1").text == records[0].doi
    assert browser.css("#status").text == "registered"
    steps = [li.text for li in browser.all("#history li")]
    assert len(steps) == len(env.history(records[0])) >= 3
    assert "to-be-registered → registered" in steps[-1]
    assert records[0].doi in browser.css(".citation").text
    browser.shoot("record")
    assert browser.axe() == []

    for path, name in (("/ui/review", "review"), ("/ui/reserve", "reserve")):
        browser.get(path)
        browser.shoot(name)
        assert browser.axe() == [], name
    browser.get(f"/ui/records/{records[2].id}/delete")
    assert "DataCite deletes the draft DOI" in browser.css("#effect").text
    browser.shoot("delete")
    assert browser.axe() == []


def _update_file(folder: Path, record: Record, url: str) -> Path:
    """Write DataCite JSON for ``record`` with another landing page; give its path."""
    attributes = copy.deepcopy(template())
    attributes["identifiers"] = [{"identifier": record.identifier, "identifierType": "PDS4 LIDVID"}]
    attributes["titles"] = [{"title": record.title}]
    attributes["url"] = url
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "changed.json"
    path.write_text(json.dumps({"data": {"attributes": attributes}}))
    return path


def test_a_landing_page_change_is_reviewed_approved_and_sent(
    env: Env,
    start_api: Callable[[], Api],  # noqa: F811
    browse: Callable[[Api], Browser],
) -> None:
    api = start_api()
    [record, *_] = reserve(env, 1)
    env.ok("register", record.doi)
    env.ok("-r")
    assert env.remote[record.doi] == "findable"
    old_url = env.records()[0].url
    browser = browse(api)

    # the submitter changes the landing page of its findable DOI: held for review
    browser.get(f"/ui/records/{record.id}")
    browser.sign_in(api, "alice")
    assert browser.path == f"/ui/records/{record.id}"
    browser.css("#update-file").send_keys(str(_update_file(env.tmp / "up", record, NEW_URL)))
    browser.submit("form.upload button")
    assert "updated: update-review" in browser.css(".notice").text
    assert browser.css("#status").text == "update-review"
    held = env.records()[0]
    assert (held.status, held.url) == ("update-review", old_url)
    browser.sign_out()

    # the operator sees the change of URL in the review queue, against DataCite's copy
    browser.sign_in(api, "olive")
    browser.get("/ui/review")
    item = browser.css(f"#r{record.id}")
    banner = item.find_element("css selector", ".url-change")
    assert "The landing page changes" in banner.text
    assert banner.find_element("css selector", "code.old").text == old_url
    assert banner.find_element("css selector", "code.new").text == NEW_URL
    assert "Compared with what DataCite holds now" in item.text
    assert item.find_element("css selector", "table.changes tr.url th").text == "url"
    browser.shoot("review-diff")
    assert browser.axe() == []

    browser.submit(item.find_element("css selector", "button[aria-label^='Approve']"))
    assert f"{record.doi} approved: update-registered" in browser.css(".notice").text
    assert env.records()[0].status == "update-registered"
    env.ok("-u")
    assert env.server.datacite.document(record.doi)["data"]["attributes"]["url"] == NEW_URL
    assert (env.records()[0].status, env.records()[0].url) == ("registered", NEW_URL)


def test_reject_mails_the_reason_and_a_bad_upload_marks_nothing(
    env: Env,
    start_api: Callable[[], Api],  # noqa: F811
    browse: Callable[[Api], Browser],
    smtp: tuple[Inbox, int],  # noqa: F811
) -> None:
    inbox, port = smtp
    with_mail(env, port)
    api = start_api()
    [record] = reserve(env, 1)
    env.ok("submit", record.doi)
    browser = browse(api)

    browser.get("/ui/review")
    browser.sign_in(api, "olive")
    assert browser.path == "/ui/review"
    browser.css(f"#reason-{record.id}").send_keys("The title names the wrong mission.")
    browser.submit(f"#r{record.id} button[aria-label^='Reject']")
    assert f"{ALICE} was mailed the reason" in browser.css(".notice").text
    assert env.records()[0].status == "reserved"
    [mail] = inbox.take()
    assert mail.to == [ALICE]
    assert "The title names the wrong mission." in mail.body and record.doi in mail.body
    browser.sign_out()

    # a submitter uploads a label with an error: the message beside the field, nothing marked
    before = rows(env)
    browser.get("/ui/reserve")
    browser.sign_in(api, "alice")
    bad = DATA / "pds4-invalid" / "not_pds4_osti_record.xml"
    browser.css("#file").send_keys(str(bad))
    browser.submit("form.card button[type=submit]")
    # the command line's message for the same file, naming the file as uploaded
    cli = env.run("reserve", "--node", "img", str(bad))
    assert cli.returncode == 2
    expected = cli.stderr.strip().removeprefix("Error: ").replace(str(bad), bad.name)
    assert browser.css("#file-errors").text == expected
    assert "neither a PDS4 label nor DataCite XML" in expected
    assert browser.css("#file").get_attribute("aria-describedby") == "file-errors"
    assert rows(env) == before
    browser.shoot("reserve-error")
    assert browser.axe() == []

    good = DATA / "pds4" / "bundle_insight_cameras_author_list.xml"
    browser.css("#file").send_keys(str(good))
    from selenium.webdriver.support.ui import Select

    Select(browser.css("#node")).select_by_visible_text("img")
    browser.submit("form.card button[type=submit]")
    assert "1 record marked to-be-reserved" in browser.css("main").text, browser.css("main").text
    assert [r.identifier for r in env.records()][-1].startswith("urn:nasa:pds:insight_cameras")
