"""Deploy MaestrOps to AWS: the steps of docs/deploy.md as one idempotent command.

    make deploy STAGE=prod          # = .venv/bin/python scripts/deploy.py --stage prod

Steps, in order (``--steps`` picks some of them; each reads what the earlier ones left):

``bootstrap``   ``terraform/bootstrap`` applied (local state): the state bucket and lock table
``controller``  ``environments/<stage>.s3.tfbackend`` written from the bootstrap's outputs,
                then ``terraform/controller`` initialised on it and applied
``package``     ``scripts/chalice_package.py`` on a copy of the project whose stage carries
                the controller's ``chalice_stage_config`` (the repository's own
                ``.chalice/config.json`` is never modified)
``lambdas``     the package applied with its state in the bucket; prints the EndpointURL
``wire``        when the functions are new or their URL changed: the controller applied with
                ``wire_lambdas = true`` and ``public_url``, then ``package`` and ``lambdas``
                again so that the functions carry the URL

The controller's other settings come from ``terraform/controller/terraform.tfvars`` (which
Terraform reads by itself); this command owns only ``wire_lambdas`` and ``public_url``. A
second run on a deployed account changes nothing. Secrets stay manual (docs/deploy.md, steps 3
and 5): Terraform never holds their values.

``AWS_ENDPOINT_URL`` (an S3-compatible or emulated AWS) reaches the AWS provider by itself; the
S3 state backend of Terraform 1.0 predates that variable, so it gets the endpoint as
``-backend-config`` settings.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
STEPS = ("bootstrap", "controller", "package", "lambdas", "wire")
PROJECT_FILES = ("app.py", "chalicelib", ".chalice", "requirements.txt")


class DeployError(RuntimeError):
    """A step failed; the message says which and why."""


def endpoint_backend_config(endpoint: str | None) -> list[str]:
    """``-backend-config`` settings that point Terraform 1.0's S3 backend at ``endpoint``.

    >>> endpoint_backend_config(None)
    []
    >>> endpoint_backend_config("http://127.0.0.1:5000")[:2]
    ['-backend-config=endpoint=http://127.0.0.1:5000', '-backend-config=dynamodb_endpoint=http://127.0.0.1:5000']
    """
    if not endpoint:
        return []
    settings = {
        "endpoint": endpoint,
        "dynamodb_endpoint": endpoint,
        "sts_endpoint": endpoint,
        "iam_endpoint": endpoint,
        "force_path_style": "true",  # an endpoint by address has no bucket subdomains
    }
    return [f"-backend-config={k}={v}" for k, v in settings.items()]


def tfbackend_text(stage: str, bucket: str, table: str, region: str) -> str:
    """``terraform/controller/environments/<stage>.s3.tfbackend`` for the bootstrap's outputs.

    >>> print(tfbackend_text("dev", "b", "t", "eu-west-1"), end="")
    # terraform init -backend-config=environments/dev.s3.tfbackend
    bucket         = "b"
    key            = "controller/dev/terraform.tfstate"
    region         = "eu-west-1"
    dynamodb_table = "t"
    encrypt        = true
    """
    return (
        f"# terraform init -backend-config=environments/{stage}.s3.tfbackend\n"
        f'bucket         = "{bucket}"\n'
        f'key            = "controller/{stage}/terraform.tfstate"\n'
        f'region         = "{region}"\n'
        f'dynamodb_table = "{table}"\n'
        "encrypt        = true\n"
    )


def merge_stage_config(config: dict[str, Any], stage: str, tf: dict[str, Any]) -> dict[str, Any]:
    """``jq '.stages[$stage] *= $tf'``: the controller's stage config merged, objects deeply.

    >>> merge_stage_config({"stages": {"p": {"a": {"x": 1}, "b": 2}}}, "p", {"a": {"y": 3}})
    {'stages': {'p': {'a': {'x': 1, 'y': 3}, 'b': 2}}}
    """

    def deep(left: Any, right: Any) -> Any:
        if isinstance(left, dict) and isinstance(right, dict):
            return {**left, **{k: deep(left.get(k), v) for k, v in right.items()}}
        return right

    merged = json.loads(json.dumps(config))
    merged.setdefault("stages", {})[stage] = deep(merged["stages"].get(stage, {}), tf)
    return merged


class Deployer:
    def __init__(
        self,
        root: Path,
        stage: str,
        region: str,
        terraform: Path,
        build: Path,
        env: Mapping[str, str],
        echo: bool = True,
    ) -> None:
        self.root, self.stage, self.region = root, stage, region
        self.terraform, self.build = terraform, build
        self.env = {**env, "AWS_REGION": region, "AWS_DEFAULT_REGION": region}
        self.endpoint = self.env.get("AWS_ENDPOINT_URL") or None
        self.echo = echo

    # -- running things --------------------------------------------------------------------
    def run(self, args: Sequence[str], capture: bool = False) -> str:
        if self.echo:
            print("+ " + " ".join(args), file=sys.stderr, flush=True)
        done = subprocess.run(
            list(args),
            cwd=self.root,
            env=self.env,
            text=True,
            stdout=subprocess.PIPE if capture else None,
            stderr=subprocess.PIPE if capture else None,
            check=False,
        )
        if done.returncode != 0:
            detail = (done.stderr or "")[-3000:] if capture else ""
            raise DeployError(f"{' '.join(args[:3])} exited {done.returncode}\n{detail}")
        return done.stdout or ""

    def tf(self, chdir: Path | str, *args: str, capture: bool = False) -> str:
        return self.run(
            [str(self.terraform), f"-chdir={chdir}", *args, "-no-color"], capture=capture
        )

    def outputs(self, chdir: Path | str) -> dict[str, Any]:
        raw = json.loads(self.tf(chdir, "output", "-json", capture=True) or "{}")
        return {name: item["value"] for name, item in raw.items()}

    # -- the steps -------------------------------------------------------------------------
    def bootstrap(self) -> dict[str, Any]:
        self.tf("terraform/bootstrap", "init", "-input=false")
        self.tf(
            "terraform/bootstrap", "apply", "-auto-approve", "-input=false",
            f"-var=region={self.region}",
        )  # fmt: skip
        return self.outputs("terraform/bootstrap")

    def state(self) -> dict[str, str]:
        """The bootstrap's outputs, from its local state."""
        found = self.outputs("terraform/bootstrap")
        if not found.get("state_bucket"):
            raise DeployError("no bootstrap state: run the bootstrap step first")
        return {"bucket": found["state_bucket"], "table": found["lock_table"]}

    def controller_init(self) -> None:
        state = self.state()
        backend = f"environments/{self.stage}.s3.tfbackend"
        path = self.root / "terraform" / "controller" / backend
        path.write_text(tfbackend_text(self.stage, state["bucket"], state["table"], self.region))
        self.tf(
            "terraform/controller", "init", "-input=false", "-reconfigure",
            f"-backend-config={backend}", *endpoint_backend_config(self.endpoint),
        )  # fmt: skip

    def controller_outputs(self) -> dict[str, Any]:
        return self.outputs("terraform/controller")

    def controller_apply(self, wired: bool, public_url: str) -> dict[str, Any]:
        self.tf(
            "terraform/controller", "apply", "-auto-approve", "-input=false",
            f"-var=wire_lambdas={'true' if wired else 'false'}", f"-var=public_url={public_url}",
        )  # fmt: skip
        return self.controller_outputs()

    def package(self, stage_config: dict[str, Any]) -> Path:
        """The project copied, its stage merged with ``stage_config``, packaged by the wrapper."""
        project = self.build / "project"
        shutil.rmtree(project, ignore_errors=True)
        project.mkdir(parents=True)
        for name in PROJECT_FILES:
            source = self.root / name
            if source.is_dir():
                ignore = shutil.ignore_patterns("__pycache__", "deployments", "*.pyc")
                shutil.copytree(source, project / name, ignore=ignore)
            else:
                shutil.copy2(source, project / name)
        config_file = project / ".chalice" / "config.json"
        config = merge_stage_config(json.loads(config_file.read_text()), self.stage, stage_config)
        config_file.write_text(json.dumps(config, indent=2) + "\n")
        out = self.build / "chalice"
        shutil.rmtree(out, ignore_errors=True)
        self.run([
            sys.executable, str(self.root / "scripts" / "chalice_package.py"),
            "--stage", self.stage, "--project-dir", str(project), str(out),
        ])  # fmt: skip
        (out / "backend.tf").write_text('terraform {\n  backend "s3" {}\n}\n')
        return out

    def lambdas(self, package: Path) -> str:
        state = self.state()
        self.tf(
            package, "init", "-input=false", "-reconfigure",
            f"-backend-config=bucket={state['bucket']}",
            f"-backend-config=key=chalice/{self.stage}/terraform.tfstate",
            f"-backend-config=dynamodb_table={state['table']}",
            f"-backend-config=region={self.region}",
            *endpoint_backend_config(self.endpoint),
        )  # fmt: skip
        self.tf(package, "apply", "-auto-approve", "-input=false")
        return str(self.outputs(package).get("EndpointURL", ""))

    # -- the whole ---------------------------------------------------------------------------
    def deploy(self, steps: Sequence[str]) -> dict[str, Any]:
        report: dict[str, Any] = {}
        if "bootstrap" in steps:
            report["bootstrap"] = self.bootstrap()
        outputs: dict[str, Any] = {}
        if {"controller", "package", "lambdas", "wire"} & set(steps):
            self.controller_init()
            outputs = self.controller_outputs()
        # Keep what a previous deploy wired: a redeploy never unwires the running functions.
        url = str(outputs.get("lambda_environment", {}).get("MAESTRO_PUBLIC_URL", ""))
        if "controller" in steps:
            outputs = self.controller_apply(wired=bool(url), public_url=url)
        report["controller"] = outputs
        package = None
        if "package" in steps:
            package = self.package(outputs["chalice_stage_config"])
            report["package"] = str(package)
        if "lambdas" in steps:
            package = package or self.package(outputs["chalice_stage_config"])
            report["endpoint_url"] = endpoint = self.lambdas(package)
            if "wire" in steps and endpoint and endpoint != url:
                outputs = self.controller_apply(wired=True, public_url=endpoint)
                report["controller"] = outputs
                self.lambdas(self.package(outputs["chalice_stage_config"]))
        return report


def parse_steps(text: str) -> list[str]:
    """``all`` or a comma-separated list of steps, kept in deploy order.

    >>> parse_steps("controller,bootstrap")
    ['bootstrap', 'controller']
    """
    wanted = set(STEPS) if text == "all" else {s.strip() for s in text.split(",") if s.strip()}
    unknown = wanted - set(STEPS)
    if unknown:
        raise argparse.ArgumentTypeError(f"unknown steps {sorted(unknown)}; known: {STEPS}")
    return [s for s in STEPS if s in wanted]


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--stage", required=True, choices=["dev", "prod"])
    parser.add_argument("--region", default=os.environ.get("AWS_REGION") or "eu-west-1")
    parser.add_argument("--steps", type=parse_steps, default=list(STEPS))
    parser.add_argument("--root", type=Path, default=ROOT, help="the repository to deploy")
    parser.add_argument("--build", type=Path, help="work directory (default ROOT/build)")
    parser.add_argument(
        "--terraform", type=Path, default=Path(sys.executable).with_name("terraform")
    )
    parser.add_argument("--report", type=Path, help="write the steps' outputs here as JSON")
    args = parser.parse_args(argv)
    root = args.root.resolve()
    deployer = Deployer(
        root, args.stage, args.region, args.terraform.absolute(),
        (args.build or root / "build").resolve(), os.environ,
    )  # fmt: skip
    try:
        report = deployer.deploy(args.steps)
    except DeployError as exc:
        print(f"deploy: {exc}", file=sys.stderr)
        return 1
    if args.report:
        args.report.write_text(json.dumps(report, indent=2, default=str))
    if report.get("endpoint_url"):
        print(f"EndpointURL: {report['endpoint_url']}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
