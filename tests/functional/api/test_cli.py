"""``maestro`` as a script uses it, against the API on loopback: paging, exit codes, version,
and ``send-webhook --url`` with either URL ``serve`` prints."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path

import pytest

from chalicelib.cli import main as cli
from chalicelib.local.aws import free_port
from tests.functional.api.conftest import TOKEN, ServedApi
from tests.functional.api.test_contract import seed
from tests.functional.conftest import SECRET


@pytest.fixture
def api_env(served_api: ServedApi, monkeypatch: pytest.MonkeyPatch) -> ServedApi:
    monkeypatch.setenv("MAESTRO_API_URL", served_api.url)
    monkeypatch.setenv("MAESTRO_API_TOKEN", TOKEN)
    return served_api


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    capsys.readouterr()
    try:
        code = cli.main(list(argv))
    except SystemExit as exc:  # argparse: usage errors and --version
        code = int(exc.code or 0)
    out, err = capsys.readouterr()
    return code, out, err


def test_runs_list_json_all_pages_into_one_array(api_env: ServedApi, capsys) -> None:
    seed(api_env, 7)
    code, out, _ = run(capsys, "runs", "list", "--json", "--all", "--limit", "2")
    assert code == 0
    assert [run["id"] for run in json.loads(out)] == [f"run-{n}" for n in range(6, -1, -1)]


def test_runs_list_json_stays_an_array_and_the_next_cursor_goes_to_stderr(
    api_env: ServedApi, capsys
) -> None:
    seed(api_env, 3)
    code, out, err = run(capsys, "runs", "list", "--json", "--limit", "2")
    assert code == 0 and [run["id"] for run in json.loads(out)] == ["run-2", "run-1"]
    cursor = err.split("--cursor ")[1].strip()
    code, out, err = run(capsys, "runs", "list", "--json", "--limit", "2", "--cursor", cursor)
    assert (code, [run["id"] for run in json.loads(out)], err) == (0, ["run-0"], "")


def test_exit_codes_tell_usage_not_found_auth_and_refusal_apart(
    api_env: ServedApi, capsys, monkeypatch: pytest.MonkeyPatch
) -> None:
    seed(api_env, 1)
    assert run(capsys, "runs", "bogus")[0] == cli.EXIT_USAGE
    assert run(capsys, "runs", "list", "--status", "AAA")[0] == cli.EXIT_USAGE
    assert run(capsys, "runs", "show", "run-none")[0] == cli.EXIT_NOT_FOUND
    assert run(capsys, "runs", "retry", "run-0")[0] == cli.EXIT_REFUSED  # queued: 409
    monkeypatch.setenv("MAESTRO_API_TOKEN", "wrong")
    code, _, err = run(capsys, "runs", "list")
    assert (code, "wrong" in err) == (cli.EXIT_AUTH, False)


def test_an_unreachable_api_and_a_failing_one_have_their_own_codes(
    capsys, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("MAESTRO_API_URL", f"http://127.0.0.1:{free_port()}")
    assert run(capsys, "runs", "list")[0] == cli.EXIT_UNREACHABLE
    with failing_api() as url:
        monkeypatch.setenv("MAESTRO_API_URL", url)
        code, _, err = run(capsys, "runs", "list")
    assert (code, "internal_error" in err) == (cli.EXIT_SERVER_ERROR, True)


class _Failing(BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        body = b'{"error": {"code": "internal_error", "message": "boom"}}'
        self.send_response(500)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:
        """Quiet."""


@contextmanager
def failing_api() -> Iterator[str]:
    """An HTTP server on loopback that answers every GET with a 500."""
    server = HTTPServer(("127.0.0.1", 0), _Failing)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


def test_version(capsys) -> None:
    code, out, _ = run(capsys, "--version")
    assert code == 0 and out.startswith("maestro ") and out.split()[1][0].isdigit()


@pytest.fixture
def ping_file(tmp_path: Path) -> Iterator[Path]:
    path = tmp_path / "ping.json"
    path.write_text(json.dumps({"zen": "Keep it logically awesome.", "hook_id": 1}))
    yield path


@pytest.mark.parametrize("suffix", ["", "/", "/webhooks/github", "/webhooks/github/"])
def test_send_webhook_takes_the_base_url_or_the_webhook_url(
    served_api: ServedApi, capsys, ping_file: Path, suffix: str
) -> None:
    url = served_api.url + suffix
    code, out, _ = run(capsys, "send-webhook", "ping", str(ping_file), "--url", url,
                       "--secret", SECRET)  # fmt: skip
    assert (code, out.splitlines()[0]) == (0, "200"), out
    code, out, _ = run(capsys, "send-webhook", "ping", str(ping_file), "--url", url,
                       "--secret", SECRET, "--form")  # fmt: skip
    assert (code, out.splitlines()[0]) == (0, "200"), out


def test_send_webhook_with_the_wrong_secret_exits_as_not_authorized(
    served_api: ServedApi, capsys, ping_file: Path
) -> None:
    code, out, _ = run(capsys, "send-webhook", "ping", str(ping_file), "--url", served_api.url,
                       "--secret", "wrong")  # fmt: skip
    assert (code, out.splitlines()[0]) == (cli.EXIT_AUTH, "401")
