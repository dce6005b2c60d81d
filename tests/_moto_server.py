"""moto's S3 server on a free loopback port, in a process of its own, until stdin closes.

``python tests/_moto_server.py`` prints ``ready <port>`` once it answers, and stops when
its stdin reaches its end (the parent closed it, or died). tests/conftest.py's
``s3_server`` runs it: in the tests' own process the server's threads took the
interpreter lock from the test and from s3fs's event loop thread (a registry test on it
took ~1.3-1.5x as long, and twice the test process's CPU time).
"""

from __future__ import annotations

import logging
import sys

from _moto_patches import s3_like


def main() -> int:
    from moto.server import ThreadedMotoServer

    # moto's server logs every request.
    logging.getLogger("werkzeug").setLevel(logging.WARNING)
    with s3_like():
        server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
        server.start()
        try:
            print(f"ready {server.get_host_and_port()[1]}", flush=True)
            sys.stdin.read()  # until the parent closes it or dies
        finally:
            server.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
