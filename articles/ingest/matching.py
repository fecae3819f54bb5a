"""Matching a story's words: the people and topics it names, the stories its
related titles name, and the capitalised names that match no one.

`TermMatcher` finds many terms at once in one regular expression; `headline_key`
is what a related title and a headline must share to be the same story;
`unknown_names` is the hint for editors (`import_articles -v 2`). No database:
the importer (store.py) reads the vocabulary once per run and hands it in.
"""

import re
from collections import defaultdict
from functools import lru_cache

from articles.models import split_terms

_STRAIGHT_QUOTES = str.maketrans(
    {
        **dict.fromkeys("‘’‚‛′", "'"),
        **dict.fromkeys("“”„‟″«»", '"'),
    }
)


# An import asks for the key of each headline several times (as its own, and as
# the related title of the stories around it).
@lru_cache(maxsize=4096)
def headline_key(text):
    """What a related title and a headline must share to be the same story:
    case, the spacing around words and the style of quotes do not matter."""
    return " ".join(text.translate(_STRAIGHT_QUOTES).split()).casefold()


def _trie_pattern(terms):
    trie = {}
    for term in terms:
        node = trie
        for char in term:
            node = node.setdefault(char, {})
        node[""] = {}
    return _trie_node_pattern(trie)


def _trie_node_pattern(node):
    branches = []
    for char, child in node.items():
        if not char:
            continue
        # A chain of single children becomes one literal, keeping nesting shallow.
        literal = char
        while len(child) == 1 and "" not in child:
            (char, child), *_ = child.items()
            literal += char
        branches.append(re.escape(literal) + _trie_node_pattern(child))
    if not branches:
        return ""
    pattern = branches[0] if len(branches) == 1 else f"(?:{'|'.join(branches)})"
    # Longer terms are tried first; the term that ends here stays a match.
    return f"(?:{pattern})?" if "" in node else pattern


class TermMatcher:
    """Which of many terms occur in a text as whole words (case-sensitive).

    All terms share one regular expression, compiled once and shaped as a trie,
    so scanning a text costs about the same for ten terms or a thousand. A term
    followed by a possessive ("Putin's") is still a whole word.
    """

    def __init__(self, ids_by_term):
        self.ids_by_term = dict(ids_by_term)
        self.pattern = None
        if self.ids_by_term:
            # A lookahead, so overlapping terms ("Vladimir Putin", "Putin") all count.
            self.pattern = re.compile(
                rf"(?<!\w)(?=({_trie_pattern(self.ids_by_term)})(?!\w))"
            )

    def __contains__(self, term):
        return term in self.ids_by_term

    def ids_in(self, text):
        if self.pattern is None:
            return set()
        terms = {match.group(1) for match in self.pattern.finditer(text)}
        return set().union(*(self.ids_by_term[term] for term in terms))


def ids_by_term(rows):
    ids_by_term = defaultdict(set)
    for pk, name, extra_terms in rows:
        for term in [name, *split_terms(extra_terms)]:
            if term.strip():
                ids_by_term[term.strip()].add(pk)
    return ids_by_term


_WORD = re.compile(r"\w+(?:['’-]\w+)*")
_SENTENCE_ENDS = tuple(".!?:;\"'“”‘’(")
# Capitalised for grammar or as a title, not because they name someone.
_NOT_NAME_WORDS = """
    A After An And As At Before But By During Earlier For From He Her His I If In It
    Its Later Of On Or Our She Since That The Their These They This Those To We When
    While With Monday Tuesday Wednesday Thursday Friday Saturday Sunday January
    February March April May June July August September October November December
    Ambassador Chairman Chancellor Chief Commissioner Defence Defense Dr Foreign
    General Governor King Leader Mayor Minister Mr Mrs Ms Pope President Prime
    Prince Princess Queen Secretary Senator Speaker
"""
_NOT_NAMES = frozenset(_NOT_NAME_WORDS.split())


def _capitalised_runs(text):
    """Yield (words, starts_a_sentence) for each run of capitalised words."""
    run, starts_sentence, previous_end = [], False, None
    for match in _WORD.finditer(text):
        word = match.group()
        gap = text[previous_end : match.start()] if previous_end is not None else ""
        if run and gap != " ":
            yield run, starts_sentence
            run = []
        if word[0].isupper() and any(char.islower() for char in word):
            if not run:
                before = gap.rstrip(" ")
                starts_sentence = (
                    previous_end is None
                    or "\n" in gap
                    or before.endswith(_SENTENCE_ENDS)
                )
            run.append(re.sub(r"['’]s$", "", word))
        elif run:
            yield run, starts_sentence
            run = []
        previous_end = match.end()
    if run:
        yield run, starts_sentence


def unknown_names(text, people, topics):
    """Capitalised names in the text that match no person (nor any topic).

    A hint for editors, so it errs on the side of listing. Titles, function
    words and topic keywords split a run ("Ukrainian President Volodymyr
    Zelensky" gives "Volodymyr Zelensky"); a single word opening a sentence is
    left out, being capitalised for grammar.
    """
    names = []
    for run, run_starts_sentence in _capitalised_runs(text):
        part, part_starts_sentence = [], False
        for index, word in enumerate([*run, None]):
            if word is not None and word not in _NOT_NAMES and word not in topics:
                if not part:
                    part_starts_sentence = run_starts_sentence and index == 0
                part.append(word)
                continue
            name = " ".join(part)
            if part and not (
                (len(part) == 1 and part_starts_sentence)
                or name in topics
                or people.ids_in(name)
            ):
                names.append(name)
            part = []
    return names
