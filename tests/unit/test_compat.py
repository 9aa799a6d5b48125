"""The relay's one check of what it reaches into inside aiortc, aioice, pylibsrtp and asyncio."""

import subprocess
import sys

import aiortc
import pytest

from conference.relay.compat import MediaStackMismatch, Need, check_media_stack


def test_the_installed_stack_has_everything_the_relay_uses() -> None:
    check_media_stack()


def test_a_method_that_is_gone_is_named(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delattr(aiortc.RTCRtpSender, "_send_keyframe")
    with pytest.raises(MediaStackMismatch, match=r"RTCRtpSender\._send_keyframe") as raised:
        check_media_stack()
    assert "aiortc 1.16" in str(raised.value) and "constraints.txt" in str(raised.value)


def test_a_field_no_code_touches_any_more_is_gone() -> None:
    assert Need(aiortc.RTCRtpSender, "_ssrc").met()
    assert not Need(aiortc.RTCRtpSender, "_no_such_field").met()
    assert not Need(aiortc.RTCRtpSender, "_no_such_call", used_in="_handle_rtcp_packet").met()


def test_the_command_says_it_in_one_line_without_a_traceback() -> None:
    script = ("import aiortc; del aiortc.RTCRtpSender._send_keyframe\n"
              "from web.launch import main; raise SystemExit(main(['serve']))")  # fmt: skip
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=60)
    assert done.returncode == 2
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("giaoban: cannot start: the media relay was tested with")
    assert "_send_keyframe" in lines[0] and "Traceback" not in done.stderr
