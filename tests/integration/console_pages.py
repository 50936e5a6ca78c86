"""The console's pages as a user goes through them in the browser (``test_console``): each
step checks what the page shows against the API's own JSON, and leaves no error in the
browser's console."""
from __future__ import annotations

import json
import re
import urllib.error
import urllib.request
from typing import Any

from selenium.webdriver import Chrome
from selenium.webdriver.common.by import By

from .browser import SHOTS, console_errors, css, shot, visible, wait

BAD_RULE = 'trait.country = "AE" and count(purchase, ) >= 3'


class Api:
    """Plain calls to the API under test, to compare the pages with."""

    def __init__(self, base: str, key: str):
        self.base, self.key = base, key

    def call(self, path: str, method: str = "GET", body: Any = None) -> tuple[int, Any]:
        data = None if body is None else json.dumps(body).encode()
        req = urllib.request.Request(self.base + path, data=data, method=method, headers={
            "Authorization": f"Bearer {self.key}", "Content-Type": "application/json"})
        try:
            with urllib.request.urlopen(req, timeout=20) as resp:
                return resp.status, json.loads(resp.read())
        except urllib.error.HTTPError as err:
            return err.code, json.loads(err.read())


def no_errors(driver: Chrome, page: str, expected: tuple[str, ...] = ()) -> None:
    errors = console_errors(driver, expected)
    assert not errors, f"browser console errors on {page}: {errors}"


def sign_in(driver: Chrome, base: str, key: str, role: str) -> None:
    driver.get(base + "/console")
    field = wait(driver, visible("#key"), "the sign-in form")
    shot(driver, "sign-in") if role == "admin" else None
    field.send_keys(key)
    driver.find_element(By.ID, "sign-in-button").click()
    wait(driver, lambda d: role in d.find_element(By.ID, "who-text").text, f"signed in as {role}")
    assert driver.execute_script("return sessionStorage.getItem('profile360.key')") == key
    assert driver.execute_script("return localStorage.length") == 0, "the key is kept for the tab only"


def sign_out(driver: Chrome) -> None:
    driver.find_element(By.ID, "sign-out").click()
    wait(driver, visible("#key"), "the sign-in form after signing out")
    assert driver.execute_script("return sessionStorage.getItem('profile360.key')") is None


def _rates(driver: Chrome) -> dict[str, float]:
    """The ingest table's rates by topic (the full name, its cell's tooltip), read at once (the
    page redraws it at each poll)."""
    return {t: float(r) for t, r in driver.execute_script("""return [...document.querySelectorAll("table.ingest tbody tr")]
        .map((r) => [r.querySelector('[data-col="topic"] [title]').title, r.querySelector('[data-col="rate"]').textContent]);""")}


def _topic_labels(driver: Chrome) -> list[tuple[str, str]]:
    """(shown, tooltip) of each topic in the legend and the ingest table, read at once."""
    return [tuple(x) for x in driver.execute_script("""return [...document.querySelectorAll(
        '#ingest .legend li, table.ingest [data-col="topic"] [title]')].map((e) => [e.textContent, e.title]);""")]


#: the browser's own answer whether the chart labelled arguments[0] paints a mark of the series
#: arguments[1] above its zero line: its latest value's dot has a size, lies above the lowest
#: grid line, and is what the page shows at its centre (nothing covers it), scrolled to
_MARK_ABOVE_ZERO = """
const [label, series] = arguments;
const chart = document.querySelector(`#ingest svg.chart[aria-label="${label}"]`);
const dot = chart && [...chart.querySelectorAll("circle.latest")].find((c) => c.dataset.series === series);
if (!dot) return false;
dot.scrollIntoView({ block: "nearest" });
const box = dot.getBoundingClientRect(), zero = chart.querySelector("line.grid").getBoundingClientRect().top;
const seen = document.elementFromPoint(box.left + box.width / 2, box.top + box.height / 2);
return box.width > 0 && box.height > 0 && box.bottom < zero && (seen === dot || dot.contains(seen));
"""
#: with screenshots, the rate line of the fed topic spans this many polls (a line, not a dot)
SHOT_POLLS = 12


def _line_points(driver: Chrome, label: str, series: str) -> int:
    return driver.execute_script("""const line = [...document.querySelectorAll(
        `#ingest svg.chart[aria-label="${arguments[0]}"] polyline`)].find((l) => l.dataset.series === arguments[1]);
        return line ? line.points.numberOfItems : 0;""", label, series)


def overview(driver: Chrome, api: Api, fed_topic: str) -> None:
    """The cards as the API counts; live ingest: a dot per topic in each chart, a rate for the
    topic the test feeds meanwhile, and a mark of it the events/s chart paints above zero."""
    driver.get(driver.current_url.split("#")[0] + "#/overview")
    data = api.call("/en/api/customer360")[1]["result"]["data"]
    for name in ("totalContacts", "activeContacts", "newContactsThisMonth"):
        card = wait(driver, visible(f'[data-card="{name}"] .value'), f"the {name} card")
        assert card.text.replace(",", "") == str(data[name]), name
    segments = css(driver, '[data-card="topSegments"] tbody tr')
    assert [r.text.split("\n")[0].rsplit(" ", 1)[0] for r in segments] == [s["name"] for s in data["topSegments"]]
    reach = {r.find_element(By.CSS_SELECTOR, "td").text for r in css(driver, '[data-card="channelReach"] tbody tr')}
    assert reach == set(data["channelReach"])
    topics = {p["topic"] for p in api.call("/api/v1/status")[1]["topics"]}
    wait(driver, lambda d: _rates(d).get(fed_topic, 0) > 0, f"a rate for {fed_topic}")
    wait(driver, lambda d: d.execute_script(_MARK_ABOVE_ZERO, "events per second", fed_topic),
         f"a mark of {fed_topic} above zero in the events/s chart")
    for label in ("events per second", "lag"):
        dots = driver.execute_script("""return [...document.querySelectorAll(
            `#ingest svg.chart[aria-label="${arguments[0]}"] circle.latest`)].map((c) => c.dataset.series);""", label)
        assert set(dots) == topics, label
    assert set(_rates(driver)) == topics
    # the test's topics share one prefix: each is shown by its family, its full name a tooltip
    assert sorted(_topic_labels(driver)) == sorted([(t.rsplit(".", 1)[1], t) for t in topics] * 2)
    if SHOTS:
        wait(driver, lambda d: _line_points(d, "events per second", fed_topic) >= SHOT_POLLS,
             f"{SHOT_POLLS} polls of {fed_topic}'s rate", timeout=SHOT_POLLS * 5)
    driver.execute_script("window.scrollTo(0, 0)")
    shot(driver, "overview")
    driver.execute_script("document.getElementById('ingest').scrollIntoView()")
    shot(driver, "overview-ingest")
    no_errors(driver, "the overview")


def profile(driver: Chrome, api: Api, email: str) -> None:
    driver.find_element(By.CSS_SELECTOR, 'a[data-page="profiles"]').click()
    wait(driver, visible("#lookup"), "the lookup form").send_keys(email)
    driver.find_element(By.ID, "lookup-button").click()
    body = api.call(f"/api/v1/customers/{email}/unified-profile")[1]
    sections = {s["name"]: s["data"] for s in body["sections"]}
    wait(driver, visible('[data-section="consent"]'), "every section of the profile")
    shown = [e.get_attribute("data-section") for e in css(driver, "[data-section]")]
    assert shown == list(sections) and body["customerId"] in driver.find_element(By.ID, "profile").text
    links = css(driver, '[data-section="identities"] tbody tr')
    assert [r.find_element(By.CSS_SELECTOR, '[data-col="value"]').text for r in links] == [
        i["value"] for i in sections["identities"]]
    merged = sum(i["merged"] for i in sections["identities"])
    assert len(css(driver, "svg.graph line.merged")) == merged
    assert len(css(driver, "svg.graph line.unmerged")) == len(links) - merged > 0, "a weak link is shown, not merged"
    assert len(css(driver, '[data-section="interactions"] tbody tr')) == len(sections["interactions"]) > 0
    rows = css(driver, '[data-section="segments"] tbody tr')
    assert [r.find_element(By.CSS_SELECTOR, '[data-col="memberSince"]').text for r in rows] == [
        s["memberSince"] for s in sections["segments"]] and rows
    shot(driver, "profile")
    no_errors(driver, "the profile explorer")


def _save(driver: Chrome, field: str, value: str) -> None:
    el = driver.find_element(By.ID, field)
    el.clear()
    el.send_keys(value)
    driver.find_element(By.ID, "save-segment").click()


def segments(driver: Chrome, api: Api, segment_id: str) -> None:
    driver.find_element(By.CSS_SELECTOR, 'a[data-page="segments"]').click()
    listed = api.call("/api/v1/segments")[1]["data"]
    rows = wait(driver, lambda d: css(d, "#segment-list tbody tr"), "the segment list")
    assert [r.find_element(By.CSS_SELECTOR, '[data-col="memberCount"]').text for r in rows] == [
        str(s["memberCount"]) for s in listed]
    shot(driver, "segments")
    driver.find_element(By.LINK_TEXT, segment_id).click()
    wait(driver, visible("#segment-members tbody tr"), "the segment's members")
    _save(driver, "seg-name", "High value (edited in the console)")
    wait(driver, visible("#seg-status .note.ok"), "the saved segment")
    assert api.call(f"/api/v1/segments/{segment_id}")[1]["name"] == "High value (edited in the console)"
    no_errors(driver, "the segment editor")
    _save(driver, "seg-rule", BAD_RULE)
    shown = wait(driver, visible("#rule-error"), "the rule's error")
    status, err = api.call(f"/api/v1/segments/{segment_id}", "PUT", {"name": "x", "rule": BAD_RULE})
    column = int(re.search(r"at column (\d+)", err["error"]["message"])[1])
    assert status == 400 and shown.get_attribute("data-column") == str(column)
    assert err["error"]["message"] in shown.text
    assert shown.find_element(By.CSS_SELECTOR, "pre.caret").text.split("\n")[1] == " " * (column - 1) + "^"
    shot(driver, "segment-error")
    no_errors(driver, "a bad rule", expected=(f"/api/v1/segments/{segment_id}",))


def dead_letters(driver: Chrome, api: Api) -> None:
    driver.find_element(By.CSS_SELECTOR, 'a[data-page="dead-letters"]').click()
    letters = api.call("/api/v1/dead-letters?limit=100")[1]["items"]
    rows = wait(driver, lambda d: css(d, "#dead-letter-list tbody tr"), "the dead letters")
    assert [r.find_element(By.CSS_SELECTOR, '[data-col="reason"]').text for r in rows] == [x["reason"] for x in letters]
    assert letters[0]["origin"]["topic"] in rows[0].text
    shot(driver, "dead-letters")
    rows[0].find_element(By.CSS_SELECTOR, "input.pick").click()
    driver.find_element(By.ID, "redrive-selected").click()
    done = wait(driver, visible("#dlq-status .note.ok"), "the re-drive's answer")
    assert done.text == "Re-drove 1 letter."
    no_errors(driver, "the dead letters")


def viewer(driver: Chrome, segment_id: str) -> None:
    """A viewer sees the data but no button that writes (the API refuses it anyway)."""
    assert not driver.find_element(By.ID, "nav-dead-letters").is_displayed()
    driver.find_element(By.CSS_SELECTOR, 'a[data-page="segments"]').click()
    wait(driver, lambda d: css(d, "#segment-list tbody tr"), "the segment list")
    assert not css(driver, "#new-segment")
    driver.find_element(By.LINK_TEXT, segment_id).click()
    wait(driver, visible("#segment-members tbody tr"), "the segment's members")
    assert not css(driver, "#save-segment") and driver.find_element(By.ID, "seg-rule").get_attribute("readonly")
    no_errors(driver, "the viewer's pages")


def swagger(driver: Chrome, base: str, key: str) -> None:
    """/docs: Swagger UI on /openapi.json; Authorize with a key, then "Try it out" on a GET."""
    driver.get(base + "/docs")
    wait(driver, visible(".swagger-ui .info .title"), "Swagger UI")
    driver.find_element(By.CSS_SELECTOR, ".swagger-ui .auth-wrapper button.authorize").click()
    wait(driver, visible(".modal-ux input"), "the Authorize dialog").send_keys(key)
    driver.find_element(By.CSS_SELECTOR, ".modal-ux .auth-btn-wrapper button.authorize").click()
    wait(driver, visible(".modal-ux button.btn-done"), "authorized").click()
    driver.find_element(By.CSS_SELECTOR, '.opblock-get [data-path="/api/v1/me"]').click()
    wait(driver, visible("button.try-out__btn"), "Try it out").click()
    wait(driver, visible("button.execute"), "Execute").click()
    status = wait(driver, lambda d: [e.text for e in css(d, ".live-responses-table tbody .response-col_status") if e.text],
                  "the live response")
    answer = driver.find_element(By.CSS_SELECTOR, ".live-responses-table").text
    assert status[0].split()[0] == "200" and '"tenantId": "demo"' in answer, answer
    driver.execute_script("document.querySelector('.opblock.is-open').scrollIntoView()")
    shot(driver, "api-docs")
    no_errors(driver, "/docs")
