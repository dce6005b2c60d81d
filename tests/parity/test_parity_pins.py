"""The requirements-file reader: every form pip reads gives the same pins; markers are
evaluated for the environment the model is to run in."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from modelship.errors import ConfigError
from modelship.parity import EnvironmentSnapshot, normalize_name
from modelship.parity._pins import marker_environment, read_pins

PROD = EnvironmentSnapshot(
    python_version="3.11.7",
    python_implementation="CPython",
    os="Linux",
    os_release="6.1.0-13-amd64",
    machine="x86_64",
)
HERE = marker_environment(PROD)

names = st.from_regex(r"[A-Za-z0-9]([A-Za-z0-9._-]{0,10}[A-Za-z0-9])?", fullmatch=True)
versions = st.from_regex(r"[0-9]{1,3}(\.[0-9]{1,3}){0,3}(rc[0-9]|\+cpu)?", fullmatch=True)
forms = st.sampled_from(
    [
        "{name}=={version}",
        "{name} == {version}  # a comment",
        "{name}[extra]=={version}",
        "{name}==={version}",
        "{name}=={version} --hash=sha256:" + "a" * 64,
        "{name}=={version} \\\n    --hash=sha256:" + "b" * 64,
        "{name}=={version}; python_version >= '3.8'",
        "{name}=={version} ; platform_system == \"Linux\" and platform_machine == 'x86_64'",
    ]
)


@given(st.dictionaries(names, st.tuples(versions, forms), max_size=6))
def test_every_form_of_a_pin_reads_as_its_name_and_version(
    pins: dict[str, tuple[str, str]],
) -> None:
    # Two spellings of one name would be a conflict, not what this property is about.
    unique = {normalize_name(name): (name, pin) for name, pin in pins.items()}
    text = "\n".join(
        form.format(name=name, version=version) for name, (version, form) in unique.values()
    )
    expected = {key: version for key, (_, (version, _)) in unique.items()}
    assert read_pins(text, "req.txt", HERE) == expected


@pytest.mark.parametrize(
    ("marker", "applies"),
    [
        ("python_version < '3.12'", True),
        ("python_version >= '3.12'", False),
        ("python_full_version == '3.11.7'", True),
        ("python_version ~= '3.10'", True),
        ("python_version ~= '3.12.0'", False),
        ("sys_platform == 'linux' and os_name == 'posix'", True),
        ("sys_platform == 'win32' or (platform_machine == 'x86_64' and extra == 'gpu')", False),
        ("'linux' in sys_platform", True),
        ("implementation_name not in 'pypy'", True),
        ("python_full_version === '3.11.7'", True),
    ],
)
def test_a_marker_is_evaluated_for_the_production_snapshot(marker: str, applies: bool) -> None:
    assert read_pins(f"numpy==2.1.0; {marker}", "req.txt", HERE) == (
        {"numpy": "2.1.0"} if applies else {}
    )


@pytest.mark.parametrize(
    "marker",
    [
        "python_version <",
        "platform_release < '7'",
        "(python_version < '3.12'",
        "python_version",
        # packaging refuses === of a value that is not a version (UndefinedComparison).
        "platform_python_implementation === 'CPython'",
    ],
)
def test_a_marker_that_cannot_be_evaluated_is_refused_not_guessed(marker: str) -> None:
    with pytest.raises(ConfigError, match=r"req\.txt, line 2: cannot evaluate the marker"):
        read_pins(f"# pins\nnumpy==2.1.0; {marker}", "req.txt", HERE)


def test_the_marker_environment_of_a_windows_snapshot_is_windows() -> None:
    windows = marker_environment(
        EnvironmentSnapshot(
            python_version="3.12.1", python_implementation="CPython", os="Windows", machine="AMD64"
        )
    )
    assert (windows["sys_platform"], windows["os_name"], windows["python_version"]) == (
        "win32",
        "nt",
        "3.12",
    )
