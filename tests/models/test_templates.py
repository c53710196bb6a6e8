"""Chat templates wherever they live, with one SSTI analysis (GGUF shares it through models.formats)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from mlwarden.findings import Severity
from mlwarden.models.readers.templates import check_template
from tests.conftest import rules, scan_bytes, worst

# Real-world shapes: ChatML and a Llama-3-style template with namespace(), loop and raise_exception.
CHATML = ("{% for message in messages %}{{'<|im_start|>' + message['role'] + '\\n' + message['content'] + "
          "'<|im_end|>' + '\\n'}}{% endfor %}{% if add_generation_prompt %}{{ '<|im_start|>assistant\\n' }}"
          "{% endif %}")
LLAMA = ("{% set ns = namespace(system=false) %}{{ bos_token }}{% for message in messages %}"
         "{% if message['role'] == 'system' %}{% set ns.system = true %}{% endif %}"
         "{% if (message['role'] == 'user') != (loop.index0 % 2 == 0) %}"
         "{{ raise_exception('Conversation roles must alternate') }}{% endif %}"
         "{{ '<|start_header_id|>' + message['role'] + '<|end_header_id|>\\n\\n' + message['content'] | trim "
         "+ '<|eot_id|>' }}{% endfor %}{% if tools is defined %}{{ tools | tojson(indent=4) }}{% endif %}")

ESCAPES = {
    "dunder": "{{ ''.__class__.__mro__[1].__subclasses__() }}",
    "getitem": "{{ x['__globals__'] }}",
    "concat": "{{ x[('__cla' ~ 'ss__')] }}",
    "plus-mul": "{{ x['_' * 2 + 'class' + '_' * 2] }}",
    "reverse": "{{ x['__ssalc__'|reverse] }}",
    "join": "{{ x[['_','_','cl','ass','_','_']|join] }}",
    "attr-filter": "{{ x|attr(y) }}",
    "format-c": "{{ x|attr('%c%cclass%c%c'|format(95,95,95,95)) }}",
    "lipsum": "{{ lipsum.__globals__ }}",
    "cycler": "{{ cycler.__init__ }}",
    "joiner": "{% set j = joiner %}{{ j }}",
    "self": "{{ self._TemplateReference__context }}",
    "request": "{{ request.application }}",
    "config": "{{ config.items() }}",
    "map-attribute": "{{ xs|map(attribute='__class__')|list }}",
    "via-variable": "{% set a = '__globals__' %}{{ y[a] }}",
    "fragments": "{% set a = '__cla' %}{% set b = 'ss__' %}{{ x[a ~ b] }}",
}


@pytest.mark.parametrize("template", [CHATML, LLAMA, "{{ config.model_name }}: {{ request_id }}",
                                      "{% set ns = namespace(found=false) %}{{ ns.found }}",
                                      "Welcome, new joiner! {{ messages[0]['content'] }}",
                                      "{{ '__bold__' ~ message['content'] ~ '__' }}"])
def test_real_templates_are_clean(template: str) -> None:
    assert check_template("chat_template", template) == []


@pytest.mark.parametrize("name", sorted(ESCAPES))
def test_sandbox_escapes_are_found(name: str) -> None:
    problems = check_template("chat_template", ESCAPES[name], "MW133")
    assert [p[0] for p in problems] == ["MW133"], name


def test_tokenizer_config_string_and_list_forms(tmp_path: Path) -> None:
    clean = json.dumps({"chat_template": CHATML, "model_max_length": 4096})
    assert scan_bytes(tmp_path, clean.encode(), "tokenizer_config.json") == []
    listed = json.dumps({"chat_template": [{"name": "default", "template": CHATML},
                                           {"name": "tool_use", "template": ESCAPES["lipsum"]}]})
    findings = scan_bytes(tmp_path, listed.encode(), "tokenizer_config.json")
    assert rules(findings) == {"MW133"}
    assert worst(findings) == Severity.CRITICAL
    assert "tool_use" in findings[0].message


def test_yaml_config_and_jinja_file(tmp_path: Path) -> None:
    yaml_text = f"model: x\nprompt:\n  chat_template: \"{ESCAPES['dunder']}\"\n"
    assert rules(scan_bytes(tmp_path, yaml_text.encode(), "config.yaml")) == {"MW133"}
    assert rules(scan_bytes(tmp_path, ESCAPES["self"].encode(), "chat_template.jinja")) == {"MW133"}
    assert scan_bytes(tmp_path, LLAMA.encode(), "chat_template.jinja") == []


def test_unparsable_tokenizer_config_fails_closed_other_json_does_not(tmp_path: Path) -> None:
    findings = scan_bytes(tmp_path, b'{"chat_template": "{{ x }}', "tokenizer_config.json")
    assert rules(findings) == {"MW112"}
    assert worst(findings) == Severity.HIGH
    assert scan_bytes(tmp_path, b'{"broken": ', "results.json") == []


def test_unparsable_template_falls_back_to_the_pattern() -> None:
    template = "{% generation %}{{ cycler.__init__.__globals__.os.popen('id') }}{% endgeneration %}"
    assert check_template("chat_template", template)


def test_gguf_uses_the_same_analysis() -> None:
    from mlwarden.models import formats

    assert formats.check_template("tokenizer.chat_template", ESCAPES["concat"])[0][0] == "MW110"


_RENDER = """
import sys
from jinja2 import Environment
Environment().from_string(sys.stdin.read()).render(messages=[], x=0)
"""


@pytest.mark.parametrize("template", [
    "{{ lipsum.__globals__['os'].system('touch MARK') }}",
    "{{ cycler.__init__.__globals__.os.system('touch MARK') }}",
    "{{ (lipsum|attr('__glo' ~ 'bals__'))['os'].system('touch MARK') }}",
    "{{ joiner.__init__[('_' * 2) ~ 'globals' ~ ('_' * 2)].os.system('touch MARK') }}",
    "{{ namespace.__init__.__globals__['os'].system('touch MARK') }}",
])
def test_payloads_that_run_in_an_unsandboxed_render_are_critical(tmp_path: Path, template: str) -> None:
    """Loader as oracle: render like llama-cpp-python before CVE-2024-34359 (plain Environment), in a
    throwaway process inside a temp dir; the payload must run there, and the scanner must call it critical."""
    import subprocess
    import sys

    mark = tmp_path / "MARK"
    proc = subprocess.run([sys.executable, "-c", _RENDER], input=template.replace("MARK", str(mark)), text=True,
                          capture_output=True, cwd=tmp_path, timeout=60, check=False)
    assert mark.exists(), proc.stderr  # the payload is real
    document = json.dumps({"chat_template": template})
    findings = scan_bytes(tmp_path, document.encode(), "tokenizer_config.json")
    assert worst(findings) == Severity.CRITICAL


def test_tokenizer_config_inside_a_zip_is_read(tmp_path: Path) -> None:
    import io
    import zipfile

    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        z.writestr("model/tokenizer_config.json", json.dumps({"chat_template": ESCAPES["lipsum"]}))
    assert rules(scan_bytes(tmp_path, buf.getvalue(), "bundle.zip")) == {"MW133"}
