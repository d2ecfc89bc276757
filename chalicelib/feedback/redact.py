"""Redaction of secrets before anything is posted to GitHub.

Two layers. Terraform already prints ``(sensitive value)`` for attributes a provider or the
configuration marks sensitive; ``sensitive_values`` collects those values from the plan JSON
so that they are masked wherever else they appear (a log tail, an output). On top, anything
that looks like a credential is masked by pattern, whatever its origin.

A known value is masked in its base64, hex and URL-encoded forms too: a configuration can
encode a secret (say into ``for_each`` keys) to slip it past a plain search.

``redact`` is for text made of values (a diff, a log). ``redact_address`` is for addresses
and names: there a known value is masked only as a whole token, so that the secret
``maestro`` does not eat into ``maestrops``; encoded forms and credential patterns are
masked anywhere. Links and markup the controller writes itself are never passed to either.
"""

from __future__ import annotations

import base64
import binascii
import re
import urllib.parse
from collections.abc import Iterable, Iterator
from functools import lru_cache
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


def _base64_cores(raw: bytes) -> Iterator[str]:
    """The base64 text of ``raw`` wherever it sits in a longer input.

    Base64 maps 3 bytes to 4 characters, so ``raw`` encodes three ways depending on its
    offset modulo 3; the characters that also carry bits of neighbouring bytes are cut off.
    """
    for offset in range(3):
        encoded = base64.b64encode(b"\0" * offset + raw + b"\0\0").decode()
        first = -(-8 * offset // 6)  # the first character made of ``raw`` bits only
        last = 8 * (offset + len(raw)) // 6  # one past the last such character
        core = encoded[first:last]
        yield core
        yield core.replace("+", "-").replace("/", "_")  # the URL-safe alphabet


@lru_cache(maxsize=4096)
def encoded_forms(value: str) -> frozenset[str]:
    """``value`` as base64 (standard and URL-safe, any alignment), hex and URL-encoded.

    >>> sorted(encoded_forms("a b&c"))
    ['6120622663', 'EgYiZj', 'YSBiJm', 'YSBiJmM=', 'a%20b%26c', 'a+b%26c', 'hIGImY']
    """
    raw = value.encode("utf-8")
    whole = base64.b64encode(raw).decode()  # the value encoded alone, padding and all
    forms = {whole, whole.replace("+", "-").replace("/", "_")}
    forms |= {core for core in _base64_cores(raw) if len(core) >= _MIN_SENSITIVE_LEN}
    hexed = binascii.hexlify(raw).decode()
    forms |= {hexed, hexed.upper()}
    for quoted in (urllib.parse.quote(value, safe=""), urllib.parse.quote_plus(value, safe="")):
        forms |= {quoted, re.sub(r"%[0-9A-F]{2}", lambda m: m[0].lower(), quoted)}
    forms.discard(value)
    return frozenset(forms)


def _known(sensitive: Iterable[str]) -> frozenset[str]:
    return frozenset(v for v in sensitive if len(v) >= _MIN_SENSITIVE_LEN)


_END = ""  # trie key marking the end of a word
_TRIE_DEPTH_LIMIT = 200


def _alternation(words: Iterable[str]) -> str:
    """One regex matching any of ``words``, the longest where several match.

    Built as a trie: at each position the engine follows one branch per character instead of
    trying every word in turn, which is what makes thousands of values (and their encoded
    forms) cheap to search for in a large plan.
    """
    trie: dict[str, Any] = {}
    for word in words:
        node = trie
        for char in word:
            node = node.setdefault(char, {})
        node[_END] = {}
    try:
        return _trie_regex(trie, 0)
    except RecursionError:  # pathological words: the flat alternation is slower, not wrong
        return "|".join(re.escape(w) for w in sorted(words, key=len, reverse=True))


def _trie_regex(node: dict[str, Any], depth: int) -> str:
    if depth > _TRIE_DEPTH_LIMIT:
        raise RecursionError("trie too deep for a regex")
    chain = ""
    while len(node) == 1 and _END not in node:  # a run with no branch: plain characters
        (char, node), *_ = node.items()
        chain += re.escape(char)
    branches = [
        re.escape(char) + _trie_regex(child, depth + 1)
        for char, child in sorted(node.items())
        if char != _END
    ]
    if not branches:
        return chain
    body = branches[0] if len(branches) == 1 else "(?:" + "|".join(branches) + ")"
    # Greedy "?": the longer word wins, the shorter one still matches where it ends here.
    return chain + (f"(?:{body})?" if _END in node else body)


@lru_cache(maxsize=16)
def _known_patterns(values: frozenset[str]) -> tuple[re.Pattern[str] | None, ...]:
    """Compiled once per set of values: (encoded forms, values, values as whole tokens).

    A comment redacts many pieces of text with the same values; building the alternation of
    a large plan's values and their forms each time would cost more than the matching.
    """
    if not values:
        return (None, None, None)
    encoded: set[str] = set()
    for value in values:
        encoded |= encoded_forms(value)
    plain = _alternation(values)
    return (
        re.compile(_alternation(encoded)) if encoded else None,
        re.compile(plain),
        re.compile(rf"(?<![A-Za-z0-9_.-])(?:{plain})(?![A-Za-z0-9_-])"),
    )


def _mask_known(text: str, values: frozenset[str], *, whole_tokens: bool) -> str:
    encoded, plain, token = _known_patterns(values)
    if encoded is not None:  # an encoded form first: a secret inside its own hex is still hidden
        text = encoded.sub(REDACTED, text)
    pattern = token if whole_tokens else plain
    return pattern.sub(REDACTED, text) if pattern is not None else text


def _mask_patterns(text: str) -> str:
    for pattern in _TOKEN_RES:
        text = pattern.sub(REDACTED, text)
    return _URL_CREDENTIALS_RE.sub(f"://{REDACTED}@", text)


def redact(text: str, sensitive: Iterable[str] = ()) -> str:
    """Mask known sensitive values (and their encoded forms) and anything that looks like a
    credential in ``text``.

    >>> redact('password = "hunter2"')
    'password = "(redacted)"'
    >>> redact("pw=aHVudGVyMjI=", ["hunter22"])
    'pw=(redacted)'
    """
    text = _mask_known(text, _known(sensitive), whole_tokens=False)
    return _mask_key_values(_mask_patterns(text))


def redact_address(text: str, sensitive: Iterable[str] = ()) -> str:
    """Mask secrets in a resource address or a name without rewriting the address around them.

    >>> redact_address('aws_s3_bucket.maestrops["maestro"]', ["maestro"])
    'aws_s3_bucket.maestrops["(redacted)"]'
    """
    return _mask_patterns(_mask_known(text, _known(sensitive), whole_tokens=True))


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
