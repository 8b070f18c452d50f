"""`silentcert console`: serve the review console over HTTPS with the services' TLS certificate and token file.

    silentcert console --target pensions.internal:50051 --ca ca.pem \\
        --tls-cert server.pem --tls-key server-key.pem --tokens tokens.json --address 0.0.0.0:8443

The flags mirror `silentcert serve`: the same --tls-cert/--tls-key serve the console's HTTPS, the same --tokens
file names the investigators (only the reviewer role may log in), and --insecure-dev allows plain HTTP on a
development machine. The console reaches the DeathCheck service at --target over TLS (--ca: the CA that signed
the service's certificate) and calls it with each investigator's own token. The WSGI server is cheroot (threads,
TLS through Python's ssl module); the application is Flask (app.py).
"""

from __future__ import annotations

import argparse
import logging
import threading
from dataclasses import dataclass
from pathlib import Path

import grpc
from cheroot import wsgi
from cheroot.ssl.builtin import BuiltinSSLAdapter

from silentcert.clients.console.app import ConsoleOptions, Services, create_app
from silentcert.clients.console.sessions import Sessions
from silentcert.graph.errors import InvalidInput
from silentcert.services.security.tokens import TokenBook
from silentcert.services.signals import on_signals, wait_until_set

log = logging.getLogger(__name__)

DEFAULT_ADDRESS = "127.0.0.1:8443"
DEFAULT_BROWSER = "http://127.0.0.1:7475/browser/"  # the investigators' read-only copy (docs/investigation.md)


@dataclass(frozen=True)
class ConsoleSettings:
    target: str  # HOST:PORT of the DeathCheck service
    tokens: Path
    address: str = DEFAULT_ADDRESS
    tls_cert: Path | None = None
    tls_key: Path | None = None
    ca: Path | None = None  # CA of the service's certificate; None: plaintext gRPC (only with insecure_dev)
    browser_url: str = DEFAULT_BROWSER
    insecure_dev: bool = False
    idle_minutes: float = 30.0
    threads: int = 8

    def check(self) -> None:
        """InvalidInput naming the flag when the settings are not safe to serve with."""
        if bool(self.tls_cert) != bool(self.tls_key):
            raise InvalidInput("--tls-cert and --tls-key go together", field="tls-cert")
        if not self.insecure_dev and self.tls_cert is None:
            raise InvalidInput("refusing to serve the console without TLS: pass --tls-cert and --tls-key (the "
                               "services' own, `silentcert security dev-ca`), or --insecure-dev for plain HTTP on a "
                               "development machine", field="tls-cert")
        if not self.insecure_dev and self.ca is None:
            raise InvalidInput("refusing to send investigators' tokens to the service in plaintext: pass --ca (the "
                               "CA that signed the service's certificate), or --insecure-dev", field="ca")
        if not self.tokens.is_file():
            raise InvalidInput(f"--tokens {self.tokens}: no such token file", field="tokens")


@dataclass
class RunningConsole:
    server: wsgi.Server
    thread: threading.Thread
    channel: grpc.Channel
    url: str

    def stop(self) -> None:
        self.server.shutdown_timeout = 1  # requests in flight get a second; a console has no long calls
        self.server.stop()
        self.thread.join(timeout=10)
        self.channel.close()


def start(settings: ConsoleSettings) -> RunningConsole:
    """Bind (port 0 picks a free one) and serve on a background thread; `stop()` ends it."""
    settings.check()
    channel = _channel(settings)
    app = create_app(Services(settings.target, channel), TokenBook(settings.tokens),
                     Sessions(idle=settings.idle_minutes * 60),
                     ConsoleOptions(secure=settings.tls_cert is not None, browser_url=settings.browser_url))
    host, port = _host_port(settings.address)
    server = wsgi.Server((host, port), app, numthreads=settings.threads, server_name="silentcert-console")
    if settings.tls_cert is not None:
        server.ssl_adapter = BuiltinSSLAdapter(str(settings.tls_cert), str(settings.tls_key))
    server.prepare()
    bound = server.bind_addr[1]
    thread = threading.Thread(target=server.serve, name="console", daemon=True)
    thread.start()
    scheme = "https" if settings.tls_cert is not None else "http"
    return RunningConsole(server, thread, channel, f"{scheme}://{'localhost' if host in ('127.0.0.1', '::1') else host}:{bound}")


def _channel(settings: ConsoleSettings) -> grpc.Channel:
    if settings.ca is None:
        log.warning("--insecure-dev: investigators' tokens go to %s in PLAINTEXT", settings.target)
        return grpc.insecure_channel(settings.target)
    return grpc.secure_channel(settings.target, grpc.ssl_channel_credentials(root_certificates=_read(settings.ca)))


def _read(path: Path) -> bytes:
    try:
        return path.read_bytes()
    except OSError as exc:
        raise InvalidInput(f"--ca {path}: cannot read ({exc.strerror})", field="ca") from None


def _host_port(address: str) -> tuple[str, int]:
    host, _, port = address.rpartition(":")
    if not host or not port.isdigit() or int(port) > 65535:
        raise InvalidInput(f"--address must be HOST:PORT, got {address!r}", field="address")
    return host.strip("[]"), int(port)


def register(sub: argparse._SubParsersAction) -> None:
    parser = sub.add_parser("console", help="serve the review console (web) for investigators")
    parser.add_argument("--target", required=True, metavar="HOST:PORT", help="the DeathCheck service")
    parser.add_argument("--ca", type=Path, help="CA certificate of the service's TLS (as for `review --ca`)")
    parser.add_argument("--address", default=DEFAULT_ADDRESS, help=f"HOST:PORT to listen on (default {DEFAULT_ADDRESS})")
    parser.add_argument("--tls-cert", type=Path, help="certificate chain for HTTPS (PEM; the services' own will do)")
    parser.add_argument("--tls-key", type=Path, help="private key for HTTPS (PEM)")
    parser.add_argument("--tokens", type=Path, required=True,
                        help="the services' token file: names the investigators; only the reviewer role logs in")
    parser.add_argument("--browser-url", default=DEFAULT_BROWSER,
                        help=f"Neo4j Browser of the investigators' copy, for the case page's link (default "
                             f"{DEFAULT_BROWSER}; '' for none)")
    parser.add_argument("--idle-minutes", type=float, default=30.0, help="a session ends after this long idle")
    parser.add_argument("--insecure-dev", action="store_true",
                        help="development only: plain HTTP, and plaintext gRPC without --ca (logs a warning)")
    parser.set_defaults(handler=console_command)


def console_command(args: argparse.Namespace) -> int:
    settings = ConsoleSettings(target=args.target, tokens=args.tokens, address=args.address, tls_cert=args.tls_cert,
                               tls_key=args.tls_key, ca=args.ca, browser_url=args.browser_url,
                               insecure_dev=args.insecure_dev, idle_minutes=args.idle_minutes)
    running = start(settings)
    stop = threading.Event()
    restore = on_signals(lambda *_: stop.set())
    try:
        print(f"review console on {running.url} (DeathCheck at {settings.target}); Ctrl-C stops it", flush=True)
        wait_until_set(stop)
    finally:
        restore()
        running.stop()
    return 0
