"""Serve this folder (guide.html, style.grass, queries.cypher) so Neo4j Browser can play the guide.

    python graph/browser/serve_guide.py            then in Browser:  :play http://localhost:8001/guide.html
    python graph/browser/serve_guide.py --port 8002

Browser fetches a remote guide with a cross-origin request from its own page (http://127.0.0.1:7474). Browser 5.24
adds non-simple headers (``cache-control``, ``pragma``, ``sentry-trace``), so Chromium first sends a CORS preflight
(``OPTIONS`` with ``Access-Control-Request-Headers``) and loads the guide only when that is answered with the
allowed origin, methods and headers; the answer to the GET itself must carry ``Access-Control-Allow-Origin`` too.
``python -m http.server`` answers neither (OPTIONS gets 501) and the guide is "Not found".

Browser plays guides only from hosts in ``browser.remote_content_hostname_whitelist`` (the local server allows
``localhost`` only): use ``localhost`` in the :play URL, not 127.0.0.1. The local server's
``browser.post_connect_cmd`` loads the style and plays the guide from this server on login
(``LocalNeo4jSettings.guide_port``: 8001 unless SILENTCERT_GUIDE_PORT says otherwise).
"""

from __future__ import annotations

import argparse
import functools
from http import HTTPStatus
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

HERE = Path(__file__).parent
DEFAULT_PORT = 8001  # LocalNeo4jSettings.guide_port: the port browser.post_connect_cmd loads from


class GuideHandler(SimpleHTTPRequestHandler):
    """Static files, readable cross-origin: the CORS preflight answered, the header on every answer."""

    def do_OPTIONS(self) -> None:  # noqa: N802 (the name http.server dispatches to)
        """The preflight: allow the methods a guide is read with and whatever headers the page asks for (the
        files are public, read-only and carry no credentials, so the request headers need no vetting)."""
        self.send_response(HTTPStatus.NO_CONTENT)
        self.send_header("Access-Control-Allow-Methods", "GET, HEAD, OPTIONS")
        requested = self.headers.get("Access-Control-Request-Headers")
        if requested:
            self.send_header("Access-Control-Allow-Headers", requested)
        self.send_header("Access-Control-Max-Age", "600")
        self.send_header("Content-Length", "0")
        self.end_headers()

    def end_headers(self) -> None:
        self.send_header("Access-Control-Allow-Origin", "*")
        super().end_headers()


def guide_server(port: int = DEFAULT_PORT, directory: Path = HERE, host: str = "127.0.0.1") -> ThreadingHTTPServer:
    """A server for `directory` on host:port (port 0: any free port), not yet serving."""
    handler = functools.partial(GuideHandler, directory=str(directory))
    return ThreadingHTTPServer((host, port), handler)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, default=DEFAULT_PORT, help=f"port (default {DEFAULT_PORT})")
    args = parser.parse_args()
    with guide_server(args.port) as server:
        print(f"guide at http://localhost:{server.server_address[1]}/guide.html (Ctrl-C stops)", flush=True)
        try:
            server.serve_forever()
        except KeyboardInterrupt:
            pass


if __name__ == "__main__":
    main()
