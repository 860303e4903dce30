"""Logins against the simulator over real HTTP: every mechanism kind, both orders, resets and refusals."""

from __future__ import annotations

import pytest

from app.errors import LoginFailed, TenantRateLimited
from app.identity.client import TenantClient
from app.identity.models import (
    FederatedRedirect,
    LoggedIn,
    NewPackage,
    NextChallenge,
    Pending,
    Question,
    TenantUser,
)
from tests.identity.simulated import PASSWORD, Sim, mechanism_named, only
from tests.identity.whoami import whoami


async def test_password_only_login_gives_the_duration_token_and_the_user(
    client: TenantClient, sim: Sim
) -> None:
    started = only(await client.start("pw@example.com"))
    (up,) = started.package.challenges[0].mechanisms
    assert (up.name, up.kind, up.label, up.prompt) == ("UP", "text", "Password", "Enter Password")
    assert started.context.base_url == sim.url("a")
    assert started.context.tenant_id == "ABC1234"

    outcome, ctx = await client.answer(started.context, up.id, PASSWORD)

    assert isinstance(outcome, LoggedIn)
    assert outcome.user == TenantUser(
        id=outcome.user.id,
        username="pw@example.com",
        display_name="Pat Word",
        email="pw@example.com",
        tenant=sim.host("a"),
    )
    assert outcome.user.id
    assert ".ASPXAUTH" not in ctx.cookies


async def test_the_token_is_the_duration_cookie_not_the_one_time_auth(client: TenantClient, sim: Sim) -> None:
    started = only(await client.start("pw@example.com"))
    outcome, _ = await client.answer(
        started.context, started.package.challenges[0].mechanisms[0].id, PASSWORD
    )
    assert isinstance(outcome, LoggedIn)
    # The body's one-time "Auth" would be refused on its second use; the .ASPXAUTH value keeps working.
    for _ in range(3):
        assert (await whoami(client, outcome.token))["username"] == "pw@example.com"


async def test_email_code_after_the_password(client: TenantClient, sim: Sim) -> None:
    started = only(await client.start("email@example.com"))
    outcome, ctx = await client.answer(
        started.context, started.package.challenges[0].mechanisms[0].id, PASSWORD
    )
    assert outcome == NextChallenge()
    email = mechanism_named(started.package, 1, "EMAIL")
    assert email.kind == "text_oob"
    assert email.label == "Email... e***@example.com"

    outcome, ctx = await client.start_oob(ctx, email.id)
    assert outcome == Pending(number=None)
    outcome, ctx = await client.answer(ctx, email.id, sim.code("email@example.com"))
    assert isinstance(outcome, LoggedIn)


async def test_email_link_by_polling(client: TenantClient, sim: Sim) -> None:
    started = only(await client.start("email@example.com"))
    _, ctx = await client.answer(started.context, started.package.challenges[0].mechanisms[0].id, PASSWORD)
    email = mechanism_named(started.package, 1, "EMAIL")
    _, ctx = await client.start_oob(ctx, email.id)
    outcome, ctx = await client.poll(ctx, email.id)
    assert outcome == Pending(number=None)
    sim.approve("email@example.com")
    outcome, ctx = await client.poll(ctx, email.id)
    assert isinstance(outcome, LoggedIn)


async def test_sms_code(client: TenantClient, sim: Sim) -> None:
    started = only(await client.start("sms@example.com"))
    _, ctx = await client.answer(started.context, started.package.challenges[0].mechanisms[0].id, PASSWORD)
    sms = mechanism_named(started.package, 1, "SMS")
    assert sms.kind == "text_oob"
    _, ctx = await client.start_oob(ctx, sms.id)
    outcome, _ = await client.answer(ctx, sms.id, sim.code("sms@example.com"))
    assert isinstance(outcome, LoggedIn)


async def test_oath_before_the_password(client: TenantClient, sim: Sim) -> None:
    started = only(await client.start("oath@example.com"))
    oath = mechanism_named(started.package, 0, "OATH")
    up = mechanism_named(started.package, 1, "UP")
    assert oath.kind == "text_oob"

    outcome, ctx = await client.start_oob(started.context, oath.id)
    assert outcome == Pending(number=None)
    outcome, ctx = await client.answer(ctx, oath.id, sim.totp("oath@example.com"))
    assert outcome == NextChallenge()
    outcome, _ = await client.answer(ctx, up.id, PASSWORD)
    assert isinstance(outcome, LoggedIn)


async def test_push_with_number_matching(client: TenantClient, sim: Sim) -> None:
    started = only(await client.start("push@example.com"))
    _, ctx = await client.answer(started.context, started.package.challenges[0].mechanisms[0].id, PASSWORD)
    push = mechanism_named(started.package, 1, "OTP")
    assert push.kind == "text_oob"

    outcome, ctx = await client.start_oob(ctx, push.id)
    assert isinstance(outcome, Pending)
    assert outcome.number is not None and outcome.number.isdigit()
    outcome, ctx = await client.poll(ctx, push.id)
    assert isinstance(outcome, Pending)
    sim.approve("push@example.com")
    outcome, _ = await client.poll(ctx, push.id)
    assert isinstance(outcome, LoggedIn)


async def test_phone_call_is_started_then_polled(client: TenantClient, sim: Sim) -> None:
    started = only(await client.start("pf@example.com"))
    _, ctx = await client.answer(started.context, started.package.challenges[0].mechanisms[0].id, PASSWORD)
    pf = mechanism_named(started.package, 1, "PF")
    assert pf.kind == "oob"
    outcome, ctx = await client.start_oob(ctx, pf.id)
    assert outcome == Pending(number=None)
    sim.approve("pf@example.com")
    outcome, _ = await client.poll(ctx, pf.id)
    assert isinstance(outcome, LoggedIn)


async def test_qr_is_only_polled(client: TenantClient, sim: Sim) -> None:
    started = only(await client.start("qr@example.com"))
    qr = mechanism_named(started.package, 0, "QR")
    assert qr.kind == "oob"
    outcome, ctx = await client.poll(started.context, qr.id)
    assert outcome == Pending(number=None)
    sim.approve("qr@example.com")
    outcome, _ = await client.poll(ctx, qr.id)
    assert isinstance(outcome, LoggedIn)


async def test_single_security_question(client: TenantClient, sim: Sim) -> None:
    started = only(await client.start("sq@example.com"))
    _, ctx = await client.answer(started.context, started.package.challenges[0].mechanisms[0].id, PASSWORD)
    sq = mechanism_named(started.package, 1, "SQ")
    assert (sq.kind, sq.prompt, sq.questions) == ("text", "First pet?", None)
    outcome, _ = await client.answer(ctx, sq.id, "Rex")
    assert isinstance(outcome, LoggedIn)


async def test_multipart_security_questions(client: TenantClient, sim: Sim) -> None:
    started = only(await client.start("sqmulti@example.com"))
    _, ctx = await client.answer(started.context, started.package.challenges[0].mechanisms[0].id, PASSWORD)
    sq = mechanism_named(started.package, 1, "SQ")
    assert sq.questions == (Question(id="q-pet", text="First pet?"), Question(id="q-town", text="Home town?"))
    outcome, _ = await client.answer(ctx, sq.id, {"q-pet": "Rex", "q-town": "Ghent"})
    assert isinstance(outcome, LoggedIn)


async def test_a_second_challenge_with_several_mechanisms(client: TenantClient, sim: Sim) -> None:
    started = only(await client.start("multi@example.com"))
    kinds = {m.name: (m.kind, m.label) for m in started.package.challenges[1].mechanisms}
    assert kinds == {
        "EMAIL": ("text_oob", "Email... m***@example.com"),
        "SMS": ("text_oob", "SMS"),  # PromptSelectMech left out: the label falls back to the Name
        "OATH": ("text", "OATH OTP Client"),  # AnswerType Text, answered without StartOOB
        "PF": ("oob", "Phone call... XXX-XXX-1234"),
    }
    _, ctx = await client.answer(started.context, started.package.challenges[0].mechanisms[0].id, PASSWORD)
    oath = mechanism_named(started.package, 1, "OATH")
    outcome, _ = await client.answer(ctx, oath.id, sim.totp("multi@example.com"))
    assert isinstance(outcome, LoggedIn)


async def test_a_forced_reset_brings_a_new_package(client: TenantClient, sim: Sim) -> None:
    started = only(await client.start("reset@example.com"))
    outcome, ctx = await client.answer(
        started.context, started.package.challenges[0].mechanisms[0].id, PASSWORD
    )
    assert isinstance(outcome, NewPackage)
    reset = mechanism_named(outcome.package, 0, "RESET")
    assert reset.kind == "text"
    outcome, _ = await client.answer(ctx, reset.id, "A-new-password-2")
    assert isinstance(outcome, LoggedIn)
    # The new password is the one that works now.
    again = only(await client.start("reset@example.com"))
    outcome, _ = await client.answer(
        again.context, again.package.challenges[0].mechanisms[0].id, "A-new-password-2"
    )
    assert isinstance(outcome, LoggedIn)


async def test_a_federated_user_is_sent_to_the_idp(client: TenantClient, sim: Sim) -> None:
    started = await client.start("fed@example.com")
    assert isinstance(started, FederatedRedirect)
    assert started.url.startswith(sim.url("a") + "/u/") and started.pin is False


async def test_an_unknown_user_gets_a_package_and_fails_at_the_answer(client: TenantClient) -> None:
    started = only(await client.start("nobody@example.com"))
    (up,) = started.package.challenges[0].mechanisms
    assert up.name == "UP"
    with pytest.raises(LoginFailed):
        await client.answer(started.context, up.id, PASSWORD)


async def test_a_wrong_answer_is_login_failed_without_the_tenant_message(client: TenantClient) -> None:
    started = only(await client.start("pw@example.com"))
    with pytest.raises(LoginFailed) as caught:
        await client.answer(started.context, started.package.challenges[0].mechanisms[0].id, "wrong")
    assert "Authentication (login or challenge) has failed" not in str(caught.value)
    assert "wrong" not in str(caught.value)


async def test_an_empty_username_is_login_failed(client: TenantClient) -> None:
    with pytest.raises(LoginFailed):
        await client.start("")


async def test_soft_lockout_is_rate_limited_with_the_tenants_wait(client: TenantClient, sim: Sim) -> None:
    sim.config(lockout_threshold=3, lockout_seconds=90)
    for _ in range(3):
        started = only(await client.start("pw@example.com"))
        with pytest.raises(LoginFailed):
            await client.answer(started.context, started.package.challenges[0].mechanisms[0].id, "wrong")
    with pytest.raises(TenantRateLimited) as caught:
        await client.start("pw@example.com")
    assert 85 <= caught.value.retry_after <= 90
    # Once the wait is over the user can log in again.
    sim.control.post("/_sim/clock/advance", json={"seconds": 91})
    started = only(await client.start("pw@example.com"))
    outcome, _ = await client.answer(
        started.context, started.package.challenges[0].mechanisms[0].id, PASSWORD
    )
    assert isinstance(outcome, LoggedIn)


async def test_a_denied_push_is_login_failed(client: TenantClient, sim: Sim) -> None:
    started = only(await client.start("push@example.com"))
    _, ctx = await client.answer(started.context, started.package.challenges[0].mechanisms[0].id, PASSWORD)
    push = mechanism_named(started.package, 1, "OTP")
    _, ctx = await client.start_oob(ctx, push.id)
    sim.control.post("/_sim/oob/push@example.com/deny")
    with pytest.raises(LoginFailed):
        await client.poll(ctx, push.id)


async def test_cleanup_ends_the_tenant_session(client: TenantClient, sim: Sim) -> None:
    started = only(await client.start("pw@example.com"))
    assert await client.cleanup(started.context) is True
    with pytest.raises(LoginFailed):
        await client.answer(started.context, started.package.challenges[0].mechanisms[0].id, PASSWORD)
    (call,) = sim.calls("/Security/CleanupAuthentication")
    assert call["json"]["SessionId"] == started.context.session_id


async def test_a_stored_context_continues_the_login(client: TenantClient, sim: Sim) -> None:
    from app.identity.models import LoginContext, Package

    started = only(await client.start("email@example.com"))
    stored = {"context": started.context.to_dict(), "package": started.package.to_dict()}
    ctx, package = LoginContext.from_dict(stored["context"]), Package.from_dict(stored["package"])
    _, ctx = await client.answer(ctx, package.challenges[0].mechanisms[0].id, PASSWORD)
    email = mechanism_named(package, 1, "EMAIL")
    _, ctx = await client.start_oob(LoginContext.from_dict(ctx.to_dict()), email.id)
    outcome, _ = await client.answer(ctx, email.id, sim.code("email@example.com"))
    assert isinstance(outcome, LoggedIn)
