#!/usr/bin/env python3
"""Read decoded video frames of an open stream through a running Sidestream sidecar, from Python.

The sidecar decodes the source once with ffmpeg and gives every subscriber (VS Code's
preview, this program, any other) frames in its own format, size and buffering policy:

    python3 watch_frames.py --list                     # the open streams: id, uri, state
    python3 watch_frames.py cam-1 --format rgb24 --width 640 --frames 300
    python3 watch_frames.py cam-1 --format jpeg --frames 1 --save snapshot.jpg

The stream must already be open: open it in VS Code (Sidestream: Open Stream) or
with StreamsService/OpenStream from any client. STREAM_ID is the id that --list (or
ListStreams) shows; an unknown id is NOT_FOUND.

The program calls sidestream.v1.StreamsService/Subscribe, receives --frames frames
(default 60), and checks each one: a raw frame has exactly the bytes its format and
size imply (rgb24 w*h*3, gray w*h, i420 w*h*3/2, sizes even), a JPEG starts with
FF D8. Once a second it prints a progress line on stderr (frames per second, and
capture-to-arrival latency for sources that stamp their capture time: cameras,
screens, test sources, WebRTC). At the end it prints one JSON line on stdout:

    {"frames": 60, "width": 640, "height": 360, "format": "rgb24", "fps": 29.97,
     "first_sequence": 12, "last_sequence": 71, "dropped": 0, "latency_ms_p50": 38.1}

("dropped" adds up Frame.dropped_before: frames the buffering policy did not deliver;
"latency_ms_p50" is null when the source gives no capture time.) --save PATH writes the
last frame: rgb24 as a binary PPM (P6), gray as a PGM (P5), jpeg as the JPEG itself.

No numpy is needed. To use one with numpy, wrap the bytes without copying them:

    pixels = np.frombuffer(frame.data, np.uint8).reshape(frame.height, frame.width, 3)  # rgb24
    luma = np.frombuffer(frame.data, np.uint8).reshape(frame.height, frame.width)       # gray
    # i420: Y is the first w*h bytes, then U and V, (w/2)*(h/2) bytes each.

The sidecar is found through its discovery file: --discovery-file, else
$SIDESTREAM_DISCOVERY_FILE (set in VS Code's integrated terminals), else the newest
live sidecar-*.json in the discovery folder (see sidestream_discovery.py). Every call
carries the sidecar's token as `authorization: Bearer <token>`.

Exit codes: 0 the frames arrived and were well formed (also when the stream ended
before --frames: stderr says so); 1 an error (a gRPC error prints its status code
name and message; or a malformed frame; or the stream ended before any frame);
2 usage or setup (bad arguments, no discovery file, stubs not generated); 130
interrupted.

Needs grpcio and protobuf, and the stubs from `python3 gen_stubs.py` (written to
gen/ next to this file, which is used when PYTHONPATH does not provide them), and
sidestream_discovery.py (next to this file).
"""

import argparse
import json
import os
import statistics
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
# PYTHONPATH comes first; gen/ next to this file is the fallback.
sys.path.append(os.path.join(HERE, "gen"))
if HERE not in sys.path:  # sidestream_discovery.py sits next to this file (not on sys.path under `python3 -P`)
    sys.path.append(HERE)

# Finding the sidecar (discovery file, default folder) and loading the stubs are shared with the other examples.
from sidestream_discovery import SetupError, discovery_folder, find_sidecar, import_stubs

grpc, streams_pb2, streams_pb2_grpc = import_stubs("watch_frames", "streams_pb2", "streams_pb2_grpc")

FORMATS = {
    "rgb24": streams_pb2.FRAME_FORMAT_RGB24,
    "gray": streams_pb2.FRAME_FORMAT_GRAY,
    "i420": streams_pb2.FRAME_FORMAT_I420,
    "jpeg": streams_pb2.FRAME_FORMAT_JPEG,
}
POLICIES = {
    "latest_only": streams_pb2.BUFFER_POLICY_LATEST_ONLY,
    "drop_oldest": streams_pb2.BUFFER_POLICY_DROP_OLDEST,
    "wait": streams_pb2.BUFFER_POLICY_WAIT,
    "adaptive": streams_pb2.BUFFER_POLICY_ADAPTIVE,
}
# grpcio refuses messages over 4 MiB by default, and a 1080p RGB24 frame is 6.2 MB: accept
# what the sidecar may send (it allows 64 MiB).
CHANNEL_OPTIONS = [("grpc.max_receive_message_length", 64 * 1024 * 1024)]


def expected_bytes(name, width, height):
    """The byte length of a raw frame (None for jpeg), or a string saying why the size is wrong."""
    if name == "rgb24":
        return width * height * 3
    if name == "gray":
        return width * height
    if name == "i420":
        if width % 2 or height % 2:
            return f"i420 needs even sizes, got {width}x{height}"
        return width * height * 3 // 2
    return None


def check_frame(frame, name):
    """None when `frame` is a well-formed frame in format `name`; else what is wrong."""
    where = f"frame {frame.sequence}"
    if frame.format != FORMATS[name]:
        return f"{where} has format {streams_pb2.FrameFormat.Name(frame.format)}, asked for {name}"
    if frame.width <= 0 or frame.height <= 0:
        return f"{where} has no size ({frame.width}x{frame.height})"
    if name == "jpeg":
        if frame.data[:2] != b"\xff\xd8":
            return f"{where} is not a JPEG (it starts with {frame.data[:2].hex() or 'nothing'})"
        return None
    expected = expected_bytes(name, frame.width, frame.height)
    if isinstance(expected, str):
        return f"{where}: {expected}"
    if len(frame.data) != expected:
        return f"{where} has {len(frame.data)} bytes; {name} {frame.width}x{frame.height} is {expected}"
    return None


def save_frame(path, frame, name):
    """Writes `frame` to `path`: rgb24 as PPM (P6), gray as PGM (P5), jpeg as is."""
    if name == "jpeg":
        header = b""
    else:
        header = f"{'P6' if name == 'rgb24' else 'P5'}\n{frame.width} {frame.height}\n255\n".encode("ascii")
    with open(path, "wb") as file:
        file.write(header)
        file.write(frame.data)


class Progress:
    """One line per second on stderr (frames per second, latency); redrawn in place on a terminal."""

    def __init__(self, stream):
        self.stream = stream
        self.tty = stream.isatty()
        self.start = time.monotonic()
        self.window_start = self.start
        self.window_frames = 0
        self.window_latencies = []
        self.shown = False

    def frame(self, count, latency_ms, dropped):
        self.window_frames += 1
        if latency_ms is not None:
            self.window_latencies.append(latency_ms)
        now = time.monotonic()
        if now - self.window_start < 1.0:
            return
        fps = self.window_frames / (now - self.window_start)
        line = f"{count} frames  {fps:5.1f} fps"
        if self.window_latencies:
            line += f"  latency {statistics.median(self.window_latencies):.1f} ms (capture to arrival)"
        line += f"  dropped {dropped}"
        self.stream.write(f"\r\x1b[K{line}" if self.tty else f"{line}\n")
        self.stream.flush()
        self.shown = True
        self.window_start, self.window_frames, self.window_latencies = now, 0, []

    def end(self):
        if self.tty and self.shown:
            self.stream.write("\n")
            self.stream.flush()


def list_streams(stub, metadata):
    """Prints the open streams, one a line: id, uri, state (tab-separated)."""
    streams = stub.ListStreams(streams_pb2.ListStreamsRequest(), metadata=metadata, timeout=20).streams
    for info in streams:
        state = streams_pb2.StreamState.Name(info.state).removeprefix("STREAM_STATE_").lower()
        print(f"{info.id}\t{info.uri}\t{state}")
    if not streams:
        print("watch_frames: no stream is open (open one in VS Code or with OpenStream)", file=sys.stderr)


def watch(stub, metadata, args):
    """Subscribes, checks and counts frames; returns the exit code."""
    name = args.format
    request = streams_pb2.SubscribeRequest(
        stream_id=args.stream_id,
        format=FORMATS[name],
        width=args.width,
        height=args.height,
        policy=POLICIES[args.policy] if args.policy else streams_pb2.BUFFER_POLICY_UNSPECIFIED,
    )
    progress = Progress(sys.stderr)
    count = 0
    dropped = 0
    first = last = None
    first_arrival = last_arrival = 0.0
    latencies = []
    call = stub.Subscribe(request, metadata=metadata)
    try:
        for frame in call:
            arrival_us = time.time_ns() // 1000
            last_arrival = time.monotonic()
            problem = check_frame(frame, name)
            if problem:
                call.cancel()
                progress.end()
                print(f"watch_frames: {problem}", file=sys.stderr)
                return 1
            count += 1
            if first is None:
                first, first_arrival = frame, last_arrival
            last = frame
            dropped += frame.dropped_before
            # Both clocks are this machine's wall clock (the sidecar runs on loopback).
            latency_ms = (arrival_us - frame.captured_at_us) / 1000 if frame.captured_at_us > 0 else None
            if latency_ms is not None:
                latencies.append(latency_ms)
            progress.frame(count, latency_ms, dropped)
            if count >= args.frames:
                call.cancel()
                break
    except grpc.RpcError as error:
        progress.end()
        print(f"watch_frames: {error.code().name}: {error.details()}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        call.cancel()
        progress.end()
        print(f"watch_frames: interrupted after {count} frames", file=sys.stderr)
        return 130
    progress.end()
    if last is None:
        print(f"watch_frames: the stream {args.stream_id} ended before any frame", file=sys.stderr)
        return 1
    if count < args.frames:
        print(f"watch_frames: the stream ended after {count} of {args.frames} frames", file=sys.stderr)

    if args.save:
        try:
            save_frame(args.save, last, name)
        except OSError as error:
            print(f"watch_frames: cannot write {args.save}: {error}", file=sys.stderr)
            return 1
        print(f"watch_frames: frame {last.sequence} saved to {args.save}", file=sys.stderr)

    seconds = last_arrival - first_arrival
    summary = {
        "frames": count,
        "width": last.width,
        "height": last.height,
        "format": name,
        # Between the first and the last arrival: the first frame's start-up time is left out.
        "fps": round((count - 1) / seconds, 2) if count > 1 and seconds > 0 else None,
        "first_sequence": first.sequence,
        "last_sequence": last.sequence,
        "dropped": dropped,
        "latency_ms_p50": round(statistics.median(latencies), 2) if latencies else None,
    }
    print(json.dumps(summary))
    return 0


def parse_args():
    parser = argparse.ArgumentParser(description="Read decoded frames of an open stream through a running Sidestream sidecar; prints a JSON summary.")
    parser.add_argument("stream_id", metavar="STREAM_ID", nargs="?", help="the id of an open stream (see --list)")
    parser.add_argument("--list", action="store_true", help="print the open streams (id, uri, state) and exit")
    parser.add_argument("--format", choices=sorted(FORMATS), default="rgb24", help="the pixel format to receive (default: rgb24)")
    parser.add_argument("--width", type=int, default=0, help="output width; 0 keeps the source's (or follows --height's aspect ratio)")
    parser.add_argument("--height", type=int, default=0, help="output height; 0 keeps the source's (or follows --width's aspect ratio)")
    parser.add_argument("--frames", type=int, default=60, help="how many frames to receive (default: 60)")
    parser.add_argument("--policy", choices=sorted(POLICIES), help="the buffering policy (default: the sidecar's: adaptive for live sources, wait for files)")
    parser.add_argument("--save", metavar="PATH", help="write the last frame: rgb24 as PPM, gray as PGM, jpeg as JPEG")
    parser.add_argument("--discovery-file", metavar="FILE", help="the sidecar's discovery file (default: see below)")
    parser.epilog = "Discovery file: $SIDESTREAM_DISCOVERY_FILE, else the newest sidecar-*.json in " + discovery_folder()
    args = parser.parse_args()
    if not args.list and not args.stream_id:
        parser.error("STREAM_ID is required (or --list)")
    if args.width < 0 or args.height < 0:
        parser.error("--width and --height must not be negative")
    if args.frames < 1:
        parser.error("--frames must be at least 1")
    if args.save and args.format == "i420":
        parser.error("--save writes rgb24, gray or jpeg frames, not i420")
    return args


def main():
    args = parse_args()
    try:
        address, token, _ = find_sidecar(args.discovery_file, "watch_frames")
    except SetupError as error:
        print(f"watch_frames: {error}", file=sys.stderr)
        return 2

    # Every call to the sidecar carries its token.
    metadata = [("authorization", f"Bearer {token}")]
    try:
        with grpc.insecure_channel(address, options=CHANNEL_OPTIONS) as channel:
            stub = streams_pb2_grpc.StreamsServiceStub(channel)
            if args.list:
                list_streams(stub, metadata)
                return 0
            return watch(stub, metadata, args)
    except grpc.RpcError as error:
        print(f"watch_frames: {error.code().name}: {error.details()}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("watch_frames: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
