"""What the README and the docs pages say, checked against what the code does."""

from __future__ import annotations

import doctest
import re
import shutil
from pathlib import Path
from types import TracebackType

import pytest

import modelship as ms
import modelship.deploy
import modelship.registry
from modelship.deploy import HealthCheck
from modelship.errors import InvalidParameter
from modelship.registry import _signing
from modelship.registry._layout import alias_hint_key, head_key
from modelship.testing import InMemoryDeployer

ROOT = Path(__file__).resolve().parents[1]
DOCS = ROOT / "docs"


def _doc(name: str) -> str:
    return (DOCS / name).read_text(encoding="utf-8")


def _python_block_after(text: str, heading: str) -> str:
    """The first ```python block after ``heading``."""
    section = text.split(f"{heading}\n", 1)[1]
    return section.split("```python\n", 1)[1].split("```", 1)[0]


class _ContextDeployer(InMemoryDeployer):
    """The in-memory double, used as the README uses ``LocalDeployer``: in a ``with``."""

    def __enter__(self) -> _ContextDeployer:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        return None


def test_readme_deploy_and_watch_rolls_back_to_the_version_deployed_before(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    code = _python_block_after(
        (ROOT / "README.md").read_text(encoding="utf-8"), "## Deploy and watch"
    )
    reg = ms.open_registry(str(tmp_path / "models"))
    for _ in range(2):
        reg.register(model_name="fraud", model=b"weights", serializer="bytes")
    shutil.copy(ROOT / "examples" / "deployment.yaml", tmp_path / "deployment.yaml")
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("VERSION", "2")
    monkeypatch.setattr(modelship.deploy, "LocalDeployer", _ContextDeployer)
    exec(compile(code, "README.md", "exec"), {"reg": reg})
    assert reg.aliases("fraud")["production"] == "1"


def test_deploy_page_names_the_registry_alias_command_as_the_cli_has_it() -> None:
    assert "registry alias set" not in _doc("deploy.md")
    assert "modelship registry alias    URL NAME ALIAS VERSION" in _doc("cli.md")
    assert "modelship registry alias URL NAME ALIAS VERSION" in _doc("deploy.md")


def test_signing_section_names_the_hint_documents_by_their_file_names() -> None:
    text = _doc("registry.md")
    section = text.split("## What signing protects", 1)[1].split("\n## ", 1)[0]
    assert "`HEAD`" not in section
    assert "`ALIASES`" not in section
    for key in (head_key("m"), alias_hint_key("m")):
        assert f"`{key.rsplit('/', 1)[1]}`" in section
    docstring = _signing.__doc__ or ""
    assert "``HEAD``" not in docstring
    assert "``hint-slots.json``" in docstring


def test_the_filter_types_the_registry_page_names_are_exported() -> None:
    assert "`modelship.registry.Where` and\n`Op`" in _doc("registry.md")
    assert {"Op", "Where"} <= set(modelship.registry.__all__)
    from modelship.registry import Op  # noqa: F401 - importable, as the page says


def test_architecture_page_gives_register_serializers_signature() -> None:
    text = _doc("architecture.md")
    assert "register_serializer(name, ...)" not in text
    assert "`register_serializer(serializer, *, clobber=False)`" in text


def test_parity_page_says_requirements_are_scanned_while_written_not_read_back() -> None:
    bullet = _doc("parity.md").split("- **How requirements are found**", 1)[1].split("\n- ", 1)[0]
    assert "reads the\n  stored bytes back" not in bullet
    assert "reads the stored" not in bullet
    assert "StreamingScan" in bullet
    assert "nothing is read back" in bullet


def _message(error: pytest.ExceptionInfo[InvalidParameter]) -> str:
    return str(error.value)


def test_deploy_spec_page_quotes_the_messages_the_spec_raises() -> None:
    text = _doc("deploy-spec.md")
    base = {"deployment": {"containers": [{"name": "model-service", "image": "x"}]}}
    documents = [
        {"deployment": {**base["deployment"], "replicas": 0}},
        {"deployment": {**base["deployment"], "healthcheck": {"periodSeconds": 0}}},
    ]
    for document in documents:
        with pytest.raises(InvalidParameter) as error:
            modelship.deploy.DeploymentSpec.from_dict(document)
        assert _message(error) in text
    with pytest.raises(InvalidParameter) as error:
        HealthCheck(period_seconds=0)
    assert f"HealthCheck(period_seconds=0) -> {_message(error)}" in text


def test_notebook_page_repr_example_prints_what_it_shows() -> None:
    block = _python_block_after(_doc("notebook.md"), "## Short reprs")
    test = doctest.DocTestParser().get_doctest(block, {}, "notebook.md", "notebook.md", 0)
    runner = doctest.DocTestRunner(optionflags=doctest.ELLIPSIS)
    assert runner.run(test, out=lambda _: None).failed == 0


def test_notebook_page_says_how_a_long_reason_is_cut() -> None:
    from modelship.checks import CheckResult

    shown = repr(CheckResult(name="c", status="fail", reason="x" * 200))
    reason = shown.split(": ", 1)[1].rstrip(">")
    assert reason == "x" * 79 + "…"
    assert "cut to its first 79 and `…`" in " ".join(_doc("notebook.md").split())


def test_deploy_page_quotes_the_router_throughput_of_the_serve_benchmark() -> None:
    rows = {
        line.split("|")[1].strip(): line.split("|")[2].strip()
        for line in _doc("serve.md").splitlines()
        if line.startswith("| `modelship serve`")
    }
    direct = rows["`modelship serve`"]
    routed = rows["`modelship serve` behind the LocalDeployer's router"]
    text = " ".join(_doc("deploy.md").split())
    assert f"measured {routed} req/s through the router against {direct} direct" in text


def test_checks_page_says_exclude_applies_to_the_schema_check_too() -> None:
    text = " ".join(_doc("checks.md").split())
    qualifier = re.search(r"`--exclude` \(([^)]*)\)", text)
    assert qualifier is not None
    assert qualifier.group(1).startswith("drift, profile and schema")


def test_kubernetes_page_links_the_deployer_protocol_to_its_page() -> None:
    assert "[Deployer protocol](writing-a-deployer.md)" in _doc("kubernetes.md")
