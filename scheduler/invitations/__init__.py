"""Invitations: join links, e-mails with a calendar entry, reminders."""
