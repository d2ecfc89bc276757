"""Helpers of the ansible/ tests: paths, running ansible-playbook, reading the recap."""

from __future__ import annotations

import http.client
import http.server
import json
import os
import re
import socket
import ssl
import subprocess
import threading
import time
import urllib.request
from dataclasses import dataclass
from pathlib import Path

import yaml

REPO = Path(__file__).resolve().parents[3]
ANSIBLE_DIR = REPO / "ansible"
VENV_BIN = REPO / ".venv-ansible" / "bin"
FIXTURES = REPO / "tests" / "fixtures" / "ansible"
INVENTORY = FIXTURES / "inventory.ini"
PLAYBOOKS = ("monitoring.yml", "app.yml")
HOSTS = {"monitoring-1": "monitoring", "app-1": "agents"}  # host -> stack folder
GRAFANA = "grafana.example.com"
GRAFANA_PARAMETER = "/maestrops/grafana/admin-password"
PROMTOOL = Path("/usr/bin/promtool")
NODE_EXPORTER = Path("/usr/bin/prometheus-node-exporter")

# A PLAY RECAP line, also as molecule prints it (behind a box-drawing margin).
_RECAP = re.compile(
    r"^[\s│]*(?P<host>[\w.-]+)\s+:\s+(?P<counts>ok=\d+(?:[ \t]+\w+=\d+)+)[ \t]*$", re.MULTILINE
)


@dataclass(frozen=True)
class PlaybookRun:
    returncode: int
    output: str
    recap: dict[str, dict[str, int]]

    def total(self, key: str) -> int:
        return sum(counts[key] for counts in self.recap.values())


@dataclass(frozen=True)
class Rendering:
    root: Path  # the maestrops_root of the run
    run: PlaybookRun
    env: dict[str, str]
    grafana_password: str
    molecule_state: Path

    def stack(self, host: str) -> Path:
        return self.root / HOSTS[host]

    def load(self, host: str, relative: str) -> dict:
        return yaml.safe_load((self.stack(host) / relative).read_text())


def parse_recap(output: str) -> dict[str, dict[str, int]]:
    """PLAY RECAP lines -> {host: {ok: n, changed: n, ...}}, summed over plays."""
    recap: dict[str, dict[str, int]] = {}
    for match in _RECAP.finditer(output):
        counts = recap.setdefault(match["host"], {})
        for pair in match["counts"].split():
            key, value = pair.split("=")
            counts[key] = counts.get(key, 0) + int(value)
    return recap


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_http(url: str, timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while True:
        try:
            with urllib.request.urlopen(url, timeout=1):
                return
        except OSError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.1)


def ansible_env(home: Path, extra: dict[str, str] | None = None) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("ANSIBLE_", "AWS_"))}
    env.update(
        PATH=f"{VENV_BIN}{os.pathsep}{env.get('PATH', '')}",
        ANSIBLE_CONFIG=str(ANSIBLE_DIR / "ansible.cfg"),
        ANSIBLE_HOME=str(home),
        ANSIBLE_LOCAL_TEMP=str(home / "tmp"),
        ANSIBLE_NOCOLOR="1",
        # Never reach a real AWS endpoint: no credentials unless a test points at moto.
        AWS_ACCESS_KEY_ID="testing",
        AWS_SECRET_ACCESS_KEY="testing",
        AWS_DEFAULT_REGION="us-east-1",
        AWS_REGION="us-east-1",
        AWS_ENDPOINT_URL="http://127.0.0.1:9",
    )
    env.update(extra or {})
    return env


def _playbook_command(playbook: str, args: tuple[str, ...]) -> list[str]:
    return [
        str(VENV_BIN / "ansible-playbook"),
        "-i",
        str(INVENTORY),
        playbook,
        "-e",
        "ansible_connection=local",
        # Already root; the hosts reached through SSM need become, this machine has no sudo.
        "-e",
        "ansible_become=false",
        *args,
    ]


def run_playbooks(env: dict[str, str], *args: str, playbooks=PLAYBOOKS) -> PlaybookRun:
    """ansible-playbook on localhost with the Terraform-shaped inventory of the fixtures.

    One process per playbook, side by side: their hosts are disjoint, and the run takes the
    time of the slower one instead of the sum.
    """
    procs = [
        subprocess.Popen(
            _playbook_command(playbook, args),
            cwd=ANSIBLE_DIR,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        for playbook in playbooks
    ]
    outputs = [proc.communicate(timeout=300)[0] for proc in procs]
    output = "\n".join(outputs)
    returncode = max(proc.returncode for proc in procs)
    return PlaybookRun(returncode, output, parse_recap(output))


def run_molecule(env: dict[str, str], command: str, root: Path, state: Path) -> PlaybookRun:
    """``molecule <command>`` of ansible/molecule/default: both playbooks' configuration part
    on localhost through the default (unmanaged) driver, files under ``root``."""
    env = {
        **env,
        "MAESTROPS_MOLECULE_ROOT": str(root),
        "MOLECULE_EPHEMERAL_DIRECTORY": str(state),
        "NO_COLOR": "1",
        "COLUMNS": "400",  # one recap line per host
    }
    proc = subprocess.run(
        [str(VENV_BIN / "molecule"), command],
        cwd=ANSIBLE_DIR,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    output = proc.stdout + proc.stderr
    return PlaybookRun(proc.returncode, output, parse_recap(output))


def config_args(root: Path) -> list[str]:
    """The configuration-only run: files under root, docker never called."""
    return ["--tags", "config", "-e", f"maestrops_root={root}", "-e", "maestrops_compose_up=false"]


class StandIn:
    """An HTTP upstream on loopback that answers every request and records (Host, path)."""

    def __init__(self, name: str) -> None:
        self.seen: list[tuple[str, str]] = []
        seen = self.seen

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                seen.append((self.headers.get("Host", ""), self.path))
                body = f"{name} {self.path}".encode()
                self.send_response(200)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args: object) -> None:  # keep pytest output clean
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@dataclass
class TraefikRun:
    proc: subprocess.Popen[bytes]
    ports: dict[str, int]  # entrypoint -> loopback port
    upstreams: dict[str, StandIn]  # Traefik service -> its stand-in
    log: Path

    def get(self, entrypoint: str, host: str, path: str = "/") -> tuple[int, dict, str]:
        """(status, headers, body) of one request; https on websecure, no redirects followed."""
        port = self.ports[entrypoint]
        if entrypoint == "websecure":
            context = ssl.create_default_context()
            context.check_hostname = False
            context.verify_mode = ssl.CERT_NONE  # Traefik's default self-signed certificate
            conn: http.client.HTTPConnection = http.client.HTTPSConnection(
                "127.0.0.1", port, timeout=5, context=context
            )
        else:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
        try:
            conn.request("GET", path, headers={"Host": host})
            response = conn.getresponse()
            return response.status, dict(response.getheaders()), response.read().decode()
        finally:
            conn.close()

    def stop(self) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        for upstream in self.upstreams.values():
            upstream.close()


def loopback_traefik_config(static: dict, dynamic: dict, workdir: Path, upstreams: dict):
    """The rendered configuration with only what cannot run here swapped.

    Entrypoints move to free loopback ports, the file provider to ``workdir``, each service's
    upstream to its own stand-in, and the ACME resolver goes (it would call Let's Encrypt).
    Routers, rules, entrypoints, middlewares and metrics stay as rendered.
    """
    ports = {name: free_port() for name in static["entryPoints"]}
    for name, entrypoint in static["entryPoints"].items():
        entrypoint["address"] = f"127.0.0.1:{ports[name]}"
    static["providers"]["file"]["directory"] = str(workdir / "dynamic")
    static.pop("certificatesResolvers", None)
    static["log"]["level"] = "DEBUG"
    for router in dynamic["http"]["routers"].values():
        if "tls" in router:
            router["tls"] = {}
    for name, service in dynamic["http"]["services"].items():
        service["loadBalancer"]["servers"] = [{"url": upstreams[name].url}]
    return static, dynamic, ports


def start_traefik(
    static: dict, dynamic: dict, workdir: Path, ready: tuple[str, str, str]
) -> TraefikRun:
    """Start Traefik; ``ready`` = (entrypoint, host, path) that answers once routes are loaded."""
    upstreams = {name: StandIn(name) for name in dynamic["http"]["services"]}
    static, dynamic, ports = loopback_traefik_config(static, dynamic, workdir, upstreams)
    (workdir / "dynamic").mkdir(parents=True)
    (workdir / "dynamic" / "routes.yml").write_text(yaml.safe_dump(dynamic))
    (workdir / "traefik.yml").write_text(yaml.safe_dump(static))
    log = workdir / "traefik.log"
    proc = subprocess.Popen(
        [str(VENV_BIN / "traefik"), f"--configFile={workdir / 'traefik.yml'}"],
        stdout=log.open("wb"),
        stderr=subprocess.STDOUT,
        cwd=workdir,
    )
    run = TraefikRun(proc, ports, upstreams, log)
    deadline = time.monotonic() + 20
    # Ready when the file provider's routes answer (ping alone comes up before them).
    while True:
        try:
            if run.get(*ready)[0] != 404:
                for upstream in upstreams.values():
                    upstream.seen.clear()
                return run
        except OSError:
            pass
        if proc.poll() is not None or time.monotonic() > deadline:
            run.stop()
            raise RuntimeError(f"traefik did not serve {ready}:\n{log.read_text()[-3000:]}")
        time.sleep(0.1)


def host_vars(env: dict[str, str], var: str, *extra: str) -> dict[str, object]:
    """{host: value of var} as the playbooks see it (inventory + ansible/group_vars)."""
    proc = subprocess.run(
        [
            str(VENV_BIN / "ansible"),
            "all",
            "-i",
            str(INVENTORY),
            "--playbook-dir",
            str(ANSIBLE_DIR),
            "-c",
            "local",
            "-m",
            "ansible.builtin.debug",
            "-a",
            f"var={var}",
            *extra,
        ],
        cwd=ANSIBLE_DIR,
        env={
            **env,
            "ANSIBLE_LOAD_CALLBACK_PLUGINS": "1",
            "ANSIBLE_STDOUT_CALLBACK": "ansible.posix.json",
        },
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    )
    hosts = json.loads(proc.stdout)["plays"][0]["tasks"][0]["hosts"]
    return {host: result[var] for host, result in hosts.items()}
