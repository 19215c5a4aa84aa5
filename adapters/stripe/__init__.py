"""Stripe Checkout adapter: create sessions, verify and parse webhooks, list sessions."""

from adapters.stripe.checkout import StripeCheckout

__all__ = ["StripeCheckout"]
