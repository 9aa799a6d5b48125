"""The organisation directory: provinces, districts, commune clusters and communes — the meeting points."""
