"""The decode-free media relay: encoded frames in from publishers, the same frames out to subscribers."""

from conference.relay.compat import check_media_stack

check_media_stack()  # before any module of the relay patches or reaches into aiortc
