"""Outgoing e-mail: a Redis outbox and the SMTP sender that drains it."""
