"""Where everything lives in a registry's store: the one definition of its keys.

Layout of a registry (keys in the store)::

    registry.json                         format marker
    signing.json                          signing policy: created at the first signed write
    blobs/sha256/<hh>/<hex>               artifacts, content-addressed, immutable
    models/<name>/slots/<seq:012d>.json   sequence slot claims {version, registration}
    models/<name>/versions/<v>.json       manifests: the commit point of a version
    models/<name>/hint-slots.json         hint: highest slot seen (may lag, never trusted)
    models/<name>/aliases/<rev:012d>.json alias log: each move and the state after it
    models/<name>/hint-aliases.json       hint: highest alias revision seen
    names/<casefolded name>.json          which spelling owns a model name: {name}
    models/<name>/archived/<v>.json       soft deletes;  purged/<v>.json: purges
    models/<name>/index/<n:012d>.json     cache: a snapshot of n manifests, for versions()
    models/<name>/listing/<k:012d>.json   cache: slots 16k+1..16k+16 settled, for pages
    models/<name>/listing/<k>-head.json   cache: the settled first slots of the top chunk
    models/<name>/tags/<v>/<rev:012d>.json tag log of version v: each change, state after
    .staging/, .probe/                    staged documents and writability probes
    .gc/<run>.json                        a gc run in progress (registrations wait on it)

Every change is an exclusive create of a new key, so the only atomic primitive a store
must offer is "create if absent". Registering uploads the artifact under its digest, claims
the next sequence slot, then commits the manifest with one exclusive create; a version is
visible exactly when its manifest exists. Moving an alias is the exclusive create of the
next alias log entry, which makes it a compare-and-swap. Hints only save work: readers
probe forward from them and never depend on them being current. A snapshot is only a
cache of manifests, which never change once committed: the listing of ``versions/`` still
decides which versions exist, and anything wrong with a snapshot makes readers ignore it.

No two keys differ only in case, so a case-insensitive store (a Windows share, macOS's
default disk) holds the same registry. Registries written before 0.x kept the hints as
``HEAD`` and ``ALIASES``, which collide with ``aliases/`` under case folding; readers
ignore those (hints only save work: the first look-up finds the top in O(log n) probes
and writes the new hint), and models registered then have no ``names/`` claim: the first
registration after the upgrade takes it, refusing a spelling that differs only in case
from a model already listed.

Names reaching these functions are already validated (:mod:`modelship._names`), so a key
never escapes its folder.
"""

from __future__ import annotations

import re

__all__ = [
    "BLOBS",
    "GC_RUNS",
    "MAX_NUMBER",
    "MODELS",
    "MODEL_PARTS",
    "NAMES",
    "PROBES",
    "REGISTRY_MARKER",
    "SIGNING_POLICY",
    "STAGING",
    "alias_hint_key",
    "alias_key",
    "blob_key",
    "folder",
    "head_key",
    "is_document",
    "is_numbered",
    "listing_key",
    "manifest_key",
    "name_claim_key",
    "number_in",
    "number_of",
    "slot_key",
    "snapshot_key",
    "state_key",
]

REGISTRY_MARKER = "registry.json"
SIGNING_POLICY = "signing.json"
BLOBS = "blobs/sha256"
MODELS = "models"
STAGING = ".staging"
PROBES = ".probe"
GC_RUNS = ".gc"
NAMES = "names"
MODEL_PARTS = ("slots", "versions", "archived", "purged", "aliases")
"""The folders of a model that hold its history (everything but hints and snapshots)."""
MAX_NUMBER = 10**12 - 1
"""The highest number of a numbered document (a slot, an alias or tag log entry).

Numbered keys have 12 digits so that sorting keys sorts numbers; a model would need a
trillion registrations, or alias or tag moves, to go past it. Readers take no number
above it from a name or a hint, which bounds every search for the newest one."""
_NUMBERED = re.compile(r"[0-9]{12}\.json")  # ASCII digits only: "²".isdigit() is True


def blob_key(digest: str) -> str:
    """The key of the artifact with ``digest`` (``"sha256:<hex>"``).

    Examples
    --------
    >>> blob_key("sha256:ab12")
    'blobs/sha256/ab/ab12'
    """
    hexdigest = digest.partition(":")[2]
    return f"{BLOBS}/{hexdigest[:2]}/{hexdigest}"


def folder(name: str, part: str) -> str:
    """The folder ``part`` (``"versions"``, ``"slots"``, ...) of model ``name``.

    Examples
    --------
    >>> folder("fraud", "versions")
    'models/fraud/versions'
    """
    return f"{MODELS}/{name}/{part}"


def slot_key(name: str, seq: int) -> str:
    """The key of sequence slot ``seq`` of ``name``.

    Examples
    --------
    >>> slot_key("m", 3)
    'models/m/slots/000000000003.json'
    """
    return f"{folder(name, 'slots')}/{seq:012d}.json"


def manifest_key(name: str, version: str) -> str:
    """The key of the manifest of ``name`` ``version``: its commit point.

    Examples
    --------
    >>> manifest_key("m", "2.1.0")
    'models/m/versions/2.1.0.json'
    """
    return f"{folder(name, 'versions')}/{version}.json"


def alias_key(name: str, rev: int) -> str:
    """The key of alias log entry ``rev`` of ``name``.

    Examples
    --------
    >>> alias_key("m", 1)
    'models/m/aliases/000000000001.json'
    """
    return f"{folder(name, 'aliases')}/{rev:012d}.json"


def state_key(name: str, state: str, version: str) -> str:
    """The marker that ``version`` of ``name`` is in ``state`` (``archived``, ``purged``).

    Examples
    --------
    >>> state_key("m", "archived", "1")
    'models/m/archived/1.json'
    """
    return f"{folder(name, state)}/{version}.json"


def snapshot_key(name: str, count: int) -> str:
    """The key of a snapshot of ``count`` manifests of ``name``.

    Examples
    --------
    >>> snapshot_key("m", 4)
    'models/m/index/000000000004.json'
    """
    return f"{folder(name, 'index')}/{count:012d}.json"


def listing_key(name: str, chunk: int, *, head: bool = False) -> str:
    """The key of listing chunk ``chunk`` of ``name`` (slots ``16 * chunk + 1`` on).

    ``head=True``: the head of a chunk that is not full yet (its first settled slots).

    Examples
    --------
    >>> listing_key("m", 2), listing_key("m", 3, head=True)
    ('models/m/listing/000000000002.json', 'models/m/listing/000000000003-head.json')
    """
    return f"{folder(name, 'listing')}/{chunk:012d}{'-head' if head else ''}.json"


def head_key(name: str) -> str:
    """The hint key of the highest slot of ``name`` seen.

    Examples
    --------
    >>> head_key("m")
    'models/m/hint-slots.json'
    """
    return f"{MODELS}/{name}/hint-slots.json"


def alias_hint_key(name: str) -> str:
    """The hint key of the highest alias revision of ``name`` seen.

    Examples
    --------
    >>> alias_hint_key("m")
    'models/m/hint-aliases.json'
    """
    return f"{MODELS}/{name}/hint-aliases.json"


def name_claim_key(name: str) -> str:
    """The key that says which spelling of ``name`` (under case folding) is the model's.

    Examples
    --------
    >>> name_claim_key("Fraud")
    'names/fraud.json'
    """
    return f"{NAMES}/{name.casefold()}.json"


def is_document(name: str) -> bool:
    """Whether a name listed in a model's folder is one of the registry's documents.

    Anything else (``.DS_Store``, ``notes.txt``, an editor's backup) is a stray file that
    readers skip.

    Examples
    --------
    >>> is_document("2.1.0.json"), is_document(".DS_Store"), is_document("x.json~")
    (True, False, False)
    """
    return name.endswith(".json") and not name.startswith(".")


def number_in(key_or_name: str) -> int | None:
    """The number of a numbered document (a slot, an alias or tag log entry), or None if
    ``key_or_name`` does not name one.

    Only the names the layout makes count: 12 ASCII digits (``str.isdigit`` also takes
    ``"²"``, which ``int`` refuses, and ``"١٣"``, which ``int`` reads as 13) naming a
    number from 1. Anything else is a stray file, which readers skip.

    Examples
    --------
    >>> number_in("000000000003.json"), number_in("3.json"), number_in("00000000000².json")
    (3, None, None)
    """
    name = key_or_name.rsplit("/", 1)[-1]
    if not _NUMBERED.fullmatch(name):
        return None
    return int(name[: -len(".json")]) or None  # numbering starts at 1


def is_numbered(name: str) -> bool:
    """Whether a listed name is a numbered document (see :func:`number_in`).

    Examples
    --------
    >>> is_numbered("000000000003.json"), is_numbered("notes.json")
    (True, False)
    """
    return number_in(name) is not None


def number_of(key_or_name: str) -> str:
    """The version (or zero-padded number) a ``.json`` key in one of the folders names.

    Examples
    --------
    >>> number_of("models/m/versions/2.1.0.json")
    '2.1.0'
    """
    return key_or_name.rsplit("/", 1)[-1].removesuffix(".json")
