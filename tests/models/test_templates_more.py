"""Chat-template analysis: idioms of real tool-calling templates stay clean; tricks that hide a name stay found."""

from __future__ import annotations

import pytest

from mlwarden.models.readers.templates import check_template

# Idioms of real tool-calling templates (vLLM's examples, Llama 4, Qwen3-Coder, Gemma, Mistral 3, Hermes...),
# written here from the shapes they use: computed keys, slices, %s formats, strftime_now, text of data.
BENIGN = [
    "{% set m = {'string': 'str'} %}{% if m[spec.type] is defined %}{{ m[spec.type] }}{% endif %}",
    "{% for param in call.arguments %}{{ param + '=' }}{{ '%s' | format(call.arguments[param]) }}{% endfor %}",
    "{% set out = call.function|tojson %}{{ out[:-1] }}{{ ', \"id\": \"' + call.id[-9:] + '\"}' }}",
    "{%- set today = strftime_now('%Y-%m-%d') %}{{ today }}{{ strftime_now('%c') }}",
    "{% for k in d if k not in handled %}{{ '<' ~ k ~ '>' ~ (d[k] | string) ~ '</' ~ k ~ '>' }}{% endfor %}",
    "{% for name, fields in tool.parameters.properties|items %}{{ name }}{% endfor %}",
    "{% for i in range(msgs|length) %}{% if msgs[i]['role'] == 'user' %}{{ i }}{% endif %}{% endfor %}",
    "{% set content = message['content'].split('</think>', 1)[1] %}{{ content }}",
    "{% for c in message['content'] | selectattr('type', 'equalto', 'text') %}{{ c['text']|trim }}{% endfor %}",
    "{% set ns = namespace(i=0) %}{{ messages[ns.i]['tool_call_id'] }}{{ '<tool_call>' }}{{ 'x_' ~ 'y' }}",
    "{% for key, val in tool.items() if key != 'return' %}{{ key }}{{ val|tojson }}{% endfor %}",
    "{% generation %}{{ message['content'] }}{% endgeneration %}",
]

HIDDEN = [
    # a loader's own tag must not make the analysis fall back to the pattern
    "{% generation %}{% set d = dict(__class__=1)|first %}{{ ''[d] }}{% endgeneration %}",
    "{% set c = '%c%cclass%c%c' % (95, 95, 95, 95) %}{{ ''[c] }}",
    "{{ ''['{0:c}{0:c}class{0:c}{0:c}'.format(95)] }}",
    "{% set u = ()|select|string|replace('<generator object select', '')|first %}{{ ''[u ~ u ~ 'class' ~ u ~ u] }}",
    "{% set t %}__cla{% endset %}{% set s %}ss__{% endset %}{{ ''[t ~ s] }}",
    "{{ ''|map('attr', '__class__')|first }}",
    "{{ xs|map(attribute='a.__class__')|list }}",
    "{{ xs|groupby(k)|list }}",
    "{% set f = raise_exception %}{{ f }}",
    "{{ (raise_exception|string)[10] }}",
]


@pytest.mark.parametrize("template", BENIGN)
def test_real_template_idioms_are_clean(template: str) -> None:
    assert check_template("chat_template", template) == []


@pytest.mark.parametrize("template", HIDDEN)
def test_hidden_names_are_found(template: str) -> None:
    problems = check_template("chat_template", template, "MW133")
    assert [p[0] for p in problems] == ["MW133"], template


def test_deep_nesting_falls_back_to_the_pattern_without_crashing() -> None:
    deep = "{{ " + "(" * 2000 + "x" + ")" * 2000 + "['__class__'] }}"
    assert [p[0] for p in check_template("t", deep)] == ["MW110"]


def test_text_of_a_loop_element_is_data() -> None:
    template = "{% for m in messages|selectattr('role', 'equalto', 'user') %}{{ (m|string)[:20] }}{% endfor %}"
    assert check_template("chat_template", template) == []
