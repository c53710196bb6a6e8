"""The shared notebook reader: typed validation, Jupyter's numbering, JSON lines, and IPython magics."""

from __future__ import annotations

import ast
import contextlib
import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mlwarden.notebook import NotebookError, read_notebook, strip_magics


def _nb(cells: list[dict[str, object]], indent: int | None = 1) -> str:
    doc = {"cells": cells, "metadata": {"kernelspec": {"name": "python3"}}, "nbformat": 4, "nbformat_minor": 5}
    return json.dumps(doc, indent=indent, sort_keys=True)  # the layout nbformat writes


CELLS: list[dict[str, object]] = [
    {"cell_type": "markdown", "metadata": {}, "source": ["# Title\n", "text"]},
    {"cell_type": "code", "execution_count": 7, "metadata": {"tags": ["parameters"]}, "outputs": [
        {"output_type": "stream", "name": "stdout", "text": ["hello\n", "world\n"]},
        {"output_type": "execute_result", "execution_count": 7, "metadata": {},
         "data": {"text/plain": ["42"], "application/json": {"source": ["x = 1\n"]}}},
        {"output_type": "error", "ename": "ValueError", "evalue": "bad", "traceback": ["tb1", "tb2"]},
    ], "source": ["x = 1\n", "y = 2\n", "z = 3"]},
    {"cell_type": "code", "execution_count": None, "metadata": {}, "outputs": [], "source": "a = 1\nb = 2\n"},
    {"cell_type": "raw", "metadata": {}, "source": ["x = 1\n"]},
    {"cell_type": "code", "execution_count": None, "metadata": {}, "outputs": [], "source": []},
]


def test_cells_kinds_numbers_and_outputs() -> None:
    nb = read_notebook(_nb(CELLS))
    assert [c.kind for c in nb.cells] == ["markdown", "code", "code", "raw", "code"]
    assert [c.index for c in nb.cells] == [0, 1, 2, 3, 4]
    # Code cells as Jupyter shows them: In [7], then the 2nd and 3rd code cells (never run) by position.
    assert [c.label for c in nb.cells] == ["markdown cell 1", "cell 7", "cell 2", "raw cell 4", "cell 3"]
    code = nb.cells[1]
    assert code.source == "x = 1\ny = 2\nz = 3"
    assert code.tags == ("parameters",)
    assert code.execution_count == 7
    assert [o.output_type for o in code.outputs] == ["stream", "execute_result", "error"]
    assert code.outputs[0].text == "hello\nworld\n"
    assert code.outputs[1].data == {"text/plain": "42", "application/json": '{"source": ["x = 1\\n"]}'}
    assert "ValueError: bad" in code.outputs[2].text
    assert "tb2" in code.outputs[2].text
    assert nb.cells[4].source == ""


def test_source_lines_point_into_the_json() -> None:
    text = _nb(CELLS)
    lines = text.split("\n")
    nb = read_notebook(text)
    for cell in nb.cells:
        assert cell.source_lines is not None, cell
        for number, code_line in enumerate(cell.source.split("\n"), 1):
            if not code_line:
                continue
            json_line = cell.file_line(number)
            assert json_line is not None
            # The JSON line holds this source line (as a JSON string), despite the "source" key in an output.
            assert json.dumps(code_line)[1:-1].rstrip() in lines[json_line - 1], (cell.label, number)
    assert nb.cells[1].line_offset == nb.cells[1].file_line(1)
    first = nb.cells[1].file_line(1)
    assert first is not None
    assert nb.cells[1].file_line(3) == first + 2


def test_single_line_json_still_maps_to_its_line() -> None:
    nb = read_notebook(_nb(CELLS, indent=None))
    assert all(c.line_offset == 1 for c in nb.cells)


@pytest.mark.parametrize(("doc", "field"), [
    ("[]", "top level"),
    ('{"cells": {}}', "cells is an object"),
    ('{"cells": [1]}', "cells[0] is a number"),
    ('{"cells": [{"cell_type": 3}]}', "cells[0].cell_type"),
    ('{"cells": [{"cell_type": "weird"}]}', "cells[0].cell_type"),
    ('{"cells": [{"cell_type": "code", "source": [1]}]}', "cells[0].source[0]"),
    ('{"cells": [{"cell_type": "code", "source": null}]}', "cells[0].source is null"),
    ('{"cells": [{"cell_type": "code", "source": "", "execution_count": "3"}]}', "cells[0].execution_count"),
    ('{"cells": [{"cell_type": "code", "source": "", "execution_count": true}]}', "cells[0].execution_count"),
    ('{"cells": [{"cell_type": "code", "source": "", "metadata": []}]}', "cells[0].metadata"),
    ('{"cells": [{"cell_type": "code", "source": "", "metadata": {"tags": "a"}}]}', "cells[0].metadata.tags"),
    ('{"cells": [{"cell_type": "code", "source": "", "outputs": {}}]}', "cells[0].outputs"),
    ('{"cells": [{"cell_type": "code", "source": "", "outputs": [{"output_type": "stream", "text": 5}]}]}',
     "cells[0].outputs[0].text"),
    ('{"cells": [{"cell_type": "code", "source": "", "outputs": [{"data": {"text/plain": 5}}]}]}',
     "cells[0].outputs[0].data"),
    ('{"cells": [{"cell_type": "code", "source": "", "outputs": [{"output_type": "error", "traceback": [1]}]}]}',
     "cells[0].outputs[0].traceback[0]"),
    ('{"metadata": {}}', "no 'cells'"),
    ('{"cells": [], "metadata": 3}', "metadata is a number"),
    ('{"cells": [], "nbformat": "4"}', "nbformat"),
    ("{not json", "not valid JSON"),
    ("[" * 100_000, "JSON"),
])
def test_wrong_types_name_the_field(doc: str, field: str) -> None:
    with pytest.raises(NotebookError) as info:
        read_notebook(doc)
    message = str(info.value)
    assert field in message
    assert "\n" not in message


def test_nbformat_3_worksheets() -> None:
    doc = {"nbformat": 3, "worksheets": [{"cells": [
        {"cell_type": "heading", "level": 1, "source": "T"},
        {"cell_type": "code", "input": ["import os\n"], "prompt_number": 3, "outputs": [
            {"output_type": "pyerr", "ename": "E", "evalue": "v", "traceback": []}]},
    ]}]}
    nb = read_notebook(json.dumps(doc, indent=1))
    assert [(c.kind, c.label, c.source) for c in nb.cells] == [("markdown", "markdown cell 1", "T"),
                                                                ("code", "cell 3", "import os\n")]
    assert nb.cells[1].outputs[0].text == "E: v"
    assert nb.cells[1].line_offset is not None


def test_bounds(monkeypatch: pytest.MonkeyPatch) -> None:
    import mlwarden.notebook as notebook

    monkeypatch.setattr(notebook, "MAX_CELLS", 2)
    with pytest.raises(NotebookError, match="more than 2 cells"):
        read_notebook(json.dumps({"cells": [{"cell_type": "raw", "source": ""}] * 3}))
    monkeypatch.setattr(notebook, "MAX_NOTEBOOK_CHARS", 10)
    with pytest.raises(NotebookError, match="larger than"):
        read_notebook(json.dumps({"cells": []}))


@settings(max_examples=300, deadline=None)
@given(st.recursive(st.none() | st.booleans() | st.integers() | st.text(max_size=5),
                    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(
                        st.sampled_from(["cells", "cell_type", "source", "outputs", "metadata", "tags", "data",
                                         "text", "execution_count", "output_type", "traceback", "code"]),
                        inner, max_size=4), max_leaves=20))
def test_any_json_is_a_notebook_or_a_notebook_error(doc: object) -> None:
    with contextlib.suppress(NotebookError):
        read_notebook(json.dumps(doc))


# -- magics -------------------------------------------------------------------------------------------------
def test_line_magics_shell_and_help_keep_line_numbers() -> None:
    source = (
        "%pip install torch\n"
        "!ls -la 'unterminated\n"
        "files = !ls\n"
        "x, y = %who_ls\n"
        "np.load?\n"
        "??np\n"
        "%matplotlib inline\n"
        "import torch\n"
        "m = torch.load('a.pt')\n"
    )
    out = strip_magics(source)
    assert len(out.split("\n")) == len(source.split("\n"))
    tree = ast.parse(out)
    assert [n.lineno for n in tree.body if not isinstance(n, ast.Pass)] == [8, 9]


def test_magics_inside_a_colab_guard_keep_the_block_valid() -> None:
    source = (
        "IN_COLAB = 'google.colab' in str(get_ipython())\n"
        "if IN_COLAB:\n"
        "    !pip install transformers \\\n"
        "        datasets\n"
        "    %cd /content\n"
        "else:\n"
        "    %load_ext autoreload\n"
        "get_ipython().system('ls')\n"
        "torch.load('x')\n"
    )
    out = strip_magics(source)
    tree = ast.parse(out)
    calls = [n.lineno for n in ast.walk(tree) if isinstance(n, ast.Call)]
    assert 8 in calls
    assert 9 in calls
    assert out.split("\n")[3] == ""  # the backslash-continued shell line


def test_cell_magics() -> None:
    assert strip_magics("%%bash\necho $HOME\nrm -rf x\n") == "\n\n\n"
    assert strip_magics("\n%%writefile a.py\nimport os\n") == "\n\n\n"
    timed = strip_magics("%%time\nm = torch.load('a')\n")
    assert ast.parse(timed).body[0].lineno == 2
    assert strip_magics("%time m = torch.load('a')").strip() == "m = torch.load('a')"
    assert strip_magics("%timeit -n 10 f(x)").strip() == "f(x)"


def test_strings_and_brackets_are_not_magics() -> None:
    source = 'doc = """\n%d items\n!important\n"""\nx = f(\n    %2\n)\ny = 5 % 3\n'
    assert strip_magics(source) == source


def test_automagic_doctest_prompts_and_multiline_magics() -> None:
    # With automagic (IPython's default) ``pip install x`` is %pip; ``config = f(`` stays an assignment.
    out = strip_magics("pip install diffusers\nconfig = dict(\n    a=1)\ncd = 3\nimport torch\n")
    assert out.split("\n")[0] == "pass"
    assert ast.parse(out).body[1].lineno == 2
    # A cell pasted from a doctest runs without its prompts (IPython's classic_prompt transform).
    pasted = strip_magics(">>> import torch\n\n >>> m = torch.load(\n...     'a.pt')\n")
    assert [type(n).__name__ for n in ast.parse(pasted).body] == ["Import", "Assign"]
    # A %magic reads to the end of its brackets; a shell line does not (its quotes are not Python's).
    timed = strip_magics("%timeit f((x for x in y),\n        n=3)\nz = 1\n!echo (\nw = 2\n")
    assert [n.lineno for n in ast.parse(timed).body if not isinstance(n, ast.Pass)] == [3, 5]


def test_find_a_cell_by_its_label() -> None:
    nb = read_notebook(_nb(CELLS))
    found = nb.find("cell 7")
    assert found is not None
    assert found.index == 1
    assert nb.find("markdown cell 1") is nb.cells[0]
    assert nb.find("cell 99") is None
