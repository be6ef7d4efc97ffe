"""What the page walks share: a signed-in page per person (through the login form), the checks
of a page against the API for the same session, screenshots at both sizes, and the failing of a
walk on any console error or uncaught script error."""

from __future__ import annotations

import os
from pathlib import Path

from django.conf import settings
from playwright.sync_api import Browser, Page

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"]
LAPTOP = {"width": 1366, "height": 768}
PHONE = {"width": 375, "height": 667}
SCREENSHOTS = Path(settings.BASE_DIR) / "var" / "screenshots"
PASSWORD = "pass-1234"  # UserFactory's


def chromium_present() -> bool:
    return os.path.exists(CHROMIUM)


class Walk:
    """One browser for a walk; a context per person; every console error is collected."""

    def __init__(self, browser: Browser, base: str):
        self.browser, self.base = browser, base
        self.errors: list[str] = []
        self.shots: list[Path] = []

    def sign_in(self, username: str, viewport=LAPTOP) -> Page:
        context = self.browser.new_context(viewport=viewport, locale="zh-CN")
        page = context.new_page()
        page.on("console", lambda msg: self.errors.append(f"{username}: {msg.text}") if msg.type == "error" else None)
        page.on("pageerror", lambda exc: self.errors.append(f"{username}: {exc}"))
        page.goto(f"{self.base}/")
        page.wait_for_url(f"{self.base}/login/?next=/")
        page.fill("#id_username", username)
        page.fill("#id_password", PASSWORD)
        page.click("button[type=submit]")
        page.wait_for_url(f"{self.base}/")
        return page

    def shot(self, page: Page, name: str) -> None:
        """The page at 1366×768 and at 375×667 (full length), then back to the page's own size."""
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        own = page.viewport_size
        for label, size in (("laptop", LAPTOP), ("phone", PHONE)):
            page.set_viewport_size(size)
            if label == "phone":
                assert no_sideways_scroll(page), f"{name}: scrolls sideways at 375 px"
            path = SCREENSHOTS / f"{name}-{label}.png"
            page.screenshot(path=str(path), full_page=True)
            self.shots.append(path)
        page.set_viewport_size(own)

    def api(self, page: Page, path: str, **params) -> dict:
        response = page.request.get(f"{self.base}{path}", params=params or None)
        assert response.ok, (path, response.status, response.text()[:300])
        return response.json()

    def open_item(self, page: Page, item_id: int) -> None:
        page.goto(f"{self.base}/items/{item_id}/")
        self.check_item(page, item_id)

    def check_item(self, page: Page, item_id: int) -> dict:
        """The header shows the API's status, light, deadline, owner and units for this session."""
        api = self.api(page, f"/api/v1/items/{item_id}/")
        header = page.locator("#item-header")
        assert header.get_attribute("data-status") == api["status"]
        assert header.get_attribute("data-light") == api["light"]
        assert page.inner_text("#item-status").startswith(api["status_display"])
        if api["deadline"]:
            assert api["deadline"] in page.inner_text("#item-deadline")
        if api["owner"]:
            assert page.inner_text("#item-owner") == api["owner"]["name"]
        return api

    def act(self, page: Page, action: str, fill: dict | None = None, files: dict | None = None, choose: dict | None = None):
        """Open an action's form (htmx), fill it, submit, and wait for the item page to come back."""
        page.click(
            ", ".join(f'#{section} [data-action="{action}"]' for section in ("actions", "requests", "explanations", "referrals"))
        )
        page.wait_for_selector("#action-form form")
        for selector, value in (fill or {}).items():
            page.fill(selector, value)
        for selector, value in (choose or {}).items():
            page.check(selector) if value is True else page.select_option(selector, value)
        for selector, value in (files or {}).items():
            page.set_input_files(selector, value)
        with page.expect_navigation():
            page.click("#action-form button[type=submit]")
        page.wait_for_selector("#item-header")
        assert page.locator(".message.success").count() == 1, page.content()[:2000]

    def workbench_entries(self, page: Page, section: str) -> list[int]:
        page.goto(f"{self.base}/")
        return [
            int(x)
            for x in page.eval_on_selector_all(
                f'[data-section="{section}"] li[data-item-id]', "els => els.map(e => e.dataset.itemId)"
            )
        ]


def no_sideways_scroll(page: Page) -> bool:
    return page.evaluate("() => document.documentElement.scrollWidth <= document.documentElement.clientWidth")


def evidence(name: str, content: bytes = b"\x89PNG\r\n\x1a\n evidence") -> dict:
    return {"name": name, "mimeType": "image/png" if name.endswith(".png") else "application/pdf", "buffer": content}
