"""The decode-free media relay: encoded frames in from publishers, the same frames out to subscribers."""
