"""Drive a real ComfyUI server (the one scripts/setup_comfyui.sh unpacks) with this pack installed.

Used by the main-job command (scripts/run_main_job.py), scripts/build_workflows.py and the server
tests: start on a free port of 127.0.0.1 (the OS picks it), check that the server answering there is
the process we started (its /system_stats argv holds our private --base-directory and port), queue
API-format graphs, follow them over the websocket, stop the process by its PID.
"""

from __future__ import annotations

import asyncio
import json
import os
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
import uuid
from pathlib import Path
from typing import Callable

ROOT = Path(__file__).resolve().parents[1]
COMFYUI_DIR = ROOT / ".cache" / "comfyui"
STUBS = ROOT / "tests" / "stubs"
PACK_NAME = "ComfyUI-StyleHEAT"
HOST = "127.0.0.1"
START_ATTEMPTS = 3  # another program may take the free port between our check and ComfyUI's bind


def free_port() -> int:
    """A TCP port of 127.0.0.1 that nothing listens on right now (chosen by the OS)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind((HOST, 0))
        return probe.getsockname()[1]


def port_is_free(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        try:
            probe.bind((HOST, port))
        except OSError:
            return False
    return True


def _argument(argv: list, flag: str) -> str | None:
    """The value after `flag` in a command line, or None."""
    return str(argv[argv.index(flag) + 1]) if flag in argv and argv.index(flag) + 1 < len(argv) else None


class ComfyUIError(RuntimeError):
    """The server refused a graph or a graph failed; the message carries ComfyUI's own explanation."""


class ComfyUIServer:
    """One ComfyUI process with a private base directory (models, input, output, custom_nodes).

    `port=None` (the default) binds a free port; a given port must be free. `env` adds environment
    variables for the server process; `on_message` is called with every websocket message.
    """

    def __init__(
        self, base: Path, models: Path, port: int | None = None, python: str = sys.executable, env: dict[str, str] | None = None,
        on_message: Callable[[dict], None] | None = None,
    ):
        self.base, self.models, self.requested_port, self.python = Path(base).resolve(), Path(models), port, python
        self.port = port or 0
        self.env, self.on_message = dict(env or {}), on_message
        self.client_id = uuid.uuid4().hex
        self.messages: list[dict] = []
        self.process: subprocess.Popen | None = None
        self._listener: threading.Thread | None = None
        self._stop_listening = threading.Event()

    @property
    def url(self) -> str:
        return f"http://{HOST}:{self.port}"

    @property
    def input_dir(self) -> Path:
        return self.base / "input"

    @property
    def output_dir(self) -> Path:
        return self.base / "output"

    @property
    def log_path(self) -> Path:
        return self.base / "server.log"

    def start(self, timeout: float = 180.0) -> "ComfyUIServer":
        """Start the server and wait until it answers as itself; raises with the log's tail when it does not."""
        if not (COMFYUI_DIR / "main.py").is_file():
            raise ComfyUIError(f"ComfyUI is not installed at {COMFYUI_DIR}: run `bash scripts/setup_comfyui.sh` first")
        if self.requested_port is not None and not port_is_free(self.requested_port):
            raise ComfyUIError(f"port {self.requested_port} of {HOST} is already in use by another program: stop it, or leave the port out to use a free one")
        for sub in ("custom_nodes", "input", "output", "models"):
            (self.base / sub).mkdir(parents=True, exist_ok=True)
        link = self.base / "custom_nodes" / PACK_NAME
        if not link.exists():
            link.symlink_to(ROOT, target_is_directory=True)
        deadline = time.monotonic() + timeout
        for _ in range(1 if self.requested_port is not None else START_ATTEMPTS):
            self.port = self.requested_port or free_port()
            self._launch()
            if self._wait_until_ours(deadline):
                self._listen()
                return self
        raise ComfyUIError(f"ComfyUI could not bind a free port in {START_ATTEMPTS} attempts (last {self.port}):\n{self.log_tail()}")

    def _launch(self) -> None:
        paths = self.base / "extra_model_paths.yaml"
        paths.write_text(f"styleheat_tests:\n  styleheat: {self.models}\n")
        env = dict(os.environ, PYTHONPATH=str(STUBS), **self.env)
        command = [
            self.python, str(COMFYUI_DIR / "main.py"), "--cpu", "--listen", HOST, "--port", str(self.port),
            "--disable-auto-launch", "--dont-print-server", "--base-directory", str(self.base),
            "--database-url", "sqlite:///:memory:", "--extra-model-paths-config", str(paths), "--preview-method", "none",
        ]
        with open(self.log_path, "w") as log:
            self.process = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT, env=env, cwd=self.base)

    def is_ours(self, stats: dict) -> bool:
        """Whether /system_stats came from the process we started: alive, and its argv names our base directory and port."""
        argv = stats.get("system", {}).get("argv", []) if isinstance(stats, dict) else []
        alive = self.process is not None and self.process.poll() is None
        return alive and _argument(argv, "--base-directory") == str(self.base) and _argument(argv, "--port") == str(self.port)

    def _wait_until_ours(self, deadline: float) -> bool:
        """Wait for our process to answer; False when it died because the port was taken (try another), raises otherwise."""
        foreign = None
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                if self.requested_port is None and "address already in use" in self.log_tail().lower():
                    return False
                raise ComfyUIError(f"ComfyUI exited with code {self.process.returncode} while starting:\n{self.log_tail()}")
            try:
                stats = self.get("/system_stats")
            except (urllib.error.URLError, ConnectionError, json.JSONDecodeError, TimeoutError):
                time.sleep(0.5)
                continue
            if self.is_ours(stats):
                return True
            foreign = stats
            time.sleep(0.5)
        self.stop()
        if foreign is not None:
            theirs = _argument(foreign.get("system", {}).get("argv", []), "--base-directory")
            raise ComfyUIError(f"another server answers on {self.url} (base directory {theirs}, ours is {self.base}); it is not the ComfyUI we started")
        raise ComfyUIError(f"ComfyUI did not answer within the start timeout:\n{self.log_tail()}")

    def stop(self) -> None:
        """Stop the listener and the server process (terminate, then kill)."""
        self._stop_listening.set()
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=20)
        if self._listener is not None:
            self._listener.join(timeout=10)

    def log_tail(self, lines: int = 60) -> str:
        return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:]) if self.log_path.exists() else ""

    def get(self, path: str) -> dict:
        with urllib.request.urlopen(self.url + path, timeout=30) as response:
            return json.loads(response.read())

    def post(self, path: str, payload: dict) -> tuple[int, dict]:
        request = urllib.request.Request(self.url + path, data=json.dumps(payload).encode(), headers={"Content-Type": "application/json"})
        try:
            with urllib.request.urlopen(request, timeout=30) as response:
                body = response.read()
                return response.status, json.loads(body) if body else {}
        except urllib.error.HTTPError as error:
            return error.code, json.loads(error.read() or b"{}")

    def queue(self, graph: dict) -> str:
        """Queue an API-format graph; raises with ComfyUI's validation errors when it refuses it."""
        status, body = self.post("/prompt", {"prompt": graph, "client_id": self.client_id})
        if status != 200 or body.get("node_errors"):
            raise ComfyUIError(f"ComfyUI refused the graph ({status}): {json.dumps(body)}")
        return body["prompt_id"]

    def wait(self, prompt_id: str, timeout: float = 1200.0) -> dict:
        """The finished history entry of a prompt."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            history = self.get(f"/history/{prompt_id}")
            if prompt_id in history and history[prompt_id].get("status", {}).get("completed") is not None:
                entry = history[prompt_id]
                if entry["status"].get("status_str") in ("success", "error"):
                    return entry
            if self.process.poll() is not None:
                raise ComfyUIError(f"ComfyUI died while running {prompt_id}:\n{self.log_tail()}")
            time.sleep(0.5)
        raise ComfyUIError(f"prompt {prompt_id} did not finish within {timeout:.0f} s:\n{self.log_tail()}")

    def run(self, graph: dict, timeout: float = 1200.0) -> dict:
        """Queue a graph and wait for it; raises with the node's error message when it fails."""
        entry = self.wait(self.queue(graph), timeout)
        if entry["status"]["status_str"] != "success":
            raise ComfyUIError(f"graph failed: {error_message(entry)}")
        return entry

    def events(self, prompt_id: str, kind: str) -> list[dict]:
        """Websocket messages of one type for one prompt (e.g. 'progress', 'execution_interrupted')."""
        return [m["data"] for m in list(self.messages) if m.get("type") == kind and m.get("data", {}).get("prompt_id") == prompt_id]

    def _listen(self) -> None:
        """Collect websocket messages in a background thread."""
        ready = threading.Event()

        async def listen() -> None:
            import aiohttp

            async with aiohttp.ClientSession() as session:
                async with session.ws_connect(f"{self.url}/ws?clientId={self.client_id}") as socket:
                    ready.set()
                    while not self._stop_listening.is_set():
                        try:
                            message = await socket.receive(timeout=0.5)
                        except asyncio.TimeoutError:
                            continue
                        if message.type == aiohttp.WSMsgType.TEXT:
                            self.messages.append(json.loads(message.data))
                            if self.on_message is not None:
                                self.on_message(self.messages[-1])
                        elif message.type in (aiohttp.WSMsgType.CLOSED, aiohttp.WSMsgType.ERROR):
                            return

        self._listener = threading.Thread(target=lambda: asyncio.run(listen()), daemon=True)
        self._listener.start()
        ready.wait(timeout=30)


def error_message(entry: dict) -> str:
    """The exception message of a failed prompt's history entry."""
    for kind, data in entry.get("status", {}).get("messages", []):
        if kind in ("execution_error", "execution_interrupted"):
            return f"{data.get('node_type')}: {data.get('exception_message', kind)}"
    return json.dumps(entry.get("status"))
