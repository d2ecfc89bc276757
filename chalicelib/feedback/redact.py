"""Redaction of secrets before anything is posted to GitHub.

Two layers. Terraform already prints ``(sensitive value)`` for attributes a provider or the
configuration marks sensitive; ``sensitive_values`` collects those values from the plan JSON
so that they are masked wherever else they appear (a log tail, an output). On top, anything
that looks like a credential is masked by pattern, whatever its origin.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from typing import Any

REDACTED = "(redacted)"

# Patterns of well-known credential formats; each match is replaced whole. Each pattern
# starts with a literal so that the regex engine can skip ahead with a fast substring search:
# one alternation of them all is some fifty times slower on a large plan.
_TOKEN_PATTERNS = [
    r"-----BEGIN [A-Z0-9 ]*PRIVATE KEY-----[\s\S]*?(?:-----END [A-Z0-9 ]*PRIVATE KEY-----|\Z)",
    r"A(?:KIA|SIA|GPA|IDA|ROA|NPA|NVA|IPA)[A-Z0-9]{16}(?![A-Za-z0-9])",  # AWS access key ids
    r"gh[pousr]_[A-Za-z0-9]{36,255}",  # GitHub tokens
    r"github_pat_[A-Za-z0-9_]{22,255}",
    r"xox[abposr]-[A-Za-z0-9-]{10,}",  # Slack tokens
    r"glpat-[A-Za-z0-9_-]{20,}",  # GitLab tokens
    r"sk_live_[A-Za-z0-9]{16,}",  # Stripe secret keys
    r"AIza[0-9A-Za-z_-]{35}",  # Google API keys
    r"eyJ[A-Za-z0-9_-]{8,}\.eyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}",  # JWTs
]
_TOKEN_RES = [re.compile(p) for p in _TOKEN_PATTERNS]
_URL_CREDENTIALS_RE = re.compile(r"://[^\s:/@\"']+:[^\s@/\"']+@")  # user:password@ in URLs

# `password = "hunter2"`, `"db_password": "hunter2"`, `api_key: hunter2`, `TOKEN=abc`:
# the value after a key that ends in a secret-sounding word. Values in parentheses are
# Terraform's own placeholders ("(sensitive value)", "(known after apply)") and stay.
_SECRET_WORDS = (
    "password",
    "passwd",
    "secret",
    "token",
    "apikey",
    "api_key",
    "api-key",
    "private_key",
    "private-key",
    "credential",
)
_KEY_VALUE_RE = re.compile(
    r"(?i)(?P<key>(?:password|passwd|secret|token|api[_-]?key|private[_-]?key|credential)s?"
    r"\b[\"']?\s*(?:=|:)\s*)"
    r"(?P<value>\"(?:[^\"\\\n]|\\.)*\"|'[^'\n]*'|[^\s\"'(),;{}\[\]]+)"
)
# The same line may continue with ` -> "new value"` on an update.
_ARROW_VALUE_RE = re.compile(r"(?P<arrow>\s->\s)(?P<value>\"(?:[^\"\\\n]|\\.)*\")")

_MIN_SENSITIVE_LEN = 4  # shorter values ("true", "1") would mask half of any plan


def _mask_key_value(match: re.Match[str]) -> str:
    value = match["value"]
    if not value.strip("\"'") or value.lower() in {"null", "true", "false", "[]", "{}"}:
        return match[0]
    quote = value[0] if value[0] in "\"'" else ""
    return f"{match['key']}{quote}{REDACTED}{quote}"


def _mask_line(line: str) -> str:
    masked = _KEY_VALUE_RE.sub(_mask_key_value, line)
    if masked != line and " -> " in masked:
        masked = _ARROW_VALUE_RE.sub(lambda m: f'{m["arrow"]}"{REDACTED}"', masked)
    return masked


def _candidate_lines(text: str) -> set[int]:
    """Offsets of the lines that contain a secret word (found by fast substring search)."""
    lowered = text.lower()
    starts: set[int] = set()
    for word in _SECRET_WORDS:
        at = lowered.find(word)
        while at != -1:
            starts.add(lowered.rfind("\n", 0, at) + 1)
            at = lowered.find(word, at + len(word))
    return starts


def _mask_key_values(text: str) -> str:
    starts = _candidate_lines(text)
    if not starts:
        return text
    pieces: list[str] = []
    done = 0
    for start in sorted(starts):
        end = text.find("\n", start)
        end = len(text) if end == -1 else end
        pieces += [text[done:start], _mask_line(text[start:end])]
        done = end
    pieces.append(text[done:])
    return "".join(pieces)


def redact(text: str, sensitive: Iterable[str] = ()) -> str:
    """Mask known sensitive values and anything that looks like a credential in ``text``.

    >>> redact('password = "hunter2"')
    'password = "(redacted)"'
    """
    values = sorted({v for v in sensitive if len(v) >= _MIN_SENSITIVE_LEN}, key=len, reverse=True)
    if values:
        text = re.sub("|".join(re.escape(v) for v in values), REDACTED, text)
    for pattern in _TOKEN_RES:
        text = pattern.sub(REDACTED, text)
    text = _URL_CREDENTIALS_RE.sub(f"://{REDACTED}@", text)
    return _mask_key_values(text)


def _walk_sensitive(value: Any, marks: Any) -> Iterator[str]:
    """Yield the scalar leaves of ``value`` that ``marks`` (Terraform's *_sensitive) flags."""
    if marks is True:
        yield from _leaves(value)
    elif isinstance(marks, dict) and isinstance(value, dict):
        for key, sub in marks.items():
            yield from _walk_sensitive(value.get(key), sub)
    elif isinstance(marks, list) and isinstance(value, list):
        for sub_value, sub_marks in zip(value, marks, strict=False):
            yield from _walk_sensitive(sub_value, sub_marks)


def _leaves(value: Any) -> Iterator[str]:
    if isinstance(value, dict):
        for sub in value.values():
            yield from _leaves(sub)
    elif isinstance(value, list):
        for sub in value:
            yield from _leaves(sub)
    elif value is not None and not isinstance(value, bool):
        yield str(value)


def sensitive_values(changes: Iterable[tuple[Any, Any]]) -> set[str]:
    """Collect the sensitive values of (value, sensitive-marks) pairs of a plan.

    Pass ``(change.before, change.before_sensitive)`` and ``(change.after,
    change.after_sensitive)`` of every resource change, and the outputs marked sensitive.
    """
    found: set[str] = set()
    for value, marks in changes:
        found.update(_walk_sensitive(value, marks))
    return found
