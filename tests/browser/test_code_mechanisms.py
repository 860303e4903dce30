"""The SPA in Chromium with what a person types: an emailed code, security questions, a reset."""

from __future__ import annotations

from playwright.sync_api import BrowserContext, expect

from tests.browser.conftest import PageProblems, Shots
from tests.browser.spa import Spa
from tests.support.asgi_server import ServerThread
from tests.support.bff_fixtures import Sim


def test_an_emailed_code_typed_into_the_code_field(
    context: BrowserContext, spa_bff: ServerThread, sim: Sim, shots: Shots, problems: PageProblems
) -> None:
    page = context.new_page()
    spa = Spa(page).open(spa_bff.url + "/")
    spa.username("email@example.com").answer("Password", "email-pass-1")
    # One mechanism in the second challenge: the SPA starts it, waits, and offers the code field.
    expect(page.get_by_label("Or enter the code you received")).to_be_visible()
    shots.take(page, "code-field")
    spa.code(sim.code("email@example.com"))
    spa.expect_home("Erin Email")
    shots.take(page, "home")
    assert problems.errors == []


def test_multi_part_security_questions_each_get_a_labelled_field(
    context: BrowserContext, spa_bff: ServerThread, sim: Sim, shots: Shots, problems: PageProblems
) -> None:
    page = context.new_page()
    spa = Spa(page).open(spa_bff.url + "/")
    spa.username("sqmulti@example.com").answer("Password", "sqmulti-pass-1")
    form = page.locator("#answer-form")
    form.get_by_label("In which city were you born?").fill("Lyon")
    form.get_by_label("What was your first car?").fill("Beetle")
    shots.take(page, "questions")
    page.get_by_role("button", name="Verify", exact=True).click()
    spa.expect_home("Mo Questions")
    assert problems.errors == []


def test_a_forced_password_reset_then_signed_in(
    context: BrowserContext, spa_bff: ServerThread, sim: Sim, shots: Shots, problems: PageProblems
) -> None:
    page = context.new_page()
    spa = Spa(page).open(spa_bff.url + "/")
    spa.username("reset@example.com").answer("Password", "reset-pass-1")
    new_password = page.locator("#answer-form").get_by_label("Reset Password", exact=True)
    expect(new_password).to_have_attribute("type", "password")
    expect(new_password).to_have_attribute("autocomplete", "new-password")
    shots.take(page, "reset")
    spa.answer("Reset Password", "Brand-new-pass-2")
    spa.expect_home("Remy Reset")
    assert problems.errors == []


def test_a_wrong_password_sends_the_user_back_with_one_generic_message(
    context: BrowserContext, spa_bff: ServerThread, sim: Sim, problems: PageProblems
) -> None:
    page = context.new_page()
    spa = Spa(page).open(spa_bff.url + "/")
    spa.username("alice@example.com").answer("Password", "not-her-password")
    spa.expect_signed_out()
    expect(spa.error).to_have_text("Sign-in failed. Check what you entered and start again.")
    assert problems.errors == []
