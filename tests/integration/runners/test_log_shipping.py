"""Step logs shipped while the step runs: real processes, the runner's own writer and stores.

A chunk is cut from text already masked, so a secret printed across a chunk boundary never
reaches the store in clear, in any of the forms the comment redaction masks.
"""

from __future__ import annotations

import base64
import json
import os
import sys
import threading
import time
from pathlib import Path

import boto3
import pytest
from moto import mock_aws

from chalicelib.jobs import LOG_CHUNK_BYTES, StepSpec
from runners.artifacts import FileArtifactStore, S3ArtifactStore
from runners.context import RunContext, StepOutcome
from runners.executor import Executor
from runners.process import LogShipper, ProcessRunner, cut_chunks
from runners.steps import step_functions
from tests.integration.runners.conftest import Workbench

SECRET = "s3cr3t-Value-0123456789"


def chunks_of(folder: Path) -> list[bytes]:
    return [p.read_bytes() for p in sorted(folder.glob("*.log"))]


@pytest.mark.slow
def test_a_secret_across_a_chunk_boundary_never_escapes(tmp_path: Path) -> None:
    store = FileArtifactStore((tmp_path / "artifacts").as_uri() + "/")
    env = {"PATH": os.environ["PATH"], "DEPLOY_TOKEN": SECRET}
    encoded = base64.b64encode(SECRET.encode()).decode()
    # The first secret straddles the 64 KiB cut; the tool writes it in two pieces with a
    # pause between, so a writer that shipped what it had would ship half a secret.
    script = (
        "import sys, time\n"
        f"s = {SECRET!r}\n"
        f"sys.stdout.write('a' * ({LOG_CHUNK_BYTES} - 40) + s[:7]); sys.stdout.flush()\n"
        "time.sleep(0.5)\n"
        f"sys.stdout.write(s[7:] + ' then {encoded} and é\\n'); sys.stdout.flush()\n"
        "time.sleep(0.3)\n"
        "print('x' * 70000 + s)\n"
    )
    for attempt in range(3):  # the same state three times: the same chunks, never a secret
        step = f"deploy{attempt}"
        with LogShipper(store.put_bytes, step, interval=0.05) as shipper:
            proc = ProcessRunner(tmp_path / f"{step}.log", env, echo=False, shipper=shipper)
            assert proc.run([sys.executable, "-c", script]).returncode == 0
        folder = tmp_path / "artifacts" / "logs" / step
        chunks = chunks_of(folder)
        whole = b"".join(chunks)
        assert len(chunks) >= 3 and all(len(c) <= LOG_CHUNK_BYTES for c in chunks)
        for form in (SECRET, SECRET[:7] + SECRET[7:], encoded, SECRET[7:]):
            assert form.encode() not in whole
        # Two in the echoed command (the script names both forms), three in the output.
        assert whole.count(b"***") == 5 and "é".encode() in whole
        assert whole == (tmp_path / f"{step}.log").read_bytes()  # the whole-step log, too
        marker = json.loads((folder / "complete").read_text())
        assert marker == {"chunks": len(chunks)}


def test_cuts_are_at_lines_and_characters() -> None:
    text = ("é" * 40_000 + "\n").encode()  # 80 001 bytes, one line
    chunks, rest = cut_chunks(text, final=False)
    assert rest == b"" and b"".join(chunks) == text
    assert [len(c) for c in chunks] == [65_536, 80_001 - 65_536]
    for chunk in chunks:
        chunk.decode()  # no character cut in two
    partial = ("é" * 40_000).encode()  # no newline yet: only whole 64 KiB go, on a character
    chunks, rest = cut_chunks(partial, final=False)
    assert len(chunks) == 1 and len(chunks[0]) == 65_536 and chunks[0] + rest == partial
    chunks[0].decode()
    assert cut_chunks(b"one\ntwo", final=False) == ([b"one\n"], b"two")
    assert cut_chunks(b"one\ntwo", final=True) == ([b"one\ntwo"], b"")


def sleepy_step(ctx: RunContext, step: StepSpec, proc: ProcessRunner) -> StepOutcome:
    """A slow step: a real process printing a line, waiting, printing another."""
    script = 'for w in alpha omega; do echo "word-$w"; [ $w = omega ] || sleep 2; done'
    assert proc.run(["sh", "-c", script]).returncode == 0
    return StepOutcome()


@pytest.mark.slow
def test_a_step_log_is_readable_before_the_step_ends(bench: Workbench) -> None:
    sha = bench.commit("terraform/null-ok")
    job = bench.job("run-ship", sha, [("slow", "terraform_validate", {})])
    env = {**bench.env, "MAESTRO_LOG_SHIP_SECONDS": "0.2"}
    steps = {**step_functions(), "terraform_validate": sleepy_step}
    executor = Executor(job, env=env, echo=False, steps=steps)
    result: list[int] = []
    thread = threading.Thread(target=lambda: result.append(executor.run(bench.root / "s")))
    thread.start()
    folder = bench.artifacts / "run-ship" / "logs" / "slow"
    seen_early = ""
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and "word-alpha" not in seen_early:
        seen_early = b"".join(chunks_of(folder)).decode() if folder.exists() else ""
        time.sleep(0.05)
    # The first line is stored while the step still sleeps: no marker, no second line yet.
    assert "word-alpha" in seen_early and "word-omega" not in seen_early
    assert not (folder / "complete").exists()
    thread.join(timeout=60)
    assert result == [0]
    whole = b"".join(chunks_of(folder)).decode()
    assert whole.endswith("done\nword-alpha\nword-omega\n")
    assert json.loads((folder / "complete").read_text())["chunks"] == len(chunks_of(folder))
    assert (bench.artifacts / "run-ship" / "logs" / "slow.log").read_text() == whole
    assert (bench.artifacts / "run-ship" / "logs" / "checkout" / "complete").exists()
    kinds = [
        (e["detail-type"], e["detail"].get("current_step")) for e in bench.events_of("run-ship")
    ]
    started = kinds.index(("MaestrOps Step Started", "slow"))
    finished = [k for k, _ in kinds].index("MaestrOps Step Finished")
    assert kinds[0][0] == "MaestrOps Run Started" and started < finished


@pytest.fixture
def s3(monkeypatch: pytest.MonkeyPatch):
    for name, value in {
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
    }.items():
        monkeypatch.setenv(name, value)
    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)
    with mock_aws():
        yield boto3.client("s3")


def test_uploads_that_fail_are_retried_in_order_and_only_then_marked(s3) -> None:
    store = S3ArtifactStore("s3://maestrops-artifacts/runs/r1/", s3)
    with LogShipper(store.put_bytes, "apply", interval=0.05) as shipper:
        shipper.write("one\n")
        time.sleep(0.3)  # rounds fail: the bucket is not there yet
        shipper.write("two\n")
        assert shipper.chunks == 0
        s3.create_bucket(Bucket="maestrops-artifacts")
        shipper.write("three\n")
    listed = s3.list_objects_v2(Bucket="maestrops-artifacts", Prefix="runs/r1/logs/apply/")
    keys = [item["Key"] for item in listed["Contents"]]
    bodies = [
        s3.get_object(Bucket="maestrops-artifacts", Key=key)["Body"].read()
        for key in keys
        if key.endswith(".log")
    ]
    assert b"".join(bodies) == b"one\ntwo\nthree\n"
    assert keys[-1].endswith("/complete")
    marker = s3.get_object(Bucket="maestrops-artifacts", Key=keys[-1])["Body"].read()
    assert json.loads(marker) == {"chunks": len(bodies)}


def test_no_marker_while_a_chunk_is_missing(tmp_path: Path, s3) -> None:
    store = S3ArtifactStore("s3://no-such-bucket-here/runs/r2/", s3)
    with LogShipper(store.put_bytes, "apply", interval=0.05) as shipper:
        shipper.write("lost\n")
    assert shipper.chunks == 0  # nothing stored and no marker: a reader never sees an end
    assert "no-such-bucket-here" not in [b["Name"] for b in s3.list_buckets()["Buckets"]]
