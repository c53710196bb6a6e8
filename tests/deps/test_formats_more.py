"""Small reader cases not covered by the real files."""

from __future__ import annotations

from pathlib import Path

from mlwarden.deps.formats import parse_file


def test_pipfile_file_url_is_a_url_and_path_is_a_path(tmp_path: Path) -> None:
    (tmp_path / "Pipfile").write_text(
        '[[source]]\nurl = "https://pypi.org/simple"\nname = "pypi"\nverify_ssl = true\n\n[packages]\n'
        'remote = {file = "https://example.org/remote-1.0.zip"}\nlocal = {path = "./local", editable = true}\n'
        'pinned = "==1.2.3"\nany = "*"\n')
    [manifest] = parse_file(tmp_path / "Pipfile", tmp_path)
    pins = {p.name: p for p in manifest.pins}
    assert pins["remote"].source is not None
    assert pins["remote"].source.kind == "url"
    assert pins["local"].source is not None
    assert pins["local"].source.kind == "path"
    assert pins["pinned"].version == "1.2.3"
    assert pins["any"].version is None
    assert pins["any"].specifier == ""


def test_uv_sources_list_form_with_markers_and_named_index(tmp_path: Path) -> None:
    (tmp_path / "pyproject.toml").write_text(
        '[project]\nname = "p"\ndependencies = ["torch==2.6.0", "lib"]\n'
        '[[tool.uv.index]]\nname = "pytorch-cpu"\nurl = "https://download.pytorch.org/whl/cpu"\nexplicit = true\n'
        '[tool.uv.sources]\ntorch = [\n'
        '  { index = "pytorch-cpu", marker = "sys_platform == \'linux\'" },\n'
        '  { url = "https://example.org/torch-2.6.0-cp311-none-macosx_11_0_arm64.whl", '
        'marker = "sys_platform == \'darwin\'" },\n]\n'
        'lib = { workspace = true }\n'
        '[tool.uv.workspace]\nmembers = ["lib"]\n')
    [manifest] = parse_file(tmp_path / "pyproject.toml", tmp_path)
    torch = [p for p in manifest.pins if p.name == "torch"]
    assert [(p.source.kind if p.source else None, p.markers) for p in torch] == [
        ("index", 'sys_platform == "linux"'), ("url", 'sys_platform == "darwin"')]
    assert torch[0].source is not None
    assert torch[0].source.url == "https://download.pytorch.org/whl/cpu"
    [lib] = [p for p in manifest.pins if p.name == "lib"]
    assert lib.source is not None
    assert lib.source.kind == "path"


def test_pep735_include_group_and_cycle(tmp_path: Path) -> None:
    (tmp_path / "pyproject.toml").write_text(
        '[dependency-groups]\ntest = ["pytest==8.3.0", {include-group = "lint"}]\nlint = ["ruff==0.6.0"]\n'
        'a = [{include-group = "b"}]\nb = [{include-group = "a"}]\n')
    [manifest] = parse_file(tmp_path / "pyproject.toml", tmp_path)
    groups = {(p.name, p.groups) for p in manifest.pins}
    assert ("ruff", ("group:test",)) in groups
    assert ("ruff", ("group:lint",)) in groups
    assert any(p.rule == "MW310" for p in manifest.problems)


def test_hatch_pdm_and_poetry_sources(tmp_path: Path) -> None:
    (tmp_path / "pyproject.toml").write_text(
        '[tool.hatch.envs.test]\ndependencies = ["pytest==8.3.0"]\n'
        '[tool.pdm.dev-dependencies]\nlint = ["ruff==0.6.0"]\n'
        '[[tool.pdm.source]]\nname = "a"\nurl = "https://a.example/simple"\n'
        '[[tool.pdm.source]]\nname = "b"\nurl = "https://b.example/simple"\n'
        '[tool.poetry.dependencies]\npython = "^3.10"\ninternal = {version = "1.0", source = "corp"}\n'
        '[[tool.poetry.source]]\nname = "corp"\nurl = "https://corp.example/simple"\npriority = "explicit"\n'
        '[[tool.poetry.source]]\nname = "extra"\nurl = "https://extra.example/simple"\npriority = "supplemental"\n')
    [manifest] = parse_file(tmp_path / "pyproject.toml", tmp_path)
    pins = {p.name: p for p in manifest.pins}
    assert pins["pytest"].groups == ("hatch:test",)
    assert pins["ruff"].groups == ("pdm:lint",)
    assert pins["internal"].source is not None
    assert pins["internal"].source.url == "https://corp.example/simple"
    assert pins["internal"].version == "1.0"
    assert {u for u, _ in manifest.extra_indexes} == {"https://b.example/simple", "https://extra.example/simple"}
    assert "https://corp.example/simple" in [u for u, _ in manifest.indexes]


def test_dynamic_dependencies_from_setuptools_and_hatch_files(tmp_path: Path) -> None:
    (tmp_path / "requirements").mkdir()
    (tmp_path / "requirements" / "base.txt").write_text("numpy==1.26.4\n")
    (tmp_path / "extra deps.txt").write_text("pandas==2.2.0\n")
    (tmp_path / "pyproject.toml").write_text(
        '[project]\nname = "p"\ndynamic = ["dependencies", "optional-dependencies"]\n'
        '[tool.setuptools.dynamic]\ndependencies = {file = ["requirements/base.txt"]}\n'
        'optional-dependencies.viz = {file = "extra deps.txt"}\n')
    manifests = parse_file(tmp_path / "pyproject.toml", tmp_path)
    assert sorted(p.name for m in manifests for p in m.pins) == ["numpy", "pandas"]
    assert manifests[0].includes == ["requirements/base.txt", "extra deps.txt"]
    (tmp_path / "pyproject.toml").write_text(
        '[project]\nname = "p"\ndynamic = ["dependencies"]\n'
        '[tool.hatch.metadata.hooks.requirements_txt]\nfiles = ["requirements/base.txt"]\n')
    assert [p.name for m in parse_file(tmp_path / "pyproject.toml", tmp_path) for p in m.pins] == ["numpy"]


def test_dynamic_dependencies_from_setup_py_are_reported_unchecked(tmp_path: Path) -> None:
    (tmp_path / "pyproject.toml").write_text('[project]\nname = "p"\ndynamic = ["dependencies", "version"]\n')
    [manifest] = parse_file(tmp_path / "pyproject.toml", tmp_path)
    [problem] = manifest.problems
    assert problem.rule == "MW316"
    assert "dynamic" in problem.message


def test_dynamic_dependency_file_outside_the_project_is_refused(tmp_path: Path) -> None:
    (tmp_path / "p").mkdir()
    (tmp_path / "secret.txt").write_text("token\n")
    (tmp_path / "p" / "pyproject.toml").write_text(
        '[project]\nname = "p"\ndynamic = ["dependencies"]\n'
        '[tool.setuptools.dynamic]\ndependencies = {file = ["../secret.txt"]}\n')
    [manifest] = parse_file(tmp_path / "p" / "pyproject.toml", tmp_path / "p")
    assert manifest.problems[0].fatal
    assert "outside the project" in manifest.problems[0].message


def test_setup_cfg_install_requires_extras_and_file_directive(tmp_path: Path) -> None:
    (tmp_path / "requirements.txt").write_text("scipy==1.13.1\n")
    (tmp_path / "setup.cfg").write_text(
        "[metadata]\nname = demo\n\n[options]\npackages = find:\ninstall_requires =\n    numpy>=1.26\n"
        "    # a comment line\n    pkg @ https://example.org/pkg-1.0.tar.gz#sha256=" + "a" * 64 + "\n"
        "\n[options.extras_require]\nviz = matplotlib==3.9.0\nall = file: requirements.txt\n"
        "\n[flake8]\nmax-line-length = 120\n")
    manifests = parse_file(tmp_path / "setup.cfg", tmp_path)
    pins = {p.name: p for m in manifests for p in m.pins}
    assert set(pins) == {"numpy", "pkg", "matplotlib", "scipy"}
    assert pins["matplotlib"].groups == ("extra:viz",)
    assert pins["pkg"].source is not None
    assert pins["pkg"].source.url.endswith("#sha256=" + "a" * 64)
    assert not [p for m in manifests for p in m.problems]
