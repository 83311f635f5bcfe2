"""Servers started by the tests and scripts bind a free port and trust only the process they started."""

from __future__ import annotations

import json
import socket
import subprocess
import sys
import threading
import time
import urllib.request
from contextlib import ExitStack, contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from scripts.comfyui_server import ComfyUIError, ComfyUIServer, free_port, port_is_free

COMFYUI_PORTS = (8199, 8188)


class _ForeignComfyUI(BaseHTTPRequestHandler):
    """Answers /system_stats like a ComfyUI someone else started (another base directory)."""

    def log_message(self, *args: object) -> None:
        pass

    def do_GET(self) -> None:
        body = json.dumps({"system": {"argv": ["main.py", "--port", str(self.server.server_address[1]), "--base-directory", "/elsewhere"]}}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


@contextmanager
def foreign_server(port: int = 0):
    """A fake ComfyUI on `port` (0: any free one); yields its port, or None when the port is taken already (it stays busy either way)."""
    try:
        server = ThreadingHTTPServer(("127.0.0.1", port), _ForeignComfyUI)
    except OSError:
        yield None
        return
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        yield server.server_address[1]
    finally:
        server.shutdown()
        server.server_close()


def test_free_port_is_free_and_a_listening_port_is_not():
    port = free_port()
    assert port_is_free(port)
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", port))
        listener.listen()
        assert not port_is_free(port)


def test_a_given_port_in_use_is_refused_before_anything_starts(tmp_path):
    with foreign_server() as port:
        server = ComfyUIServer(tmp_path / "base", tmp_path / "models", port=port)
        with pytest.raises(ComfyUIError, match=f"port {port} of 127.0.0.1 is already in use"):
            server.start()
        assert server.process is None


def test_a_server_answering_on_our_port_is_not_trusted(tmp_path):
    with foreign_server() as port:
        server = ComfyUIServer(tmp_path / "base", tmp_path / "models", port=port)
        server.process = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
        try:
            stats = server.get("/system_stats")
            assert not server.is_ours(stats)
            ours = {"system": {"argv": ["main.py", "--port", str(port), "--base-directory", str(tmp_path / "base")]}}
            assert server.is_ours(ours)
            with pytest.raises(ComfyUIError, match="another server answers on .* it is not the ComfyUI we started"):
                server._wait_until_ours(time.monotonic() + 2)
            assert server.process.poll() is not None  # our process was stopped, not left behind
            assert not server.is_ours(ours)  # a dead process is never ours
        finally:
            server.process.kill()
            server.process.wait()


def _base_directory_on(port: int) -> str:
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/system_stats", timeout=10) as response:
        argv = json.loads(response.read())["system"]["argv"]
    return argv[argv.index("--base-directory") + 1]


def test_the_server_starts_on_a_free_port_while_comfyui_ports_are_taken(tmp_path):
    with ExitStack() as stack:
        held = [port for port in (stack.enter_context(foreign_server(port)) for port in COMFYUI_PORTS) if port is not None]
        server = ComfyUIServer(tmp_path / "base", tmp_path / "models").start()
        try:
            assert server.port not in COMFYUI_PORTS
            assert _base_directory_on(server.port) == str((tmp_path / "base").resolve())
            assert "StyleHEAT_StyleGANDecode" in server.get("/object_info")
        finally:
            server.stop()
        assert server.process.poll() is not None
        for port in held:  # the fake servers were neither used nor disturbed
            assert _base_directory_on(port) == "/elsewhere"


@pytest.mark.slow
def test_a_port_taken_between_the_check_and_the_bind_is_retried(tmp_path, monkeypatch):
    with foreign_server() as taken:
        offered = iter([taken, free_port()])
        monkeypatch.setattr("scripts.comfyui_server.free_port", lambda: next(offered))
        server = ComfyUIServer(tmp_path / "base", tmp_path / "models").start()
        try:
            assert server.port != taken and server.is_ours(server.get("/system_stats"))
            assert _base_directory_on(taken) == "/elsewhere"
        finally:
            server.stop()
