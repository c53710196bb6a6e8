"""Which secret candidates are worth a developer's minute, and how much.

detect-secrets finds candidates and its heuristic filters drop the obvious look-alikes; on ML repositories that
still leaves thousands of alarms (placeholders, Hub repository ids, content digests, recorded HTTP cassettes,
test fixtures, our own reports). This module adds what the ML world needs, in three steps:

1. `skip_file`: files that are never scanned for secrets (mlwarden's own JSON/SARIF reports, detect-secrets
   baselines): they hold hashes and masked values by design.
2. `is_noise`: a value that is not a credential wherever it appears (placeholders, digests, Hub ids, paths).
3. `severity`: by place (ordinary code, test fixture, HTTP cassette, lock file) and by evidence: a token whose
   structure verifies offline (GitHub's CRC32, a Hugging Face token's 34 letters, an AWS key's base32 and
   account id, OpenAI's marker) is kept even in a test file; one that does not verify there is low.
"""

from __future__ import annotations

import base64
import re
import zlib
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import PurePosixPath

from mlwarden.findings import Severity

# --- files never scanned -----------------------------------------------------------------------------------------
_OWN_REPORT = re.compile(r'"(?:tool|driver)"\s*:\s*\{\s*"name"\s*:\s*"mlwarden"')
_DS_BASELINE = re.compile(r'"plugins_used"\s*:|"filters_used"\s*:')


def skip_file(display: str, head: str) -> str | None:
    """Why a file is not scanned for secrets, or None. ``head`` is the start of its text."""
    from detect_secrets.filters.heuristic import IGNORED_FILE_EXTENSIONS, is_swagger_file

    path = PurePosixPath(display)
    if path.name == ".secrets.baseline":
        return "detect-secrets baseline"
    # detect-secrets' file filters (its line-level scan, which we call, does not apply them): API specs, and
    # text formats full of base64 (.svg, .css, .map). Lock files are kept for the URLs with credentials in them
    # (a private index's password): scanner._url_lines hands only those lines to the detector.
    if is_swagger_file(display) or (path.suffix.lower() in IGNORED_FILE_EXTENSIONS and path.suffix != ".lock"):
        return "detect-secrets skips this kind of file"
    start = head[:4096]
    if not start.lstrip().startswith("{"):
        return None
    if _OWN_REPORT.search(start):
        return "mlwarden report"
    if _DS_BASELINE.search(start) and '"results"' in head[:1 << 16]:
        return "detect-secrets baseline"
    return None


# --- places ------------------------------------------------------------------------------------------------------
_FIXTURE_DIRS = {"test", "tests", "testing", "fixtures", "fixture", "__tests__", "spec", "specs", "testdata",
                 "test_data", "test-data", "mocks", "__mocks__", "__snapshots__", "snapshots"}
_CASSETTE_DIRS = {"cassettes", "cassette", "vcr_cassettes", "vcr", "recordings"}
_VCR_CONTENT = re.compile(r"(?m)^interactions:\s*$|\"interactions\"\s*:\s*\[")
_LOCK_NAMES = {"uv.lock", "pdm.lock", "poetry.lock", "pipfile.lock", "conda-lock.yml", "package-lock.json",
               "yarn.lock", "pnpm-lock.yaml", "cargo.lock", "gemfile.lock", "composer.lock", "go.sum", "bun.lock"}


@dataclass(frozen=True)
class Place:
    fixture: bool = False  # test code and test data
    cassette: bool = False  # recorded HTTP interactions (VCR.py, pytest-recording, betamax…)
    lock: bool = False  # dependency lock files: hashes everywhere


def place_of(display: str, head: str = "") -> Place:
    path = PurePosixPath(display.lower())
    parts = set(path.parts[:-1])
    name = path.name
    cassette = bool(parts & _CASSETTE_DIRS) or ".cassette" in name or (
        name.endswith((".yaml", ".yml", ".json")) and bool(_VCR_CONTENT.search(head[:1 << 14])))
    fixture = bool(parts & _FIXTURE_DIRS) or name.startswith("test_") or name == "conftest.py" or \
        bool(re.search(r"[._-]test\.\w+$|\.spec\.\w+$|_tests?\.py$", name))
    lock = name in _LOCK_NAMES or (name.startswith("pylock") and name.endswith(".toml"))
    return Place(fixture=fixture or cassette, cassette=cassette, lock=lock)


# --- values that are never credentials ---------------------------------------------------------------------------
_PLACEHOLDER_WORDS = re.compile(
    r"example|placeholder|your[_-]?(?:api[_-]?)?(?:key|token|secret|pass)|<[^>]*>|\{\{|\$\{|%\(|\$\(|x{4,}|X{4,}"
    r"|\*{3,}|\.{3}|…|changeme|change[_-]me|redacted|filtered|dummy|fake|sample|not[_-]?a[_-]?(?:real[_-]?)?secret"
    r"|insert[_-]|replace[_-]?me|test[_-]?(?:key|token|secret|pass)|secret[_-]?here|key[_-]?here|token[_-]?here"
    r"|^(?:none|null|nil|undefined|true|false|string|secret|password|passwd|token|apikey|api_key|todo|tbd)$"
    r"|^your[\s_-]|\byour\s",  # "your sevice account key", "enter your key": words addressed to the reader
    re.IGNORECASE)
# The passwords of tutorials and docker-compose files, and hosts that are nobody's production.
_WEAK_PASSWORDS = {"pass", "password", "passwd", "secret", "admin", "root", "postgres", "guest", "user", "test",
                   "changeme", "example", "mysql", "redis", "default", "letmein", "123456", "pwd", "qwerty",
                   "minioadmin", "airflow", "mlflow", "jupyter", "psswrd", "pswd", "passw0rd", "p4ssw0rd"}
_LOCAL_HOST = re.compile(r"@(?:localhost|127\.0\.0\.1|0\.0\.0\.0|\[::1\]|host\.docker\.internal|[\w.-]*example"
                         r"\.(?:com|org|net)|[\w-]+\.(?:test|invalid|example|local))(?![\w.-])", re.IGNORECASE)
_DIGEST_CONTEXT = re.compile(r"sha(?:1|224|256|384|512)?|md5|blake2|xxh|digest|checksum|hash|oid|etag|revision"
                             r"|commit|\brev\b|integrity|fingerprint|blob|lfs|snapshot|\bref\b|crc|video|image|asset|uuid|guid"
                             r"|\bid\b|_id\b|\bids?\s*[=:(]",
                             re.IGNORECASE)
_DIGEST_VALUE = re.compile(r"^(?:(?:sha(?:1|256|384|512)|md5|blake2b?)[:=-])?[0-9a-fA-F]{7,128}$")
_PREFIXED_DIGEST = re.compile(r"^(?:sha(?:1|256|384|512)|md5)[:-][A-Za-z0-9+/=]{16,}$", re.IGNORECASE)
_HUB_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,95}/[A-Za-z0-9][A-Za-z0-9._-]{0,95}$")
_HUB_CONTEXT = re.compile(r"from_pretrained|repo_id|model_id|model_name|dataset|hf_hub|snapshot_download|pipeline"
                          r"|huggingface|hf\.co|checkpoint|tokenizer", re.IGNORECASE)
_FILE_SUFFIX = re.compile(r"\.(?:py|json|ya?ml|toml|txt|md|csv|bin|pt|pth|ckpt|safetensors|onnx|gguf|h5|pkl|png"
                          r"|jpe?g|html?|js|ts|tar|gz|zip|parquet)$", re.IGNORECASE)
_API_OBJECT_ID = re.compile(r"^(?:call|chatcmpl|cmpl|req|msg|run|thread|asst|file|batch|resp|rs|fc|toolu|srvtoolu|ft"
                            r"|ftjob|org|proj|user|vs|step|evt|cus|pi|ch|in|sub|prod|price|txn|span|trace)[_-]"
                            r"[A-Za-z0-9]{8,64}$")
GENERIC = {"Base64 High Entropy String", "Hex High Entropy String", "Secret Keyword", "Basic Auth Credentials"}
ENTROPY = {"Base64 High Entropy String", "Hex High Entropy String"}


def is_placeholder(value: str) -> bool:
    core = value.strip("\"'` ")
    if len(core) < 6 or _PLACEHOLDER_WORDS.search(core):
        return True
    tail = re.sub(r"^[a-z]{2,8}[_-](?:[a-z]{2,8}[_-])?", "", core)  # hf_, sk-proj-, ghp_ …
    if len(set(tail.lower())) <= 3 or (len(tail) >= 12 and len(set(tail.lower())) <= 4) or \
            re.search(r"(.)\1{5,}", tail):  # aaaa, 0000, ACGTTGCA (a DNA sequence is not an AWS key)
        return True  # repeated characters: aaaaaa, 000000, abababab
    if re.fullmatch(r"(.{2,16}?)\1{2,}.{0,16}", tail):
        return True  # a repeated pattern: "AbC1" * 9, "0123456789abcdef" * 2
    if re.search(r"abcdefgh|bcdefghi|01234567|12345678|qwertyui", tail.lower()):
        return True  # an alphabet or a keyboard row inside the value
    from detect_secrets.filters.heuristic import is_sequential_string

    return len(tail) >= 8 and is_sequential_string(tail)  # ABCDEF…, 0123456789…


_LEET = str.maketrans("4@310$5!7", "aaeiossit")
_SELF_WORDS = re.compile(r"secret|passw|passwd|token|api[_-]?key|[_-]key\b|\bkey[_-]|required|default|local|none")


def _self_describing(value: str) -> bool:
    """A keyword's value that names itself or a default: "my-secret", "super-secret-key", "sk-no-key-required",
    "your-256-bit-secret" (jwt.io's), "mlflow", "s3cr3t". Such values are defaults of tutorials and local
    services; a credential that matters is not spelt in words."""
    plain = value.lower().translate(_LEET)
    return plain in _WEAK_PASSWORDS or bool(_SELF_WORDS.search(plain))


_FAKE_NAME = re.compile(r"(?i)\b\w*(?:dummy|fake|example|sample|mock|placeholder|stub)\w*[\"']?\s*(?:[:=]|\()")


def named_fake(lines: list[str], index: int) -> bool:
    """Whether the value on ``lines[index]`` is assigned to a name that says it is fake (DUMMY_SIGNATURE = …),
    on the line itself or above it when the line continues a string split over several lines."""
    for back in range(index, max(-1, index - 12), -1):
        line = lines[back]
        if _FAKE_NAME.search(line):
            return True
        if back != index and not line.lstrip().startswith(("'", '"', "b'", 'b"', "f'", 'f"', "+")):
            return False
    return False


_PEM_BEGIN = re.compile(r"-----BEGIN[A-Z0-9 ]*PRIVATE KEY(?: BLOCK)?-----")
_KEY_MATERIAL = re.compile(r"[A-Za-z0-9+/]{40,}")


def pem_body(lines: list[str], index: int) -> bool:
    """Whether the private-key header on ``lines[index]`` is followed by key material (a base64 run), on the line
    itself (a JSON string with \\n escapes) or in the next lines (a PEM file; an encrypted one has two header
    lines and a blank line first). Documentation shows the header around "..." or "<your key>"."""
    text = "\n".join(lines[index:index + 8])
    begin = _PEM_BEGIN.search(text)
    if begin is None:
        return True  # a detection we cannot place: kept
    return _KEY_MATERIAL.search(text[begin.end():].replace("\\n", "\n")) is not None


def _identifier(value: str) -> bool:
    """An environment variable's or a constant's name (upper snake case), or a lower snake-case name of three
    words or more: made of words, not of random characters."""
    if re.fullmatch(r"[A-Z][A-Z0-9]*(?:_[A-Z0-9]+)+|[A-Z]{3,}", value):
        return True
    parts = value.split("_")  # snake case only: "hunter2-but-longer" is how passphrases are written
    if len(parts) >= 3 and all(re.fullmatch(r"[a-z]{1,14}\d{0,2}", p) for p in parts):
        return True
    # GH_AW_SAFE_OUTPUTS_CONFIG_bc14c56d60b7ad48_EOF: words around one nonce (a heredoc marker, a cache key)
    words = sum(bool(re.fullmatch(r"[A-Z]{1,14}|[a-z]{1,14}", p)) for p in parts)
    return len(parts) >= 4 and words >= len(parts) - 1


def _decodes_to_text(value: str) -> bool:
    """Base64 of a document (JSON test events, YAML, a sentence): credentials are random bytes, not text."""
    import binascii

    if len(value) < 24:
        return False
    try:
        raw = base64.b64decode(value + "=" * (-len(value) % 4), altchars=b"-_" if "-" in value or "_" in value
                               else None, validate=False)
    except (binascii.Error, ValueError):
        return False
    printable = sum(32 <= b < 127 or b in (9, 10, 13) for b in raw)
    return len(raw) >= 16 and printable >= 0.97 * len(raw) and (b" " in raw or b"{" in raw or b"\n" in raw)


def _object_id(value: str) -> bool:
    """24 hex digits whose first eight are a plausible creation time (2009 to a year from now)."""
    if not re.fullmatch(r"[0-9a-f]{24}", value):
        return False
    import time

    return 1_230_768_000 <= int(value[:8], 16) <= time.time() + 366 * 86400


def is_noise(kind: str, value: str, line: str) -> bool:
    """A value that is not a credential, whatever the file."""
    if not value:
        return True
    if _identifier(value) and not verify(kind, value):
        return True  # DB_PASSWORD, GH_AW_SAFE_OUTPUTS, gh_aw_agent_output_file: a name standing for a value
    if kind == "Basic Auth Credentials":
        return value.lower() in _WEAK_PASSWORDS or bool(_LOCAL_HOST.search(line)) or is_placeholder(value)
    if is_placeholder(value) and not github_checksum_ok(value):
        return True  # AKIAIOSFODNN7EXAMPLE verifies as a key id, and is still the documentation's example
    if kind not in GENERIC:
        # detect-secrets' AWS pattern has no boundaries: ABIA… inside a base64 blob is part of the blob.
        # A token as a URL's user or password (https://ghp_…@github.com/org/repo) follows a '/' and is still one.
        bounded = re.search(r"(?<![A-Za-z0-9+/])" + re.escape(value) + r"(?![A-Za-z0-9+/])", line)
        return not (bounded or re.search(r"://(?:[^/\s@]*:)?" + re.escape(value) + r"[@:]", line))
    if verify(kind, value):
        return False  # recognisable (an AWS session token)
    if kind == "Secret Keyword" and _self_describing(value):
        return True
    if kind == "Secret Keyword":
        from detect_secrets.filters.heuristic import is_indirect_reference

        if is_indirect_reference(line):
            return True  # password = get_password(…): detect-secrets' own filter, kept for keywords only
    if _PREFIXED_DIGEST.match(value):
        return True  # sha256:…, sha512-… (npm integrity)
    if _DIGEST_VALUE.match(value) and _DIGEST_CONTEXT.search(line):
        return True  # a commit, an LFS oid, an etag, a model hash
    if kind == "Base64 High Entropy String" and _decodes_to_text(value):
        return True
    if _API_OBJECT_ID.match(value):
        return True  # ids of API objects (tool calls, completions, requests, messages): printed, not secret
    if _object_id(value):
        return True  # a MongoDB-style ObjectId (the Hub's job, webhook and user ids): a timestamp and a counter
    if kind == "Secret Keyword" and re.fullmatch(r"[a-z]{1,12}(?:[-_.][a-z]{1,12}){1,2}", value):
        return True  # a name (`xet-auth`, `api.key.header`): words, not a credential
    if _HUB_ID.match(value) and (re.search(r"[-_.]", value) or _HUB_CONTEXT.search(line)):
        return True  # org/name on the Hub: base64 has no '-', '_' or '.', and '/' once in a name is a path
    if value.startswith(("/", "./", "../", "~/")) or _FILE_SUFFIX.search(value) or \
            re.fullmatch(r"[a-z0-9_.-]+(?:/[a-z0-9_.-]+){2,}/?", value):
        return True  # a path or a URL path (base64 has capitals and digits between its slashes)
    return kind in ENTROPY and bool(re.search(r"[+/]", value)) and bool(re.search(r"[-_]", value)) \
        and not value.endswith("=")  # two base64 alphabets mixed: an identifier, not encoded bytes


# --- offline verification ----------------------------------------------------------------------------------------
_BASE62 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"


def _base62(number: int, width: int) -> str:
    out = ""
    while number:
        number, digit = divmod(number, 62)
        out = _BASE62[digit] + out
    return out.rjust(width, "0")


def github_checksum_ok(token: str) -> bool:
    """ghp_/gho_/ghu_/ghs_/ghr_ + 30 random base62 + 6 base62 digits of the CRC32 of the random part; npm_
    tokens use the same scheme."""
    match = re.fullmatch(r"(?:gh[pousr]|npm)_([A-Za-z0-9]{30})([A-Za-z0-9]{6})", token)
    return bool(match) and _base62(zlib.crc32(match.group(1).encode()), 6) == match.group(2)  # type: ignore[union-attr]


def aws_account_id(key: str) -> str | None:
    """The account id encoded in an access key id (keys issued since 2019), or None when the id is malformed."""
    if not re.fullmatch(r"(?:AKIA|ASIA|ABIA|ACCA|A3T[A-Z0-9])[A-Z2-7]{16}", key):
        return None
    raw = base64.b32decode(key[4:])  # 16 characters: 10 bytes, no padding
    number = (int.from_bytes(raw[:6], "big") & 0x7FFFFFFFFF80) >> 7
    return f"{number:012d}"


_AWS_SESSION = re.compile(r"^(?:FwoGZXIvYXdz|IQoJb3JpZ2luX2Vj)[A-Za-z0-9+/=]{100,}$")


def _always(_: str) -> bool:
    return True


_TYPED: dict[str, tuple[tuple[str, ...], Callable[[str], bool]]] = {
    "GitHub Token": ((r"gh[pousr]_[A-Za-z0-9]{36}", r"github_pat_[A-Za-z0-9]{22}_[A-Za-z0-9]{59}"),
                     lambda v: v.startswith("github_pat_") or github_checksum_ok(v)),
    "NPM tokens": ((r"npm_[A-Za-z0-9]{36}",), github_checksum_ok),
    "Hugging Face Token": ((r"hf_[A-Za-z]{34}", r"api_org_[A-Za-z]{34}"), _always),
    "AWS Access Key": ((r"(?:AKIA|ASIA|ABIA|ACCA)[A-Z2-7]{16}", r"[A-Za-z0-9/+]{40}"),
                       lambda v: len(v) == 40 or aws_account_id(v) is not None),
    "Slack Token": ((r"xox[baprs]-\d{9,13}-\d{9,13}(?:-\d{9,13})?-[A-Za-z0-9]{24,32}",
                     r"xoxe\.xox[bp]-1-[A-Za-z0-9]{100,200}"), _always),
    "Stripe Access Key": ((r"(?:sk|rk)_live_[A-Za-z0-9]{24,99}",), _always),
    "OpenAI Token": ((r"sk-[A-Za-z0-9_-]*[A-Za-z0-9]{20}T3BlbkFJ[A-Za-z0-9]{20}",), _always),
    "OpenAI Project Key": ((r"sk-(?:proj|svcacct|admin)-[A-Za-z0-9_-]{40,200}",), lambda v: "T3BlbkFJ" in v),
    "Anthropic API Key": ((r"sk-ant-(?:api|admin)\d{2}-[A-Za-z0-9_-]{93}AA",), _always),
    "Cloud ML Platform Token": ((r"AIza[0-9A-Za-z_-]{35}", r"dapi[0-9a-f]{32}(?:-\d)?", r"r8_[A-Za-z0-9]{37}",
                                 r"gsk_[A-Za-z0-9]{52}"), _always),
    "PyPI Token": ((r"pypi-AgEIcHlwaS5vcmc[A-Za-z0-9_-]{50,}", r"pypi-AgENdGVzdC5weXBpLm9yZw[A-Za-z0-9_-]{50,}"),
                   _always),
    "GitLab Token": ((r"glpat-[A-Za-z0-9_-]{20}",), _always),
    "SendGrid API Key": ((r"SG\.[A-Za-z0-9_-]{22}\.[A-Za-z0-9_-]{43}",), _always),
    # W&B and Kaggle keys are bare hex: nothing to verify, so in a test file they stay low.
}


def verify(kind: str, value: str) -> bool:
    """True when the value has the exact structure (and checksum, where there is one) of a real credential."""
    if kind in ENTROPY or kind == "Secret Keyword":
        return bool(_AWS_SESSION.match(value))  # an AWS session token is recognisable by its first bytes
    checks = _TYPED.get(kind)
    if not checks:
        return False
    patterns, check = checks
    return any(re.fullmatch(p, value) for p in patterns) and check(value)


def severity(kind: str, value: str, place: Place) -> Severity | None:
    """How much a candidate matters where it was found; None drops it."""
    if place.cassette and kind in ENTROPY and not verify(kind, value):
        return None  # recorded bodies, cookies and request ids: data, not credentials
    if place.lock and kind in ENTROPY:
        return None  # hashes and integrity strings
    if kind == "Secret Keyword" and len(value) < 8:
        return Severity.LOW  # too short to be a generated credential; maybe a weak password: worth a note
    if place.fixture:
        if not verify(kind, value):
            return Severity.LOW
        if kind == "GitHub Token" and github_checksum_ok(value):
            return Severity.HIGH  # a CRC32 that matches is not typed by chance
        return Severity.MEDIUM
    if kind in ENTROPY and not verify(kind, value):
        return Severity.MEDIUM  # entropy alone, no keyword and no known shape
    return Severity.HIGH
