"""The revision "Changes" page's differences: paragraph by paragraph, then word
by word inside changed paragraphs, whole paragraphs past a size bound.
(benchmarks/diff_bench.py times the same shapes on 1 MB bodies.)"""

import html
import re

from articles import history
from articles.history import marked_difference


def paragraph(number, words=40):
    return " ".join(f"w{number}x{index}" for index in range(words)) + "."


def text_of(marked):
    """What the reader sees: the text without the marks."""
    return html.unescape(re.sub(r"</?(?:del|ins)>", "", marked))


def marks(marked, tag):
    return re.findall(rf"<{tag}>(.*?)</{tag}>", marked, flags=re.S)


def test_one_word_changed_in_a_long_body_marks_that_word_only():
    paragraphs = [paragraph(number) for number in range(2000)]
    before = "\n\n".join(paragraphs)
    paragraphs[1000] = paragraphs[1000].replace("w1000x7 ", "changed ")
    after = "\n\n".join(paragraphs)

    old_html, new_html = marked_difference(before, after)

    assert marks(old_html, "del") == ["w1000x7"]
    assert marks(new_html, "ins") == ["changed"]
    assert (text_of(old_html), text_of(new_html)) == (before, after)


def test_many_changed_paragraphs_are_each_marked_word_by_word():
    paragraphs = [paragraph(number) for number in range(300)]
    before = "\n\n".join(paragraphs)
    changed = [
        text.replace(f"w{number}x3 ", "new ") if number % 3 == 0 else text
        for number, text in enumerate(paragraphs)
    ]
    after = "\n\n".join(changed)

    old_html, new_html = marked_difference(before, after)

    assert marks(old_html, "del") == [f"w{n}x3" for n in range(0, 300, 3)]
    assert marks(new_html, "ins") == ["new"] * 100
    assert (text_of(old_html), text_of(new_html)) == (before, after)


def test_inserted_and_removed_paragraphs_are_marked_whole():
    before = "\n\n".join([paragraph(1), paragraph(2), paragraph(3)])
    after = "\n\n".join([paragraph(1), paragraph(3), paragraph(4)])

    old_html, new_html = marked_difference(before, after)

    assert marks(old_html, "del") == [paragraph(2)]
    assert marks(new_html, "ins") == [paragraph(4)]
    assert (text_of(old_html), text_of(new_html)) == (before, after)


def test_completely_different_texts_are_removed_and_added_whole():
    before = "\n\n".join(paragraph(number) for number in range(50))
    after = "\n\n".join(paragraph(number) for number in range(100, 170))

    old_html, new_html = marked_difference(before, after)

    assert "".join(marks(old_html, "del")).replace(" ", "").replace("\n", "") == (
        before.replace(" ", "").replace("\n", "")
    )
    assert "".join(marks(new_html, "ins")).replace(" ", "").replace("\n", "") == (
        after.replace(" ", "").replace("\n", "")
    )
    assert (text_of(old_html), text_of(new_html)) == (before, after)


def test_a_paragraph_past_the_size_bound_is_shown_replaced_whole():
    words = int(history.WORD_DIFF_LIMIT**0.5) + 10
    before = paragraph(1, words=words)
    # Its first and last words changed: everything between has to be weighed.
    after = first_and_last_words_changed(before)

    old_html, new_html = marked_difference(before, after)

    assert old_html == f"<del>{before}</del>"
    assert new_html == f"<ins>{after}</ins>"


def test_marks_stay_escaped_and_leave_spacing_outside():
    old_html, new_html = marked_difference(
        "Keep <b>this</b> &\n\nSecond <i>one</i> here.",
        "Keep <b>that</b> &\n\nSecond <i>one</i> here.",
    )

    assert old_html == (
        "Keep <del>&lt;b&gt;this&lt;/b&gt;</del> &amp;\n\n"
        "Second &lt;i&gt;one&lt;/i&gt; here."
    )
    assert new_html == (
        "Keep <ins>&lt;b&gt;that&lt;/b&gt;</ins> &amp;\n\n"
        "Second &lt;i&gt;one&lt;/i&gt; here."
    )


def first_and_last_words_changed(text):
    return "first " + text.split(" ", 1)[1].rsplit(" ", 1)[0] + " last."


def test_once_the_budget_is_spent_changed_paragraphs_are_shown_replaced():
    words = 400  # each changed pair weighs 400 × 400 word pairs
    weighed = history.WORD_DIFF_BUDGET // (words * words)
    paragraphs = [paragraph(n, words=words) for n in range(weighed + 3)]
    before = "\n\n".join(paragraphs)
    after = "\n\n".join(first_and_last_words_changed(text) for text in paragraphs)

    old_html, new_html = marked_difference(before, after)

    assert marks(old_html, "del") == [
        *(word for n in range(weighed) for word in (f"w{n}x0", f"w{n}x399.")),
        *paragraphs[weighed:],
    ]
    assert (text_of(old_html), text_of(new_html)) == (before, after)
