"""Every private part of aiortc, aioice, pylibsrtp and asyncio that the relay reaches into, checked in one place.

The relay forwards RTP without decoding it, so it lives inside aiortc's peer connection: it replaces the
receiver's jitter buffer and decoder queue, writes the sender's report counters, sends its own SRTP through the
DTLS transport's session and reads UDP sockets in batches. None of that is aiortc's public API, so a new release can
move any of it. ``pyproject.toml`` bounds these packages to the tested versions; this module is the second line: at
import it looks for every name the relay uses and, if any is gone, stops with one message that lists them all,
instead of an ``AttributeError`` in the middle of a meeting.

A *field* is checked by finding its name among the names the class's own code reads or writes (a field that no
method touches any more is gone); a *method* by looking it up.
"""

from __future__ import annotations

import asyncio
import types
from collections.abc import Iterator
from dataclasses import dataclass
from importlib.metadata import PackageNotFoundError, version
from typing import Any

import aioice
import aiortc.rtcrtpreceiver
from aiortc import RTCDtlsTransport, RTCIceTransport, RTCRtpReceiver, RTCRtpSender, RTCRtpTransceiver
from aiortc.rtcdtlstransport import RtpRouter
from pylibsrtp import Session
from pylibsrtp._binding import ffi, lib

TESTED = {"aiortc": "1.16", "aioice": "0.13", "pylibsrtp": "1.0", "av": "18"}
"""The versions this relay was tested with (``pyproject.toml`` and ``constraints.txt`` say the same)."""


class MediaStackMismatch(ImportError):
    """The installed aiortc/aioice/pylibsrtp (or Python's asyncio) no longer has what the relay uses."""


@dataclass(frozen=True)
class Need:
    owner: Any
    name: str
    field: bool = True  # a field: looked for in the owner's code; otherwise an attribute looked up
    used_in: str | None = None  # the owner's method that must use the name (the relay relies on that call)

    def met(self) -> bool:
        if self.used_in is not None:
            return self.name in set(_code_names(getattr(self.owner, self.used_in).__code__))
        if not self.field:
            return hasattr(self.owner, self.name)
        return self.name in _names_used_by(self.owner)

    def __str__(self) -> str:
        owner = getattr(self.owner, "__qualname__", None) or self.owner.__name__
        where = f" (used by {self.used_in})" if self.used_in else ""
        return f"{owner}.{self.name}{where}"


def _sender_field(name: str) -> Need:
    return Need(RTCRtpSender, "_RTCRtpSender__" + name)


def _receiver_field(name: str) -> Need:
    return Need(RTCRtpReceiver, "_RTCRtpReceiver__" + name)


def _needs() -> list[Need]:
    selector_events: Any = asyncio.selector_events
    sender_counters = ["ntp_timestamp", "rtp_timestamp", "packet_count", "octet_count", "lsr", "lsr_time", "cname",
                       "rtcp_started", "rtcp_exited"]  # fmt: skip
    return [
        # outlet.py: the sender whose reports, retransmissions and key frames the relay takes over
        *(_sender_field(name) for name in sender_counters),
        Need(RTCRtpSender, "_ssrc"),
        Need(RTCRtpSender, "_rtx_ssrc"),
        Need(RTCRtpSender, "_retransmit", field=False),
        Need(RTCRtpSender, "_send_rtcp", field=False),
        Need(RTCRtpSender, "_send_keyframe", field=False),
        Need(RTCRtpSender, "_retransmit", used_in="_handle_rtcp_packet"),  # a NACK reaches the outlet
        Need(RTCRtpSender, "_run_rtcp", used_in="send"),
        Need(RtpRouter, "senders", used_in="register_sender"),
        Need(RTCDtlsTransport, "_state"),
        Need(RTCDtlsTransport, "_tx_srtp"),
        Need(RTCDtlsTransport, "_rtp_router"),
        Need(RTCIceTransport, "_connection"),
        Need(aioice.Connection, "_nominated"),
        Need(aioice.Connection, "_protocols"),
        # consent.py: the consent checks it replaces (connect starts them), and what its own use
        Need(aioice.Connection, "query_consent", used_in="connect"),
        Need(aioice.Connection, "_query_consent_task"),
        Need(aioice.Connection, "build_request", field=False),
        Need(aioice.Connection, "remote_password"),
        # tap.py and relay.py: the receiver whose jitter buffer and decoder queue the relay replaces
        _receiver_field("decoder_queue"),
        _receiver_field("jitter_buffer"),
        _receiver_field("remote_streams"),
        Need(RTCRtpReceiver, "_send_rtcp_pli", field=False),
        Need(aiortc.rtcrtpreceiver, "StreamStatistics", field=False),
        Need(aiortc.rtcrtpreceiver, "RemoteBitrateEstimator", field=False),
        # peer.py: the negotiated codecs and header extensions of a transceiver
        Need(RTCRtpTransceiver, "_codecs"),
        Need(RTCRtpTransceiver, "_headerExtensions"),
        # srtp.py: pylibsrtp's session pointer
        Need(Session, "_srtp"),
        Need(lib, "srtp_protect", field=False),
        # sockets.py: asyncio's UDP transport, whose reader the relay replaces by a batch reader
        *(
            Need(selector_events._SelectorDatagramTransport, name, used_in="_read_ready")
            for name in ("_conn_lost", "_sock", "_protocol", "recvfrom", "datagram_received", "error_received")
        ),
        Need(selector_events._SelectorTransport, "_sock", used_in="__init__"),
        Need(selector_events._SelectorTransport, "_sock_fd", used_in="__init__"),
        Need(selector_events._SelectorTransport, "_loop"),
        Need(selector_events.BaseSelectorEventLoop, "_add_reader", field=False),
        Need(selector_events.BaseSelectorEventLoop, "_remove_reader", field=False),
    ]


def _names_used_by(owner: Any) -> set[str]:
    names: set[str] = set()
    for value in vars(owner).values():
        function = getattr(value, "__func__", value)
        if isinstance(function, property):
            function = function.fget
        code = getattr(function, "__code__", None)
        if code is not None:
            names.update(_code_names(code))
    return names


def _code_names(code: types.CodeType) -> Iterator[str]:
    yield from code.co_names
    for constant in code.co_consts:
        if isinstance(constant, types.CodeType):
            yield from _code_names(constant)


def _installed() -> str:
    found = []
    for package in TESTED:
        try:
            found.append(f"{package} {version(package)}")
        except PackageNotFoundError:
            found.append(f"{package} (not installed)")
    return ", ".join(found)


def check_media_stack() -> None:
    """Raise :class:`MediaStackMismatch`, naming everything missing, if the relay cannot run on what is installed."""
    missing = [str(need) for need in _needs() if not need.met()]
    if len(ffi.typeof(lib.srtp_protect).args) != 3:
        missing.append("pylibsrtp srtp_protect(context, buffer, length)")
    if missing:
        tested = ", ".join(f"{package} {release}" for package, release in TESTED.items())
        raise MediaStackMismatch(
            f"the media relay was tested with {tested}; installed: {_installed()}. These are gone: "
            f"{', '.join(missing)}. Install the tested versions (pip install -c constraints.txt .)"
        )
