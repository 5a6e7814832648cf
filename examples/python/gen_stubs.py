#!/usr/bin/env python3
"""Generate the Python gRPC stubs for Sidestream's services from proto/.

    python3 gen_stubs.py [OUT_DIR]        # default: gen/ next to this script

Runs `protoc` (Debian: protobuf-compiler) with the gRPC plugin
`grpc_python_plugin` (Debian: protobuf-compiler-grpc); $PROTOC and
$GRPC_PYTHON_PLUGIN override where they are found. Without them (pip:
`pip install grpcio grpcio-tools`), run `python3 -m grpc_tools.protoc` with the
same -I/--python_out/--grpc_python_out arguments: it bundles the plugin. Debian's
python3-grpc-tools (libprotoc 3.5) is too old for proto3 `optional`, hence protoc.

Only proto/sidestream/ is generated: proto/grpc/health/v1 would produce a
top-level `grpc/` package that hides grpcio's own `grpc`.
"""

import os
import shutil
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
PROTO_ROOT = os.path.normpath(os.path.join(HERE, "..", "..", "proto"))


def find_tool(env_name, name):
    """The tool named by $env_name, or `name` on PATH; exits 2 when neither exists."""
    path = os.environ.get(env_name) or shutil.which(name)
    if not path or not os.path.exists(path):
        print(
            f"gen_stubs: cannot find {name} (set {env_name}); Debian: "
            "apt install protobuf-compiler protobuf-compiler-grpc",
            file=sys.stderr,
        )
        sys.exit(2)
    return path


def main():
    if len(sys.argv) > 2 or (len(sys.argv) == 2 and sys.argv[1].startswith("-")):
        print("usage: gen_stubs.py [OUT_DIR]", file=sys.stderr)
        return 2
    out_dir = os.path.abspath(sys.argv[1] if len(sys.argv) == 2 else os.path.join(HERE, "gen"))
    protoc = find_tool("PROTOC", "protoc")
    plugin = find_tool("GRPC_PYTHON_PLUGIN", "grpc_python_plugin")

    protos = sorted(
        os.path.relpath(os.path.join(folder, name), PROTO_ROOT)
        for folder, _, names in os.walk(os.path.join(PROTO_ROOT, "sidestream"))
        for name in names
        if name.endswith(".proto")
    )
    os.makedirs(out_dir, exist_ok=True)
    command = [
        protoc,
        f"-I{PROTO_ROOT}",
        f"--python_out={out_dir}",
        f"--grpc_python_out={out_dir}",
        f"--plugin=protoc-gen-grpc_python={plugin}",
        *protos,
    ]
    result = subprocess.run(command, check=False)
    if result.returncode != 0:
        print(f"gen_stubs: protoc failed (exit {result.returncode})", file=sys.stderr)
        return 1
    print(f"gen_stubs: {len(protos)} protos -> {out_dir}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
