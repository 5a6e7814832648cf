"""A real RTSP server for pull tests: GStreamer's, from Debian (ffmpeg cannot serve RTSP).

Usage: /usr/bin/python3 rtsp_server.py PORT [PATH]
Serves a live 640x360 30 fps H264 test pattern at rtsp://127.0.0.1:PORT/PATH (default /test)
to any number of clients, and prints "ready" once it listens. Killing it is a real outage.
"""
import sys

import gi

gi.require_version("Gst", "1.0")
gi.require_version("GstRtspServer", "1.0")
from gi.repository import GLib, Gst, GstRtspServer  # noqa: E402

Gst.init(None)
port = sys.argv[1]
path = sys.argv[2] if len(sys.argv) > 2 else "/test"

server = GstRtspServer.RTSPServer()
server.set_address("127.0.0.1")
server.set_service(port)
factory = GstRtspServer.RTSPMediaFactory()
factory.set_launch(
    "( videotestsrc is-live=true pattern=smpte ! video/x-raw,width=640,height=360,framerate=30/1 "
    "! x264enc tune=zerolatency speed-preset=ultrafast key-int-max=30 ! rtph264pay name=pay0 pt=96 )"
)
factory.set_shared(True)
server.get_mount_points().add_factory(path, factory)
if server.attach(None) == 0:
    sys.exit(f"cannot listen on 127.0.0.1:{port}")
print("ready", flush=True)
GLib.MainLoop().run()
