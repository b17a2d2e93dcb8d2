"""A TCP relay that forwards bytes both ways until it sees a chosen byte string from the client,
then cuts both connections: the request never reaches the server. It stands for a network that
drops the service account's connection in the middle of an operation. With `deliver`, the
request does reach the server, and the connection is cut before its answer comes back (a reply
lost on the way)."""

from __future__ import annotations

import contextlib
import socket
import threading
import time


class CuttingRelay:
    def __init__(self, upstream_port: int, cut_on: bytes, deliver: bool = False):
        self.upstream_port = upstream_port
        self.cut_on = cut_on
        self.deliver = deliver
        self.cuts = 0
        self.listener = socket.socket()
        self.listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.listener.bind(("127.0.0.1", 0))
        self.listener.listen(16)
        self.port = self.listener.getsockname()[1]
        self._stop = False
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while not self._stop:
            try:
                client, _ = self.listener.accept()
            except OSError:
                return
            upstream = socket.create_connection(("127.0.0.1", self.upstream_port))
            threading.Thread(target=self._pump, args=(client, upstream, True), daemon=True).start()
            threading.Thread(target=self._pump, args=(upstream, client, False), daemon=True).start()

    def _pump(self, source, target, from_client: bool) -> None:
        try:
            while True:
                data = source.recv(65536)
                if not data:
                    break
                if from_client and self.cut_on in data:
                    self.cuts += 1
                    if self.deliver:
                        target.sendall(data)
                        time.sleep(0.5)  # the server acts on it; its answer is not passed on
                    break
                target.sendall(data)
        except OSError:
            pass
        for sock in (source, target):
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)
            sock.close()

    def close(self) -> None:
        self._stop = True
        self.listener.close()
