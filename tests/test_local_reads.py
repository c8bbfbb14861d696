"""local:// reads within a run: each path is resolved and checked once, each file decoded once while it is
unchanged, and neither shortcut lets a URL read outside the project and the corpus."""

from __future__ import annotations

import asyncio

from sftgen.fetch import Fetcher
from sftgen.recipe.research_settings import Fetch


def project_with_links(tmp_path):
    project, outside = tmp_path / "project", tmp_path / "outside"
    (project / "corpus").mkdir(parents=True)
    outside.mkdir()
    (outside / "secret.txt").write_text("the secret beside the project", encoding="utf-8")
    (project / "corpus" / "a.md").write_text("# Quarks\n\nSix flavours.", encoding="utf-8")
    (project / "corpus" / "escape.md").symlink_to(outside / "secret.txt")
    (project / "corpus" / "away").symlink_to(outside, target_is_directory=True)
    (project / "corpus" / "alias.md").symlink_to(project / "corpus" / "a.md")
    return project, outside


def fetch_all(project, urls, between=None):
    """Each URL fetched twice by one fetcher (the second time from what the run knows); `between` runs in
    between."""

    async def go():
        async with Fetcher(Fetch(), project_dir=project) as fetcher:
            first = [await fetcher.fetch(url) for url in urls]
            if between is not None:
                between()
            return first, await fetcher.fetch_many(urls)

    return asyncio.run(go())


def test_links_and_dot_dots_out_of_the_project_are_refused_every_time(tmp_path):
    project, _ = project_with_links(tmp_path)
    urls = ["local://corpus/escape.md", "local://corpus/away/secret.txt", "local://../outside/secret.txt",
            "local://corpus/../../outside/secret.txt", f"local://{tmp_path / 'outside' / 'secret.txt'}",
            "local://corpus/alias.md"]
    first, second = fetch_all(project, urls)
    for pages in (first, second):
        assert [page.reason for page in pages] == ["outside_project"] * 5 + [None]
        assert not any("secret" in page.text for page in pages)
        assert pages[-1].text.endswith("Six flavours.")


def test_a_file_changed_during_the_run_is_read_again(tmp_path):
    project, _ = project_with_links(tmp_path)
    edit = lambda: (project / "corpus" / "a.md").write_text("# Quarks\n\nSix flavours, three generations.")  # noqa: E731
    first, second = fetch_all(project, ["local://corpus/a.md"], between=edit)
    assert first[0].text.endswith("Six flavours.") and second[0].text.endswith("three generations.")


def test_a_checked_file_replaced_by_a_link_out_of_the_project_is_not_followed(tmp_path):
    project, outside = project_with_links(tmp_path)

    def swap():
        (project / "corpus" / "a.md").unlink()
        (project / "corpus" / "a.md").symlink_to(outside / "secret.txt")

    first, second = fetch_all(project, ["local://corpus/a.md"], between=swap)
    assert first[0].ok and (second[0].ok, second[0].reason) == (False, "not_found")
    assert "secret" not in second[0].text


def test_a_file_that_appears_during_the_run_is_found(tmp_path):
    project, _ = project_with_links(tmp_path)
    add = lambda: (project / "corpus" / "new.md").write_text("# Gluons\n\nEight of them.")  # noqa: E731
    first, second = fetch_all(project, ["local://corpus/new.md"], between=add)
    assert first[0].reason == "not_found" and second[0].text.endswith("Eight of them.")
