"""The real ``giaoban`` command as an operator runs it: start, stop, restart, accounts, a dying store."""

from __future__ import annotations

import json
import os
import signal
import socket
import time
from pathlib import Path

import pytest

from tests.live import Server, alive, children_of, free_port, get, run, serving, sign_in


def test_an_account_added_offline_still_signs_in_after_restarts_and_sigterm_leaves_no_process(tmp_path: Path) -> None:
    added = run("user", "add", "thuky", "--role", "secretary", "--password-stdin", stdin="mật-khẩu-dài\n",
                data_dir=tmp_path)  # fmt: skip
    assert added.returncode == 0, added.stderr
    for _ in range(2):
        server = Server(tmp_path)
        children = children_of(server.process.pid)
        assert children, "the embedded Valkey should run as our child"
        assert sign_in(server.port, "thuky", "mật-khẩu-dài") == 200
        assert sign_in(server.port, "thuky", "wrong-password") == 401
        code, output = server.stop(signal.SIGTERM)
        assert code == 0, output
        assert not any(alive(pid) for pid in children), "a child outlived the service"


def test_ctrl_c_stops_cleanly_too(tmp_path: Path) -> None:
    server = Server(tmp_path)
    children = children_of(server.process.pid)
    code, _ = server.stop(signal.SIGINT)
    assert code == 0
    assert not any(alive(pid) for pid in children)


def test_a_killed_service_takes_its_valkey_with_it(tmp_path: Path) -> None:
    server = Server(tmp_path)
    children = children_of(server.process.pid)
    server.stop(signal.SIGKILL)
    deadline = time.monotonic() + 5
    while any(alive(pid) for pid in children) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not any(alive(pid) for pid in children)


def test_accounts_can_be_added_while_the_service_runs(tmp_path: Path) -> None:
    with serving(tmp_path) as server:
        added = run("user", "add", "chutri", "--role", "host", "--password-stdin", stdin="mật-khẩu-chủ-trì\n",
                    data_dir=tmp_path)  # fmt: skip
        assert added.returncode == 0, added.stderr
        assert sign_in(server.port, "chutri", "mật-khẩu-chủ-trì") == 200
        duplicate = run("user", "add", "chutri", "--role", "host", "--password-stdin", stdin="khác-mật-khẩu\n",
                        data_dir=tmp_path)  # fmt: skip
        assert duplicate.returncode == 1 and "already exists" in duplicate.stderr


def test_a_valkey_that_dies_is_restarted_and_keeps_its_data(tmp_path: Path) -> None:
    run("user", "add", "thuky", "--role", "secretary", "--password-stdin", stdin="mật-khẩu-dài\n", data_dir=tmp_path)
    with serving(tmp_path) as server:
        (valkey,) = children_of(server.process.pid)
        os.kill(valkey, signal.SIGKILL)
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline:
            replacement = children_of(server.process.pid) - {valkey}
            if replacement and get(f"http://127.0.0.1:{server.port}/healthz")[0] == 200:
                break
            time.sleep(0.1)
        else:
            pytest.fail("the embedded Valkey was not restarted")
        assert sign_in(server.port, "thuky", "mật-khẩu-dài") == 200


def test_demo_loads_once_and_prints_the_accounts(tmp_path: Path) -> None:
    with serving(tmp_path, "--demo") as server:
        assert sign_in(server.port, "admin", "demo-admin") == 200
        code, output = server.stop()
    assert code == 0
    assert "demo-secretary" in output and "giaoban is serving on" in output
    # A second start with --demo on a store that holds data changes nothing.
    run("user", "add", "admin", "--role", "admin", "--password-stdin", "--replace", stdin="đã-đổi-mật-khẩu\n",
        data_dir=tmp_path)  # fmt: skip
    with serving(tmp_path, "--demo") as server:
        assert sign_in(server.port, "admin", "demo-admin") == 401
        assert sign_in(server.port, "admin", "đã-đổi-mật-khẩu") == 200


def test_a_wrong_setting_is_one_clear_line_and_exit_code_2(tmp_path: Path) -> None:
    result = run("serve", "--port", "99999", data_dir=tmp_path)
    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == [
        "giaoban: invalid setting --port: must be a whole number from 1 to 65535, not 99999"
    ]


def test_units_import_from_the_command_line_names_bad_rows(tmp_path: Path) -> None:
    good = tmp_path / "good.csv"
    good.write_text("code,name,kind,parent_code,lat,lon,emails\nlc,Tỉnh Lào Cai,province,,22.4,104.0,\n")
    bad = tmp_path / "bad.csv"
    bad.write_text("code,name,kind,parent_code,lat,lon,emails\nx,Xã X,commune,missing,22.4,104.0,\n")
    ok = run("units", "import", str(good), data_dir=tmp_path / "data")
    assert ok.returncode == 0 and "1 unit(s) added" in ok.stdout
    refused = run("units", "import", str(bad), data_dir=tmp_path / "data")
    assert refused.returncode == 1
    assert "2: Unknown parent unit missing" in refused.stderr
    missing = run("units", "import", str(tmp_path / "nope.csv"), data_dir=tmp_path / "data")
    assert missing.returncode == 1 and "cannot read" in missing.stderr


def test_a_second_service_on_the_same_data_dir_is_refused_clearly(tmp_path: Path) -> None:
    with serving(tmp_path):
        second = run("serve", "--port", str(free_port()), data_dir=tmp_path)
    assert second.returncode == 1
    assert "Another giaoban process already runs the store of" in second.stderr
    assert "Traceback" not in second.stderr


def test_a_busy_port_is_reported_not_a_traceback(tmp_path: Path) -> None:
    with socket.socket() as occupant:
        occupant.bind(("127.0.0.1", 0))
        occupant.listen()
        port = occupant.getsockname()[1]
        result = run("serve", "--port", str(port), data_dir=tmp_path)
    assert result.returncode == 1
    assert f"cannot listen on 127.0.0.1:{port}" in result.stderr and "Traceback" not in result.stderr
    assert not list(tmp_path.glob("valkey.sock")), "the store started for nothing was not stopped"


def test_the_attendance_benchmark_writes_its_reports(tmp_path: Path) -> None:
    result = run("bench", "attendance", "--weeks", "2", "--units", "5", "--json", str(tmp_path / "bench.json"))
    assert result.returncode == 0, result.stderr
    figures = json.loads((tmp_path / "bench.json").read_text())
    assert figures["weeks"] == 2 and figures["units"] == 5 and figures["events_total"] > 10
    assert figures["store_report_seconds"]["median"] > 0 and figures["http_report_seconds"]["median"] > 0
    assert "| store + report, one meeting |" in (tmp_path / "bench.md").read_text()


def test_the_start_benchmark_times_the_console_script_to_a_working_page(tmp_path: Path) -> None:
    result = run("bench", "start", "--runs", "2", "--workers", "2", "--json", str(tmp_path / "start.json"))
    assert result.returncode == 0, result.stderr
    figures = json.loads((tmp_path / "start.json").read_text())
    assert figures["runs"] == 2 and figures["workers"] == 2 and len(figures["healthz_seconds"]) == 2
    assert all(0 < banner <= health for banner, health in zip(figures["banner_seconds"], figures["healthz_seconds"],
                                                              strict=True))  # fmt: skip
    assert "| 2 |" in (tmp_path / "start.md").read_text()
    assert run("bench", "start", "--runs", "0").returncode == 2  # a usage error, not a traceback


def test_the_recording_benchmark_writes_real_files_and_reports_the_capture_cost(tmp_path: Path) -> None:
    result = run("bench", "recording", "--seconds", "3", "--json", str(tmp_path / "bench.json"))
    assert result.returncode == 0, result.stderr
    figures = json.loads((tmp_path / "bench.json").read_text())
    assert figures["files"] == 4 and figures["frames_dropped"] == 0
    assert figures["bytes_written"] > 3 * figures["video_kbps"] * 1000 / 8 * 0.7  # ~3 s of both pictures on disk
    assert "| **capture cost** |" in (tmp_path / "bench.md").read_text()


def test_the_province_benchmark_joins_everyone_and_counts_the_chairs_frames(tmp_path: Path) -> None:
    result = run("bench", "province", "--districts", "1", "--communes", "3", "--seconds", "3",
                 "--json", str(tmp_path / "bench.json"))  # fmt: skip
    assert result.returncode == 0, result.stderr
    figures = json.loads((tmp_path / "bench.json").read_text())
    assert figures["endpoints"] == figures["joined"] == 5 and not figures["join_failures"]
    assert figures["chair_frames"] > 3 * 25  # the chair's ~30 pictures a second over the window
    assert figures["min_frames_ratio"] >= 0.9 and figures["max_loss"] < 0.01
    assert figures["catch_up_seconds"] is not None and figures["relay_packets_skipped"] == 0  # five keep up easily
    assert "| min_frames_ratio |" in (tmp_path / "bench.md").read_text()


def test_the_province_benchmark_on_two_workers_reports_each_worker_and_the_node_links(tmp_path: Path) -> None:
    result = run("bench", "province", "--districts", "2", "--communes", "10", "--seconds", "3", "--workers", "2",
                 "--json", str(tmp_path / "bench.json"))  # fmt: skip
    assert result.returncode == 0, result.stderr
    figures = json.loads((tmp_path / "bench.json").read_text())
    assert figures["joined"] == 13 and figures["min_frames_ratio"] >= 0.9 and figures["max_loss"] < 0.01
    assert len(figures["relay_cpu_percent_by_worker"]) == 2 and figures["endpoints_nice"] == 19
    nodes = figures["node_links"]
    assert len(nodes) == 2 and sum(node["origin_rooms"] for node in nodes) == 1
    edge = next(node for node in nodes if node["origin_rooms"] == 0)
    if edge["endpoints"]:  # the kernel spread the sockets: the chair's voice and three sizes cross, once
        assert edge["publications_in"] == 4 and edge["packets_in"] > 100, nodes


def test_a_worker_killed_during_the_province_benchmark_brings_its_units_back_and_attendance_counts_their_drops(
    tmp_path: Path,
) -> None:
    result = run("bench", "province", "--districts", "2", "--communes", "14", "--seconds", "14", "--workers", "2",
                 "--kill-worker-after", "3", "--json", str(tmp_path / "bench.json"))  # fmt: skip
    assert result.returncode == 0, result.stderr
    figures = json.loads((tmp_path / "bench.json").read_text())
    killed = figures["killed_worker"]
    assert killed["endpoints"] > 0, figures  # the kernel spreads 17 sockets over both workers
    # every unit it carried rejoined on the other (the pages' 1 s wait, then a join) and nobody is still away
    assert figures["units_back"] >= killed["endpoints"] and figures["units_still_away"] == 0, figures
    assert figures["back_seconds_max"] < 10, figures
    assert figures["min_frames_ratio_of_units_kept"] >= 0.9, figures  # the others did not notice
    # attendance shows each drop the units had, and every unit's time
    assert figures["attendance_drops_wrong"] == [] and figures["attendance_units_without_time"] == [], figures
    assert run("bench", "province", "--kill-worker-after", "3").returncode == 2  # one worker: nothing to kill


def test_the_line_benchmark_follows_a_line_that_falls_and_comes_back(tmp_path: Path) -> None:
    # 150 kbit/s from the join: too slow for any picture; then the line is no longer held (3 % loss stays)
    result = run(
        "bench", "line", "--rate", "150", "--seconds", "20", "--then", "0:16", "--json", str(tmp_path / "b.json")
    )
    assert result.returncode == 0, result.stderr
    slow, restored = json.loads((tmp_path / "b.json").read_text())["phases"]
    assert slow["rate_kbps"] == 150 and slow["audio_only_after_seconds"] is not None, slow
    assert slow["video_packets_after_audio_only"] == 0 and slow["after_settling"]["picture"] == "none", slow
    assert restored["rate_kbps"] is None and restored["after_settling"]["fps"] > 10, restored  # a picture again
    report = (tmp_path / "b.md").read_text()
    assert "| 150 |" in report and "| not held |" in report
    assert run("bench", "line", "--then", "fast").returncode == 2  # a usage error, not a traceback


def test_the_cascade_benchmark_prices_the_edge_and_the_extra_hop(tmp_path: Path) -> None:
    result = run("bench", "cascade", "--communes", "4", "--seconds", "4", "--json", str(tmp_path / "c.json"))
    assert result.returncode == 0, result.stderr
    figures = json.loads((tmp_path / "c.json").read_text())
    assert figures["joined"] == 4 and figures["min_frames_ratio"] >= 0.9, figures  # every commune got the chair
    assert figures["link_publications_into_edge"] == 4, figures  # the voice and three sizes, once each
    assert figures["link_packets_per_second"] > 100 and figures["edge_cpu_percent_per_commune"] > 0, figures
    # the same frames came through both relays, and the edge's hop costs little on one machine
    assert figures["frames_matched"] > 50 and 0 <= figures["extra_hop_ms_p50"] < 50, figures
    assert "| extra_hop_ms_p95 |" in (tmp_path / "c.md").read_text()
    assert run("bench", "cascade", "--communes", "0").returncode == 2  # a usage error, not a traceback
