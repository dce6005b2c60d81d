"""Third-party stores and serializers arrive through entry points, as installed packages do."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path


def _install_plugin(site: Path) -> None:
    """Lay out a tiny installed distribution: a module plus dist-info with entry points."""
    (site / "ms_plugin.py").write_text(
        textwrap.dedent(
            """
            from modelship.registry import FsspecStore

            def open_store(url, **options):
                # "vault://name" stores in a folder named by $VAULT_ROOT
                import os
                root = os.path.join(os.environ["VAULT_ROOT"], url.split("://", 1)[1])
                return FsspecStore.from_url(root)

            class Notes:
                def __init__(self, text): self.text = text
                def to_json(self):
                    import json
                    return json.dumps({"text": self.text})
                @classmethod
                def from_json(cls, text):
                    import json
                    return cls(json.loads(text)["text"])

            class Reversed:
                name = "reversed"
                media_type = "application/x-reversed"
                def dump(self, obj, fp): fp.write(bytes(obj)[::-1])
                def load(self, fp): return fp.read()[::-1]
                def library_versions(self): return {"ms-plugin": "1.0"}
            """
        )
    )
    info = site / "ms_plugin-1.0.dist-info"
    info.mkdir()
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: ms-plugin\nVersion: 1.0\n")
    (info / "entry_points.txt").write_text(
        "[modelship.registries]\nvault = ms_plugin:open_store\n\n"
        "[modelship.serializers]\nreversed = ms_plugin:Reversed\n\n"
        "[modelship.documents]\nnotes = ms_plugin:Notes\n"
    )


def test_registry_and_serializer_plugins_are_found_by_entry_point(tmp_path: Path) -> None:
    site = tmp_path / "site"
    site.mkdir()
    _install_plugin(site)
    code = textwrap.dedent(
        """
        import modelship as ms
        reg = ms.open_registry("vault://team-a")
        mv = reg.register(model_name="m", model=b"abc", serializer="reversed")
        assert mv.artifact.media_type == "application/x-reversed", mv
        assert reg.load("m") == b"abc"
        from modelship.registry import FsspecStore, LocalBlobs
        # A local folder's store declares fast local reads (issue 8: capabilities are
        # declared per back end, so the class is FsspecStore's local-disk subclass).
        assert isinstance(reg.store, FsspecStore) and isinstance(reg.store, LocalBlobs)
        # A document kind declared by entry point: attached by role, read back as its class.
        import ms_plugin
        mv = reg.register(model_name="m", model=b"x", serializer="bytes",
                          attachments={"notes": ms_plugin.Notes("May data")})
        assert reg.get("m", mv.version).document("notes").text == "May data"
        print("FsspecStore", reg.store.url)
        """
    )
    env = {**os.environ, "PYTHONPATH": str(site), "VAULT_ROOT": str(tmp_path / "vault")}
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == f"FsspecStore {tmp_path / 'vault' / 'team-a'}"
    stored = list((tmp_path / "vault" / "team-a" / "blobs").rglob("*"))
    assert any(p.is_file() and p.read_bytes() == b"cba" for p in stored)


def test_entry_point_returning_something_else_is_refused(tmp_path: Path) -> None:
    site = tmp_path / "site"
    site.mkdir()
    (site / "bad_plugin.py").write_text("def make(url, **kw):\n    return 42\n")
    info = site / "bad_plugin-1.0.dist-info"
    info.mkdir()
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: bad-plugin\nVersion: 1.0\n")
    (info / "entry_points.txt").write_text("[modelship.registries]\nbad = bad_plugin:make\n")
    code = (
        "import modelship as ms\n"
        "try:\n    ms.open_registry('bad://x')\n"
        "except ms.UnsupportedStorage as e:\n    print(e)\n"
    )
    env = {**os.environ, "PYTHONPATH": str(site)}
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env)
    assert "not a Registry or a Store" in out.stdout, out.stderr


def test_the_plugin_groups_are_read_once_and_a_plugin_installed_later_is_found(
    tmp_path: Path,
) -> None:
    """Reading a group reads every installed package's metadata (8 ms here), so opening a
    registry or loading a plugin's serializer reads it once per process; a plugin
    installed while the process runs is still found under a new name."""
    site = tmp_path / "site"
    site.mkdir()
    code = textwrap.dedent(
        """
        import importlib, importlib.metadata, sys
        import modelship as ms

        reads = []
        real = importlib.metadata.entry_points

        def counting(**selection):
            reads.append(selection.get("group"))
            return real(**selection)

        importlib.metadata.entry_points = counting
        for n in range(20):
            ms.open_registry(sys.argv[1] + f"/reg{n}")
        assert reads.count("modelship.registries") == 1, reads

        # A package installed now, as pip in a running notebook would:
        from pathlib import Path
        sys.path.insert(0, sys.argv[2])
        install = Path(sys.argv[3])
        install.rename(Path(sys.argv[2]) / install.name)
        (Path(sys.argv[2]) / "ms_plugin.py").write_text(Path(sys.argv[4]).read_text())
        importlib.invalidate_caches()

        reg = ms.open_registry("vault://team-b")
        mv = reg.register(model_name="m", model=b"abc", serializer="reversed")
        for _ in range(20):
            assert reg.load("m") == b"abc"
        assert reads.count("modelship.registries") == 2, reads
        assert reads.count("modelship.serializers") == 1, reads
        print("ok")
        """
    )
    _install_plugin(site)
    later = tmp_path / "later"
    later.mkdir()
    plugin_source = tmp_path / "ms_plugin_source.py"
    (site / "ms_plugin.py").rename(plugin_source)
    (site / "ms_plugin-1.0.dist-info").rename(tmp_path / "ms_plugin-1.0.dist-info")
    env = {**os.environ, "VAULT_ROOT": str(tmp_path / "vault")}
    out = subprocess.run(
        [
            sys.executable,
            "-c",
            code,
            str(tmp_path / "registries"),
            str(later),
            str(tmp_path / "ms_plugin-1.0.dist-info"),
            str(plugin_source),
        ],
        capture_output=True,
        text=True,
        env=env,
    )
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "ok"
