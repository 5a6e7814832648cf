"""Find a running Sidestream sidecar through its discovery file (shared by the examples).

Each VS Code window's sidecar writes a discovery file, a small JSON record (mode
0600) with the gRPC address and the bearer token:

    {"format": 1, "address": "127.0.0.1:41234", "token": "…", "pid": 4242, ...}

find_sidecar() looks for it in this order: the file it is given (--discovery-file),
else $SIDESTREAM_DISCOVERY_FILE (set in VS Code's integrated terminals), else the
newest live sidecar-*.json in the discovery folder ($SIDESTREAM_RUNTIME_DIR, else
$XDG_RUNTIME_DIR/sidestream on Linux, else ~/.sidestream/run; on Windows
%LOCALAPPDATA%\\Sidestream\\run).

import_stubs() loads grpc and the generated modules an example needs, or exits 2
naming what to install. Only the standard library is used: this module imports
without grpc or the stubs.
"""

import glob
import importlib
import json
import os
import sys


def import_stubs(prog, *modules):
    """grpc, then each generated sidestream.v1 module named (e.g. "models_pb2"); exits 2 when one is missing."""
    try:
        return (importlib.import_module("grpc"), *(importlib.import_module(f"sidestream.v1.{name}") for name in modules))
    except ImportError as error:
        print(
            f"{prog}: {error}. Install grpcio and protobuf (Debian: python3-grpcio "
            "python3-protobuf) and generate the stubs: python3 gen_stubs.py",
            file=sys.stderr,
        )
        sys.exit(2)


class SetupError(Exception):
    """A problem with the discovery file: the examples exit 2."""


def discovery_folder():
    """The folder where each VS Code window's sidecar writes its discovery file."""
    if os.environ.get("SIDESTREAM_RUNTIME_DIR"):
        return os.environ["SIDESTREAM_RUNTIME_DIR"]
    if sys.platform == "win32" and os.environ.get("LOCALAPPDATA"):
        return os.path.join(os.environ["LOCALAPPDATA"], "Sidestream", "run")
    if sys.platform.startswith("linux") and os.environ.get("XDG_RUNTIME_DIR"):
        return os.path.join(os.environ["XDG_RUNTIME_DIR"], "sidestream")
    return os.path.join(os.path.expanduser("~"), ".sidestream", "run")


def process_alive(pid):
    """Whether the process `pid` exists (True when that cannot be told cheaply)."""
    if not isinstance(pid, int) or pid <= 0 or sys.platform == "win32":
        return True  # Cannot tell cheaply: assume it is.
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def read_discovery(path):
    """The discovery record in `path`; raises OSError, ValueError or SetupError."""
    with open(path, encoding="utf-8") as file:
        record = json.load(file)
    if not isinstance(record, dict) or not isinstance(record.get("address"), str) or not record["address"]:
        raise SetupError(f'{path} has no "address"')
    return record


def find_sidecar(explicit, prog="sidestream"):
    """Returns (address, token, discovery file path); raises SetupError.

    `explicit` is a discovery file given by the user (or None); `prog` prefixes the
    note printed on stderr when several sidecars are running.
    """
    path = explicit or os.environ.get("SIDESTREAM_DISCOVERY_FILE")
    try:
        if path:
            record = read_discovery(path)
        else:
            folder = discovery_folder()
            candidates = []
            for candidate in glob.glob(os.path.join(folder, "sidecar-*.json")):
                try:
                    record = read_discovery(candidate)
                except (OSError, ValueError, SetupError):
                    continue
                if process_alive(record.get("pid")):
                    candidates.append((os.path.getmtime(candidate), candidate, record))
            if not candidates:
                raise SetupError(f"no running sidecar: no usable sidecar-*.json in {folder} (is VS Code with Sidestream open?)")
            candidates.sort()
            _, path, record = candidates[-1]
            if len(candidates) > 1:
                print(f"{prog}: {len(candidates)} sidecars are running; using the newest, {path}", file=sys.stderr)
    except (OSError, ValueError) as error:
        raise SetupError(f"cannot use the discovery file {path}: {error}") from error
    return record["address"], record.get("token") or "", path
