"""The JSON API under /api, declared as ``Endpoint`` tables (see web/endpoints.py)."""
