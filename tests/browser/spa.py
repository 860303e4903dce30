"""Driving the demo SPA the way a person does: by labels, buttons and what the screen shows."""

from __future__ import annotations

from playwright.sync_api import Locator, Page, expect


class Spa:
    """``Spa(page).open(url).username("alice@example.com").answer("Password", "alice-pass-1")``."""

    def __init__(self, page: Page) -> None:
        self.page = page

    def open(self, url: str) -> Spa:
        self.page.goto(url)
        return self

    @property
    def status(self) -> Locator:
        return self.page.get_by_role("status")

    @property
    def error(self) -> Locator:
        return self.page.get_by_role("alert")

    @property
    def home(self) -> Locator:
        return self.page.locator("#view-home")

    @property
    def sign_in(self) -> Locator:
        return self.page.locator("#view-username")

    def username(self, name: str) -> Spa:
        expect(self.sign_in).to_be_visible()
        self.page.get_by_label("Username").fill(name)
        self.page.get_by_role("button", name="Continue").click()
        return self

    def answer(self, label: str, text: str) -> Spa:
        field = self.page.locator("#answer-form").get_by_label(label, exact=True)
        expect(field).to_be_visible()
        field.fill(text)
        self.page.get_by_role("button", name="Verify", exact=True).click()
        return self

    def choose(self, label: str) -> Spa:
        choice = self.page.get_by_role("group", name="Choose how to verify")
        expect(choice).to_be_visible()
        choice.get_by_role("button", name=label).click()
        return self

    def code(self, code: str) -> Spa:
        self.page.get_by_label("Or enter the code you received").fill(code)
        self.page.get_by_role("button", name="Verify code").click()
        return self

    def expect_home(self, display_name: str, timeout: float = 10_000) -> Spa:
        expect(self.home).to_be_visible(timeout=timeout)
        expect(self.page.locator("#user-name")).to_have_text(display_name)
        return self

    def expect_signed_out(self) -> Spa:
        expect(self.sign_in).to_be_visible()
        expect(self.home).to_be_hidden()
        return self

    def logout(self) -> Spa:
        self.page.get_by_role("button", name="Sign out").click()
        self.expect_signed_out()
        return self
