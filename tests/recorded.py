"""A recording's files made without a meeting: real WebM tracks from pre-encoded clips, and their manifest."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from conference.recording.files import TrackFile
from conference.recording.manifest import Manifest, TrackEntry
from web.bench.clips import Clip, audio_clip, video_clip


def synthetic_session(directory: Path, seconds: float, *, meeting_id: str = "m1",
                      started_at: datetime | None = None) -> Manifest:  # fmt: skip
    """The chair's audio and video for ``seconds``, written as the recorder writes them."""
    clips: dict[str, Clip] = {"video": video_clip(width=640, height=480, seconds=4), "audio": audio_clip()}
    entries = []
    for kind, clip in clips.items():
        track = TrackFile(directory / f"laocai-chair-{kind}.webm", kind)
        for index in range(int(seconds / clip.frame_seconds)):
            track.write(clip.looped(index), round(index * clip.frame_seconds * 1000))
        track.close()
        whole = ((0, int(seconds * 1000)),)
        entries.append(TrackEntry(track.path.name, "laocai", "Nguyễn Văn Hải", "chair", kind, whole,
                                  track.duration_seconds, track.path.stat().st_size, 0))  # fmt: skip
    manifest = Manifest(meeting_id, directory.name, started_at or datetime.now(UTC), int(seconds * 1000),
                        tuple(entries))  # fmt: skip
    manifest.save(directory)
    return manifest
