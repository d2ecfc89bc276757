"""The digests that pin a reviewed plan between its review and its apply. Pure.

Every plan run's code can write any object under the artifacts' ``runs/`` prefix, so the
files of a reviewed plan may be replaced after review. The controller digests them when the
plan run finishes and keeps the digests on the run record, which no runner can write; the
apply refuses a plan file whose digest differs.
"""

from __future__ import annotations

import hashlib

# digest name -> the file name under the plan run's artifact prefix
DIGESTED_FILES = {"plan": "plan.tfplan", "plan_json": "plan.json"}
# Recorded when the plan run named the artifact but the controller could not read it: the
# apply then refuses, since no file has this digest.
UNREADABLE = "unreadable"
APPLY_PARAM = "plan_sha256"  # the apply step's parameter: the plan file's expected digest


def sha256_hex(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def mismatch(expected: str, found: str) -> str | None:
    """Why a downloaded plan must not be applied, or None when its digest is the reviewed one.

    >>> mismatch("ab", "ab") is None
    True
    """
    if found == expected:
        return None
    if expected == UNREADABLE:
        expected = "none (the controller could not read the plan when its run finished)"
    return f"the reviewed plan changed after review: expected sha256 {expected}, found {found}"
