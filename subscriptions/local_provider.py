"""The local payment provider for development and tests: localstripe, a stateful fake of
Stripe's API (with a fake Stripe.js for card forms), in a process of its own.

    python -m subscriptions.local_provider --port 8420 --state .data/localstripe.pickle

Bound to 127.0.0.1 only (its own command binds every interface) and keeping its state in the
file given (it would pickle to /tmp/localstripe.pickle). The portal talks to it over HTTP
through Stripe's SDK (``STRIPE_API_BASE``), as to Stripe. localstripe is GPL-3.0 and a
development dependency: nothing but this runner imports it, and only in its own process.
"""

from __future__ import annotations

import argparse
import logging
import pickle
import socket
import time
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit


def reachable(base: str, *, seconds: float = 15) -> bool:
    """Whether the provider at ``base`` (``http://127.0.0.1:PORT``) answers within
    ``seconds`` (one just started takes a moment)."""
    address = urlsplit(base)
    deadline = time.monotonic() + seconds
    while True:
        try:
            socket.create_connection((address.hostname, address.port or 80), timeout=1).close()
            return True
        except OSError:
            if time.monotonic() > deadline:
                return False
            time.sleep(0.1)


def serve(port: int, state: Path) -> None:
    """Serve localstripe's API on 127.0.0.1:``port`` until stopped, its state in ``state``."""
    from aiohttp import web  # noqa: PLC0415 - installed with localstripe
    from localstripe import resources, server  # noqa: PLC0415 - development only

    def load(store: Any) -> None:
        if state.exists():
            with state.open("rb") as file:
                saved = pickle.load(file)
            store.clear()
            store.update(saved)

    def dump(store: Any) -> None:
        temporary = state.with_suffix(".tmp")
        with temporary.open("wb") as file:
            pickle.dump(dict(store), file, protocol=pickle.HIGHEST_PROTOCOL)
        temporary.replace(state)

    resources.Store.try_load_from_disk = load
    resources.Store.dump_to_disk = dump
    state.parent.mkdir(parents=True, exist_ok=True)
    resources.store.try_load_from_disk()
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    listener.bind(("127.0.0.1", port))
    logging.getLogger("aiohttp.access").setLevel(logging.WARNING)
    web.run_app(server.app, sock=listener, print=None)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--port", type=int, default=8420)
    parser.add_argument("--state", type=Path, default=Path(".data/localstripe.pickle"))
    options = parser.parse_args()
    serve(options.port, options.state)


if __name__ == "__main__":
    main()
