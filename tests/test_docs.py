"""README.md and docs/: every generated block is what its generator writes now, the site builds,
and the README stays an entry point (lio.report.docs)."""

import re
import shutil
import subprocess
import sys

import pytest

from lio.report.docs import GENERATORS, SLOW, update
from lio.report.docs.blocks import blocks, pages, regenerated
from tests.workflow_helpers import ROOT


def test_generated_blocks_are_current():
    """No number on a page was typed or left stale (the example's block: the next test)."""
    stale = update(ROOT, GENERATORS, check=True, skip=SLOW)
    assert not stale, f"stale generated blocks {stale}: run `python -m lio.report.docs` and commit the pages"


def test_the_minimize_example_prints_what_its_page_shows():
    """docs/minimize.md's output block is the example run now (about 20 s of CPU)."""
    page = ROOT / "docs/minimize.md"
    text = page.read_text()
    only_slow = [name for name in GENERATORS if name not in SLOW]
    _, changed = regenerated(text, GENERATORS, ROOT, "docs/minimize.md", skip=only_slow)
    assert not changed, "docs/minimize.md's example prints something else now: run `python -m lio.report.docs`"


def test_every_page_uses_known_generators_and_the_readme_and_minimize_have_blocks():
    names = {block.name for path in pages(ROOT) for block in blocks(path.read_text(), str(path))}
    assert names <= set(GENERATORS), names - set(GENERATORS)
    readme = {block.name for block in blocks((ROOT / "README.md").read_text())}
    assert {"verdict", "results", "recorded", "costs"} <= readme
    assert "minimize-output" in {block.name for block in blocks((ROOT / "docs/minimize.md").read_text())}


def test_a_number_edited_by_hand_fails_the_check(tmp_path):
    """The check names the block whose number was changed, and the command exits 1."""
    for name in ("paper", "benchmarks", "config"):
        (tmp_path / name).symlink_to(ROOT / name)
    shutil.copytree(ROOT / "docs", tmp_path / "docs")
    readme = (ROOT / "README.md").read_text()
    verdict = readme.index("<!-- verdict:start -->")
    number = re.compile(r"\d+\.\d").search(readme, verdict)
    edited = readme[: number.start()] + "99.9" + readme[number.end() :]
    (tmp_path / "README.md").write_text(edited)
    check = [sys.executable, "-m", "lio.report.docs", "--check", "--root", str(tmp_path), "--skip", *SLOW]
    result = subprocess.run(check, capture_output=True, text=True, cwd=ROOT, check=False)
    assert result.returncode == 1, result.stdout + result.stderr
    assert "README.md: block 'verdict' differs from its generator" in result.stdout
    fix = subprocess.run(check[:3] + check[4:], capture_output=True, text=True, cwd=ROOT, check=False)
    assert fix.returncode == 0, fix.stderr
    assert (tmp_path / "README.md").read_text() == readme


def test_block_markers_are_checked():
    with pytest.raises(ValueError, match="has no '<!-- verdict:end -->'"):
        blocks("<!-- verdict:start -->\n12.3\n", "README.md")
    with pytest.raises(ValueError, match="no generator named 'verdikt'"):
        regenerated("<!-- verdikt:start -->\n<!-- verdikt:end -->\n", GENERATORS, ROOT, "page")


def test_the_readme_is_an_entry_point_whose_links_resolve():
    text = (ROOT / "README.md").read_text()
    assert len(text.splitlines()) <= 200
    for target, anchor in re.findall(r"\]\(((?!https?:)[^)#]+)(?:#([^)]+))?\)", text):
        path = ROOT / target
        assert path.exists(), f"README.md links to {target}, which does not exist"
        if anchor:
            headings = re.findall(r"^#+ (.+)$", path.read_text(), re.M)
            slugs = {re.sub(r"[^\w\- ]", "", h.lower()).strip().replace(" ", "-") for h in headings}
            assert anchor in slugs, f"README.md links to {target}#{anchor}; its headings give {sorted(slugs)}"


@pytest.mark.skipif(shutil.which("mkdocs") is None, reason="mkdocs is in the docs extra (and the test extra)")
def test_the_site_builds_strictly(tmp_path):
    result = subprocess.run(
        ["mkdocs", "build", "--strict", "--site-dir", str(tmp_path / "site")],
        cwd=ROOT, capture_output=True, text=True, check=False,
    )
    assert result.returncode == 0, result.stderr[-3000:]
