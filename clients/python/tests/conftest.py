"""A real explainme server on loopback for the client's tests, and a phantom cohort.

The binary is `EXPLAINME_BIN`, else the repository's `target/debug/explainme` (built by
`cargo build`); the demo CNN is the repository's `data/models/renal_cnn.onnx`.
"""

from __future__ import annotations

import os
import socket
import subprocess
import time
from pathlib import Path

import grpc
import pytest

REPO = Path(__file__).resolve().parents[3]
MODELS = REPO / "data" / "models"


def binary() -> Path:
    path = Path(os.environ.get("EXPLAINME_BIN", REPO / "target" / "debug" / "explainme"))
    if not path.is_file():
        pytest.exit(f"no explainme binary at {path}: cargo build, or set EXPLAINME_BIN", 2)
    return path


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="session")
def server(tmp_path_factory):
    """The address of a running server with a fresh data directory."""
    data = tmp_path_factory.mktemp("data")
    address = f"127.0.0.1:{free_port()}"
    log = open(data / "server.log", "w")
    process = subprocess.Popen(
        [str(binary()), "serve", "--listen", address, "--data-dir", str(data)],
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    deadline = time.time() + 60
    channel = grpc.insecure_channel(address)
    while True:
        try:
            grpc.channel_ready_future(channel).result(timeout=1)
            break
        except grpc.FutureTimeoutError:
            if process.poll() is not None or time.time() > deadline:
                raise RuntimeError(f"the server did not start: {(data / 'server.log').read_text()}")
    channel.close()
    yield address
    process.terminate()
    process.wait(timeout=30)


@pytest.fixture(scope="session")
def cohort(tmp_path_factory) -> Path:
    """A phantom cohort folder of 160 cases."""
    folder = tmp_path_factory.mktemp("cohorts") / "phantoms"
    subprocess.run(
        [str(binary()), "phantom", "--cases", "160", "--seed", "11", "--out", str(folder)],
        check=True,
        capture_output=True,
    )
    return folder
