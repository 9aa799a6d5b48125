"""The ``giaoban`` command: serve, manage accounts, import units.

Exit codes: 0 done; 1 the work failed (message says why); 2 a setting or argument is wrong.
"""

from __future__ import annotations

import argparse
import asyncio
import getpass
import json
import logging
import os
import signal
import sys
from collections.abc import Callable, Coroutine, Sequence
from datetime import datetime
from pathlib import Path
from typing import Any

from aiohttp import web

import conference.relay  # noqa: F401  (its check of the media stack: a mismatch stops every command, in one line)
from live.nodes import list_nodes
from scheduler.directory.store import RedisUnitStore
from scheduler.directory.units import parse_units_csv
from scheduler.errors import GiaobanError
from scheduler.meetings.model import VIETNAM
from scheduler.reports.signing import Signer, fingerprint, verify_file
from scheduler.store import open_store
from scheduler.store.backup import backup, restore
from web import logs
from web.accounts import ROLES, AccountStore
from web.collector_pauses import CollectorPauses
from web.config import SETTINGS, Config, ConfigError, build_config
from web.demo import demo_accounts_text
from web.keys import METRICS_REGISTRY, SHUTDOWN, STORE
from web.tls import Certificate, self_signed
from web.workers import Workers, is_worker, worker_arguments

log = logging.getLogger("giaoban")
EXIT_FAILED = 1
EXIT_USAGE = 2
STORE_SETTINGS = ("data_dir", "redis_url", "appendfsync")


def main(argv: Sequence[str] | None = None) -> int:
    parser = _parser()
    args = parser.parse_args(argv)
    flags = {name: value for name, value in vars(args).items() if name not in ("command", "run")}
    args.argv = list(sys.argv[1:] if argv is None else argv)  # a --workers parent starts its workers with them
    try:
        config = build_config(flags, os.environ)
    except ConfigError as exc:
        print(f"giaoban: invalid setting {exc}", file=sys.stderr)
        return EXIT_USAGE
    logs.configure(config.log_level, config.log_format, config.access_log)
    run: Callable[[Config, argparse.Namespace], Coroutine[Any, Any, int]] = args.run
    try:
        return asyncio.run(run(config, args))
    except GiaobanError as exc:
        _print_error(exc)
        return EXIT_FAILED
    except KeyboardInterrupt:
        return EXIT_FAILED


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="giaoban", description="Online briefings from province to commune.")
    commands = parser.add_subparsers(dest="command", required=True)

    serve = commands.add_parser("serve", help="run the web service")
    _add_settings(serve, [s.field for s in SETTINGS])
    serve.set_defaults(run=_serve)

    user = commands.add_parser("user", help="manage staff accounts").add_subparsers(dest="action", required=True)
    add = user.add_parser("add", help="create an account (or --replace its password and role)")
    add.add_argument("username")
    add.add_argument("--role", required=True, choices=ROLES)
    add.add_argument("--password-stdin", action="store_true", required=True,
                     help="read the password from standard input (prompted when it is a terminal)")  # fmt: skip
    add.add_argument("--replace", action="store_true", help="overwrite an existing account")
    _add_settings(add, STORE_SETTINGS)
    add.set_defaults(run=_user_add)

    units = commands.add_parser("units", help="the organisation directory").add_subparsers(dest="action", required=True)
    load = units.add_parser("import", help="add or update units from a CSV file (all or nothing)")
    load.add_argument("file", type=Path)
    _add_settings(load, STORE_SETTINGS)
    load.set_defaults(run=_units_import)

    verify = commands.add_parser("verify", help="check that an exported file matches its signature")
    verify.add_argument("file", type=Path)
    verify.add_argument(
        "signature",
        type=Path,
        metavar="SIGFILE",
        nargs="?",
        help="the detached .sig (left out: the signature the PDF, XLSX or DOCX carries inside)",
    )
    verify.add_argument("--key", type=Path, metavar="PUBKEY",
                        help="PEM public key (from GET /api/signing-key); default: this server's own key")  # fmt: skip
    _add_settings(verify, STORE_SETTINGS)
    verify.set_defaults(run=_verify)

    backup = commands.add_parser("backup", help="write the store (and --recordings) to one archive, while it runs")
    backup.add_argument("file", type=Path, metavar="FILE")
    backup.add_argument("--recordings", action="store_true", help="include the recordings (can be large)")
    _add_settings(backup, (*STORE_SETTINGS, "recordings_dir"))
    backup.set_defaults(run=_backup)
    restore = commands.add_parser("restore", help="put a backup back into an empty store (a new data dir)")
    restore.add_argument("file", type=Path, metavar="FILE")
    _add_settings(restore, (*STORE_SETTINGS, "recordings_dir"))
    restore.set_defaults(run=_restore)

    nodes = commands.add_parser("nodes", help="the cluster's nodes (serving processes) with their load")
    _add_settings(nodes, STORE_SETTINGS)
    nodes.set_defaults(run=_nodes)

    bench = commands.add_parser("bench", help="measure performance").add_subparsers(dest="action", required=True)
    attendance = _bench(bench, "attendance", "attendance report time over a year of weekly meetings",
                        _bench_attendance)  # fmt: skip
    attendance.add_argument("--weeks", type=int, default=52)
    attendance.add_argument("--units", type=int, default=200)
    relay = _bench(
        bench, "relay", "CPU per subscriber: our decode-free relay against aiortc's MediaRelay", _bench_relay
    )
    relay.add_argument("--subscribers", type=int, default=10)
    relay.add_argument("--seconds", type=float, default=10.0)
    province = _bench(bench, "province", "a chair and every district and commune joining at once", _bench_province)
    province.add_argument("--districts", type=int, default=10)
    province.add_argument("--communes", type=int, default=150)
    province.add_argument("--seconds", type=float, default=10.0)
    province.add_argument("--workers", type=int, default=1, help="the service's worker processes (nodes)")
    province.add_argument(
        "--nice",
        type=int,
        default=19,
        choices=range(20),
        metavar="0-19",
        help="the synthetic endpoints' CPU priority (19: the service gets the machine first)",
    )
    province.add_argument("--presentation", action="store_true", help="the chair shares slides beside its camera")
    province.add_argument("--start-kbps", type=int, default=0, help="the service's link start estimate (default: "
                          "its own; 2500 with --presentation)")  # fmt: skip
    province.add_argument(
        "--server",
        default="",
        metavar="URL",
        help="drive a service that runs elsewhere (with the demo accounts) instead of one here",
    )
    province.add_argument("--kill-worker-after", type=float, default=None, metavar="SECONDS",
                          help="SIGKILL a worker that is not the meeting's origin this far into the window "
                               "(needs --workers 2 or more): its units coming back, attendance")  # fmt: skip
    cascade = _bench(bench, "cascade", "an origin and an edge node: the edge's cost per commune, the node link's, and "
                     "the latency of the extra hop", _bench_cascade)  # fmt: skip
    cascade.add_argument("--communes", type=int, default=50, help="communes on the edge")
    cascade.add_argument("--seconds", type=float, default=10.0)
    cascade.add_argument("--nice", type=int, default=19, choices=range(20), metavar="0-19",
                         help="the synthetic endpoints' CPU priority (19: the service first)")  # fmt: skip
    line = _bench(bench, "line", "what a commune on a slow, lossy line gets, second by second (needs root)",
                  _bench_line)  # fmt: skip
    line.add_argument("--rate", type=int, default=1000, metavar="KBPS", help="the line's rate; 0: not held")
    line.add_argument("--loss", type=float, default=3.0, metavar="PERCENT", help="random loss each way")
    line.add_argument("--seconds", type=float, default=30.0)
    line.add_argument("--then", action="append", default=[], metavar="KBPS:SECONDS",
                      help="then hold the line to KBPS (0: not held) for SECONDS; repeat for a line that falls and "
                      "comes back, e.g. --then 150:20 --then 0:40")  # fmt: skip
    soak = _bench(bench, "soak", "people joining, leaving, dropping, reconnecting for minutes: any leak?", _bench_soak)
    soak.add_argument("--endpoints", type=int, default=50)
    soak.add_argument("--minutes", type=float, default=10.0)
    start = _bench(bench, "start", "how long giaoban serve --demo takes to serve, on a fresh data dir", _bench_start)
    start.add_argument("--runs", type=int, default=5)
    start.add_argument("--workers", type=int, default=0, help="as serve's (default 0: one per core)")
    recording = _bench(bench, "recording", "CPU that recording a meeting adds (chair and floor holder)",
                       _bench_recording)  # fmt: skip
    recording.add_argument("--seconds", type=float, default=20.0)
    return parser


def _bench(benches: Any, name: str, summary: str, run: Callable[..., Any]) -> argparse.ArgumentParser:
    """One ``giaoban bench`` command: every benchmark prints markdown and writes ``--json FILE`` (and FILE.md)."""
    parser: argparse.ArgumentParser = benches.add_parser(name, help=summary)
    parser.add_argument("--json", type=Path, metavar="FILE", help="write the figures here (and FILE.md)")
    parser.set_defaults(run=run)
    return parser


def _add_settings(parser: argparse.ArgumentParser, fields: Sequence[str]) -> None:
    for setting in SETTINGS:
        if setting.field not in fields:
            continue
        names = " or ".join(setting.env)
        if setting.parse.__name__ == "_bool":
            parser.add_argument(setting.flag, action="store_true", default=None, help=f"{setting.help} [{names}]")
        else:
            parser.add_argument(setting.flag, default=None, metavar=setting.field.upper(),
                                help=f"{setting.help} [{names}]")  # fmt: skip


async def _serve(config: Config, args: argparse.Namespace) -> int:
    certificate = _certificate(config)  # a --workers parent makes it once, before its workers read it
    if config.worker_count > 1 and not is_worker():
        return await Workers(config, worker_arguments(args.argv[1:])).run()
    from web.app import create_app  # here: a --workers parent never builds the app, and imports less

    ssl_context = certificate.context() if certificate else None  # a TlsError here is reported by main()
    app = create_app(config)
    runner = web.AppRunner(app, handle_signals=False)
    await runner.setup()  # starts the store; a GiaobanError here is reported by main()
    site = web.TCPSite(runner, config.host, config.port, ssl_context=ssl_context, reuse_port=is_worker())
    try:
        await site.start()
    except OSError as exc:
        await runner.cleanup()
        print(f"giaoban: cannot listen on {config.host}:{config.port}: {exc.strerror}", file=sys.stderr)
        return EXIT_FAILED
    shutdown = app[SHUTDOWN]
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, shutdown.request, f"stopped by {signal.Signals(signum).name}", 0)
    collector = CollectorPauses(app[METRICS_REGISTRY])
    collector.start()
    log.info("started: serving on %s (store: %s)", config.base_url, app[STORE].description)
    if not is_worker():  # a --workers parent says these once for all its workers
        for warning in config.warnings():
            log.warning(warning)
    banner = config.log_format == "text" and not is_worker()  # for the person at the terminal (once, by a parent)
    if banner:  # a log collector has the line above
        print(f"giaoban is serving on {config.base_url}", flush=True)
    if certificate:
        whole, public_key = certificate.fingerprints()
        log.info("certificate %s: SHA-256 fingerprint %s, public key (SPKI SHA-256) %s", certificate.cert, whole,
                 public_key)  # fmt: skip
        if banner:
            print(f"certificate {certificate.cert}\n  SHA-256 fingerprint: {whole}\n  public key (SPKI SHA-256): "
                  f"{public_key}", flush=True)  # fmt: skip
    if config.demo and banner:
        print(demo_accounts_text(), flush=True)
    await shutdown.wait()
    log.info("stopping: %s", shutdown.reason or "asked to")
    collector.stop()
    await runner.cleanup()
    log.info("stopped")
    if shutdown.exit_code:
        print(f"giaoban: {shutdown.reason}", file=sys.stderr)
    return shutdown.exit_code


def _certificate(config: Config) -> Certificate | None:
    if config.self_signed:
        return self_signed(config.data_dir, config.host)
    if config.tls_cert is not None and config.tls_key is not None:
        return Certificate(config.tls_cert, config.tls_key)
    return None


async def _user_add(config: Config, args: argparse.Namespace) -> int:
    password = _read_password()
    async with _store(config) as store:
        account = await AccountStore(store.redis).add(args.username, args.role, password, replace=args.replace)
    print(f"account {account.username!r} ({account.role}) saved")
    return 0


async def _backup(config: Config, args: argparse.Namespace) -> int:
    if args.file.is_dir() or not args.file.parent.is_dir():
        print(f"giaoban: cannot write {args.file}: give a file name in an existing folder", file=sys.stderr)
        return EXIT_USAGE
    async with _store(config) as store:
        summary = await backup(store.redis, args.file, data_dir=config.data_dir,
                               recordings=config.recordings_path if args.recordings else None)  # fmt: skip
    size_mb = args.file.stat().st_size / 1e6
    print(f"backed up {summary.keys} keys and {summary.files} files to {args.file} ({size_mb:.1f} MB)")
    return 0


async def _restore(config: Config, args: argparse.Namespace) -> int:
    if not args.file.is_file():
        print(f"giaoban: cannot read {args.file}: no such file", file=sys.stderr)
        return EXIT_USAGE
    async with _store(config) as store:
        summary = await restore(store.redis, args.file, data_dir=config.data_dir, recordings=config.recordings_path)
    print(f"restored {summary.keys} keys and {summary.files} files from the backup of {summary.made_at}")
    return 0


async def _nodes(config: Config, _: argparse.Namespace) -> int:
    async with _store(config) as store:
        nodes = await list_nodes(store.redis)
    if not nodes:
        print("no node is serving (none has a live heartbeat in this store)")
        return 0
    print(f"{'node':<36} {'endpoints':>9} {'origin':>6} {'edge':>5} {'cpu':>6} {'pkt/s':>8}  up since")
    for node in nodes:
        since = datetime.fromtimestamp(node.started, VIETNAM).strftime("%d/%m/%Y %H:%M:%S")
        load = node.load
        print(f"{node.id:<36} {load.endpoints:>9} {load.origin_rooms:>6} {load.edge_rooms:>5} "
              f"{load.relay_cpu * 100:>5.0f}% {load.packets_per_second:>8.0f}  {since}"
              + (f"  district server {node.url}, linked through {node.via}" if node.via else ""))  # fmt: skip
    return 0


async def _units_import(config: Config, args: argparse.Namespace) -> int:
    try:
        data = args.file.read_bytes()
    except OSError as exc:
        print(f"giaoban: cannot read {args.file}: {exc.strerror}", file=sys.stderr)
        return EXIT_FAILED
    parsed = parse_units_csv(data)
    async with _store(config) as store:
        result = await RedisUnitStore(store.redis).import_units(parsed)
    print(f"{result.created} unit(s) added, {result.updated} updated")
    return 0


async def _verify(config: Config, args: argparse.Namespace) -> int:
    try:
        data = args.file.read_bytes()
        signature = args.signature.read_bytes() if args.signature else None
        key = args.key.read_text() if args.key else None
    except OSError as exc:
        print(f"giaoban: cannot read {exc.filename}: {exc.strerror}", file=sys.stderr)
        return EXIT_FAILED
    if key is None:
        async with _store(config) as store:
            key = await Signer(store.redis).public_key_pem()
    if not verify_file(data, signature, key):
        print(f"giaoban: SIGNATURE DOES NOT MATCH: {args.file} was changed after it was signed, "
              "or the signature is for another file or key", file=sys.stderr)  # fmt: skip
        return EXIT_FAILED
    print(f"{args.file}: signature valid (key {fingerprint(key)})")
    return 0


async def _bench_attendance(_: Config, args: argparse.Namespace) -> int:
    from web.bench.attendance import AttendanceBench, markdown

    if not (1 <= args.weeks <= 520 and 1 <= args.units <= 2000):
        print("giaoban: --weeks must be 1-520 and --units 1-2000", file=sys.stderr)
        return EXIT_USAGE
    result = await AttendanceBench(weeks=args.weeks, units=args.units).run()
    return _report(args, result, markdown(result, "giaoban bench attendance " + " ".join(sys.argv[3:])))


async def _bench_relay(_: Config, args: argparse.Namespace) -> int:
    from web.bench.relay import bench, free_port, markdown

    if not (1 <= args.subscribers <= 200 and 2 <= args.seconds <= 600):
        print("giaoban: --subscribers must be 1-200 and --seconds 2-600", file=sys.stderr)
        return EXIT_USAGE
    result = await bench(args.subscribers, args.seconds, free_port())
    return _report(args, result, markdown(result, "giaoban bench relay " + " ".join(sys.argv[3:])))


async def _bench_province(_: Config, args: argparse.Namespace) -> int:
    from web.bench.province import bench, markdown

    if not (1 <= args.districts <= 50 and 0 <= args.communes <= 500 and 2 <= args.seconds <= 600):
        print("giaoban: --districts must be 1-50, --communes 0-500, --seconds 2-600", file=sys.stderr)
        return EXIT_USAGE
    if not 1 <= args.workers <= 16:
        print("giaoban: --workers must be 1-16", file=sys.stderr)
        return EXIT_USAGE
    killing = args.kill_worker_after
    if killing is not None and not (args.workers >= 2 and not args.server and 0 <= killing < args.seconds):
        print("giaoban: --kill-worker-after needs --workers 2 or more, no --server, and a time within --seconds",
              file=sys.stderr)  # fmt: skip
        return EXIT_USAGE
    result = await bench(args.districts, args.communes, args.seconds, workers=args.workers, nice=args.nice,
                         server_url=args.server, presentation=args.presentation, start_kbps=args.start_kbps,
                         kill_worker_after=killing)  # fmt: skip
    return _report(args, result, markdown(result, "giaoban bench province " + " ".join(sys.argv[3:])))


async def _bench_cascade(_: Config, args: argparse.Namespace) -> int:
    from web.bench.cascade import bench, markdown

    if not (1 <= args.communes <= 300 and 2 <= args.seconds <= 600):
        print("giaoban: --communes must be 1-300, --seconds 2-600", file=sys.stderr)
        return EXIT_USAGE
    result = await bench(args.communes, args.seconds, nice=args.nice)
    return _report(args, result, markdown(result, "giaoban bench cascade " + " ".join(sys.argv[3:])))


async def _bench_line(_: Config, args: argparse.Namespace) -> int:
    from web.bench.line import Phase, bench, markdown

    try:
        phases = [Phase(args.rate or None, args.seconds), *(Phase.parse(text) for text in args.then)]
    except ValueError:
        print("giaoban: --then takes KBPS:SECONDS, e.g. --then 150:20", file=sys.stderr)
        return EXIT_USAGE
    if not (0 <= args.loss <= 50 and all(0 <= (p.kbps or 0) <= 100_000 and 5 <= p.seconds <= 600 for p in phases)):
        print("giaoban: --rate must be 0-100000, --loss 0-50, --seconds 5-600 (and each --then)", file=sys.stderr)
        return EXIT_USAGE
    if os.geteuid() != 0:
        print("giaoban: bench line makes a network namespace and shapes it: run it as root", file=sys.stderr)
        return EXIT_USAGE
    result = await bench(phases, args.loss)
    return _report(args, result, markdown(result, "giaoban bench line " + " ".join(sys.argv[3:])))


async def _bench_recording(_: Config, args: argparse.Namespace) -> int:
    from web.bench.recording import bench, markdown

    if not 2 <= args.seconds <= 600:
        print("giaoban: --seconds must be 2-600", file=sys.stderr)
        return EXIT_USAGE
    result = await bench(args.seconds)
    return _report(args, result, markdown(result, "giaoban bench recording " + " ".join(sys.argv[3:])))


async def _bench_start(_: Config, args: argparse.Namespace) -> int:
    from web.bench.start import bench, markdown

    if not (1 <= args.runs <= 50 and 0 <= args.workers <= 16):
        print("giaoban: --runs must be 1-50 and --workers 0-16", file=sys.stderr)
        return EXIT_USAGE
    result = await bench(args.runs, args.workers)
    return _report(args, result, markdown(result, "giaoban bench start " + " ".join(sys.argv[3:])))


async def _bench_soak(_: Config, args: argparse.Namespace) -> int:
    from web.bench.soak import bench, markdown

    if not 2 <= args.endpoints <= 200 or not 2.5 <= args.minutes <= 120:
        print("giaoban: --endpoints must be 2-200 and --minutes 2.5-120", file=sys.stderr)
        return EXIT_USAGE
    result = await bench(args.endpoints, args.minutes)
    return _report(args, result, markdown(result, "giaoban bench soak " + " ".join(sys.argv[3:])))


def _report(args: argparse.Namespace, result: dict[str, Any], report: str) -> int:
    """Every benchmark prints its markdown and, with --json FILE, writes FILE and FILE.md."""
    print(report)
    if args.json:
        args.json.write_text(json.dumps(result, indent=2) + "\n")
        args.json.with_suffix(".md").write_text(report)
    return 0


def _store(config: Config) -> Any:
    return open_store(redis_url=config.redis_url, data_dir=config.data_dir, appendfsync=config.appendfsync,
                      reuse_running=True)  # fmt: skip


def _read_password() -> str:
    if sys.stdin.isatty():
        return getpass.getpass("Password: ")
    return sys.stdin.readline().rstrip("\r\n")


def _print_error(exc: GiaobanError) -> None:
    print(f"giaoban: {exc}", file=sys.stderr)
    for problem in exc.problems:
        print(f"  {problem.where}: {problem.message.format(**problem.params)}", file=sys.stderr)
