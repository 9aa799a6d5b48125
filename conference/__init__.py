"""The live meeting: room rules (pure domain) and the decode-free media relay.

Nothing here knows about HTTP or storage; see docs/architecture.md.
"""
