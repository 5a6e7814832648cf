#!/usr/bin/env python3
"""Talk to a running Sidestream sidecar from Python.

The sidecar is a plain gRPC server on loopback. Any program can call it with two
things from its *discovery file*: the address and the bearer token. In VS Code's
integrated terminal, SIDESTREAM_DISCOVERY_FILE names the file of that window's
sidecar; the file is JSON such as

    {"format": 1, "address": "127.0.0.1:40123", "token": "…", "pid": 4242, …}

and is readable by you alone (mode 0600).

This script checks the sidecar's health and prints what the sidecar reports
about itself, as one JSON object on stdout:

    {"health": "SERVING", "info": {"version": "0.1.0", "pid": 4242, …}}

On a gRPC error it prints {"error": {"code": "UNAUTHENTICATED", "details": …}}
and exits 1; a discovery file it cannot use exits 2.

Python code for the services is generated from the .proto files in proto/ with
protoc and the gRPC plugin (Debian: protobuf-compiler, protobuf-compiler-grpc,
python3-grpcio; or `pip install grpcio grpcio-tools`):

    mkdir -p stubs/protos/grpc_health/v1
    cp proto/grpc/health/v1/health.proto stubs/protos/grpc_health/v1/
    protoc -I proto -I stubs/protos --python_out=stubs --grpc_python_out=stubs \\
        --plugin=protoc-gen-grpc_python="$(command -v grpc_python_plugin)" \\
        grpc_health/v1/health.proto sidestream/v1/sidecar.proto

The health service is generated as `grpc_health.v1` (the module name the
`grpcio-health-checking` package uses, which works just as well) rather than
`grpc.health.v1`, because a generated `grpc/` folder would hide grpcio's own
`grpc` package. Then:

    PYTHONPATH=stubs python3 sidecar_client.py [DISCOVERY_FILE]
"""

import argparse
import json
import os
import sys

import grpc
from google.protobuf.json_format import MessageToDict

# Generated code (see above): the standard health service and Sidestream's own.
from grpc_health.v1 import health_pb2, health_pb2_grpc
from sidestream.v1 import sidecar_pb2, sidecar_pb2_grpc

TIMEOUT_SECONDS = 5.0


def read_discovery_file(path):
    """Returns (address, token) from a discovery file; the token may be absent."""
    with open(path, encoding="utf-8") as file:
        record = json.load(file)
    address = record.get("address")
    if not isinstance(address, str) or not address:
        raise ValueError(f'{path} has no "address"')
    return address, record.get("token") or None


def call_metadata(token):
    """Every call to the sidecar carries `authorization: Bearer <token>`."""
    return [("authorization", f"Bearer {token}")] if token else []


def describe(address, token):
    """Calls Health.Check and SidecarService.GetInfo; returns a JSON-ready dict."""
    metadata = call_metadata(token)
    with grpc.insecure_channel(address) as channel:
        health = health_pb2_grpc.HealthStub(channel)
        sidecar = sidecar_pb2_grpc.SidecarServiceStub(channel)

        # service="" asks about the server as a whole.
        status = health.Check(
            health_pb2.HealthCheckRequest(service=""),
            metadata=metadata,
            timeout=TIMEOUT_SECONDS,
        )
        info = sidecar.GetInfo(
            sidecar_pb2.GetInfoRequest(),
            metadata=metadata,
            timeout=TIMEOUT_SECONDS,
        )
    return {
        "health": health_pb2.HealthCheckResponse.ServingStatus.Name(status.status),
        # Field names as in the .proto file (uptime_seconds, runtime_version, …);
        # fields at their default value (such as an empty "error") are left out.
        "info": MessageToDict(info, preserving_proto_field_name=True),
    }


def main():
    parser = argparse.ArgumentParser(description="Check a running Sidestream sidecar and print its info as JSON.")
    parser.add_argument(
        "discovery_file",
        nargs="?",
        default=os.environ.get("SIDESTREAM_DISCOVERY_FILE"),
        help="the sidecar's discovery file (default: $SIDESTREAM_DISCOVERY_FILE)",
    )
    args = parser.parse_args()
    if not args.discovery_file:
        parser.error("no discovery file: pass its path or set SIDESTREAM_DISCOVERY_FILE")

    try:
        address, token = read_discovery_file(args.discovery_file)
    except (OSError, ValueError) as error:
        print(f"sidecar_client: cannot use the discovery file: {error}", file=sys.stderr)
        return 2

    try:
        result = describe(address, token)
    except grpc.RpcError as error:
        print(json.dumps({"error": {"code": error.code().name, "details": error.details()}}))
        return 1
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
