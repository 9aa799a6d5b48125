"""Protecting a subscriber's packets with its SRTP session by calling libsrtp directly.

pylibsrtp's ``Session.protect`` checks its argument, allocates a length cell, and copies the packet in and out in
Python on every call. The relay calls it once per packet per subscriber (160 times for each of the chair's packets),
and that wrapper cost more than the encryption itself. A ``Protector`` keeps its own buffer and length cell and
copies the header and the payload into the buffer separately, so a packet is never assembled in Python first.

It uses pylibsrtp's compiled binding (``pylibsrtp._binding``) and its session pointer, checked at import so that
an upgrade that changes them fails loudly.
"""

from __future__ import annotations

from pylibsrtp import Session
from pylibsrtp._binding import ffi, lib

BUFFER_BYTES = 1500
LONGEST_PACKET = BUFFER_BYTES - 144  # libsrtp may append an authentication tag and an MKI (SRTP_MAX_TRAILER_LEN)
_OK = lib.srtp_err_status_ok


class Protector:
    """Protects packets with one SRTP session (one subscriber's outbound keys)."""

    def __init__(self, session: Session) -> None:
        self._session = session  # owns the C context below: it must outlive us
        self._context = session._srtp[0]
        self._cdata = ffi.new("char[]", BUFFER_BYTES)
        self._buffer = ffi.buffer(self._cdata)
        self._length = ffi.new("int *")

    def protect(self, header: bytes, payload: bytes) -> bytes | None:
        """The protected packet, or None when libsrtp refuses it: a sequence number it has protected before (a
        duplicate from the publisher, or a packet too late to matter), or a packet too long."""
        middle = len(header)
        end = middle + len(payload)
        if end > LONGEST_PACKET:
            return None
        buffer = self._buffer
        buffer[0:middle] = header
        buffer[middle:end] = payload
        self._length[0] = end
        if lib.srtp_protect(self._context, self._cdata, self._length) != _OK:
            return None
        protected: bytes = buffer[0 : self._length[0]]
        return protected
