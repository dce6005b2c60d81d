"""Reading a monitoring YAML document: strict, and bounded whatever the input.

The invariant this module keeps: what :func:`read_yaml` returns has no key given twice in
one mapping (PyYAML keeps the last one silently), is nested at most :data:`MAX_DEPTH`
levels, and holds at most ``MAX_VALUES`` values and :data:`MAX_EXPANDED_CHARS` characters
of text once YAML aliases are expanded (300 bytes of nested aliases make a tree of millions
of values, and one long text named by every alias makes gigabytes for the reader to go
through), the limits the deployment spec's reader applies to the same file. Every failure
to read is a
:class:`~modelship.errors.ConfigError` that says what to do.

Examples
--------
>>> from modelship._rollback._yaml import read_yaml
>>> read_yaml("monitoring: {conditions: ['error_rate > 1%']}")
{'monitoring': {'conditions': ['error_rate > 1%']}}
>>> read_yaml("a: 1\\na: 2")
Traceback (most recent call last):
...
modelship.errors.ConfigError: YAML text, line 2: the key 'a' is given twice
"""

from __future__ import annotations

import os
import re
from collections.abc import Hashable, Mapping
from pathlib import Path
from typing import Any

from modelship._shown import brief
from modelship.errors import ConfigError, MissingDependency

__all__ = [
    "MAX_BYTES",
    "MAX_DEPTH",
    "MAX_EXPANDED_CHARS",
    "MAX_VALUES",
    "read_bounded",
    "read_yaml",
    "strict_load",
]

MAX_VALUES = 100_000
"""Values a document may hold once YAML aliases are expanded (a real spec has dozens); the
deployment spec's reader applies the same limit."""

#: Nesting a document may have: a deployment file's monitoring section needs 5
#: (deployment, monitoring, conditions, a condition mapping, its value).
MAX_DEPTH = 32
#: Bytes of the YAML file, or of the text in UTF-8: a monitoring section is a few hundred
#: bytes; 1 MiB is the limit of a whole deployment file.
MAX_BYTES = 2**20

MAX_EXPANDED_CHARS = 8 * 2**20
"""Characters of text (strings, keys included, and binary values) a document may hold once
YAML aliases are expanded: eight times the largest file. An alias shares one string, but
whoever reads the document reads it once for each place it appears: a 700,000-character
condition named by 99,990 aliases fits in 1 MiB and took minutes to read. The deployment
spec's reader bounds the text it substitutes the same way."""


def read_yaml(source: str | os.PathLike[str]) -> Any:
    """The document in ``source``: YAML text (a ``str``) or a file (a path object).

    Raises
    ------
    MissingDependency
        If PyYAML is not installed.
    ConfigError
        If the file cannot be read or is not UTF-8, the text is too large, malformed,
        nested too deeply, holds too many values or too much text once its aliases are
        expanded, or gives a key twice.
    """
    try:
        import yaml
    except ImportError as exc:
        raise MissingDependency(
            "reading YAML needs PyYAML: pip install 'modelship[yaml]' (or pip install pyyaml)"
        ) from exc
    if isinstance(source, os.PathLike):
        where = str(Path(source))
        text = _read_file(Path(source))
    elif isinstance(source, str):
        where = "YAML text"
        # Characters first (never more than the UTF-8 bytes), so a huge str is not encoded.
        size = len(source) if len(source) > MAX_BYTES else _utf8_size(source)
        if size > MAX_BYTES:
            raise ConfigError(
                f"the YAML text is more than {MAX_BYTES} bytes in UTF-8; a monitoring section "
                "is at most 1 MiB"
            )
        text = source
    else:
        raise ConfigError(
            f"the YAML source must be a str (YAML text) or a pathlib.Path (a file), "
            f"got {type(source).__name__}"
        )

    try:
        data = strict_load(yaml, text, where)
    except RecursionError:
        raise ConfigError(
            f"{where} is nested too deeply to be a monitoring section (at most {MAX_DEPTH} levels)"
        ) from None
    _check_size(data, where)
    if not isinstance(data, Mapping) and isinstance(source, str):
        stripped = source.strip()
        if _looks_like_path(stripped):
            raise ConfigError(
                f"the YAML text {brief(stripped)} is not a mapping: a str is read as YAML "
                f"text, not as a file name; to read the file, pass pathlib.Path({brief(stripped)})"
            )
    return data


def strict_load(yaml: Any, text: str | bytes, where: str) -> Any:
    """``yaml.safe_load`` of ``text``, refusing a key given twice (PyYAML keeps the last
    silently) and a key that is a list or a mapping; errors name ``where`` and the line.
    ``yaml`` is the imported PyYAML module. The deployment spec's reader uses it too.

    Merge keys (``<<: *defaults``) work as in ``yaml.safe_load``; a key given beside a
    merge overrides the merged one, and the pairs merges copy count towards
    ``MAX_VALUES`` (merges of merges could otherwise copy millions of pairs). A value
    PyYAML cannot build (``!!float abc``, the date ``2024-13-45``, an int of more than
    4300 digits) is a :class:`~modelship.errors.ConfigError` too.

    YAML 1.1's base-60 numbers are not read: ``1:30`` stays the text ``"1:30"`` (PyYAML
    reads 90, so ``replicas: 1:30`` made 90 replicas, where kubectl reads a text and
    refuses it), and a field that wants a number refuses it. Everything else is YAML 1.1
    as PyYAML reads it: ``yes``/``no``/``on``/``off`` are booleans, ``010`` is 8.

    Examples
    --------
    >>> import yaml
    >>> strict_load(yaml, "a: 1", "spec.yaml")
    {'a': 1}
    >>> strict_load(yaml, "base: &b {x: 1, y: 2}\\nc: {<<: *b, y: 3}", "spec.yaml")["c"]
    {'x': 1, 'y': 3}
    >>> strict_load(yaml, "replicas: 1:30", "spec.yaml")
    {'replicas': '1:30'}
    >>> strict_load(yaml, "? [a, b]\\n: 1", "spec.yaml")
    Traceback (most recent call last):
    ...
    modelship.errors.ConfigError: spec.yaml, line 1: a key is a list; keys are names ...
    >>> strict_load(yaml, "note: 2024-13-45", "spec.yaml")
    Traceback (most recent call last):
    ...
    modelship.errors.ConfigError: spec.yaml, line 1: cannot read the value: month must be in ...
    """

    class StrictLoader(yaml.SafeLoader):  # type: ignore[misc]
        """SafeLoader that refuses a key given twice (PyYAML keeps the last silently),
        bounds what merge keys copy, and reports a value it cannot build by its line."""

        merged = 0  # pairs copied by merge keys so far, in this document
        checked: set[int]

        def construct_object(self, node: Any, deep: bool = False) -> Any:
            try:
                return super().construct_object(node, deep=deep)
            except ConfigError:
                raise
            except (ValueError, OverflowError) as exc:  # a scalar PyYAML cannot build
                line = node.start_mark.line + 1
                raise ConfigError(
                    f"{where}, line {line}: cannot read the value: {_cut(str(exc), 200)}; "
                    "quote it to make it a string"
                ) from None

        def flatten_mapping(self, node: Any) -> None:
            # The first visit sees the mapping as written: merges have not moved pairs in.
            if id(node) not in self.checked:
                self.checked.add(id(node))
                self.check_keys(node)
            super().flatten_mapping(node)

        def check_keys(self, node: Any) -> None:
            seen: set[Hashable] = set()
            for key_node, value_node in node.value:
                line = key_node.start_mark.line + 1
                if key_node.tag == _MERGE_TAG:
                    if _MERGE_TAG in seen:
                        raise ConfigError(
                            f"{where}, line {line}: the merge key '<<' is given twice; merge "
                            "several mappings with <<: [*a, *b]"
                        )
                    seen.add(_MERGE_TAG)
                    self.count_merged(value_node, line)
                    continue
                key = self.construct_object(key_node)
                if not isinstance(key, Hashable):
                    raise ConfigError(
                        f"{where}, line {line}: a key is a {type(key).__name__}; keys are names "
                        "(write the list or mapping as a value)"
                    )
                if key in seen:
                    raise ConfigError(f"{where}, line {line}: the key {brief(key)} is given twice")
                seen.add(key)

        def count_merged(self, value_node: Any, line: int) -> None:
            """Flatten what a merge key names, and count the pairs it will copy."""
            merged = value_node.value if isinstance(value_node, yaml.SequenceNode) else [value_node]
            for source in merged:
                if isinstance(source, yaml.MappingNode):  # anything else: PyYAML's error
                    self.flatten_mapping(source)
                    self.merged += len(source.value)
            if self.merged > MAX_VALUES:
                raise ConfigError(
                    f"{where}, line {line}: merge keys (<<) copy more than {MAX_VALUES} values "
                    "(merges of merges can multiply a small file); a monitoring section is far "
                    "smaller"
                )

    def mapping(loader: Any, node: Any, deep: bool = False) -> Any:
        return loader.construct_mapping(node, deep=deep)  # checks keys: flatten_mapping

    StrictLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, mapping)
    # The same resolvers in the same order, but ints and floats without base 60.
    StrictLoader.yaml_implicit_resolvers = {
        first: [(tag, _NOT_BASE_60.get(tag, regexp)) for tag, regexp in resolvers]
        for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
    }
    try:
        # Reading starts here: bytes that are not UTF-8, a NUL or a control character
        # are refused by PyYAML's reader while the loader is made.
        loader = StrictLoader(text)  # a SafeLoader subclass: no objects
    except yaml.YAMLError as exc:
        raise ConfigError(f"{where}: not valid YAML: {_yaml_problem(exc, text)}") from None
    loader.checked = set()
    try:
        return loader.get_single_data()
    except yaml.YAMLError as exc:
        raise ConfigError(f"{where}: not valid YAML: {_yaml_problem(exc, text)}") from None
    finally:
        loader.dispose()


_MERGE_TAG = "tag:yaml.org,2002:merge"

# PyYAML's (YAML 1.1's) plain int and float forms without the base-60 ones
# ("1:30" is 90, "1:30.5" 90.5): kubectl reads those as text, and so does a reader here.
_NOT_BASE_60 = {
    "tag:yaml.org,2002:int": re.compile(
        r"""^(?:[-+]?0b[0-1_]+
        |[-+]?0[0-7_]+
        |[-+]?(?:0|[1-9][0-9_]*)
        |[-+]?0x[0-9a-fA-F_]+)$""",
        re.X,
    ),
    "tag:yaml.org,2002:float": re.compile(
        r"""^(?:[-+]?(?:[0-9][0-9_]*)\.[0-9_]*(?:[eE][-+][0-9]+)?
        |\.[0-9][0-9_]*(?:[eE][-+][0-9]+)?
        |[-+]?\.(?:inf|Inf|INF)
        |\.(?:nan|NaN|NAN))$""",
        re.X,
    ),
}


def _looks_like_path(text: str) -> bool:
    """Whether a str reads as one file name rather than as YAML: one line, no
    ``key: value``, and a path separator or a YAML or JSON suffix."""
    if not text or "\n" in text or ": " in text or text.endswith(":"):
        return False
    return "/" in text or "\\" in text or text.lower().endswith((".yaml", ".yml", ".json"))


def read_bounded(path: Path, limit: int, what: str) -> bytes:
    """The bytes of the file at ``path``, or a :class:`ConfigError` past ``limit`` bytes.

    At most one byte more than allowed is read, whatever size the file reports: a FIFO or
    ``/dev/zero`` reports 0, and a file may grow while it is read. ``what`` names the kind
    of file in the message. The deployment spec's reader uses it too.

    A FIFO is read as ``cat`` reads one: opening it waits for a writer, and Ctrl-C ends
    the wait. Not waiting (a non-blocking open) would read a FIFO whose writer starts a
    moment later as empty, and the paths read here are the operator's own.

    Examples
    --------
    >>> import tempfile
    >>> with tempfile.NamedTemporaryFile(suffix=".yaml") as f:
    ...     _ = f.write(b"x" * 11); f.flush()
    ...     read_bounded(Path(f.name), 10, "a test file")
    Traceback (most recent call last):
    ...
    modelship.errors.ConfigError: ...: more than 10 bytes; a test file is at most 10 bytes
    """
    try:
        with path.open("rb") as f:
            data = f.read(limit + 1)
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read it: {exc.strerror or exc}") from None
    if len(data) > limit:
        most = f"{limit >> 20} MiB" if limit % 2**20 == 0 else f"{limit} bytes"
        raise ConfigError(f"{path}: more than {limit} bytes; {what} is at most {most}")
    return data


def _read_file(path: Path) -> str:
    data = read_bounded(path, MAX_BYTES, "a monitoring YAML file")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ConfigError(
            f"{path}: not UTF-8 text (byte {exc.start}); save the YAML file as UTF-8"
        ) from None


def _utf8_size(text: str) -> int:
    """Bytes of ``text`` in UTF-8 (a lone surrogate counts as the 3 bytes it would take)."""
    return len(text.encode("utf-8", "surrogatepass"))


def _check_size(data: Any, where: str) -> None:
    """Count the values of ``data`` and the characters of its texts as a reader would
    meet them (aliases expanded), with an explicit stack: refused past ``MAX_VALUES``
    values, :data:`MAX_EXPANDED_CHARS` characters or :data:`MAX_DEPTH` levels."""
    budget = MAX_VALUES
    chars = MAX_EXPANDED_CHARS
    stack: list[tuple[Any, int]] = [(data, 0)]
    while stack:  # bounded: at most MAX_VALUES pops before the budget runs out
        value, depth = stack.pop()
        budget -= 1
        if budget < 0:
            raise ConfigError(
                f"{where} holds more than {MAX_VALUES} values once its aliases are expanded "
                "(YAML aliases can multiply a small file); a monitoring section is far smaller"
            )
        if depth > MAX_DEPTH:
            raise ConfigError(f"{where} is nested more than {MAX_DEPTH} levels deep")
        if isinstance(value, str | bytes):
            chars -= len(value)
            if chars < 0:
                raise ConfigError(
                    f"{where} holds more than {MAX_EXPANDED_CHARS} characters of text once "
                    "its aliases are expanded (an alias repeats its text each place it "
                    "appears); a monitoring section is far smaller"
                )
        elif isinstance(value, Mapping):
            stack.extend((item, depth + 1) for pair in value.items() for item in pair)
        elif isinstance(value, list | tuple | set | frozenset):
            stack.extend((item, depth + 1) for item in value)


#: PyYAML's problems that mean a tab where YAML wants a space: in the indentation (YAML
#: indents with spaces only) or between tokens (``a:\tb``, ``a: b\t# note``).
_TAB_PROBLEMS = ("found character '\\t' that cannot start any token", "found a tab character")
#: Line breaks as PyYAML counts lines: CR LF is one.
_LINE_BREAK = re.compile("\r\n|[\n\r\x85\u2028\u2029]")


def _yaml_problem(exc: Any, text: str | bytes | None = None) -> str:
    """PyYAML's error as one line that names the line and column (its own text spans
    five lines, quoting the line with a caret under it, and names the input
    ``"<unicode string>"``); ``text`` is what was read. A tab says whether it is in the
    indentation or between tokens, and a character the reader refuses (a control
    character, bytes that are not UTF-8) is placed by line and column, not position."""
    problem = getattr(exc, "problem", None)
    mark = getattr(exc, "problem_mark", None)
    if not isinstance(problem, str) or mark is None:  # a ReaderError, or a bare YAMLError
        return _reader_problem(exc, text)
    where = f"line {mark.line + 1}, column {mark.column + 1}"
    if any(tab in problem for tab in _TAB_PROBLEMS):
        before = _line_before(mark, text)
        if before is None:  # not known where in its line: both rules
            return f"a tab at {where}: YAML indents and separates with spaces, not tabs"
        if not before.strip(" \ufeff"):  # a BOM starts the first line, unseen
            return f"indentation must use spaces, not tabs ({where} has a tab)"
        return f"a tab at {where}: YAML separates with spaces, not tabs; write a space there"
    context = getattr(exc, "context", None)
    context_mark = getattr(exc, "context_mark", None)
    if isinstance(context, str) and context:
        if context_mark is not None and context_mark.line != mark.line:
            context += f" (from line {context_mark.line + 1}, column {context_mark.column + 1})"
        problem = f"{context}: {problem}"
    return _cut(f"{problem} ({where})")


def _decoded(text: str | bytes) -> str:
    """``text`` as PyYAML's reader reads it: bytes decoded as their BOM says (UTF-16) or
    as UTF-8, a byte it cannot decode replaced, so characters keep their positions."""
    if isinstance(text, str):
        return text
    for bom, codec in ((b"\xff\xfe", "utf-16-le"), (b"\xfe\xff", "utf-16-be")):
        if text.startswith(bom):
            return text.decode(codec, "replace")
    return text.decode("utf-8", "replace")


def _line_before(mark: Any, text: str | bytes | None) -> str | None:
    """The characters of the mark's line before it, or None if they cannot be told."""
    if text is None or not isinstance(getattr(mark, "index", None), int):
        return None
    decoded = _decoded(text)
    start = mark.index - mark.column
    if start < 0 or mark.index > len(decoded):
        return None
    return decoded[start : mark.index]


def _reader_problem(exc: Any, text: str | bytes | None) -> str:
    """A ReaderError (or a bare YAMLError) on one line; a reader's ``position`` (a
    character, or for bytes that are not UTF-8 a byte, counted from the start) is given
    as the line and column it is at in ``text``."""
    position = getattr(exc, "position", None)
    reason = getattr(exc, "reason", None)
    character = getattr(exc, "character", None)
    if text is None or not isinstance(position, int) or not isinstance(character, int):
        message = re.sub(r'\s*in "<(?:unicode|byte) string>",', " at", str(exc))
        return _cut(message)
    if getattr(exc, "encoding", None) == "unicode" or isinstance(text, str):
        before = _decoded(text)[:position]  # a character position
        what = f"unacceptable character #x{character:04x}"
        escape = f"\\x{character:02x}" if character <= 0xFF else f"\\u{character:04x}"
        fix = f"remove it, or write it as the escape {escape} in a double-quoted string"
    else:  # a byte position: the bytes before it decoded, so the column counts characters
        before = _decoded(text[:position])
        what = f"byte #x{character:02x} is not {str(getattr(exc, 'encoding', 'UTF-8')).upper()}"
        fix = "save the file as UTF-8"
    breaks = list(_LINE_BREAK.finditer(before))
    column = len(before) - (breaks[-1].end() if breaks else int(before.startswith("\ufeff")))
    where = f"line {len(breaks) + 1}, column {column + 1}"
    return _cut(f"{what} at {where}: {reason}; {fix}")


def _cut(text: str, limit: int = 500) -> str:
    """``text`` on one line, at most ``limit`` characters."""
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 3] + "..."
