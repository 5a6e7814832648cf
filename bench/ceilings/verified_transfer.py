"""The fastest verified loopback transfer this machine allows, as a benchmark ceiling.

A sender process sends the file with sendfile (no user-space copy); the receiver reads
it with recv_into into 1 MiB buffers and writes them to a new file on one thread, while
sha256 (OpenSSL, with the GIL released) runs on another. Every step runs in C: no
protocol, no framing, no JavaScript. It is what any fetch that writes and verifies
every byte it receives over TCP cannot beat here.

usage: verified_transfer.py SOURCE TARGET RUNS  ->  prints {"seconds": [...], "sha256": "..."}
"""
import hashlib
import json
import os
import queue
import socket
import sys
import threading
import time

BLOCK = 1 << 20


def send(listener: socket.socket, source: str) -> None:
    connection, _ = listener.accept()
    with open(source, "rb") as file:
        connection.sendfile(file)
    connection.close()


def transfer(source: str, target: str) -> tuple[float, str]:
    size = os.path.getsize(source)
    listener = socket.create_server(("127.0.0.1", 0))
    port = listener.getsockname()[1]
    sender = os.fork()
    if sender == 0:
        send(listener, source)
        os._exit(0)
    listener.close()

    started = time.perf_counter()
    received = socket.create_connection(("127.0.0.1", port))
    blocks: queue.Queue = queue.Queue(8)
    digest = hashlib.sha256()

    def hash_blocks() -> None:
        while (block := blocks.get()) is not None:
            digest.update(block)

    hasher = threading.Thread(target=hash_blocks)
    hasher.start()
    fd = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    done = 0
    while done < size:
        view = memoryview(bytearray(BLOCK))
        filled = 0
        while filled < BLOCK:
            count = received.recv_into(view[filled:])
            if count == 0:
                break
            filled += count
        if filled == 0:
            break
        os.write(fd, view[:filled])
        blocks.put(view[:filled])
        done += filled
    blocks.put(None)
    hasher.join()
    os.close(fd)
    received.close()
    os.waitpid(sender, 0)
    if done != size:
        raise SystemExit(f"received {done} of {size} bytes")
    return time.perf_counter() - started, digest.hexdigest()


def main() -> None:
    source, target, runs = sys.argv[1], sys.argv[2], int(sys.argv[3])
    seconds = []
    sha256 = ""
    for _ in range(runs):
        elapsed, sha256 = transfer(source, target)
        seconds.append(elapsed)
        # The next run writes into pages this one freed, as the fetches and copies do.
        os.remove(target)
    print(json.dumps({"seconds": seconds, "sha256": sha256}))


if __name__ == "__main__":
    main()
