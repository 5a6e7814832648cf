#!/usr/bin/env python3
"""Fetch a model file through a running Sidestream sidecar, from Python.

The sidecar downloads the file into its cache (shared with VS Code and every other
client: one copy on disk, resumable, verified by sha256) and this program prints
the local path on stdout:

    python3 fetch_model.py --store team yolo/v8n.onnx
    python3 fetch_model.py --store-address 127.0.0.1:7000 --store-token T yolo/v8n.onnx

`--store NAME` uses a store configured in VS Code (`sidestream.modelStores`);
`--store-address` gives one in full. Progress (percent, MB/s, ETA) goes to stderr.
The program hashes the local file itself and compares it with the sidecar's sha256.

The sidecar is found through its discovery file: --discovery-file, else
$SIDESTREAM_DISCOVERY_FILE (set in VS Code's integrated terminals), else the newest
live sidecar-*.json in the discovery folder ($SIDESTREAM_RUNTIME_DIR, else
$XDG_RUNTIME_DIR/sidestream on Linux, else ~/.sidestream/run; on Windows
%LOCALAPPDATA%\\Sidestream\\run).

Exit codes: 0 the file is local and its sha256 matches; 1 an error (a gRPC error
prints its status code name and message; or a sha256 mismatch); 2 usage or setup
(bad arguments, no discovery file, stubs not generated); 130 interrupted (the
partial file stays in the cache and the next fetch resumes it).

Needs grpcio and protobuf, and the stubs from `python3 gen_stubs.py` (written to
gen/ next to this file, which is used when PYTHONPATH does not provide them), and
sidestream_discovery.py (next to this file), which finds and reads the discovery file.
"""

import argparse
import hashlib
import os
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
# PYTHONPATH comes first; gen/ next to this file is the fallback.
sys.path.append(os.path.join(HERE, "gen"))
if HERE not in sys.path:  # sidestream_discovery.py sits next to this file (not on sys.path under `python3 -P`)
    sys.path.append(HERE)

# Finding the sidecar (discovery file, default folder) and loading the stubs are shared with the other examples.
from sidestream_discovery import SetupError, discovery_folder, find_sidecar, import_stubs

grpc, models_pb2, models_pb2_grpc = import_stubs("fetch_model", "models_pb2", "models_pb2_grpc")

MiB = 1024 * 1024


def format_seconds(seconds):
    seconds = int(round(seconds))
    return f"{seconds // 3600}:{seconds // 60 % 60:02d}:{seconds % 60:02d}" if seconds >= 3600 else f"{seconds // 60}:{seconds % 60:02d}"


STATE_WORDS = {
    models_pb2.FETCH_STATE_RESOLVING: "resolving",
    models_pb2.FETCH_STATE_WAITING: "waiting",
    models_pb2.FETCH_STATE_DOWNLOADING: "downloading",
    models_pb2.FETCH_STATE_VERIFYING: "verifying",
    models_pb2.FETCH_STATE_DONE: "done",
}


class Progress:
    """One line per second (or per state change) on stderr; redrawn in place on a terminal."""

    def __init__(self, stream):
        self.stream = stream
        self.tty = stream.isatty()
        self.last_state = None
        self.last_time = 0.0

    def show(self, event):
        now = time.monotonic()
        if event.state == self.last_state and now - self.last_time < (0.2 if self.tty else 1.0):
            return
        self.last_state, self.last_time = event.state, now
        line = f"{STATE_WORDS.get(event.state, 'fetching'):<11}"
        if event.bytes_total > 0:
            percent = 100.0 * event.bytes_done / event.bytes_total
            line += f" {percent:5.1f}%  {event.bytes_done / MiB:.1f}/{event.bytes_total / MiB:.1f} MiB"
        if event.state == models_pb2.FETCH_STATE_DOWNLOADING:
            line += f"  {event.bytes_per_second / 1e6:.1f} MB/s"
            if event.eta_seconds > 0:
                line += f"  ETA {format_seconds(event.eta_seconds)}"
        if event.message:
            line += f"  ({event.message})"
        self.stream.write(f"\r\x1b[K{line}" if self.tty else f"{line}\n")
        self.stream.flush()

    def end(self):
        if self.tty:
            self.stream.write("\n")
            self.stream.flush()


def sha256_of(path):
    digest = hashlib.sha256()
    with open(path, "rb") as file:
        for block in iter(lambda: file.read(MiB), b""):
            digest.update(block)
    return digest.hexdigest()


def parse_args():
    parser = argparse.ArgumentParser(description="Fetch a model file through a running Sidestream sidecar; prints its local path.")
    parser.add_argument("path", help="the file's path in the store, e.g. yolo/v8n.onnx")
    where = parser.add_mutually_exclusive_group(required=True)
    where.add_argument("--store", metavar="NAME", help="a store configured in the sidecar (sidestream.modelStores)")
    where.add_argument("--store-address", metavar="HOST:PORT", help="a store given in full (not configured anywhere)")
    parser.add_argument("--store-token", metavar="TOKEN", default="", help="the bearer token of --store-address's store")
    parser.add_argument("--store-name", metavar="NAME", default="", help="the name that labels --store-address's store in the cache (default: HOST:PORT)")
    parser.add_argument("--discovery-file", metavar="FILE", help="the sidecar's discovery file (default: see below)")
    parser.add_argument("--max-rate", metavar="MB_S", type=float, default=0.0, help="cap the download at this many MB/s (default: none)")
    parser.add_argument("--pin", action="store_true", help="keep the file in the cache whatever its size limit says")
    parser.add_argument("--verify", action="store_true", help="make the sidecar re-hash a cached file before answering from the cache")
    parser.epilog = "Discovery file: $SIDESTREAM_DISCOVERY_FILE, else the newest sidecar-*.json in " + discovery_folder()
    args = parser.parse_args()
    if (args.store_token or args.store_name) and not args.store_address:
        parser.error("--store-token and --store-name go with --store-address")
    if args.max_rate < 0:
        parser.error("--max-rate must not be negative")
    return args


def main():
    args = parse_args()
    try:
        address, token, _ = find_sidecar(args.discovery_file, "fetch_model")
    except SetupError as error:
        print(f"fetch_model: {error}", file=sys.stderr)
        return 2

    if args.store:
        store = models_pb2.StoreRef(name=args.store)
    else:
        store = models_pb2.StoreRef(
            inline=models_pb2.ModelStore(name=args.store_name or args.store_address, address=args.store_address, token=args.store_token)
        )
    request = models_pb2.FetchFileRequest(
        store=store,
        path=args.path,
        max_bytes_per_second=int(args.max_rate * 1e6),
        pin=args.pin,
        verify=args.verify,
    )
    progress = Progress(sys.stderr)
    done = None
    with grpc.insecure_channel(address) as channel:
        models = models_pb2_grpc.ModelsServiceStub(channel)
        # Every call to the sidecar carries its token.
        call = models.FetchFile(request, metadata=[("authorization", f"Bearer {token}")])
        try:
            for event in call:
                progress.show(event)
                if event.state == models_pb2.FETCH_STATE_DONE:
                    done = event
        except grpc.RpcError as error:
            progress.end()
            print(f"fetch_model: {error.code().name}: {error.details()}", file=sys.stderr)
            return 1
        except KeyboardInterrupt:
            call.cancel()
            progress.end()
            print("fetch_model: cancelled; the partial file stays in the cache and the next fetch resumes it", file=sys.stderr)
            return 130
    progress.end()
    if done is None or not done.local_path:
        print("fetch_model: the sidecar ended the fetch without a local file", file=sys.stderr)
        return 1

    # Trust, but verify: hash the local file here, too.
    try:
        actual = sha256_of(done.local_path)
    except OSError as error:
        print(f"fetch_model: cannot read {done.local_path}: {error}", file=sys.stderr)
        return 1
    if actual != done.sha256.lower():
        print(f"fetch_model: sha256 mismatch for {done.local_path}: the sidecar said {done.sha256}, the file has {actual}", file=sys.stderr)
        return 1
    source = "from the cache (no byte fetched)" if done.from_cache else f"{done.bytes_received / MiB:.1f} MiB fetched"
    print(f"fetch_model: {source}; sha256 {actual} verified", file=sys.stderr)
    print(done.local_path)
    return 0


if __name__ == "__main__":
    sys.exit(main())
