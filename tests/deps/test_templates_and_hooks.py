"""Templates are not requirements (cookiecutter, copier: a coverage note, not MW308), and hatch's
uv-dynamic-versioning hook declares its dependencies in pyproject (read, not MW316). Shapes from kedro's
project template, khuyentran1401/data-science-template and pydantic-ai's pyprojects (issue 13)."""

from __future__ import annotations

from pathlib import Path

from mlwarden.deps.formats import parse_file
from mlwarden.deps.model import Manifest, is_template


def _problems(manifests: list[Manifest]) -> list[tuple[str, int | None]]:
    return [(p.rule, p.line) for m in manifests for p in m.problems]


def test_template_requirement_line_is_a_note_and_the_others_are_read(tmp_path: Path) -> None:
    folder = tmp_path / "{{ cookiecutter.repo_name }}"
    folder.mkdir()
    (folder / "requirements.txt").write_text("ipython>=8.10\nkedro~={{ cookiecutter.kedro_version }}\nnotebook\n")
    manifests = parse_file(folder / "requirements.txt", tmp_path)
    assert _problems(manifests) == []
    assert [p.name for p in manifests[0].pins] == ["ipython", "notebook"]
    assert any("not checked: template" in n and "line 2" in n for n in manifests[0].notes)


def test_invalid_requirement_that_is_not_a_template_is_still_mw308(tmp_path: Path) -> None:
    (tmp_path / "requirements.txt").write_text("numpy==1.26.4\nkedro~={ version }\n")
    assert _problems(parse_file(tmp_path / "requirements.txt", tmp_path)) == [("MW308", 2)]


def test_template_requirement_in_pyproject_is_a_note(tmp_path: Path) -> None:
    (tmp_path / "pyproject.toml").write_text(
        '[project]\nname = "{{ cookiecutter.repo_name }}"\nversion = "0.1"\n'
        'dependencies = ["kedro~={{ cookiecutter.kedro_version }}", "pandas>=2"]\n')
    [manifest] = parse_file(tmp_path / "pyproject.toml", tmp_path)
    assert manifest.problems == []
    assert [p.name for p in manifest.pins] == ["pandas"]
    assert any("template" in n for n in manifest.notes)


def test_jinja_blocks_that_make_a_pyproject_invalid_toml_are_a_note_not_an_error(tmp_path: Path) -> None:
    (tmp_path / "pyproject.toml").write_text(
        '{%- if cookiecutter.dependency_manager == "poetry" %}\n[tool.poetry]\nname = "x"\n'
        '{% elif cookiecutter.dependency_manager == "uv" %}\n[project]\nname = "x"\n{% endif %}\n')
    [manifest] = parse_file(tmp_path / "pyproject.toml", tmp_path)
    assert manifest.problems == []
    assert manifest.notes
    assert "not checked: template" in manifest.notes[0]


def test_invalid_toml_without_jinja_is_still_an_error(tmp_path: Path) -> None:
    (tmp_path / "pyproject.toml").write_text('[project\nname = "x"\n')
    [manifest] = parse_file(tmp_path / "pyproject.toml", tmp_path)
    assert [p.fatal for p in manifest.problems] == [True]


def test_is_template() -> None:
    assert is_template("kedro~={{ cookiecutter.kedro_version }}")
    assert is_template("{% if x %}")
    assert not is_template("numpy>=1.0; python_version < '3.11'")
    assert not is_template("pkg @ https://example.org/{x}.whl")


def test_uv_dynamic_versioning_hook_dependencies_are_read_not_mw316(tmp_path: Path) -> None:
    (tmp_path / "pyproject.toml").write_text(
        '[build-system]\nrequires = ["hatchling", "uv-dynamic-versioning>=0.7.0"]\n'
        'build-backend = "hatchling.build"\n'
        '[project]\nname = "pydantic-ai-slim"\ndynamic = ["version", "dependencies", "optional-dependencies"]\n'
        '[tool.hatch.metadata.hooks.uv-dynamic-versioning]\n'
        'dependencies = ["anyio>=4.7.0", "pydantic-graph=={{ version }}"]\n'
        '[tool.hatch.metadata.hooks.uv-dynamic-versioning.optional-dependencies]\n'
        'openai = ["openai>=3.0.0"]\n')
    [manifest] = parse_file(tmp_path / "pyproject.toml", tmp_path)
    assert manifest.problems == []
    assert sorted((p.name, p.groups) for p in manifest.pins) == [("anyio", ("main",)), ("openai", ("extra:openai",))]
    assert any("template" in n for n in manifest.notes)


def test_hook_that_declares_only_dependencies_leaves_dynamic_optional_dependencies_mw316(tmp_path: Path) -> None:
    (tmp_path / "pyproject.toml").write_text(
        '[project]\nname = "p"\ndynamic = ["dependencies", "optional-dependencies"]\n'
        '[tool.hatch.metadata.hooks.uv-dynamic-versioning]\ndependencies = ["anyio>=4.7.0"]\n')
    [manifest] = parse_file(tmp_path / "pyproject.toml", tmp_path)
    [problem] = manifest.problems
    assert problem.rule == "MW316"
    assert "optional-dependencies" in problem.message
    assert "dependencies and" not in problem.message
