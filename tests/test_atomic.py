"""lio.core.atomic, the one atomic write every writer uses: whole files or none, no leftovers."""

import os

import pytest

from lio.core.atomic import atomic_path, write_atomically


def test_text_and_bytes_land_whole_in_a_new_directory(tmp_path):
    write_atomically(tmp_path / "a" / "text.md", "é\n")
    write_atomically(tmp_path / "a" / "data.bin", b"\x00\x01")
    assert (tmp_path / "a" / "text.md").read_bytes() == "é\n".encode()
    assert (tmp_path / "a" / "data.bin").read_bytes() == b"\x00\x01"
    assert sorted(p.name for p in (tmp_path / "a").iterdir()) == ["data.bin", "text.md"]
    assert (tmp_path / "a" / "text.md").stat().st_mode & 0o777 == 0o644


def test_a_failed_write_keeps_the_previous_file_and_leaves_no_temporary(tmp_path):
    out = tmp_path / "result.nc"
    write_atomically(out, "old")
    os.chmod(out, 0o640)
    with pytest.raises(RuntimeError), atomic_path(out) as temporary:
        temporary.write_text("half")
        raise RuntimeError("killed")
    assert out.read_text() == "old"
    assert [p.name for p in tmp_path.iterdir()] == ["result.nc"]
    with atomic_path(out) as temporary:  # a writer that wants a path (to_netcdf, savefig)
        assert temporary.parent == tmp_path and temporary.name.startswith(".result.nc.")
        assert temporary.suffix == ".tmp"  # hidden, and never matched by globs like *.nc
        temporary.write_text("new")
    assert out.read_text() == "new"
    assert out.stat().st_mode & 0o777 == 0o640  # an existing file keeps its permissions
    assert [p.name for p in tmp_path.iterdir()] == ["result.nc"]


def test_figures_are_saved_in_the_format_their_extension_names(tmp_path):
    import matplotlib.pyplot as plt

    from lio.report import figures

    figure, axes = plt.subplots()
    axes.plot([0, 1], [1, 0])
    figures._save(figure, str(tmp_path / "panel.png"), str(tmp_path / "panel.pdf"))
    assert (tmp_path / "panel.png").read_bytes().startswith(b"\x89PNG")
    assert (tmp_path / "panel.pdf").read_bytes().startswith(b"%PDF")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["panel.pdf", "panel.png"]
