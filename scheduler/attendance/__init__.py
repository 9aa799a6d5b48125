"""Attendance: an append-only event log per meeting and the report built from it."""
