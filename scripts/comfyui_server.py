"""Drive a real ComfyUI server (the one scripts/setup_comfyui.sh unpacks) with this pack installed.

Used by the main-job command (scripts/run_main_job.py) and the server tests: start on 127.0.0.1,
queue API-format graphs, follow them over the websocket, stop the process by its PID.
"""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
COMFYUI_DIR = ROOT / ".cache" / "comfyui"
STUBS = ROOT / "tests" / "stubs"
PACK_NAME = "ComfyUI-StyleHEAT"


class ComfyUIError(RuntimeError):
    """The server refused a graph or a graph failed; the message carries ComfyUI's own explanation."""


class ComfyUIServer:
    """One ComfyUI process with a private base directory (models, input, output, custom_nodes)."""

    def __init__(self, base: Path, models: Path, port: int = 8199, python: str = sys.executable):
        self.base, self.models, self.port, self.python = Path(base), Path(models), port, python
        self.url = f"http://127.0.0.1:{port}"
        self.client_id = uuid.uuid4().hex
        self.messages: list[dict] = []
        self.process: subprocess.Popen | None = None
        self._listener: threading.Thread | None = None
        self._stop_listening = threading.Event()

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
        """Start the server and wait until it answers; raises with the log's tail when it does not."""
        if not (COMFYUI_DIR / "main.py").is_file():
            raise ComfyUIError(f"ComfyUI is not installed at {COMFYUI_DIR}: run `bash scripts/setup_comfyui.sh` first")
        for sub in ("custom_nodes", "input", "output", "models"):
            (self.base / sub).mkdir(parents=True, exist_ok=True)
        link = self.base / "custom_nodes" / PACK_NAME
        if not link.exists():
            link.symlink_to(ROOT, target_is_directory=True)
        paths = self.base / "extra_model_paths.yaml"
        paths.write_text(f"styleheat_tests:\n  styleheat: {self.models}\n")
        env = dict(os.environ, PYTHONPATH=str(STUBS))
        command = [
            self.python, str(COMFYUI_DIR / "main.py"), "--cpu", "--listen", "127.0.0.1", "--port", str(self.port),
            "--disable-auto-launch", "--dont-print-server", "--base-directory", str(self.base),
            "--database-url", "sqlite:///:memory:", "--extra-model-paths-config", str(paths), "--preview-method", "none",
        ]
        log = open(self.log_path, "w")
        self.process = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT, env=env, cwd=self.base)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise ComfyUIError(f"ComfyUI exited with code {self.process.returncode} while starting:\n{self.log_tail()}")
            try:
                self.get("/system_stats")
                self._listen()
                return self
            except (urllib.error.URLError, ConnectionError):
                time.sleep(0.5)
        self.stop()
        raise ComfyUIError(f"ComfyUI did not answer within {timeout:.0f} s:\n{self.log_tail()}")

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
