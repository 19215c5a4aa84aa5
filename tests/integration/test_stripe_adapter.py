"""The Stripe adapter with the real `stripe` client against the loopback `FakeStripe`."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import AsyncIterator

import pytest

from adapters.stripe import StripeCheckout
from core.domain.payments import (
    ChargeRefunded,
    CheckoutClosed,
    CheckoutPaid,
    CheckoutPending,
    CheckoutRequest,
    DisputeOpened,
    IgnoredEvent,
)
from core.errors import (
    InternalError,
    InvalidWebhook,
    OperationFailed,
    PaymentsNotConfigured,
)
from tests.fakes.stripe_fake import (
    FakeStripe,
    async_payment_failed_event,
    async_payment_succeeded_event,
    charge_refunded_event,
    checkout_completed_event,
    checkout_session_object,
    dispute_created_event,
    encode_event,
    make_event,
    session_expired_event,
    sign_payload,
)

SECRET = "whsec_test_fake"


@pytest.fixture
async def fake() -> AsyncIterator[FakeStripe]:
    async with FakeStripe(webhook_secret=SECRET) as server:
        yield server


@pytest.fixture
async def checkout(fake: FakeStripe) -> AsyncIterator[StripeCheckout]:
    adapter = StripeCheckout(fake.api_key, SECRET, fake.base_url, max_network_retries=0)
    yield adapter
    await adapter.aclose()


def a_request(order_id: str = "ord_1", **changes: object) -> CheckoutRequest:
    fields: dict[str, object] = dict(
        order_id=order_id,
        pack_id="popular",
        pack_name="Popular",
        credits=400,
        amount_cents=1500,
        currency="USD",
        success_url="https://bot.example/paid?session_id={CHECKOUT_SESSION_ID}",
        cancel_url="https://bot.example/cancel",
        expires_at_unix=int(time.time()) + 3600,
        customer_ref="tg:42",
    )
    fields.update(changes)
    return CheckoutRequest(**fields)  # type: ignore[arg-type]


# --- create_checkout --------------------------------------------------------------------------


async def test_create_checkout_sends_the_pack_price_and_order_id_everywhere(
    fake: FakeStripe, checkout: StripeCheckout
) -> None:
    req = a_request("ord_1")

    session = await checkout.create_checkout(req)

    [sent] = fake.requests_to("POST", "/v1/checkout/sessions")
    assert sent.form == {
        "mode": "payment",
        "line_items[0][price_data][currency]": "usd",
        "line_items[0][price_data][unit_amount]": "1500",
        "line_items[0][price_data][product_data][name]": "Popular pack: 400 credits",
        "line_items[0][quantity]": "1",
        "client_reference_id": "ord_1",
        "metadata[order_id]": "ord_1",
        "metadata[pack_id]": "popular",
        "metadata[customer_ref]": "tg:42",
        "payment_intent_data[metadata][order_id]": "ord_1",
        "payment_intent_data[metadata][pack_id]": "popular",
        "payment_intent_data[metadata][customer_ref]": "tg:42",
        "success_url": "https://bot.example/paid?session_id={CHECKOUT_SESSION_ID}",
        "cancel_url": "https://bot.example/cancel",
        "expires_at": str(req.expires_at_unix),
    }
    assert sent.idempotency_key == "checkout:ord_1"
    assert sent.headers["authorization"] == f"Bearer {fake.api_key}"
    assert session.session_id.startswith("cs_test_")
    assert session.url == f"{fake.base_url}/c/pay/{session.session_id}"
    assert session.order_id == "ord_1"
    assert fake.sessions[session.session_id]["amount_total"] == 1500


async def test_the_same_order_twice_gets_the_same_session(fake: FakeStripe, checkout: StripeCheckout) -> None:
    req = a_request("ord_twice")

    first = await checkout.create_checkout(req)
    second = await checkout.create_checkout(req)

    assert second == first
    assert len(fake.sessions) == 1
    keys = [r.idempotency_key for r in fake.requests_to("POST", "/v1/checkout/sessions")]
    assert keys == ["checkout:ord_twice", "checkout:ord_twice"]


async def test_different_orders_get_different_sessions(fake: FakeStripe, checkout: StripeCheckout) -> None:
    one = await checkout.create_checkout(a_request("ord_a"))
    two = await checkout.create_checkout(a_request("ord_b"))

    assert one.session_id != two.session_id
    assert len(fake.sessions) == 2


async def test_reusing_an_order_id_with_another_price_is_a_system_error(
    checkout: StripeCheckout,
) -> None:
    await checkout.create_checkout(a_request("ord_x", amount_cents=1500))

    with pytest.raises(InternalError) as caught:
        await checkout.create_checkout(a_request("ord_x", amount_cents=3500))
    assert caught.value.reason == "stripe_idempotency_conflict"


async def test_a_success_url_without_the_placeholder_gets_one(fake: FakeStripe, checkout: StripeCheckout) -> None:
    await checkout.create_checkout(a_request(success_url="https://bot.example/paid?lang=en"))

    [sent] = fake.requests_to("POST", "/v1/checkout/sessions")
    assert sent.form["success_url"] == ("https://bot.example/paid?lang=en&session_id={CHECKOUT_SESSION_ID}")


async def test_no_expiry_and_no_customer_ref_are_left_out(fake: FakeStripe, checkout: StripeCheckout) -> None:
    await checkout.create_checkout(a_request(expires_at_unix=None, customer_ref=""))

    [sent] = fake.requests_to("POST", "/v1/checkout/sessions")
    assert "expires_at" not in sent.form
    assert "metadata[customer_ref]" not in sent.form
    assert sent.params["metadata"] == {"order_id": "ord_1", "pack_id": "popular"}


async def test_without_a_secret_key_payments_are_not_configured_and_nothing_is_sent(
    fake: FakeStripe,
) -> None:
    adapter = StripeCheckout(None, SECRET, fake.base_url, max_network_retries=0)
    try:
        assert not adapter.configured
        with pytest.raises(PaymentsNotConfigured):
            await adapter.create_checkout(a_request())
        with pytest.raises(PaymentsNotConfigured):
            await adapter.list_recent_sessions(0)
    finally:
        await adapter.aclose()
    assert fake.requests == []


async def test_a_key_stripe_refuses_means_payments_are_not_configured(
    fake: FakeStripe,
) -> None:
    adapter = StripeCheckout("sk_test_revoked", SECRET, fake.base_url, max_network_retries=0)
    try:
        with pytest.raises(PaymentsNotConfigured):
            await adapter.create_checkout(a_request())
    finally:
        await adapter.aclose()
    assert len(fake.requests) == 1


async def test_keys_and_secrets_never_reach_the_logs(fake: FakeStripe, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    adapter = StripeCheckout("sk_test_revoked", SECRET, fake.base_url, max_network_retries=0)
    try:
        with pytest.raises(PaymentsNotConfigured):
            await adapter.create_checkout(a_request())
        with pytest.raises(InvalidWebhook):
            adapter.parse_webhook(b"{}", "t=1,v1=00")
    finally:
        await adapter.aclose()

    assert caplog.records  # the failures were logged...
    assert "sk_test_revoked" not in caplog.text  # ...without the key
    assert SECRET not in caplog.text


async def test_a_test_can_wait_for_the_fake_to_see_a_request(fake: FakeStripe, checkout: StripeCheckout) -> None:
    task = asyncio.create_task(checkout.create_checkout(a_request("ord_wait")))

    await fake.wait_for(lambda f: bool(f.requests_to("POST", "/v1/checkout/sessions")))

    assert (await task).order_id == "ord_wait"
    with pytest.raises(TimeoutError):
        await fake.wait_for(lambda f: len(f.requests) > 1, within=0.05)


async def test_a_stripe_outage_is_an_operation_failure(fake: FakeStripe, checkout: StripeCheckout) -> None:
    fake.fail_next(503)

    with pytest.raises(OperationFailed) as caught:
        await checkout.create_checkout(a_request())
    assert caught.value.reason == "payment_provider_unavailable"
    assert fake.sessions == {}


async def test_an_unreachable_stripe_is_an_operation_failure() -> None:
    # Nothing listens on a fake that has been stopped.
    server = await FakeStripe().start()
    base = server.base_url
    await server.stop()
    adapter = StripeCheckout("sk_test_fake", SECRET, base, max_network_retries=0)
    try:
        with pytest.raises(OperationFailed):
            await adapter.create_checkout(a_request())
    finally:
        await adapter.aclose()


async def test_a_server_error_is_retried_with_the_same_idempotency_key(
    fake: FakeStripe,
) -> None:
    adapter = StripeCheckout(fake.api_key, SECRET, fake.base_url, max_network_retries=1)
    fake.fail_next(500)
    try:
        session = await adapter.create_checkout(a_request("ord_retry"))
    finally:
        await adapter.aclose()

    sent = fake.requests_to("POST", "/v1/checkout/sessions")
    assert [r.idempotency_key for r in sent] == ["checkout:ord_retry"] * 2
    assert list(fake.sessions) == [session.session_id]


async def test_a_request_stripe_rejects_is_a_system_error(checkout: StripeCheckout) -> None:
    with pytest.raises(InternalError) as caught:
        await checkout.create_checkout(a_request(amount_cents=10))  # below Stripe's minimum
    assert caught.value.reason == "stripe_invalid_request"


# --- parse_webhook: one test per event we act on ---------------------------------------------


async def paid_session(fake: FakeStripe, checkout: StripeCheckout, order_id: str) -> str:
    session = await checkout.create_checkout(a_request(order_id))
    fake.complete_session(session.session_id, paid=True)
    return session.session_id


async def test_a_paid_checkout_is_checkout_paid(fake: FakeStripe, checkout: StripeCheckout) -> None:
    session = await checkout.create_checkout(a_request("ord_paid"))
    event = fake.complete_session(session.session_id, paid=True)

    parsed = checkout.parse_webhook(*fake.signed(event))

    assert parsed == CheckoutPaid(
        event_id=event["id"],
        session_id=session.session_id,
        order_id="ord_paid",
        amount_total=1500,
        currency="usd",
        payment_intent_id=fake.sessions[session.session_id]["payment_intent"],
    )
    assert parsed.payment_intent_id is not None
    assert parsed.payment_intent_id.startswith("pi_")


async def test_a_delayed_payment_is_pending_then_paid(fake: FakeStripe, checkout: StripeCheckout) -> None:
    session = await checkout.create_checkout(a_request("ord_slow"))

    pending = checkout.parse_webhook(*fake.signed(fake.complete_session(session.session_id, paid=False)))
    succeeded_event = fake.async_payment_succeeded(session.session_id)
    paid = checkout.parse_webhook(*fake.signed(succeeded_event))

    assert pending == CheckoutPending(pending.event_id, session.session_id, "ord_slow")
    assert isinstance(paid, CheckoutPaid)
    assert (paid.event_id, paid.session_id, paid.order_id) == (
        succeeded_event["id"],
        session.session_id,
        "ord_slow",
    )
    assert paid.amount_total == 1500


async def test_a_failed_delayed_payment_closes_the_checkout(fake: FakeStripe, checkout: StripeCheckout) -> None:
    session = await checkout.create_checkout(a_request("ord_fail"))
    fake.complete_session(session.session_id, paid=False)
    event = fake.async_payment_failed(session.session_id)

    parsed = checkout.parse_webhook(*fake.signed(event))

    assert parsed == CheckoutClosed(event["id"], session.session_id, "ord_fail", reason="payment_failed")


async def test_an_expired_session_closes_the_checkout(fake: FakeStripe, checkout: StripeCheckout) -> None:
    session = await checkout.create_checkout(a_request("ord_late"))
    event = fake.expire_session(session.session_id)

    parsed = checkout.parse_webhook(*fake.signed(event))

    assert parsed == CheckoutClosed(event["id"], session.session_id, "ord_late", reason="expired")


async def test_refunds_carry_the_payment_intent_and_the_cumulative_amount(
    fake: FakeStripe, checkout: StripeCheckout
) -> None:
    session_id = (await checkout.create_checkout(a_request("ord_refund"))).session_id
    paid = checkout.parse_webhook(*fake.signed(fake.complete_session(session_id)))

    first = checkout.parse_webhook(*fake.signed(fake.refund(session_id, 500)))
    second = checkout.parse_webhook(*fake.signed(fake.refund(session_id)))

    [charge_id] = fake.charges
    assert isinstance(paid, CheckoutPaid)
    assert isinstance(first, ChargeRefunded) and isinstance(second, ChargeRefunded)
    # The payment intent links the refund to the purchase without any network call.
    assert (first.charge_id, first.payment_intent_id) == (charge_id, paid.payment_intent_id)
    assert first.order_id is None  # the fake's charges carry no metadata by default
    assert (first.amount, first.amount_refunded) == (1500, 500)
    assert (second.amount, second.amount_refunded) == (1500, 1500)
    assert first.event_id != second.event_id
    resolved = await checkout.resolve_order_id(first)
    assert isinstance(resolved, ChargeRefunded) and resolved.order_id == "ord_refund"


async def test_a_charge_carrying_the_order_metadata_gives_the_order_id_directly(
    fake: FakeStripe, checkout: StripeCheckout
) -> None:
    fake.copy_metadata_to_charges = True
    session_id = await paid_session(fake, checkout, "ord_meta_charge")

    parsed = checkout.parse_webhook(*fake.signed(fake.refund(session_id)))

    assert isinstance(parsed, ChargeRefunded) and parsed.order_id == "ord_meta_charge"
    assert await checkout.resolve_order_id(parsed) == parsed
    assert not fake.requests_to("GET", f"/v1/payment_intents/{parsed.payment_intent_id}")


async def test_a_dispute_is_parsed_and_its_order_found_through_the_payment_intent(
    fake: FakeStripe, checkout: StripeCheckout
) -> None:
    session_id = await paid_session(fake, checkout, "ord_dispute")
    event = fake.dispute(session_id)

    parsed = checkout.parse_webhook(*fake.signed(event))
    resolved = await checkout.resolve_order_id(parsed)

    pi_id = fake.sessions[session_id]["payment_intent"]
    assert parsed == DisputeOpened(
        event_id=event["id"],
        dispute_id=event["data"]["object"]["id"],
        charge_id=event["data"]["object"]["charge"],
        payment_intent_id=pi_id,
        order_id=None,  # Stripe's dispute does not carry the charge's metadata
        amount=1500,
    )
    assert isinstance(resolved, DisputeOpened) and resolved.order_id == "ord_dispute"
    assert fake.requests_to("GET", f"/v1/payment_intents/{pi_id}")


async def test_resolving_needs_no_call_when_the_order_id_is_known_or_the_intent_unknown(
    fake: FakeStripe, checkout: StripeCheckout
) -> None:
    known = checkout.parse_webhook(*fake.signed(charge_refunded_event("ord_k", with_metadata=True)))
    unknown = checkout.parse_webhook(*fake.signed(dispute_created_event("ord_u")))

    assert await checkout.resolve_order_id(known) == known
    assert await checkout.resolve_order_id(unknown) == unknown  # 404 from Stripe: unchanged
    assert [r.path for r in fake.requests] == [
        f"/v1/payment_intents/{unknown.payment_intent_id}"  # type: ignore[union-attr]
    ]


@pytest.mark.parametrize(
    ("event", "expected_type", "order_id"),
    [
        (checkout_completed_event("o1"), CheckoutPaid, "o1"),
        (checkout_completed_event("o2", paid=False), CheckoutPending, "o2"),
        (async_payment_succeeded_event("o3"), CheckoutPaid, "o3"),
        (async_payment_failed_event("o4"), CheckoutClosed, "o4"),
        (session_expired_event("o5"), CheckoutClosed, "o5"),
        (charge_refunded_event("o6", amount_refunded=300), ChargeRefunded, None),
        (charge_refunded_event("o6", with_metadata=True), ChargeRefunded, "o6"),
        (dispute_created_event("o7"), DisputeOpened, None),
        (dispute_created_event("o8", expand_charge=True), DisputeOpened, "o8"),
    ],
    ids=lambda v: v["type"] if isinstance(v, dict) else None,
)
async def test_every_builder_event_verifies_and_maps(
    checkout: StripeCheckout, event: dict, expected_type: type, order_id: str | None
) -> None:
    body = encode_event(event)

    parsed = checkout.parse_webhook(body, sign_payload(body, SECRET))

    assert type(parsed) is expected_type
    assert parsed.event_id == event["id"]
    assert parsed.order_id == order_id  # type: ignore[union-attr]


async def test_the_order_id_falls_back_to_the_session_metadata(checkout: StripeCheckout) -> None:
    session = checkout_session_object(
        order_id=None, metadata={"order_id": "ord_meta"}, status="complete", payment_status="paid"
    )
    body = encode_event(make_event("checkout.session.completed", session))

    parsed = checkout.parse_webhook(body, sign_payload(body, SECRET))

    assert isinstance(parsed, CheckoutPaid) and parsed.order_id == "ord_meta"


async def test_a_session_that_is_not_ours_is_ignored(checkout: StripeCheckout) -> None:
    session = checkout_session_object(order_id=None, status="complete", payment_status="paid")
    event = make_event("checkout.session.completed", session)
    body = encode_event(event)

    parsed = checkout.parse_webhook(body, sign_payload(body, SECRET))

    assert parsed == IgnoredEvent(event["id"], "checkout.session.completed", "no_order_id")


async def test_an_unknown_event_type_is_ignored(checkout: StripeCheckout) -> None:
    event = make_event("customer.created", {"id": "cus_1", "object": "customer"})
    body = encode_event(event)

    parsed = checkout.parse_webhook(body, sign_payload(body, SECRET))

    assert parsed == IgnoredEvent(event["id"], "customer.created")


# --- parse_webhook: what it refuses -----------------------------------------------------------


def signed_completed(order_id: str = "ord_sig") -> tuple[bytes, str]:
    body = encode_event(checkout_completed_event(order_id))
    return body, sign_payload(body, SECRET)


def test_a_tampered_body_is_refused(checkout: StripeCheckout) -> None:
    body, header = signed_completed()
    forged = body.replace(b'"amount_total":1500', b'"amount_total":1')
    assert forged != body

    with pytest.raises(InvalidWebhook) as caught:
        checkout.parse_webhook(forged, header)
    assert caught.value.reason == "bad_signature"


def test_a_forged_signature_is_refused(checkout: StripeCheckout) -> None:
    body, _ = signed_completed()
    header = f"t={int(time.time())},v1={'0' * 64}"

    with pytest.raises(InvalidWebhook) as caught:
        checkout.parse_webhook(body, header)
    assert caught.value.reason == "bad_signature"


def test_a_signature_made_with_another_secret_is_refused(checkout: StripeCheckout) -> None:
    body = encode_event(checkout_completed_event("ord_sig"))

    with pytest.raises(InvalidWebhook) as caught:
        checkout.parse_webhook(body, sign_payload(body, "whsec_someone_else"))
    assert caught.value.reason == "bad_signature"


def test_a_ten_minute_old_signature_is_refused(checkout: StripeCheckout) -> None:
    body = encode_event(checkout_completed_event("ord_sig"))
    header = sign_payload(body, SECRET, timestamp=int(time.time()) - 600)

    with pytest.raises(InvalidWebhook) as caught:
        checkout.parse_webhook(body, header)
    assert caught.value.reason == "stale_timestamp"


def test_a_four_minute_old_signature_is_accepted(checkout: StripeCheckout) -> None:
    body = encode_event(checkout_completed_event("ord_sig"))
    header = sign_payload(body, SECRET, timestamp=int(time.time()) - 240)

    assert isinstance(checkout.parse_webhook(body, header), CheckoutPaid)


@pytest.mark.parametrize("body", [b"not json at all", b"[1, 2]", b"\xff\xfe\x00", b"{}"])
def test_a_signed_body_that_is_not_a_json_event_is_refused(checkout: StripeCheckout, body: bytes) -> None:
    with pytest.raises(InvalidWebhook) as caught:
        checkout.parse_webhook(body, sign_payload(body, SECRET))
    assert caught.value.reason in {"malformed_body", "malformed_event"}


def test_a_signed_event_missing_its_object_fields_is_refused(checkout: StripeCheckout) -> None:
    event = checkout_completed_event("ord_sig")
    del event["data"]["object"]["amount_total"]
    body = encode_event(event)

    with pytest.raises(InvalidWebhook) as caught:
        checkout.parse_webhook(body, sign_payload(body, SECRET))
    assert caught.value.reason == "malformed_event"


@pytest.mark.parametrize(
    ("header", "reason"),
    [
        (None, "missing_signature"),
        ("", "missing_signature"),
        ("garbage", "bad_signature"),
        ("t=notanumber,v1=abc", "bad_signature"),
        ("t=123", "bad_signature"),  # no v1 signature at all
    ],
)
def test_a_missing_or_unreadable_header_is_refused(checkout: StripeCheckout, header: str | None, reason: str) -> None:
    body, _ = signed_completed()

    with pytest.raises(InvalidWebhook) as caught:
        checkout.parse_webhook(body, header)
    assert caught.value.reason == reason


def test_without_a_webhook_secret_nothing_is_trusted(fake: FakeStripe) -> None:
    adapter = StripeCheckout(fake.api_key, None, fake.base_url)
    body, header = signed_completed()

    with pytest.raises(PaymentsNotConfigured):
        adapter.parse_webhook(body, header)


# --- listing and reading sessions -------------------------------------------------------------


async def test_list_recent_sessions_follows_every_page_and_skips_older_ones(
    fake: FakeStripe, checkout: StripeCheckout
) -> None:
    cutoff = 1_700_000_000
    for i in range(3):
        fake.seed_session(f"old_{i}", created=cutoff - 10 + i)
    for i in range(230):
        fake.seed_session(f"ord_{i:03d}", created=cutoff + i // 7, paid=i % 3 == 0)
    fake.seed_session(None, created=cutoff + 100)  # a session from another integration

    records = await checkout.list_recent_sessions(cutoff)

    assert len(records) == 231
    orders = [r.order_id for r in records]
    assert None in orders and not any(o and o.startswith("old_") for o in orders)
    assert len({r.session_id for r in records}) == 231
    assert [r.created for r in records] == sorted((r.created for r in records), reverse=True)
    paid = [r for r in records if r.is_paid]
    assert len(paid) == 77
    assert all(r.status == "complete" and r.payment_intent_id for r in paid)
    assert {(r.amount_total, r.currency) for r in records} == {(1500, "usd")}

    pages = fake.requests_to("GET", "/v1/checkout/sessions")
    assert len(pages) == 3
    assert all(p.query["created[gte]"] == str(cutoff) for p in pages)
    assert "starting_after" not in pages[0].query
    assert pages[1].query["starting_after"] == records[99].session_id
    assert pages[2].query["starting_after"] == records[199].session_id


async def test_list_recent_sessions_with_none_returns_an_empty_list(
    checkout: StripeCheckout,
) -> None:
    assert await checkout.list_recent_sessions(int(time.time())) == []


async def test_get_session_reports_its_state(fake: FakeStripe, checkout: StripeCheckout) -> None:
    session_id = await paid_session(fake, checkout, "ord_get")

    record = await checkout.get_session(session_id)

    assert (record.session_id, record.order_id, record.status, record.payment_status) == (
        session_id,
        "ord_get",
        "complete",
        "paid",
    )
    assert record.is_paid
