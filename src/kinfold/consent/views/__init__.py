"""Consent pages, one module per noun, under /families/<id>/…: ``directives`` (her consents: list, capture,
versions, revocation), ``court_orders``, ``emergencies``, ``restrictions`` and ``accounting``."""
