"""The technical check's line test (stages judged by receiver reports) and its verdict rules."""

from __future__ import annotations

from datetime import datetime

from conference.line_test import HEADROOM, NEEDS_KBPS, STAGE_SECONDS, WARM_UP_SECONDS, LineTest
from scheduler.meetings.model import VIETNAM
from scheduler.readiness import Devices, judge

MEDIA, PADDING = 1111, 2222


def run(carries_kbps: float, random_loss: float = 0.0, rtt_ms: float = 40.0) -> LineTest:
    """A line that carries ``carries_kbps``: what is sent beyond it is lost, and ``random_loss`` of the rest.
    Reports every 0.5 s about both streams, as a browser's about the echoed picture and its padding."""
    test = LineTest(0.0)
    now, sent_bytes, highest, lost = 0.0, 0, 0, 0.0
    test.sent(now, 0)
    for stream in (MEDIA, PADDING):
        test.report_block(now, stream, 0, 0, None)
    while not test.done and now < 30:
        now += 0.5
        rate = test.target_kbps(now) or 100.0
        packets = int(rate * 1000 / 8 * 0.5 / 300)  # 300-byte packets
        sent_bytes += packets * 300
        test.sent(now, sent_bytes)
        share_lost = max(0.0, 1 - carries_kbps / rate) + random_loss * min(1.0, carries_kbps / rate)
        highest += packets // 2
        lost += packets // 2 * share_lost
        for stream in (MEDIA, PADDING):
            test.report_block(now, stream, highest, round(lost), rtt_ms)
    return test


def test_a_fast_line_passes_every_stage_and_says_what_it_carried() -> None:
    result = run(5000).result()
    assert result.level == "full"
    assert [stage.passed for stage in result.stages] == [True, True, True]
    assert [round(stage.target_kbps) for stage in result.stages] == [round(n * HEADROOM) for n in NEEDS_KBPS.values()]
    assert result.carried_kbps > NEEDS_KBPS["full"]
    assert result.rtt_ms == 40.0


def test_random_loss_of_a_radio_line_is_not_a_full_line() -> None:
    assert run(5000, random_loss=0.03).result().level == "full"


def test_a_line_of_150_kbits_carries_audio_only_and_the_test_stops_at_the_stage_it_failed() -> None:
    result = run(150).result()
    assert result.level == "audio"
    assert [stage.level for stage in result.stages] == ["audio", "small"]
    assert not result.stages[-1].passed and (result.stages[-1].loss or 0) > 0.3


def test_a_line_of_600_kbits_carries_the_small_picture() -> None:
    assert run(600).result().level == "small"


def test_a_line_that_carries_nothing_is_none() -> None:
    assert run(20).result().level == "none"


def test_the_test_takes_about_ten_seconds() -> None:
    test = LineTest(0.0)
    assert test.progress(0.0) == 0.0
    full = run(5000)
    assert full.done and full.progress(99) == 1.0
    assert WARM_UP_SECONDS + 3 * STAGE_SECONDS <= 12


AT = datetime(2026, 12, 2, 8, 0, tzinfo=VIETNAM)
WORKING = Devices(camera_fps=25, mic_level=0.3, sound_heard=True)


def test_working_devices_on_a_fast_line_are_ready() -> None:
    check = judge("na-hoi", AT, WORKING, {"level": "full"})
    assert (check.verdict, check.fixes) == ("ready", ())


def test_a_reduced_picture_is_ready_with_a_note() -> None:
    assert judge("na-hoi", AT, WORKING, {"level": "small"}).fixes == ("line_small",)
    assert judge("na-hoi", AT, WORKING, {"level": "small"}).verdict == "ready"


def test_an_audio_only_line_is_audio_only() -> None:
    check = judge("na-hoi", AT, WORKING, {"level": "audio"})
    assert (check.verdict, check.fixes) == ("audio-only", ("line_audio",))


def test_a_silent_microphone_is_a_problem_whatever_the_line() -> None:
    check = judge("na-hoi", AT, Devices(camera_fps=25, mic_level=0.0, sound_heard=True), {"level": "audio"})
    assert check.verdict == "problem"
    assert check.fixes == ("microphone", "line_audio")


def test_no_picture_no_sound_and_no_line_are_each_named() -> None:
    check = judge("na-hoi", AT, Devices(camera_fps=0, mic_level=0.5, sound_heard=False), {"level": "none"})
    assert check.verdict == "problem"
    assert check.fixes == ("camera", "speakers", "line_none")
