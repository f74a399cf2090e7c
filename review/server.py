"""Serve the review app with uvicorn, on the loopback interface unless told otherwise.

uvicorn's own access log is off: it would write every request's path and query string.
The app's request log (``riskstrat.review``: method, path with row ids, status, time) is
written to stderr instead. Plain http is for the loopback interface only: on any other
address the session cookie stays Secure, so the app must sit behind TLS (a reverse proxy).
"""

from __future__ import annotations

import ipaddress
import logging

import uvicorn

from review.app import ReviewSettings, create_app

LOOPBACK_NAMES = frozenset({"localhost"})


class ServeError(ValueError):
    """A serving setting that would expose the app: said in one paragraph."""


def is_loopback(host: str) -> bool:
    if host in LOOPBACK_NAMES:
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def serve(settings: ReviewSettings, host: str = "127.0.0.1", port: int = 8000) -> None:
    if not settings.secure_cookies and not is_loopback(host):
        raise ServeError(
            f"--insecure-cookies is for plain http on the loopback interface only, not {host}: "
            "off the loopback interface, serve behind TLS and keep cookies Secure."
        )
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    app = create_app(settings)
    uvicorn.run(
        app,
        host=host,
        port=port,
        access_log=False,
        log_config=None,
        server_header=False,
        proxy_headers=False,
    )
