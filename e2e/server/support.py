"""Shared by the server test scripts: a random model, a `dsllm serve` process on a free loopback port."""
import contextlib
import os
import socket
import subprocess
import tempfile
import time
import urllib.request


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def random_model(dsllm, *args):
    """Writes a random model with the DeepSeek tokenizer (`dsllm random-model`) and returns its directory."""
    model = os.path.join(tempfile.mkdtemp(prefix="dsllm-server-test-"), "model")
    subprocess.run([dsllm, "random-model", "--out", model, *args], check=True, capture_output=True)
    return model


@contextlib.contextmanager
def serving(dsllm, model, *args):
    """Runs `dsllm serve --model MODEL ARGS...` (no --model when MODEL is None: the default model) on a free port
    until the block ends; yields (port, process)."""
    port = free_port()
    proc = subprocess.Popen([dsllm, "serve", *(["--model", model] if model else []), "--port", str(port), *args],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        for _ in range(600):
            try:
                urllib.request.urlopen(f"http://127.0.0.1:{port}/health", timeout=1)
                break
            except Exception:
                if proc.poll() is not None:
                    raise RuntimeError("dsllm serve exited at start")
                time.sleep(0.1)
        else:
            raise RuntimeError("dsllm serve did not come up")
        yield port, proc
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
