"""Platform-agnostic core: the credit ledger, pricing, rewards, jobs and payments.

Imports the standard library only; it talks to the outside through the Protocols in
`core.ports` and raises the typed errors in `core.errors`.
"""
