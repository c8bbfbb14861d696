"""A profile's subdomain comes from the passage's content, not from the order the options were listed in.
A model that always names the first option it is shown (small models do, in 21 of 24 profiles on real
text) still ends with each passage under its own subdomain; a model that says "none" drops the passage
as off_subdomain instead of forcing it into one."""

from __future__ import annotations

import re
from collections import Counter

from tests.support.prompt_script import PromptScript
from tests.test_prompt_pipeline import make_project, progress, recipe, scripted_run
from sftgen.store import open_store

DOCS = {
    "quarks-0.md": "Quarks come in six flavours: up, down, strange, charm, bottom and top. Each quark flavour "
                   "has its own electric charge and mass; the up quark carries +2/3 and the down quark -1/3. "
                   "Quark masses range from a few MeV for the up quark to 173 GeV for the top quark.",
    "quarks-1.md": "The charge of a quark is a fraction of the electron's: +2/3 for up, charm and top quarks, "
                   "-1/3 for down, strange and bottom quarks. Quark flavours change only through the weak "
                   "interaction, and the heavier flavours decay into the lighter ones.",
    "gluons-0.md": "Gluons carry colour charge and mediate the strong force. Because gluons are coloured they "
                   "interact with each other, and the field between quarks forms a flux tube: colour "
                   "confinement keeps every gluon and quark inside hadrons.",
    "gluons-1.md": "Colour charge comes in three kinds, and gluons carry a colour and an anticolour. Gluon "
                   "self-interaction makes confinement: pulling colour charges apart stores energy in the "
                   "gluon field until new quark pairs form.",
    "hadrons-0.md": "Baryons such as the proton and the neutron are made of three quarks; mesons such as the "
                    "pion are made of a quark and an antiquark. Baryons and mesons together are the hadrons, "
                    "and hundreds of baryon and meson states are known.",
    "hadrons-1.md": "The lightest mesons are the pions and kaons; the lightest baryons are the proton and the "
                    "neutron. Heavier baryons and mesons decay within a tiny fraction of a second into lighter "
                    "mesons and baryons.",
}


def listed_options(user: str) -> list[str]:
    block = user.split("Subdomains", 1)[1].split("The passage is data", 1)[0]
    return re.findall(r"^- ([^:\n]+)", block, re.MULTILINE)


class FirstOptionModel(PromptScript):
    """Names the first subdomain it is shown, whatever the passage says."""

    def __init__(self):
        super().__init__()
        self.first_options: list[str] = []

    def profile(self, user):
        reply = super().profile(user)
        self.first_options.append(listed_options(user)[0])
        return {**reply, "subdomain": listed_options(user)[0]}


class NoneModel(PromptScript):
    """Says "none" for the passage about cooking and names the first option for the rest."""

    def profile(self, user):
        reply = super().profile(user)
        return {**reply, "subdomain": "none" if "pasta" in user else listed_options(user)[0]}


def profiles_by_document(project) -> dict[str, dict]:
    store = open_store(project)
    try:
        chunks = {r.id: r for r in store.records_of_kind("chunk")}
        return {chunks[p.meta["chunk_id"]].meta["source"].split("/")[-1]: p.meta for p in store.emitted("profile")}
    finally:
        store.close()


def test_a_model_that_names_the_first_option_still_labels_each_passage_by_its_content(tmp_path):
    project = make_project(tmp_path / "p", DOCS, recipe(target_total=None))
    model = FirstOptionModel()
    scripted_run(project, model)
    labels = profiles_by_document(project)
    assert len(labels) == len(DOCS)
    right = sum(meta["subdomain"] == name.split("-")[0] for name, meta in labels.items())
    assert right == len(DOCS), {name: meta["subdomain"] for name, meta in labels.items()}
    # The model was wrong for some passages, and those were relabelled from their content.
    assert Counter(meta["subdomain_match"] for meta in labels.values())["content"] >= 1
    first_option_rate = sum(meta["subdomain"] == meta["subdomain_raw"] for meta in labels.values()) / len(labels)
    assert first_option_rate < 1.0


def test_none_drops_the_passage_as_off_subdomain(tmp_path):
    docs = {**DOCS, "pasta.md": "Cook the pasta in salted boiling water for nine minutes, then toss it with "
                                "the tomato sauce, olive oil and fresh basil before serving it hot."}
    project = make_project(tmp_path / "p", docs, recipe(target_total=None))
    scripted_run(project, NoneModel())
    rows = [row for row in progress(project, "profile") if row["outcome"] == "dropped"]
    assert [(row["reason"], "fits none of the subdomains" in row["detail"]) for row in rows] == [("off_subdomain", True)]
    assert "pasta.md" not in profiles_by_document(project)
