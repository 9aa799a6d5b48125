"""Meetings: planning, recurrence, state; the live side reports live/ended."""
