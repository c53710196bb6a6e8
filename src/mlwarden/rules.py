"""The rule registry: one table that every output format reads. Rule ids are public and never renumbered."""

from __future__ import annotations

from mlwarden.findings import Finding, Location, Severity


class Rule(str):
    """A rule. The object is its id (a str), so code names the rule it emits (`PICKLE_DANGEROUS_CALLABLE`)
    while ids keep working everywhere (`RULES["MW101"]`, JSON, SARIF, the policy); a misspelt name is a
    NameError and a mypy error rather than a silent string."""

    name: str
    summary: str
    severity: Severity
    help: str
    remediation: str

    def __new__(cls, rule_id: str, name: str, summary: str, severity: Severity, help: str,
                remediation: str) -> Rule:
        rule = super().__new__(cls, rule_id)
        rule.name, rule.summary, rule.severity = name, summary, severity
        rule.help, rule.remediation = help, remediation
        return rule

    @property
    def id(self) -> str:
        return str.__str__(self)

    def __reduce__(self) -> tuple[object, tuple[str]]:
        # str's own reduction would call __new__ with the id alone; a rule crosses a process boundary (the
        # parallel leak scan) as its id and is looked up again on the other side.
        return (rule_named, (self.id,))

    @property
    def anchor(self) -> str:
        """Where the README documents it (the generated rule table)."""
        return f"README.md#{self.id.lower()}"


# --- MW1xx: model files -------------------------------------------------------------------
PICKLE_DANGEROUS_CALLABLE = Rule(
    "MW101", "pickle-dangerous-callable", "Pickle references a known code-execution callable",
    Severity.CRITICAL,
    "The pickle imports a function or module that runs commands, evaluates code, opens files or "
    "resolves arbitrary names (os.system, builtins.eval, subprocess, pkgutil.resolve_name …). "
    "Loading it with pickle, torch.load or joblib.load runs that code.",
    "Do not load this file. Ask for a safetensors export, or rebuild the model from trusted code.",
)
PICKLE_UNKNOWN_CALLABLE = Rule(
    "MW102", "pickle-unknown-callable", "Pickle calls a callable outside the safe list",
    Severity.HIGH,
    "The pickle invokes (REDUCE, INST, OBJ) a global that is not on the safe list, instantiates such a "
    "class with NEWOBJ (which runs its __new__ and __setstate__), or hands it to a safe-listed helper "
    "that calls what it receives (torch._tensor._rebuild_from_type_v2, copyreg._reconstructor, "
    "numpy.random._pickle.__randomstate_ctor, builtins.map …). Any call of something not proven harmless "
    "is reported: deny lists alone are bypassed by the next gadget.",
    "Review the callable. If it is harmless (for example your own nn.Module class in a whole-model "
    "torch.save), add it to a [[pickle]] entry of the policy.",
)
PICKLE_UNKNOWN_IMPORT = Rule(
    "MW103", "pickle-unknown-import", "Pickle imports a global outside the safe list",
    Severity.MEDIUM,
    "The pickle imports a global that is not on the safe list but never calls it.",
    "Review the global; add it to a [[pickle]] entry of the policy if it is expected.",
)
PICKLE_UNRESOLVED_GLOBAL = Rule(
    "MW104", "pickle-unresolved-global", "Pickle uses a global or callable that cannot be resolved",
    Severity.HIGH,
    "A STACK_GLOBAL whose operands are not constant strings, an EXT code that is not registered, "
    "a call of something that is not a resolved global, or a helper or BUILD state that hands on a value "
    "the scanner could not read. A loader resolves it at run time; a scanner cannot, so it fails closed.",
    "Treat the file as untrusted.",
)
PICKLE_UNPARSABLE = Rule(
    "MW105", "pickle-unparsable", "Pickle stream cannot be parsed",
    Severity.HIGH,
    "The opcode stream is truncated or corrupt as CPython's unpickler reads it (a literal every loader "
    "rejects, a further stacked pickle that breaks, a joblib array header with an unknown dtype). "
    "Loaders execute everything before the break, so the globals seen before it are still reported.",
    "Do not load the file; obtain an intact copy.",
)
PICKLE_NESTED_LOADER = Rule(
    "MW106", "pickle-nested-loader", "Pickle passes data to a deserialiser (nested pickle)",
    Severity.HIGH,
    "The pickle calls pickle.loads, torch.load, joblib.load or similar on embedded bytes. The embedded "
    "payload is scanned too and reported with its own findings. Old joblib array wrappers that "
    "np.load a companion file by name (allow_pickle=True) are reported at medium with the file's name.",
    "Do not load the file unless the nested payload (or companion file) is understood.",
)
SCAN_BUDGET_EXCEEDED = Rule(
    "MW107", "scan-budget-exceeded", "A scanning budget was exceeded",
    Severity.HIGH,
    "Decompressed size, archive depth, member count, memo size, stack size or time per file went past "
    "its budget. The rest of the file was not inspected.",
    "Inspect the file by hand, or raise the budget in [tool.mlwarden] if the file is trusted.",
)
TORCHSCRIPT_CODE = Rule(
    "MW108", "torchscript-code", "TorchScript archive carries code run by torch.jit.load",
    Severity.MEDIUM,
    "TorchScript archives contain Python-like source that torch.jit.load compiles and runs.",
    "Load TorchScript only from trusted sources; prefer a state dict in safetensors.",
)
KERAS_LAMBDA = Rule(
    "MW109", "keras-lambda", "Keras model contains a Lambda layer or code outside Keras",
    Severity.HIGH,
    "A Lambda layer stores Python bytecode (or a function reference) that runs when the model is "
    "loaded with safe_mode disabled; references to modules outside Keras run arbitrary code.",
    "Rebuild the layer in code; load with safe_mode=True.",
)
GGUF_TEMPLATE_ESCAPE = Rule(
    "MW110", "gguf-template-escape", "GGUF chat template tries to escape the Jinja sandbox",
    Severity.CRITICAL,
    "The chat template reaches Python internals (__class__, __globals__, __subclasses__, os …) as in "
    "CVE-2024-34359 (llama-cpp-python).",
    "Do not load the model with an unsandboxed Jinja environment; remove the template.",
)
SAFETENSORS_MALFORMED = Rule(
    "MW111", "safetensors-malformed", "safetensors header is malformed",
    Severity.HIGH,
    "The header length, JSON, dtypes, shapes or offsets are inconsistent (overlaps, out of range).",
    "Obtain an intact file; a malformed header can crash or mislead loaders.",
)
FORMAT_NOT_INSPECTED = Rule(
    "MW112", "format-not-inspected", "A file could not be verified",
    Severity.HIGH,
    "The file looks like a model (by content or name) but could not be fully read: its reader is not "
    "installed (py7zr for 7z, h5py for HDF5, lz4, zstandard), it is corrupt, truncated or encrypted, or "
    "it is named like a model in no format mlwarden reads. What was read before the problem is still "
    "reported. Data after the last compressed member is reported at medium.",
    "If the message names a reader, install it (pip install 'mlwarden[all]') and scan again; "
    "otherwise obtain an intact copy.",
)
NUMPY_OBJECT_ARRAY = Rule(
    "MW113", "numpy-object-array", "NumPy file holds an object array (needs allow_pickle)",
    Severity.LOW,
    "Object arrays are stored as a pickle and need allow_pickle=True to load; the pickle is scanned, and "
    "this note is added when that pickle has findings of its own (a clean object array is ordinary data).",
    "Prefer plain dtypes; load object arrays only from trusted sources.",
)
ARCHIVE_SUSPICIOUS_MEMBER = Rule(
    "MW114", "archive-suspicious-member", "Archive member has a suspicious name or header",
    Severity.MEDIUM,
    "A member is a link, or the zip's headers disagree (local header vs central directory, several "
    "directories, duplicate names, stored sizes that differ): tricks that make loaders see different files; "
    "every view is scanned. High: a member path escapes the archive (absolute or '..'), or a model "
    "archive holds an executable or script.",
    "Do not extract the archive; obtain a clean copy.",
)
# MW130-MW139: formats without a pickle of their own (src/mlwarden/models/readers/).
TF_DANGEROUS_OP = Rule(
    "MW130", "tf-dangerous-op", "TensorFlow graph runs an op that touches files or calls Python",
    Severity.HIGH,
    "A SavedModel or frozen graph holds ReadFile, WriteFile, MatchingFiles, file-reading datasets, "
    "summary/debug writers, PyFunc/EagerPyFunc (critical: they call Python), or a checkpoint op whose "
    "path is a constant outside the model. TensorFlow runs them when the graph or function runs.",
    "Do not serve or load the model; re-export it from trusted code.",
)
ONNX_EXTERNAL_DATA_ESCAPE = Rule(
    "MW131", "onnx-external-data-escape", "ONNX external data points outside the model folder",
    Severity.HIGH,
    "A tensor's external-data location is absolute, climbs with '..', names a drive or a URL: the loader "
    "reads whatever file it names (onnx path-traversal class, CVE-2024-27318).",
    "Keep external data files beside the model with relative names; obtain a clean copy.",
)
ONNX_CUSTOM_OP = Rule(
    "MW132", "onnx-custom-op", "ONNX model uses a custom operator domain or a Python op",
    Severity.MEDIUM,
    "Nodes of a domain outside the ONNX and ONNX Runtime standard ones run native code from a custom-op "
    "library the runtime must register; PyOp/PythonOp nodes (high) call back into Python.",
    "Check that the custom-op library is reviewed; prefer models with standard operators.",
)
CHAT_TEMPLATE_ESCAPE = Rule(
    "MW133", "chat-template-escape", "Chat template tries to escape the Jinja sandbox",
    Severity.CRITICAL,
    "A Jinja chat template in tokenizer_config.json, chat_template.json/.jinja or a YAML/JSON config "
    "reaches Python internals (dunder attributes, names built at render time, the attr filter, "
    "lipsum/cycler/joiner/self/request globals), as in CVE-2024-34359.",
    "Do not render the template; remove it or replace it with the reviewed upstream template.",
)
SKOPS_UNTRUSTED_TYPE = Rule(
    "MW134", "skops-untrusted-type", "skops file holds a type skops does not trust",
    Severity.HIGH,
    "schema.json names a function, type or class outside skops' default trusted set; skops.io.load "
    "refuses it unless it is passed in trusted= (often straight from get_untrusted_types).",
    "Review each type before trusting it; never pass get_untrusted_types() output to trusted= blindly.",
)
TORCHSERVE_CODE = Rule(
    "MW135", "torchserve-code", "TorchServe archive ships code that runs when served",
    Severity.HIGH,
    "A .mar archive carries Python files (the handler, model definition, extra files) that TorchServe "
    "imports when it loads the model, or pip requirements it installs.",
    "Review the handler and every .py file; build the archive yourself from reviewed sources.",
)
TORCHSCRIPT_DANGEROUS_CALL = Rule(
    "MW136", "torchscript-dangerous-call", "TorchScript code touches files, native code or imports",
    Severity.HIGH,
    "The code/ sources of a TorchScript archive call torch.from_file, open, torch.ops.load_library, "
    "__import__, exec, os or subprocess (critical inside __setstate__, which runs at load), or custom "
    "torch.ops namespaces (medium).",
    "Do not load the archive; script the model again from reviewed code.",
)
# --- MW2xx: Hugging Face artefacts --------------------------------------------------------------
HF_BLOB_TAMPERED = Rule(
    "MW201", "hf-blob-tampered", "Cached file does not match its content hash", Severity.CRITICAL,
    "A blob's content does not hash to its name (sha256 for LFS files, git blob sha1 for the others): "
    "the file was changed after download or the download is corrupt.",
    "Delete the repository from the cache and download it again; find out who changed it.",
)
HF_LINK_ESCAPES = Rule(
    "MW202", "hf-link-escapes", "Snapshot entry escapes the repository's blobs", Severity.CRITICAL,
    "A snapshot entry is a link whose target is outside the repository's blobs/ folder (or a link to a "
    "folder): loading the model reads whatever it points to.",
    "Delete the snapshot and download it again.",
)
HF_DANGLING = Rule(
    "MW203", "hf-dangling", "Snapshot link or listed file is missing", Severity.HIGH,
    "A snapshot link points to a blob that does not exist, or a file recorded in local_dir metadata is "
    "missing.",
    "Download the revision again.",
)
HF_MANIFEST_MISMATCH = Rule(
    "MW204", "hf-manifest-mismatch", "File differs from the revision's tree manifest", Severity.HIGH,
    "trees/<commit>.json lists another blob or size for this path: the link was swapped to another "
    "(valid) blob, or the manifest is unreadable.",
    "Download the revision again; report a manifest that does not parse.",
)
HF_BAD_REF = Rule(
    "MW205", "hf-bad-ref", "Ref or snapshot name is not a usable commit", Severity.MEDIUM,
    "A ref does not hold a 40-hex commit, points to a snapshot that does not exist, or a snapshot folder "
    "is not named by a commit.",
    "Refresh the ref by downloading the revision again, or delete the repository from the cache.",
)
HF_INCOMPLETE = Rule(
    "MW206", "hf-incomplete", "Incomplete download", Severity.LOW,
    "An interrupted download left an .incomplete file.",
    "Resume or delete the download.",
)
HF_LOCAL_DIR_MISMATCH = Rule(
    "MW207", "hf-local-dir-mismatch", "local_dir file does not match its download metadata", Severity.HIGH,
    "A file of a local_dir download does not hash to the etag its .metadata file recorded.",
    "Download the file again; find out who changed it.",
)
HF_UNVERIFIABLE = Rule(
    "MW208", "hf-unverifiable", "Cached entry cannot be verified", Severity.MEDIUM,
    "A blob whose name is not a content hash, a blob that is a folder, an unreadable file, or a snapshot "
    "file that is not a link and has no manifest entry.",
    "Delete the entry and download it again.",
)
HF_REMOTE_CODE = Rule(
    "MW209", "hf-remote-code", "Repository carries code that transformers imports", Severity.HIGH,
    "auto_map or custom_pipelines in a config, or Python files in the snapshot: with "
    "trust_remote_code=True transformers imports and runs them.",
    "Do not pass trust_remote_code=True; if the advisor approves the code, record it in a [[hf]] entry "
    "with trust_remote_code = true and pinned revisions.",
)
HF_REPO_NOT_ALLOWED = Rule(
    "MW210", "hf-repo-not-allowed", "Hugging Face repository is not on the allowlist", Severity.HIGH,
    "No [[hf]] entry of the policy allows this repository (by repo or organisation and type).",
    "Ask the security advisor for a [[hf]] entry, or use an approved model.",
)
HF_REVISION_NOT_ALLOWED = Rule(
    "MW211", "hf-revision-not-allowed", "Revision is not an approved commit", Severity.HIGH,
    "The [[hf]] entry pins revisions and this commit is not one of them.",
    "Use an approved commit, or ask the advisor to add this one.",
)
HF_FORMAT_NOT_ALLOWED = Rule(
    "MW212", "hf-format-not-allowed", "File format is not allowed for this repository", Severity.HIGH,
    "The [[hf]] entry lists allowed formats (for example safetensors, json, txt) and this file's is not "
    "among them, such as a pickle .bin beside the safetensors.",
    "Delete the file from the download (allow_patterns) or ask the advisor to allow the format.",
)
HF_EXPECTED_HASH = Rule(
    "MW213", "hf-expected-hash", "File does not match the hash the policy expects", Severity.CRITICAL,
    "The [[hf]] entry records the sha256 of this file and the file differs (or is missing).",
    "Do not use the download; obtain the approved file.",
)
# --- MW3xx: dependencies and sources ------------------------------------------------------------
DEP_UNPINNED = Rule(
    "MW301", "dep-unpinned", "Requirement is not pinned to one version", Severity.MEDIUM,
    "A requirement without == (or ===) installs whatever the index serves on the day: a new release, "
    "or a malicious one.",
    "Pin with == and hashes, or install from a lock file.",
)
DEP_MISSING_HASH = Rule(
    "MW302", "dep-missing-hash", "Requirement or locked package has no hash", Severity.HIGH,
    "The policy requires hashes (require_hashes), or a direct URL must carry one; without a hash the "
    "downloaded file is not checked.",
    "Generate hashes (pip-compile --generate-hashes, uv pip compile --generate-hashes, a lock file).",
)
DEP_SOURCE_NOT_ALLOWED = Rule(
    "MW303", "dep-source-not-allowed", "Dependency source is not on the allowlist", Severity.HIGH,
    "A package index, find-links location, conda channel, VCS host or organisation, or direct URL that "
    "no [[index]], [[vcs]] or [[url]] entry of the policy allows (PyPI and the default conda channels "
    "are allowed while the policy declares none of its own).",
    "Use an approved source, or ask the security advisor for an entry.",
)
DEP_VCS_UNPINNED = Rule(
    "MW304", "dep-vcs-unpinned", "VCS dependency is not pinned to a commit", Severity.HIGH,
    "A git (or hg, svn) reference to a branch or tag: whoever can push decides what you install.",
    "Reference a full 40-hex commit.",
)
DEP_CONFUSION = Rule(
    "MW305", "dep-confusion", "Dependency confusion risk", Severity.HIGH,
    "--extra-index-url (or uv's unsafe index strategies, poetry supplemental sources) merges indexes, so "
    "an internal name can resolve from a public index; or an internal name comes from another index than "
    "the exclusive one the policy names.",
    "Use one index (a proxy), or uv's first-index strategy, and pin internal names to their index.",
)
DEP_DENIED = Rule(
    "MW306", "dep-denied", "Package or version denied by the policy", Severity.HIGH,
    "A [[package]] entry denies this package (or version), or allows only other versions.",
    "Upgrade or replace the package as the entry's reason says.",
)
DEP_TYPOSQUAT = Rule(
    "MW307", "dep-typosquat", "Package name looks like a typosquat", Severity.HIGH,
    "The name imitates a more popular package the way real malware names do (a separator change, a "
    "py/python prefix or suffix, a homoglyph, a swapped, doubled, missing or extra character); the target is "
    "the most popular close name. A package that is itself among the ~15,000 most downloaded is never "
    "reported; weak patterns are medium.",
    "Check the spelling; if the package is genuine, add a [[package]] allow entry for it.",
)
DEP_UNPARSABLE = Rule(
    "MW308", "dep-unparsable", "Dependency file or line cannot be parsed", Severity.HIGH,
    "A requirement, lock file, TOML or YAML document that cannot be read; what it declares is not checked "
    "(high: what was not checked must not pass).",
    "Fix the file; the message names the file and line.",
)
DEP_UNKNOWN_OPTION = Rule(
    "MW309", "dep-unknown-option", "Unknown requirements option", Severity.MEDIUM,
    "An option pip does not know is ignored or fails the install; it may hide a source.",
    "Remove or correct the option.",
)
DEP_INCLUDE_CYCLE = Rule(
    "MW310", "dep-include-cycle", "Requirements files include each other", Severity.MEDIUM,
    "-r / -c includes form a cycle.",
    "Break the cycle.",
)
DEP_VULNERABLE = Rule(
    "MW311", "dep-vulnerable", "Dependency has a known vulnerability", Severity.HIGH,
    "An advisory (OSV record) affects the pinned version. Severity follows the record's CVSS score when "
    "it has one (high otherwise).",
    "Upgrade to a fixed version, or waive it with an [[exception]] (vulnerability = id) and a reason.",
)
DEP_UNAUDITED = Rule(
    "MW312", "dep-unaudited", "Dependency could not be audited", Severity.HIGH,
    "The version is not pinned or the vulnerability service could not be reached: nothing is known "
    "about it. The audit fails closed (exit 2) unless --allow-unaudited.",
    "Pin the version; use an offline database (--db) where the network is closed.",
)
DEP_MALICIOUS = Rule(
    "MW313", "dep-malicious", "Dependency is a known malicious package", Severity.CRITICAL,
    "An OSV MAL- record (the OpenSSF malicious-packages database) lists this package version: installing "
    "it runs an attacker's code (credential theft, backdoors, crypto miners).",
    "Remove it, rotate every credential the machines that installed it could read, and rebuild them.",
)
DEP_COOLDOWN = Rule(
    "MW314", "dep-cooldown", "Dependency version is younger than the cooldown", Severity.HIGH,
    "The locked files of this version were uploaded less than cooldown_days ago. Hijacked releases are "
    "usually found and removed within days; a cooldown (uv's exclude-newer, pnpm's minimumReleaseAge) "
    "keeps them out.",
    "Lock an older version (uv lock --exclude-newer), or waive an urgent security update with a [[package]] "
    "entry for that exact version or an [[exception]] for rule MW314.",
)
DEP_PTH_EXEC = Rule(
    "MW315", "dep-pth-exec", "A .pth file runs code at every Python start-up", Severity.HIGH,
    "site.py executes each .pth line that starts with 'import' in every interpreter of the environment, "
    "before any user code (the litellm 1.82.8 compromise shipped one in its wheel). Critical when the line "
    "decodes, fetches or executes hidden code.",
    "Uninstall the package that shipped it, inspect the line, and rebuild the environment.",
)
DEP_DYNAMIC = Rule(
    "MW316", "dep-dynamic", "Dependencies computed at build time were not checked", Severity.MEDIUM,
    "pyproject.toml declares its dependencies dynamic and no requirements file names them (setup.py computes "
    "them): nothing can read them without running the build, so they were not checked.",
    "Declare the dependencies in [project] (or in a requirements file named by [tool.setuptools.dynamic]), "
    "or lock them (uv.lock, pylock.toml) so they can be checked.",
)
# --- MW4xx: secrets and data leakage ----------------------------------------------------------------
SECRET = Rule(
    "MW401", "secret", "Secret in the repository", Severity.HIGH,
    "A credential (API token, key, password, private key) found by detect-secrets' plugins or mlwarden's "
    "ML-platform detectors (Hugging Face, Weights & Biases, Kaggle, OpenAI, Anthropic, cloud ML tokens). "
    "Only a masked prefix is shown.",
    "Revoke the credential, remove it (and from history: git filter-repo), load it from the environment; "
    "a false positive takes `# mlwarden: ignore[MW401]` on the line, `# pragma: allowlist secret`, or an "
    "entry in .secrets.baseline.",
)
PERSONAL_DATA = Rule(
    "MW402", "personal-data", "Personal data in the repository", Severity.MEDIUM,
    "Validated personal data (emails, phone numbers, IBANs, payment cards, French NIR and SIREN/SIRET, US "
    "SSNs, public IP addresses, dates of birth) in code, notebook cells or outputs, or data files. One "
    "occurrence is low, a few medium, a column or many high; a validated identifier with personal context "
    "(a keyword nearby, the column's name) is medium at least.",
    "Remove it (and from history), clear notebook outputs, use synthetic or anonymised data; "
    "`pragma: allowlist pii` on a line, or an [[exception]] for a path.",
)
DATA_FILE = Rule(
    "MW403", "data-file", "Data file committed", Severity.MEDIUM,
    "A dataset file type the policy does not allow in the repository (allowed_data_extensions). Medium when "
    "it holds personal-looking columns or content or is large; low for a small table of numbers.",
    "Keep datasets in a data store (DVC, object storage) or Git LFS.",
)
FILE_TOO_LARGE = Rule(
    "MW404", "file-too-large", "File over the size limit", Severity.HIGH,
    "A file larger than the policy's max_file_mb that Git LFS does not track.",
    "Move it to Git LFS or a data store.",
)
LEAK_NOT_SCANNED = Rule(
    "MW405", "leak-not-scanned", "File not scanned for leaks", Severity.LOW,
    "Compressed data, a parquet file without pyarrow, an unreadable file, or a limit that cut the scan (a "
    "text file over 20 MiB is sampled, a line over 1 MiB is cut): that content was not checked for secrets "
    "or personal data.",
    "Unpack it or install the reader, and scan again; a file cut by a limit belongs outside the repository "
    "(or check it by hand).",
)
NOTEBOOK_INVALID = Rule(
    "MW406", "notebook-invalid", "Notebook is not valid JSON", Severity.MEDIUM,
    "The notebook does not follow the format (the message names the field); its readable cells were "
    "still scanned, or the whole file as plain text.",
    "Repair the notebook file.",
)
# --- MW6xx: policy -----------------------------------------------------------------------
POLICY_ENTRY_EXPIRED = Rule(
    "MW601", "policy-entry-expired", "Policy entry has expired",
    Severity.HIGH,
    "An allowlist entry or waiver is past its expiry date (and past the grace period).",
    "Renew the entry with a new expiry after review, or remove it.",
)
POLICY_ENTRY_EXPIRING = Rule(
    "MW602", "policy-entry-expiring", "Policy entry expires soon or is in its grace period",
    Severity.LOW,
    "An allowlist entry or waiver expires within the warning window, or has expired but is still "
    "inside the grace period.",
    "Review and renew the entry, or plan its removal.",
)
# --- MW7xx: code that loads models ---------------------------------------------------------------
HUB_LOAD_UNPINNED = Rule(
    "MW701", "hub-load-unpinned", "Hub download without a pinned commit", Severity.HIGH,
    "from_pretrained, hf_hub_download, snapshot_download, load_dataset or pipeline without a 40-hex "
    "revision: the repository's owner (or whoever takes over the account) decides what you load.",
    "Pass revision=\"<40-hex commit>\".",
)
HUB_REPO_NOT_ALLOWED = Rule(
    "MW702", "hub-repo-not-allowed", "Hub repository in code is not on the allowlist", Severity.HIGH,
    "A literal repository id (or its pinned revision) that no [[hf]] entry of the policy allows.",
    "Use an approved repository and commit, or ask the advisor for a [[hf]] entry.",
)
TRUST_REMOTE_CODE = Rule(
    "MW703", "trust-remote-code", "trust_remote_code=True", Severity.HIGH,
    "transformers imports and runs Python files from the repository.",
    "Remove trust_remote_code=True, or vendor the reviewed code and pin the revision.",
)
TORCH_LOAD_UNSAFE = Rule(
    "MW704", "torch-load-unsafe", "torch.load without weights_only=True", Severity.HIGH,
    "torch.load unpickles; without weights_only=True (or with False) a checkpoint can run code.",
    "torch.load(path, weights_only=True), or safetensors.torch.load_file.",
)
PICKLE_LOAD = Rule(
    "MW705", "pickle-load", "Deserialising with pickle (or a pickle-based loader)", Severity.HIGH,
    "pickle, dill, cloudpickle, shelve, jsonpickle, joblib.load, pandas.read_pickle and "
    "numpy.load(allow_pickle=True) run code embedded in the data.",
    "Use safetensors, skops, JSON/Parquet, or numpy.load without allow_pickle; scan files with "
    "`mlwarden models` before loading.",
)
KERAS_UNSAFE_LOAD = Rule(
    "MW706", "keras-unsafe-load", "Keras model loaded without safe mode", Severity.HIGH,
    "load_model with safe_mode=False, or on an .h5 file where safe_mode is ignored (CVE-2025-9905).",
    "Save and load the .keras format with safe_mode=True (the default).",
)
YAML_UNSAFE_LOAD = Rule(
    "MW707", "yaml-unsafe-load", "yaml.load without a safe loader", Severity.HIGH,
    "yaml.load with the default or an unsafe Loader can construct arbitrary Python objects.",
    "yaml.safe_load(...) or Loader=yaml.SafeLoader.",
)
TAR_EXTRACTALL = Rule(
    "MW708", "tar-extractall", "tarfile extractall without a filter", Severity.MEDIUM,
    "Extracting a downloaded archive without filter= follows '..' paths and links out of the target.",
    "extractall(path, filter=\"data\").",
)
CUSTOM_OP_LIBRARY = Rule(
    "MW709", "custom-op-library", "Loads a native custom-op library", Severity.HIGH,
    "torch.ops.load_library, tf.load_op_library, onnxruntime register_custom_ops_library run native code.",
    "Load only libraries built from reviewed sources.",
)
CODE_UNPARSABLE = Rule(
    "MW710", "code-unparsable", "Source or notebook cannot be parsed", Severity.MEDIUM,
    "A Python file with a syntax error or a notebook that is not valid JSON cannot be checked.",
    "Fix the syntax error or the notebook file.",
)

_RULES: tuple[Rule, ...] = (
    PICKLE_DANGEROUS_CALLABLE,
    PICKLE_UNKNOWN_CALLABLE,
    PICKLE_UNKNOWN_IMPORT,
    PICKLE_UNRESOLVED_GLOBAL,
    PICKLE_UNPARSABLE,
    PICKLE_NESTED_LOADER,
    SCAN_BUDGET_EXCEEDED,
    TORCHSCRIPT_CODE,
    KERAS_LAMBDA,
    GGUF_TEMPLATE_ESCAPE,
    SAFETENSORS_MALFORMED,
    FORMAT_NOT_INSPECTED,
    NUMPY_OBJECT_ARRAY,
    ARCHIVE_SUSPICIOUS_MEMBER,
    TF_DANGEROUS_OP,
    ONNX_EXTERNAL_DATA_ESCAPE,
    ONNX_CUSTOM_OP,
    CHAT_TEMPLATE_ESCAPE,
    SKOPS_UNTRUSTED_TYPE,
    TORCHSERVE_CODE,
    TORCHSCRIPT_DANGEROUS_CALL,
    HF_BLOB_TAMPERED,
    HF_LINK_ESCAPES,
    HF_DANGLING,
    HF_MANIFEST_MISMATCH,
    HF_BAD_REF,
    HF_INCOMPLETE,
    HF_LOCAL_DIR_MISMATCH,
    HF_UNVERIFIABLE,
    HF_REMOTE_CODE,
    HF_REPO_NOT_ALLOWED,
    HF_REVISION_NOT_ALLOWED,
    HF_FORMAT_NOT_ALLOWED,
    HF_EXPECTED_HASH,
    DEP_UNPINNED,
    DEP_MISSING_HASH,
    DEP_SOURCE_NOT_ALLOWED,
    DEP_VCS_UNPINNED,
    DEP_CONFUSION,
    DEP_DENIED,
    DEP_TYPOSQUAT,
    DEP_UNPARSABLE,
    DEP_UNKNOWN_OPTION,
    DEP_INCLUDE_CYCLE,
    DEP_VULNERABLE,
    DEP_UNAUDITED,
    DEP_MALICIOUS,
    DEP_COOLDOWN,
    DEP_PTH_EXEC,
    DEP_DYNAMIC,
    SECRET,
    PERSONAL_DATA,
    DATA_FILE,
    FILE_TOO_LARGE,
    LEAK_NOT_SCANNED,
    NOTEBOOK_INVALID,
    POLICY_ENTRY_EXPIRED,
    POLICY_ENTRY_EXPIRING,
    HUB_LOAD_UNPINNED,
    HUB_REPO_NOT_ALLOWED,
    TRUST_REMOTE_CODE,
    TORCH_LOAD_UNSAFE,
    PICKLE_LOAD,
    KERAS_UNSAFE_LOAD,
    YAML_UNSAFE_LOAD,
    TAR_EXTRACTALL,
    CUSTOM_OP_LIBRARY,
    CODE_UNPARSABLE,
)

RULES: dict[str, Rule] = {rule.id: rule for rule in _RULES}
# Ids that were registered once and are never reused: MW115 (NEWOBJ of a class outside the safe list runs its
# __new__ and __setstate__: it is MW102 now), MW214 (a path that is not a Hugging Face cache is an error, exit 2)
# and MW603 (an invalid policy is an error, exit 2, with every problem listed).
RETIRED = frozenset({"MW115", "MW214", "MW603"})


def nearest_rule(word: str) -> str | None:
    """The registered id nearest to a misspelt id or rule name: O/o read as 0, I/l as 1 in ids; names (such as
    "secret" for MW401) by spelling. None when nothing is close."""
    import difflib

    normal = word.upper().replace("O", "0").replace("I", "1").replace("L", "1").replace("MW", "", 1)
    candidate = f"MW{normal}"
    if candidate in RULES:
        return candidate
    by_name = {rule.name.lower(): rule.id for rule in RULES.values()}
    if word.lower() in by_name:
        return by_name[word.lower()]
    match = difflib.get_close_matches(candidate, list(RULES), n=1, cutoff=0.8)
    if match:
        return match[0]
    named = difflib.get_close_matches(word.lower(), list(by_name), n=1, cutoff=0.6)
    return by_name[named[0]] if named else None


def closest_rule(word: str) -> str:
    """" (did you mean 'MW101'?)" for a misspelt rule id or name, or "" when nothing is close."""
    normal = word.upper().replace("O", "0").replace("I", "1").replace("L", "1").replace("MW", "", 1)
    if f"MW{normal}" in RETIRED:
        return f" (MW{normal} is retired)"
    nearest = nearest_rule(word)
    return f" (did you mean {nearest!r}?)" if nearest else ""


def get(rule_id: str) -> Rule:
    return RULES[rule_id]


def make_finding(rule_id: str, location: Location, message: str, key: str, *, severity: Severity | None = None,
                 evidence: str = "") -> Finding:
    """A finding of a registered rule: its default severity (unless given) and its remediation."""
    rule = RULES[rule_id]
    return Finding(rule.id, severity or rule.severity, location, message, key, evidence, rule.remediation)


def rule_named(rule_id: str) -> Rule:
    """The registered rule of an id (how a pickled rule comes back)."""
    return RULES[rule_id]
