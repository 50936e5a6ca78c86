"""A real headless Chromium for the console's tests: Debian's ``chromium`` driven through
its ``chromedriver`` (``make system-deps`` installs both), never a downloaded browser
(Selenium Manager is not asked: both paths are given). A missing browser fails the test with
what to install; it is never skipped."""
from __future__ import annotations

import os
import shutil
from pathlib import Path
from typing import Callable, Iterable

import pytest
from selenium import webdriver
from selenium.webdriver.chrome.service import Service
from selenium.common.exceptions import StaleElementReferenceException
from selenium.webdriver.common.by import By
from selenium.webdriver.remote.webelement import WebElement
from selenium.webdriver.support.ui import WebDriverWait

WIDTH, HEIGHT = 1280, 800
#: screenshots of each page are written here when set (``docs/console`` for the README's)
SHOTS = os.environ.get("P360_CONSOLE_SHOTS")


def _found(name: str, *fallbacks: str) -> str:
    for candidate in (shutil.which(name), *fallbacks):
        if candidate and Path(candidate).exists():
            return candidate
    pytest.fail(f"{name} is missing: the console's browser tests need Debian's chromium and chromium-driver "
                "(`make system-deps`, or apt-get install chromium chromium-driver)")


def chromium() -> webdriver.Chrome:
    """A headless Chromium of ``WIDTH``x``HEIGHT`` whose console log ``get_log("browser")`` reads."""
    options = webdriver.ChromeOptions()
    options.binary_location = _found("chromium", "/usr/bin/chromium")
    for arg in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu",
                f"--window-size={WIDTH},{HEIGHT}", "--disable-extensions", "--no-first-run"):
        options.add_argument(arg)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    driver = webdriver.Chrome(service=Service(executable_path=_found("chromedriver", "/usr/bin/chromedriver")),
                              options=options)
    # the page itself, not the window around it, is WIDTH x HEIGHT (the screenshots' size)
    driver.execute_cdp_cmd("Emulation.setDeviceMetricsOverride",
                           {"width": WIDTH, "height": HEIGHT, "deviceScaleFactor": 1, "mobile": False})
    return driver


def wait(driver: webdriver.Chrome, check: Callable[[webdriver.Chrome], object], what: str, timeout: float = 20):
    """Poll ``check`` until it returns something true (its value), failing after ``timeout`` s.
    An element replaced while ``check`` reads it (a page redrawn by its poll) is checked again."""
    return WebDriverWait(driver, timeout, poll_frequency=0.1, ignored_exceptions=(StaleElementReferenceException,)).until(
        check, f"waiting for {what}")


def css(driver: webdriver.Chrome | WebElement, selector: str) -> list[WebElement]:
    return driver.find_elements(By.CSS_SELECTOR, selector)


def visible(selector: str) -> Callable[[webdriver.Chrome], WebElement | None]:
    def check(driver: webdriver.Chrome) -> WebElement | None:
        found = [e for e in css(driver, selector) if e.is_displayed()]
        return found[0] if found else None
    return check


def console_errors(driver: webdriver.Chrome, expected: Iterable[str] = ()) -> list[dict]:
    """The browser's SEVERE log entries since the last call: script errors, ``console.error``
    and failed requests, but the requests whose URL contains one of ``expected`` (answers the
    test provokes on purpose, such as a bad rule's 400)."""
    expected = tuple(expected)
    return [e for e in driver.get_log("browser") if e["level"] == "SEVERE"
            and not (e.get("source") == "network" and any(x in e["message"] for x in expected))]


def shot(driver: webdriver.Chrome, name: str) -> None:
    """A PNG of the page as ``SHOTS/name.png`` when ``P360_CONSOLE_SHOTS`` is set."""
    if SHOTS:
        Path(SHOTS).mkdir(parents=True, exist_ok=True)
        driver.save_screenshot(str(Path(SHOTS) / f"{name}.png"))
