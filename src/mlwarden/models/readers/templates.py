"""Jinja chat templates wherever they live: GGUF metadata, ``tokenizer_config.json`` (a string, or a list of
``{name, template}``), ``chat_template.json``/``.jinja`` files and YAML or JSON configs.

transformers, llama-cpp-python and vLLM render these with Jinja; an unsandboxed render (CVE-2024-34359) runs
whatever Python the template reaches. The analysis parses the template (never renders it) and looks for what a
sandbox escape needs: private/dunder attributes, names built from pieces at render time, the ``attr`` filter,
and the globals that lead to Python objects (``lipsum``, ``cycler``, ``joiner``, ``self``, ``request``...)."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

from mlwarden.models.readers import sniffs
from mlwarden.models.readers.base import Blob, ReaderFormat, Report, Scan, basename, emit, read_limited
from mlwarden.rules import CHAT_TEMPLATE_ESCAPE, GGUF_TEMPLATE_ESCAPE

Problem = tuple[str, str, str]  # rule id, message, key (as models.formats returns)

# Used when the template does not parse (or jinja2 is absent): the spellings public SSTI payloads use.
_SSTI = re.compile(
    r"__(?:class|mro|base|bases|subclasses|globals|builtins|init|import|getattribute|dict|code|func|self)__"
    r"|\bos\.(?:system|popen)|\bsubprocess\b|\bpopen\b|\beval\s*\(|\bexec\s*\(|\|\s*attr\s*\("
    r"|\blipsum\b|\bcycler\b|\bjoiner\b|\bnamespace\s*\.\s*__|\brequest\.application\b|\bself\._",
    re.IGNORECASE)
# Jinja's own globals whose values are Python functions/classes (a way to __globals__ in any environment).
_RISKY_NAMES = frozenset({"lipsum", "cycler", "joiner", "self"})
# Globals a template may only CALL (namespace(...), range(3), raise_exception('...')): used as a value, or with
# an attribute or item taken from them, they are a function or class object, the first step of an escape.
_CALL_ONLY = frozenset({"namespace", "range", "dict", "raise_exception", "strftime_now"})
# Flask's context objects: only their escape routes count ("{{ config.model_name }}" is ordinary config text).
_FLASK_NAMES = frozenset({"request", "config", "url_for", "get_flashed_messages", "session", "g"})
_FLASK_ATTRS = frozenset({"application", "environ", "from_pyfile", "from_object", "from_envvar", "items",
                          "values", "get", "update", "root_path", "import_name"})
# Python's escape-route attributes spelled out in a string (used later through a variable), and fragments of a
# dunder name ('__cla', 'ss__', '_') that only matter where a key is computed at render time.
_SENSITIVE = re.compile(r"__(?:class|mro|base|bases|subclasses|globals|builtins|init|import|getattribute|dict|code"
                        r"|func|self|reduce|reduce_ex|loader|spec|module|closure|defaults|kwdefaults)__")
_FRAGMENT = re.compile(r"^_+\w*$|^\w*_+$")
# Filters that look attributes up by a name given as an argument (jinja2.filters: make_attrgetter), and the
# position of that argument when it is not the ``attribute=`` keyword.
_ATTRIBUTE_FILTERS = {"map": None, "selectattr": 0, "rejectattr": 0, "sort": None, "groupby": 0, "sum": None,
                      "unique": None, "min": None, "max": None}
# Filters that turn any object into text: characters cut out of that text ('<generator object select_or_reject
# ...>', "<function raise_exception ...>", "[_GroupTuple(...)]") spell an underscore without writing one.
_TEXT_FILTERS = frozenset({"string", "pprint", "urlencode", "tojson", "e", "escape", "forceescape"})
# Filters that keep text text (or split it into characters): what an attacker applies to cut characters out.
_TEXT_TRANSFORMS = frozenset({"list", "first", "last", "reverse", "batch", "slice", "trim", "replace", "truncate",
                              "lower", "upper", "center", "unique", "sort", "join", "select", "reject", "map",
                              "min", "max", "random", "title", "capitalize", "wordwrap", "indent", "striptags"})
# Filters whose result is plain data (its text holds only what the data holds); any other filter may return a
# generator, an iterator or a named tuple, whose text is fixed by Python.
_DATA_FILTERS = frozenset({"list", "join", "string", "tojson", "length", "count", "first", "last", "lower", "upper",
                           "trim", "e", "escape", "safe", "int", "float", "sort", "sum", "min", "max", "default",
                           "d", "capitalize", "title", "replace", "truncate", "wordwrap", "indent", "center",
                           "format", "abs", "round", "wordcount", "striptags", "urlize", "urlencode", "xmlattr",
                           "filesizeformat", "forceescape", "pprint", "dictsort", "bool"})
# A character given by its number: '%c' % 95, '{:c}'.format(95), '%c'|format(95) are all '_'.
_CHAR_CODE = re.compile(r"%[-#0 +]*\d*c|\{[^{}]*:[^{}]*c\}")
TEMPLATE_NAMES = sniffs.TEMPLATE_NAMES
MAX_TEMPLATE_FILE = sniffs.MAX_TEMPLATE_FILE


def check_template(key: str, template: str, rule: str = GGUF_TEMPLATE_ESCAPE) -> list[Problem]:
    """Sandbox-escape evidence in one template; ``rule`` is MW110 for GGUF and MW133 elsewhere."""
    parsed = _ast_hits(template)
    # The parse is exact (names used as variables, not words in text); the pattern is for what does not parse
    # here (an extension tag such as transformers' {% generation %}) but may in the loader's environment.
    hits = set(parsed) if parsed is not None else {m.group(0) for m in _SSTI.finditer(template)}
    if not hits:
        return []
    shown = ", ".join(sorted(hits)[:6])
    return [(rule, f"{key} reaches Python internals ({shown})", f"template:{key}")]


def _ast_hits(template: str) -> list[str] | None:
    """Escape evidence in the parsed template, or None when it cannot be parsed (or jinja2 is absent)."""
    try:
        from jinja2 import Environment
        from jinja2.exceptions import TemplateSyntaxError
    except ImportError:  # pragma: no cover - jinja2 is optional; the pattern runs instead
        return None
    env = Environment(autoescape=True, extensions=["jinja2.ext.loopcontrols", "jinja2.ext.do"])
    for _ in range(8):
        try:
            tree = env.parse(template)
            break
        except TemplateSyntaxError as exc:
            # A tag of a loader's own extension (transformers' {% generation %}) must not blind the analysis:
            # drop that tag's statements (never their body) and parse again.
            tag = _unknown_tag(str(exc.message or ""))
            if tag is None:
                return None
            template = re.sub(r"\{%[-+]?\s*(?:end)?" + re.escape(tag) + r"\b.*?[-+]?%\}", "", template, flags=re.DOTALL)
        except (RecursionError, ValueError):
            return None
    else:
        return None
    try:
        return list(_walk(tree))
    except RecursionError:  # a tree deep enough to parse may still be too deep to walk: use the pattern
        return None


def _unknown_tag(message: str) -> str | None:
    match = re.search(r"unknown tag '(\w+)'", message)
    return match.group(1).removeprefix("end") if match else None


def _walk(tree: Any) -> Iterator[str]:
    from jinja2 import nodes

    assigned = _assignments(tree)
    # Fragments of a name ('__cla', 'ss__', '_') matter only where they can flow into a key computed at render
    # time: the strings each computed key is built from, through variables, namespaces, macros and set blocks.
    keys = [item.arg for item in tree.find_all(nodes.Getitem) if _computed_key(item.arg)]
    keys += [arg for f in tree.find_all(nodes.Filter) if f.name == "attr" for arg in f.args]
    key_strings: set[str] = set()
    for key in keys:
        _strings_into(key, assigned, key_strings, set())
    callees = {id(call.node) for call in tree.find_all(nodes.Call)}
    # strings used as a format ('%c' % 95, '{0:c}'.format(95), '%c'|format(95)); strftime's '%c' is not one
    formatted = {id(n.left) for n in tree.find_all(nodes.Mod)} | {
        id(n.node) for n in tree.find_all(nodes.Getattr) if n.attr == "format"} | {
        id(n.node) for n in tree.find_all(nodes.Filter) if n.name == "format"}
    for node in tree.find_all((nodes.Getattr, nodes.Getitem, nodes.Filter, nodes.Name, nodes.Const,
                               nodes.TemplateData, nodes.Keyword)):
        if isinstance(node, nodes.Getattr) and node.attr.startswith("_"):
            yield f".{node.attr}"
        elif (isinstance(node, nodes.Getattr) and isinstance(node.node, nodes.Name)
              and node.node.name in _FLASK_NAMES and node.attr in _FLASK_ATTRS):
            yield f"{node.node.name}.{node.attr}"
        elif isinstance(node, nodes.Getitem):
            name = _fold(node.arg)
            if name is not None and name.startswith("_"):
                yield f"[{name!r}]"
            elif _object_text(node.node, assigned):
                yield "characters cut from an object's text"
        elif isinstance(node, nodes.Filter):
            yield from _filter_hits(node)
            if node.name in _TEXT_TRANSFORMS and node.node is not None and _object_text(node.node, assigned):
                yield "characters cut from an object's text"
        elif isinstance(node, nodes.Name) and node.ctx == "load":
            if node.name in _RISKY_NAMES:
                yield node.name
            elif node.name in _CALL_ONLY and id(node) not in callees:
                yield f"{node.name} used as an object"
        elif isinstance(node, (nodes.Const, nodes.TemplateData, nodes.Keyword)):
            # string constants, literal text (captured by {% set %}...{% endset %} or a macro) and keyword names
            # (dict(__class__=1)|first) are all ways to write a name that a computed key then uses
            text = node.key if isinstance(node, nodes.Keyword) else node.data if isinstance(
                node, nodes.TemplateData) else node.value
            if not isinstance(text, str):
                continue
            text = text.strip()
            if _SENSITIVE.search(text) or (text in key_strings and _FRAGMENT.match(text) and not _plain_word(text)):
                yield repr(text[:40])
            elif isinstance(node, nodes.Const) and id(node) in formatted and _CHAR_CODE.search(text):
                yield f"character codes {text[:20]!r}"


def _strings_into(node: Any, assigned: dict[str, list[Any]], out: set[str], seen: set[int], depth: int = 0) -> None:
    """Collect (stripped) into ``out`` every literal string an expression may be built from: constants, text of
    set blocks and macros, keyword names (dict(__class__=1)), following variables, namespace attributes, macro
    calls and loop variables to what they were given."""
    from jinja2 import nodes

    if depth > 60 or id(node) in seen or len(seen) > 20_000:
        return
    seen.add(id(node))
    if isinstance(node, nodes.Const) and isinstance(node.value, str):
        out.add(node.value.strip())
    elif isinstance(node, nodes.TemplateData):
        out.add(node.data.strip())
    elif isinstance(node, nodes.Keyword):
        out.add(node.key.strip())
    elif isinstance(node, nodes.Name):
        for value in assigned.get(node.name, ()):
            _strings_into(value, assigned, out, seen, depth + 1)
    elif isinstance(node, nodes.Getattr) and isinstance(node.node, nodes.Name):
        for value in assigned.get(f"{node.node.name}.{node.attr}", ()):
            _strings_into(value, assigned, out, seen, depth + 1)
    elif isinstance(node, nodes.Call) and isinstance(node.node, nodes.Name):
        for value in assigned.get(f"{node.node.name}()", ()):
            _strings_into(value, assigned, out, seen, depth + 1)
    for child in node.iter_child_nodes():
        _strings_into(child, assigned, out, seen, depth + 1)


def _plain_word(text: str) -> bool:
    """A word that merely contains an underscore inside (tool_calls): not a fragment of a dunder name."""
    return not text.startswith("_") and not text.endswith("_")


def _filter_hits(node: Any) -> Iterator[str]:
    from jinja2 import nodes

    if node.name == "attr":
        yield "|attr"
    if node.name in ("map", "select", "reject") and node.args and _fold(node.args[0]) == "attr":
        yield f"|{node.name}('attr')"
    if node.name not in _ATTRIBUTE_FILTERS:
        return
    values = [kw.value for kw in node.kwargs if kw.key == "attribute"]
    position = _ATTRIBUTE_FILTERS[node.name]
    if position is not None and len(node.args) > position:
        values.append(node.args[position])
    for value in values:
        name = _fold(value)
        if isinstance(value, nodes.Const) and isinstance(value.value, int):
            continue
        if name is None:
            yield f"|{node.name} with a computed attribute"
        elif any(part.startswith("_") for part in name.split(".")):  # make_attrgetter follows dotted paths
            yield f"|{node.name}(attribute={name!r})"


def _assignments(tree: Any) -> dict[str, list[Any]]:
    """Every expression a name may hold: {% set %} (also ns.attr and block sets), loop variables (the iterable),
    and macros (``name()``: the macro's body)."""
    from jinja2 import nodes

    out: dict[str, list[Any]] = {}
    for assign in tree.find_all((nodes.Assign, nodes.AssignBlock, nodes.For, nodes.Macro)):
        if isinstance(assign, nodes.Macro):
            out.setdefault(f"{assign.name}()", []).extend(assign.body)
            continue
        # a loop variable holds an ELEMENT of the iterable (not the generator a filter returns)
        value = nodes.Getitem(assign.iter, nodes.Const(0), "load") if isinstance(assign, nodes.For) else \
            assign.node if isinstance(assign, nodes.Assign) else nodes.Output(assign.body)
        for target in assign.target.find_all((nodes.Name, nodes.NSRef)) if not isinstance(
                assign.target, (nodes.Name, nodes.NSRef)) else [assign.target]:
            name = target.name if isinstance(target, nodes.Name) else f"{target.name}.{target.attr}"
            out.setdefault(name, []).append(value)
    return out


def _object_text(node: Any, assigned: dict[str, list[Any]], depth: int = 0) -> bool:
    """Whether ``node`` is (a piece of) the text of an object that is not template data: ``(()|select|string)``,
    ``(raise_exception|string)|list``, ``(x|groupby('a')|string)[1]`` — directly, sliced, transformed, joined
    with ``~`` or through {% set %} variables."""
    from jinja2 import nodes

    if depth > 20:
        return False
    if isinstance(node, nodes.Name):
        return any(_object_text(value, assigned, depth + 1) for value in assigned.get(node.name, ()))
    if isinstance(node, nodes.Getitem):
        return _object_text(node.node, assigned, depth + 1)
    if isinstance(node, nodes.Concat):
        return any(_object_text(part, assigned, depth + 1) for part in node.nodes)
    if not isinstance(node, nodes.Filter) or node.node is None:
        return False
    if node.name in _TEXT_FILTERS and _is_object(node.node, assigned, depth + 1):
        return True
    return node.name in _TEXT_TRANSFORMS and _object_text(node.node, assigned, depth + 1)


def _is_object(node: Any, assigned: dict[str, list[Any]], depth: int) -> bool:
    """An expression whose value is a Python object other than plain data: a generator or iterator a filter
    returns, a call's result, a Jinja global function or class."""
    from jinja2 import nodes

    if depth > 20:
        return False
    if isinstance(node, nodes.Name):
        if node.name in _RISKY_NAMES or node.name in _CALL_ONLY:
            return True
        return any(_is_object(value, assigned, depth + 1) for value in assigned.get(node.name, ()))
    if isinstance(node, nodes.Filter):
        return node.name not in _DATA_FILTERS
    return isinstance(node, nodes.Call)


def _computed_key(node: Any) -> bool:
    """A subscript computed at render time that may be a string: not a constant, a slice or integer arithmetic
    (messages[loop.index0 - 1] is everyday template code)."""
    from jinja2 import nodes

    if isinstance(node, (nodes.Slice, nodes.Const)):
        return False
    if isinstance(node, (nodes.Sub, nodes.Div, nodes.FloorDiv, nodes.Mod, nodes.Neg, nodes.Pos)):
        return False
    if isinstance(node, (nodes.Add, nodes.Mul)):
        return _fold(node) is None and not any(
            isinstance(side, nodes.Const) and isinstance(side.value, int) for side in (node.left, node.right))
    return True


def _fold(node: Any, depth: int = 0) -> str | None:
    """The string an expression builds from constants ('__cla' ~ 'ss__', '_' * 2, 'x'|reverse...), if any."""
    from jinja2 import nodes

    if depth > 50:
        return None
    if isinstance(node, nodes.Const):
        return node.value if isinstance(node.value, str) else None
    if isinstance(node, (nodes.Concat,)):
        parts = [_fold(n, depth + 1) for n in node.nodes]
        return None if any(p is None for p in parts) else "".join(p for p in parts if p is not None)
    if isinstance(node, nodes.Add):
        left, right = _fold(node.left, depth + 1), _fold(node.right, depth + 1)
        return left + right if left is not None and right is not None else None
    if isinstance(node, nodes.Mul):
        left = _fold(node.left, depth + 1)
        if left is not None and isinstance(node.right, nodes.Const) and isinstance(node.right.value, int):
            return left * min(node.right.value, 64)
        return None
    if isinstance(node, nodes.Filter) and node.node is not None:
        if node.name == "join" and isinstance(node.node, nodes.List):
            parts = [_fold(n, depth + 1) for n in node.node.items]
            return None if any(p is None for p in parts) else "".join(p for p in parts if p is not None)
        inner = _fold(node.node, depth + 1)
        if inner is None:
            return None
        if node.name == "reverse":
            return inner[::-1]
        if node.name in ("lower", "upper", "trim", "string", "e", "escape"):
            return {"lower": inner.lower(), "upper": inner.upper(), "trim": inner.strip()}.get(node.name, inner)
        if node.name == "format" and "%c" in inner:
            return "_"  # '%c'|format(95) spells underscores one character at a time
        if node.name == "replace" and len(node.args) == 2:
            old, new = _fold(node.args[0], depth + 1), _fold(node.args[1], depth + 1)
            return inner.replace(old, new) if old is not None and new is not None and old else None
    return None


def templates_in(document: Any, path: str = "", depth: int = 0) -> Iterator[tuple[str, str]]:
    """(where, template) for each chat template in a parsed JSON/YAML document: ``chat_template`` strings or
    lists of {name, template}, and any string under a key naming a template that holds Jinja syntax."""
    if depth > 100:
        return
    if isinstance(document, dict):
        for key, value in document.items():
            where = f"{path}.{key}" if path else str(key)
            keyname = str(key).lower()
            if isinstance(value, str) and "template" in keyname and ("{%" in value or "{{" in value
                                                                      or keyname == "chat_template"):
                yield where, value
            elif keyname == "chat_template" and isinstance(value, list):
                for i, item in enumerate(value):
                    if isinstance(item, dict) and isinstance(item.get("template"), str):
                        yield f"{where}[{item.get('name', i)}]", item["template"]
            elif keyname == "chat_template" and isinstance(value, dict):
                # a dict of named templates: transformers keeps it as it is and renders the one asked for
                for name, item in value.items():
                    if isinstance(item, str):
                        yield f"{where}[{name}]", item
                    else:
                        yield from templates_in(item, f"{where}.{name}", depth + 1)
            else:
                yield from templates_in(value, where, depth + 1)
    elif isinstance(document, list):
        for i, item in enumerate(document[:100_000]):
            yield from templates_in(item, f"{path}[{i}]", depth + 1)


def check_document(data: bytes, name: str) -> Report:
    """Chat templates in a JSON, YAML or Jinja file. Known template files that cannot be parsed fail closed;
    other configs that do not parse are not ours to judge."""
    report = Report()
    base = basename(name).lower()
    known = base in TEMPLATE_NAMES
    text = data.decode("utf-8", "replace")
    if base.endswith((".jinja", ".j2", ".template")):
        found: list[tuple[str, str]] = [(base, text)]
    else:
        try:
            document = _parse(text, base)
        except ValueError as exc:
            if known:
                report.unverifiable(None, f"{base} cannot be parsed: {exc}", "template-config")
            return report
        found = list(templates_in(document))
    if found:
        report.formats.append("chat-template")
    for where, template in found:
        for rule, message, key in check_template(where, template, CHAT_TEMPLATE_ESCAPE):
            report.add(rule, None, message, key)
    return report


def _parse(text: str, base: str) -> Any:
    import json  # lazily: the hook's start-up stays light

    if base.endswith((".yaml", ".yml")):
        import yaml

        try:
            return yaml.safe_load(text)  # safe_load builds plain data only
        except yaml.YAMLError as exc:
            raise ValueError(str(exc).splitlines()[0]) from None
    try:
        return json.loads(text)
    except (ValueError, RecursionError) as exc:
        raise ValueError(str(exc)) from None


sniff = sniffs.template

def scan(blob: Blob, scan: Scan) -> None:
    try:
        data = read_limited(blob.file, MAX_TEMPLATE_FILE)
    except ValueError as exc:
        report = Report()
        if basename(blob.name).lower() in TEMPLATE_NAMES:
            report.unverifiable(None, f"template file {exc}", "template-size")
    else:
        report = check_document(data, blob.name)
    emit(report, scan, blob.member)


FORMAT = ReaderFormat("chat-template", sniff, scan, seekable=True)
