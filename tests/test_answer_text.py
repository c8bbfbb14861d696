"""An answer is kept only when it is one: text of its own outside the citation markers and the passage
titles, not a passage copied out. Small models mirror the numbered list of passages they are shown, or
return a passage word for word; such replies are dropped with their reason and the run goes on. Removing
citations of passages that do not exist leaves clean text."""

from __future__ import annotations

import json
import re

from hypothesis import given
from hypothesis import strategies as st

from sftgen.answers.answer_text import answer_problem
from sftgen.answers.citations import check_citations
from tests.fakes.fake_openai_server import running_fake_server
from tests.support.answer_project import make_answer_project, run_answers, scores_reply, seed_prompts, template_of
from tests.test_answers import progress, records

HEAT = "A heat engine converts heat into work by running a working fluid through a cycle of compression and " \
       "expansion between a hot and a cold reservoir, and gives the rest of the heat to the cold side."
TITLES = ["Heat engine", "Thermodynamic cycle"]


def test_an_answer_of_markers_and_titles_only_is_no_answer():
    assert answer_problem("[1] Heat engine [2] Thermodynamic cycle", TITLES, [HEAT])[0] == "no_answer_text"
    assert answer_problem("Heat engine, [1, 2].", TITLES, [HEAT])[0] == "no_answer_text"


def test_an_answer_that_echoes_the_requests_fence_labels_is_no_answer():
    echoed = "pentaquarks.txt, TITLE:colour-confinement.txt, PASSAGE:pentaquarks.txt, QUESTION:how to avoid asking"
    assert answer_problem(echoed, TITLES, [HEAT]) == (
        "template_echo", f"the answer repeats the request's fence label 'TITLE:': {echoed!r}")
    assert answer_problem("See <PASSAGE> above [1].", TITLES, [HEAT])[0] == "template_echo"
    seen = "The answer to the question is: The [n] passages that support the claim are: [1], [2], and [3]."
    assert answer_problem(seen, TITLES, [HEAT])[0] == "template_echo"  # the template's citation notation
    assert answer_problem("The passage title says heat engines [1] waste heat.", TITLES, [HEAT]) is None


def test_a_short_answer_in_its_own_words_is_an_answer():
    assert answer_problem("Six [1].", TITLES, [HEAT]) is None
    assert answer_problem("It turns heat into work [1] and wastes the rest [2].", TITLES, [HEAT]) is None


def test_a_passage_copied_out_is_no_answer_even_with_a_marker_and_a_few_words_around_it():
    assert answer_problem(HEAT, TITLES, ["Unrelated text.", HEAT]) == (
        "copied_passage", "the answer is passage [2] copied word for word")
    assert answer_problem(f"As [1] says: {HEAT[:-1]} [1].", TITLES, [HEAT])[0] == "copied_passage"


def test_an_answer_that_quotes_a_clause_and_explains_is_kept():
    answer = ("A heat engine converts heat into work [1]. Only part of the heat can become work: the cold "
              "reservoir must take the rest, which is why no engine reaches full efficiency.")
    assert answer_problem(answer, TITLES, [HEAT]) is None


def test_removing_loose_and_unknown_markers_leaves_clean_text():
    checked = check_citations("Engines [3: Heat engine] convert heat [7] , and lose some [1, 2, Carnot]. See [9].", 3)
    assert checked.text == "Engines [3] convert heat, and lose some [1, 2]. See."
    assert checked.cited == [3, 1, 2] and checked.unknown == [7, 9]
    assert check_citations("[7,: Thermodynamic cycle] Engines convert heat [1].", 3).text == \
        "Engines convert heat [1]."


def test_valid_citations_leave_the_text_as_written():
    text = "Engines  convert heat [1] ,  mostly [2, 3]."
    assert check_citations(text, 3).text == text


WORDS = st.text(alphabet=st.characters(codec="utf-8", categories=("L", "N", "P", "Zs")), max_size=30)
MARKERS = st.lists(st.integers(min_value=0, max_value=12), min_size=1, max_size=3).map(
    lambda numbers: "[" + ", ".join(map(str, numbers)) + "]")


@given(st.lists(st.one_of(WORDS, MARKERS)), st.integers(min_value=0, max_value=6))
def test_no_citation_of_a_missing_passage_survives_and_no_bracket_is_left_open_or_dangling(parts, count):
    checked = check_citations(" ".join(parts), count)
    for group in re.findall(r"\[(\d+(?:\s*,\s*\d+)*)\]", checked.text):
        assert all(1 <= int(n) <= count for n in group.split(","))
    assert set(checked.cited).isdisjoint(checked.unknown)
    assert all(1 <= n <= count for n in checked.cited)
    if checked.unknown:  # cleaned text: no unmatched closing bracket
        depth = 0
        for char in checked.text:
            depth += {"[": 1, "]": -1}.get(char, 0)
            assert depth >= 0


def test_a_model_that_lists_titles_or_copies_a_passage_loses_that_answer_only(tmp_path):
    project = make_answer_project(tmp_path / "p")
    prompts = seed_prompts(project, [
        ("How many quark flavours are there and what charges do quarks carry?", "quarks"),
        ("Why do gluons interact with each other, unlike photons?", "gluons"),
        ("What holds the quarks of a proton together?", "gluons")])
    first, second = prompts[0].text, prompts[1].text

    def script(step, body):
        if template_of(step, body) == "answer":
            text = body["messages"][-1]["content"]
            question = text.split("<QUESTION>\n", 1)[1].split("\n</QUESTION>", 1)[0]
            titles = re.findall(r"^\[(\d+)\] <TITLE>(.*?)</TITLE>", text, re.MULTILINE)
            passage = text.split("<PASSAGE>\n", 1)[1].split("\n</PASSAGE>", 1)[0]
            if question == first:
                return json.dumps({"answer": " ".join(f"[{n}] {title}" for n, title in titles)})
            if question == second:
                return json.dumps({"answer": passage})
            return json.dumps({"answer": "Six flavours, told apart by mass and charge [1]."})
        return scores_reply(4) if template_of(step, body) == "answer_eval" else None

    with running_fake_server() as server:
        server.script_steps(script)
        run_answers(project, server)

    rows = progress(project, "answer")
    by_question = {p.text: rows[p.id] for p in prompts}
    assert (by_question[first]["outcome"], by_question[first]["reason"]) == ("dropped", "no_answer_text")
    assert (by_question[second]["outcome"], by_question[second]["reason"]) == ("dropped", "copied_passage")
    kept = records(project, "answer")
    assert len(kept) == len(prompts) - 2
    assert all(a.text == "Six flavours, told apart by mass and charge [1]." for a in kept)


def copies_by_definition(answer: str, passages: list[str]) -> int | None:
    """The first passage holding COPY_CONTAINMENT of the answer's word 5-grams, from the 5-gram sets."""
    from sftgen.answers.answer_text import COPY_CONTAINMENT, COPY_SHINGLE, own_words
    from sftgen.dedup.normalise import shingles

    words = own_words(answer, [])
    if len(words) < 2 * COPY_SHINGLE:
        return None
    answer_shingles = shingles(" ".join(words), COPY_SHINGLE)
    for index, passage in enumerate(passages):
        found = answer_shingles & shingles(" ".join(own_words(passage, [])), COPY_SHINGLE)
        if len(found) >= COPY_CONTAINMENT * len(answer_shingles):
            return index
    return None


ANSWER_WORDS = ["heat", "Heat", "engine", "work", "cold", "reservoir", "the", "a", "[1]", "[2, 3]", "ǅemal", "İs",
                "straße", "STRASSE", "ﬁne", "fine", "Ⅻ", "x_y", "—", ".", "Heat engine"]
answer_texts = st.lists(st.sampled_from(ANSWER_WORDS), max_size=40).map(" ".join)


@given(answer=answer_texts, passages=st.lists(answer_texts, max_size=4), around=answer_texts,
       cut=st.integers(0, 12), where=st.integers(0, 4))
def test_the_copy_check_agrees_with_its_definition_on_5_gram_sets(answer, passages, around, cut, where):
    from sftgen.answers.answer_text import copied_passage

    words = answer.split()
    near_copy = f"{around} {' '.join(words[cut:])} {around}"  # the answer, less a few words, inside a passage
    for candidates in (passages, [*passages[:where], near_copy, *passages[where:]]):
        assert copied_passage(answer, candidates) == copies_by_definition(answer, candidates)


def test_an_answer_made_of_one_passage_and_a_few_words_is_the_copy_of_that_passage():
    passages = ["Unrelated text about gluons.", f"{HEAT} Also more."]
    assert answer_problem(f"{HEAT[:-1]} indeed [2].", TITLES, passages) == (
        "copied_passage", "the answer is passage [2] copied word for word")


def test_an_answer_with_exactly_the_copy_share_of_its_5_grams_in_a_passage_copies_it():
    words = "alpha bravo charlie delta echo foxtrot golf hotel india juliet kilo lima mike november".split()
    answer = " ".join(words)  # 14 words: 10 five-grams
    eight_of_ten = " ".join(words[2:])  # holds the last 8 five-grams
    seven_of_ten = " ".join(words[3:])
    assert answer_problem(answer, [], [seven_of_ten, eight_of_ten]) == (
        "copied_passage", "the answer is passage [2] copied word for word")
    assert answer_problem(answer, [], [seven_of_ten]) is None


ECHO_PARTS = ["TITLE", "PASSAGE", "QUESTION", "title", ":", " : ", "<", "</", ">", "/", " ", "[n]", "[n, m]", "[n,m]",
              "[", "n", "]", "word", "TITLES", "_", "é"]


@given(st.lists(st.sampled_from(ECHO_PARTS), max_size=12).map("".join))
def test_the_fence_echo_check_finds_what_its_pattern_finds(answer):
    from sftgen.answers.answer_text import FENCE_ECHO, fence_echo

    found, expected = fence_echo(answer), FENCE_ECHO.search(answer)
    assert (found and found.span()) == (expected and expected.span())


@given(st.text(max_size=60) | st.text(alphabet=st.characters(max_codepoint=127), max_size=60))
def test_the_answer_checks_normalise_text_as_dedup_does(text):
    from sftgen.answers.answer_text import normalised
    from sftgen.dedup.normalise import normalise

    assert normalised(text) == normalise(text)


def citations_by_definition(text: str, passage_count: int) -> tuple[str, list[int], list[int]]:
    """Each marker rewritten to its numbers of existing passages; cited and unknown numbers in order of first use."""
    from sftgen.answers.citations import MARKER, tidied

    cited: list[int] = []
    unknown: list[int] = []
    edited = False

    def rewrite(match: re.Match[str]) -> str:
        nonlocal edited
        numbers = [int(part) for part in match.group(1).split(",")]
        for n in numbers:
            target = cited if 1 <= n <= passage_count else unknown
            if n not in target:
                target.append(n)
        valid = [n for n in numbers if 1 <= n <= passage_count]
        canonical = "[" + ", ".join(map(str, valid)) + "]" if valid else ""
        edited = edited or canonical != match.group(0)
        return canonical

    rewritten = MARKER.sub(rewrite, text)
    return (tidied(rewritten) if edited else rewritten), cited, unknown


LOOSE_MARKERS = st.sampled_from(["[1]", "[2]", "[1, 2]", "[2,1]", "[3: Heat engine]", "[1, 2, Carnot]", "[0]", "[9]",
                                 "[ 1 ]", "[1 , 3]", "[7,: Thermodynamic cycle]", "[]", "( [4] )"])


@given(st.lists(st.one_of(WORDS, MARKERS, LOOSE_MARKERS)), st.integers(min_value=0, max_value=6))
def test_citations_are_checked_as_their_definition_says(parts, count):
    checked = check_citations(" ".join(parts), count)
    assert (checked.text, checked.cited, checked.unknown) == citations_by_definition(" ".join(parts), count)


@given(answer=answer_texts, titles=st.lists(answer_texts, max_size=3))
def test_an_answers_own_words_are_its_words_less_each_title_as_a_whole_run_of_words(answer, titles):
    from sftgen.answers.answer_text import own_words
    from sftgen.dedup.normalise import normalise

    text = normalise(re.sub(r"\[\d+(?:\s*,\s*\d+)*\]", " ", answer))
    for title in sorted({normalise(t) for t in titles if t.strip()}, key=len, reverse=True):
        if title:
            text = re.sub(rf"(?<!\w){re.escape(title)}(?!\w)", " ", text)
    assert own_words(answer, titles) == text.split()


def test_a_marker_with_numbers_split_by_semicolons_is_read_like_one_split_by_commas():
    checked = check_citations("Heat flows [1; 3] and work is done [2;9].", 3)
    assert checked.cited == [1, 3, 2] and checked.unknown == [9]
    assert checked.text == "Heat flows [1, 3] and work is done [2]."
