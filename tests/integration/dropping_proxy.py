"""A loopback proxy that loses responses: it forwards connections to the
broker and, for every `drop_every`-th Produce request (at most `drops_max`
times), cuts the connection right after forwarding the request, throwing its
response away, so that the client retries a batch the broker already wrote.
Used by the idempotence tests (tests/integration/test_idempotence.py,
tests/compat/test_modern_clients.py)."""
import struct
import threading
import time

import capture_proxy

# By default every DROP_EVERY-th Produce request loses its response, at most
# DROPS_MAX times per proxy.
DROP_EVERY = 5
DROPS_MAX = 25
# The proxy waits this long after forwarding a doomed request before it cuts
# the connection, so that the broker has written the batch.
DROP_DELAY_S = 0.05
API_PRODUCE = 0


class DroppingProxy(capture_proxy.CaptureProxy):
    """Forwards loopback connections to the broker (upstream_port, set
    before the first client connects); cuts some connections right after a
    Produce request went through, throwing the response away."""

    def __init__(self, drop_every=DROP_EVERY, drops_max=DROPS_MAX):
        super().__init__(upstream_port=None, out_dir=None)
        self.drop_every = drop_every
        self.drops_max = drops_max
        self.produces = 0
        self.drops = 0

    def _serve(self, client, upstream):
        link = {"cut": False}
        threading.Thread(target=self._requests, args=(client, upstream, link), daemon=True).start()
        threading.Thread(target=self._responses, args=(upstream, client, link), daemon=True).start()

    def _doomed(self, frame):
        if len(frame) < 2 or struct.unpack(">h", frame[:2])[0] != API_PRODUCE:
            return False
        with self.lock:
            self.produces += 1
            if self.produces % self.drop_every or self.drops >= self.drops_max:
                return False
            self.drops += 1
            return True

    def _requests(self, src, dst, link):
        buf = b""
        try:
            while True:
                data = src.recv(1 << 16)
                if not data:
                    break
                buf += data
                while len(buf) >= 4 and len(buf) >= 4 + struct.unpack(">i", buf[:4])[0]:
                    size = struct.unpack(">i", buf[:4])[0]
                    frame, buf = buf[:4 + size], buf[4 + size:]
                    dst.sendall(frame)
                    if self._doomed(frame[4:]):
                        link["cut"] = True
                        time.sleep(DROP_DELAY_S)
                        return
        except OSError:
            pass
        finally:
            capture_proxy._shutdown(src)
            capture_proxy._shutdown(dst)

    def _responses(self, src, dst, link):
        try:
            while True:
                data = src.recv(1 << 16)
                if not data or link["cut"]:
                    break
                dst.sendall(data)
        except OSError:
            pass
        finally:
            capture_proxy._shutdown(src)
            capture_proxy._shutdown(dst)
