"""Who publishes what, who is subscribed to it, and the counters an operator watches."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Protocol

from aiortc import RTCRtpReceiver

from conference.layout import VIDEO_TRACKS, WIRE_SHARE, Layer, Source
from conference.relay.adapter import Adapter, Voice
from conference.relay.frames import EncodedFrame
from conference.relay.lateness import Lateness
from conference.relay.reports import Reporter
from conference.relay.rtp import ForwardedPacket
from conference.relay.slot import Slot
from conference.relay.sockets import QueueWait
from conference.relay.tap import tell_loss

log = logging.getLogger(__name__)

KEYFRAME_REQUEST_INTERVAL = 1.0  # seconds; a burst of late joiners costs the publisher one keyframe, not one each,
# and a lossy line's requests do not fill every subscriber's line with key frames
SILENT_SECONDS = 2.0  # a size someone receives that sent nothing for this long is not offered (a browser that
# could not make it, an old one that ignores the sizes)
NEVER_SENT_SECONDS = 1.5  # a browser sends every size from the start, or at once when asked
NO_SOURCE_RETRIES, NO_SOURCE_RETRY_SECONDS = 20, 0.25  # a key frame request waits up to 5 s for a stream to appear
QUEUED_TOO_LONG = 0.3  # seconds a packet waited in the kernel's queue: the relay is behind (see sockets.py). Above
# the ~0.1 s a key frame's burst waits while its packets go out to 160 subscribers; below aioice's 0.5 s for a
# consent answer, which waits in the same queue


@dataclass
class RelayStats:
    frames_received: int = 0  # reassembled from publishers (what the recorder gets)
    packets_received: int = 0
    packets_late: int = 0  # from publishers, not forwarded: the relay got to them too late (see Publication.forward)
    keyframe_requests: int = 0  # sent to publishers, after rate limiting
    _slots: set[Slot] = field(default_factory=set)
    _gone_forwarded: int = 0
    _gone_dropped: int = 0

    @property
    def packets_forwarded(self) -> int:
        return self._gone_forwarded + sum(slot.forwarded for slot in self._slots)

    @property
    def packets_dropped(self) -> int:
        """Not sent: a subscriber's socket the kernel would not take more from (or not connected yet)."""
        return self._gone_dropped + sum(slot.dropped for slot in self._slots)

    def count(self, slot: Slot) -> None:
        self._slots.add(slot)

    def forget(self, slot: Slot) -> None:
        if slot in self._slots:
            self._slots.discard(slot)
            self._gone_forwarded += slot.forwarded
            self._gone_dropped += slot.dropped


class FrameSink(Protocol):
    """Anything fed a publication's frames: a browser's slot, or the recorder's file."""

    def push(self, frame: EncodedFrame) -> None: ...


class Publication:
    """One published track: its packets go to subscribers' slots, its reassembled frames to the recorder's files."""

    def __init__(self, key: Source, stats: RelayStats, tasks: set[asyncio.Task[None]]) -> None:
        self.key = key
        self.slots: set[Slot] = set()
        self.sinks: set[FrameSink] = set()
        self.receiver: RTCRtpReceiver | None = None
        self.mime_type = ""
        self.lateness = Lateness(90_000)
        self.queue_wait = QueueWait()  # the publisher's connection's, once it has one
        self.watched = True  # what the publisher was last told: a browser sends everything until told otherwise
        self.wanted = False  # whether anything here receives it (told to ``Relay.wanted``, publisher or not)
        self.kbps = 0  # the most its publisher spends on it (a picture's size), 0 when not said
        self.bytes_received = 0
        self.loss_told = 0.0  # the worst its subscribers' lines lose: what its encoder is told to protect against
        self._last_packet = 0.0
        self._watched_since = time.monotonic()
        self._skipping = False
        self._stats = stats
        self._tasks = tasks
        self._last_request = -KEYFRAME_REQUEST_INTERVAL
        self._pending: asyncio.TimerHandle | None = None
        self._retries = 0  # requests kept while the publisher's stream has not been seen

    def forward(self, packet: Any, mime_type: str) -> None:
        """A publisher's packet (aiortc's ``RtpPacket``): read once, only when some slot will send it."""
        self._stats.packets_received += 1
        now = self._last_packet = time.monotonic()
        self.bytes_received += len(packet.payload) + 12
        if self.lateness.late(packet.timestamp, now) or self.queue_wait.seconds > QUEUED_TOO_LONG:
            self._skip_late()
            return
        self._skipping = False
        if not self.slots:
            return  # most communes' pictures: nobody is looking
        forwarded = ForwardedPacket.read(packet, mime_type)
        key = self.key
        for slot in self.slots:  # a slot that switches to this size leaves the other size's set, not this one
            slot.push(forwarded, key)

    def listeners_loss(self) -> float:
        """The worst loss on its subscribers' lines (what a voice's encoder should protect against)."""
        return max((slot.loss for slot in self.slots), default=0.0)

    def tell(self, loss: float) -> None:
        if self.receiver is not None and abs(loss - self.loss_told) >= 0.005:
            self.loss_told = loss
            tell_loss(self.receiver, loss)

    def silent(self, now: float) -> bool:
        """Watched, and nothing came for a while: its publisher does not send it (a browser whose camera could not
        make that size, a page that publishes fewer sizes). One nobody watches was told to pause: it is assumed to
        come back when asked."""
        if not self.watched:
            return False
        wait = SILENT_SECONDS if self._last_packet else NEVER_SENT_SECONDS
        return now - max(self._last_packet, self._watched_since) > wait

    def note_published(self) -> None:
        self.note_watched(True)
        self._last_packet = 0.0

    def note_watched(self, watched: bool) -> None:
        self.watched = watched
        if watched:
            self._watched_since = time.monotonic()

    def _skip_late(self) -> None:
        """Skip to now: every slot waits for the next picture it can start at (their numbering carries on), and the
        publisher is asked for one."""
        self._stats.packets_late += 1
        if self._skipping:
            return
        self._skipping = True
        for slot in self.slots:
            if slot.source_key == self.key:  # not those still waiting to switch to this size
                slot.restart(slot.source_key)
        if self.mime_type.startswith("video/"):
            self.request_keyframe()

    def deliver(self, frame: EncodedFrame) -> None:
        self._stats.frames_received += 1
        for sink in self.sinks:
            sink.push(frame)

    def request_keyframe(self) -> None:
        """Ask the publisher for a keyframe now, or as soon as the rate limit allows; never drop the request."""
        wait = self._last_request + KEYFRAME_REQUEST_INTERVAL - time.monotonic()
        if wait <= 0:
            self._send_keyframe_request()
        elif self._pending is None:
            self._pending = asyncio.get_running_loop().call_later(wait, self._send_keyframe_request)

    def close(self) -> None:
        if self._pending is not None:
            self._pending.cancel()
            self._pending = None

    def _send_keyframe_request(self) -> None:
        self._pending = None
        self._last_request = time.monotonic()
        receiver = self.receiver
        if receiver is None:
            return  # nobody publishes yet; its first frame will be a keyframe
        sources = receiver.getSynchronizationSources()
        if not sources and self._retries < NO_SOURCE_RETRIES:
            # Its stream has not been seen yet (a node link just carrying it, a browser still connecting): the
            # request has nowhere to go; ask again shortly rather than lose it.
            self._retries += 1
            self._pending = asyncio.get_running_loop().call_later(NO_SOURCE_RETRY_SECONDS, self._send_keyframe_request)
            return
        self._retries = 0
        for source in sources:
            self._stats.keyframe_requests += 1
            task = asyncio.ensure_future(receiver._send_rtcp_pli(source.source))
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)


def _nobody_to_tell(key: Source, watched: bool) -> None:
    pass


class Relay:
    """All publications of one process. Slots subscribe by key, before or after the publisher arrives.

    ``watched`` hears when a publication gains its first subscriber or loses its last (a slot or the recorder): its
    publisher need not send what nobody receives. Of 150 communes' pictures the chair sees twelve and voices are
    heard only from the floor; unsent, the rest cost neither the communes' shared lines nor the relay's CPU."""

    def __init__(self, watched: Callable[[Source, bool], None] = _nobody_to_tell,
                 wanted: Callable[[Source, bool], None] = _nobody_to_tell,
                 held: Callable[[Source, bool], None] = _nobody_to_tell) -> None:  # fmt: skip
        """``wanted`` hears the same as ``watched`` for every publication, one that has no publisher here too:
        a publication of another node is brought over a node link while something here receives it. ``held``
        hears when a picture is first planned for a slot that picks its size by the line, or last (``hold``): such
        a slot can only pick among the sizes that are here, so all of them are brought while it is planned."""
        self.stats = RelayStats()
        self._watched = watched
        self._wanted = wanted
        self._held_callback = held
        self._holds: dict[Source, int] = {}
        self.reports = Reporter()  # the sender reports of every subscriber slot, from one task
        self.links = Adapter(voices=self._voices)  # every subscriber's line judged, probes paced, from one task
        self._publications: dict[Source, Publication] = {}
        self._tasks: set[asyncio.Task[None]] = set()

    def publish(self, key: Source, receiver: RTCRtpReceiver | None, mime_type: str = "", clock_rate: int = 90_000,
                queue_wait: QueueWait | None = None, kbps: int = 0) -> Publication:  # fmt: skip
        """``receiver`` takes keyframe requests; None when the caller delivers frames itself (benchmarks).
        ``queue_wait`` is the publisher's connection's, read for every packet; ``kbps``, a picture's cap."""
        publication = self._publication(key)
        publication.receiver = receiver
        publication.mime_type = mime_type.lower()
        publication.lateness = Lateness(clock_rate)  # a new publisher's clock starts anywhere
        publication.queue_wait = queue_wait or QueueWait()
        publication.kbps = kbps
        publication.note_published()  # a new publisher sends from the start
        self._tell_watched(publication)
        return publication

    def counts(self) -> dict[str, int]:
        """How many of each object the relay holds: a soak test watches these stay flat as people come and go."""
        publications = self._publications.values()
        return {"publications": len(self._publications),
                "slots": sum(len(p.slots) for p in publications),
                "sinks": sum(len(p.sinks) for p in publications),
                "held": len(self._holds), "reported": self.reports.size(), "adapting": self.links.size(),
                "keyframe_tasks": len(self._tasks)}  # fmt: skip

    def ladder(self, connection: str, now: float, tracks: tuple[str, ...] = VIDEO_TRACKS) -> tuple[Layer, ...]:
        """The sizes of ``connection``'s picture (or of what else is named in ``tracks``) a subscriber can be given
        now, smallest first."""
        found = []
        for track in tracks:
            publication = self._publications.get(Source(connection, track))
            if publication is not None and publication.receiver is not None and not publication.silent(now):
                found.append(Layer(track, round(publication.kbps * WIRE_SHARE), 0, 0))
        return tuple(found)

    def publications(self) -> list[Publication]:
        return list(self._publications.values())

    def behind(self) -> float:
        """Seconds the relay is behind on its most delayed flowing publication (0 when it keeps up)."""
        now = time.monotonic()
        return max((p.lateness.behind_at(now) for p in self._publications.values()), default=0.0)

    def unpublish(self, key: Source) -> None:
        publication = self._publications.get(key)
        if publication is not None:
            publication.receiver = None
            self._forget_if_idle(publication)

    def subscribe(self, slot: Slot, key: Source | None) -> None:
        """Feed ``slot`` from ``key`` (nothing when ``None``); the slot starts at the source's next keyframe. Another
        size of the picture the slot is showing replaces it at its first key frame, without a gap."""
        if slot.source_key == key:
            self._drop_pending(slot)
            return
        if key is not None and slot.pending_key == key:
            return
        current = slot.source_key
        if key is not None and current is not None and slot.flowing and key.connection == current.connection:
            self._drop_pending(slot)
            slot.pending_key = key
            publication = self._publication(key)
            publication.slots.add(slot)
            self._tell_watched(publication)
            publication.request_keyframe()
            return
        self.unsubscribe(slot)
        slot.restart(key)
        self.stats.count(slot)
        if key is None:
            return
        publication = self._publication(key)
        if publication.mime_type and publication.mime_type != slot.mime_type:
            log.warning("%s publishes %s; a %s slot cannot carry it", key, publication.mime_type, slot.mime_type)
            return
        publication.slots.add(slot)
        self._tell_watched(publication)
        if slot.kind == "video":
            publication.request_keyframe()

    def unsubscribe(self, slot: Slot) -> None:
        self._drop_pending(slot)
        self._leave(slot, slot.source_key)

    def switched(self, slot: Slot, before: Source | None) -> None:
        """The slot took its new size at a key frame: the size it showed before loses a subscriber."""
        self._leave(slot, before)

    def _drop_pending(self, slot: Slot) -> None:
        pending, slot.pending_key = slot.pending_key, None
        self._leave(slot, pending)

    def _leave(self, slot: Slot, key: Source | None) -> None:
        publication = self._publications.get(key) if key is not None else None
        if publication is not None:
            publication.slots.discard(slot)
            self._tell_watched(publication)
            self._forget_if_idle(publication)

    def close_slot(self, slot: Slot) -> None:
        self.unsubscribe(slot)
        self.stats.forget(slot)

    def request_keyframe(self, slot: Slot) -> None:
        key = slot.pending_key or slot.source_key
        publication = self._publications.get(key) if key is not None else None
        if publication is not None:
            publication.request_keyframe()

    def attach(self, key: Source, sink: FrameSink, *, keyframe: bool) -> None:
        """Feed ``sink`` every frame of ``key`` from now on; ask the publisher for a keyframe if it needs one."""
        publication = self._publication(key)
        publication.sinks.add(sink)
        self._tell_watched(publication)
        if keyframe:
            publication.request_keyframe()

    def detach(self, key: Source, sink: FrameSink) -> None:
        publication = self._publications.get(key)
        if publication is not None:
            publication.sinks.discard(sink)
            self._tell_watched(publication)
            self._forget_if_idle(publication)

    def hold(self, key: Source, held: bool) -> None:
        """A slot that picks a size of ``key``'s picture by its line is planned on it (or no longer is)."""
        count = self._holds.get(key, 0) + (1 if held else -1)
        if count > 0:
            self._holds[key] = count
        else:
            self._holds.pop(key, None)
        if count == (1 if held else 0):
            self._held_callback(key, held)

    def held_here(self, key: Source) -> bool:
        return key in self._holds

    def wanted_here(self, key: Source) -> bool:
        publication = self._publications.get(key)
        return publication is not None and publication.wanted

    def bytes_received(self, key: Source) -> int:
        publication = self._publications.get(key)
        return publication.bytes_received if publication else 0

    def subscriber_count(self, key: Source) -> int:
        publication = self._publications.get(key)
        return len(publication.slots) + len(publication.sinks) if publication else 0

    async def close(self) -> None:
        for publication in self._publications.values():
            publication.close()
        self._publications.clear()
        if self._tasks:
            await asyncio.gather(*self._tasks, return_exceptions=True)
        await self.reports.close()
        await self.links.close()

    def _voices(self) -> list[Voice]:
        return [p for p in self._publications.values() if p.receiver is not None and p.mime_type.startswith("audio/")]

    def _publication(self, key: Source) -> Publication:
        publication = self._publications.get(key)
        if publication is None:
            publication = self._publications[key] = Publication(key, self.stats, self._tasks)
        return publication

    def _tell_watched(self, publication: Publication) -> None:
        watched = bool(publication.slots or publication.sinks)
        if watched != publication.wanted:
            publication.wanted = watched
            self._wanted(publication.key, watched)
        if watched != publication.watched and publication.receiver is not None:  # only a publisher can be told
            publication.note_watched(watched)
            self._watched(publication.key, watched)

    def _forget_if_idle(self, publication: Publication) -> None:
        if publication.receiver is None and not publication.slots and not publication.sinks:
            publication.close()
            self._publications.pop(publication.key, None)
