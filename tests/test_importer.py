"""The article importer, run as operators run it: through the command."""

import contextlib
import os
import re
import tempfile
from dataclasses import dataclass
from io import StringIO
from pathlib import Path

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connection
from django.test.utils import CaptureQueriesContext

from articles.delivery.keys import read as read_versions
from articles.ingest.formats import MAX_FILE_BYTES, parse_article, split_caption
from articles.ingest.runs import ImportRunFile
from articles.ingest.store import ArticleImporter

# Imported before a test drops root rights, so nothing needs loading as nobody.
from articles.management.commands import import_articles  # noqa: F401
from articles.models import Article, Person, RelatedLink, TaggedArticle, Topic
from tests.conftest import make_article, make_person, make_related_link

pytestmark = pytest.mark.django_db

ROOT = Path(__file__).resolve().parent.parent
SEED = ROOT / "fixtures" / "articles" / "000_0f23217bc585dcd4.txt"
PEOPLE = ROOT / "fixtures" / "people.json"
TOPICS = ROOT / "fixtures" / "topics.json"
BOILERPLATE = [
    "Read all the Latest News, Trending News, Cricket News, Bollywood News,",
    "India News and Entertainment News here. Follow us on Facebook, Twitter and "
    "Instagram.",
]


@dataclass
class Run:
    stdout: str
    stderr: str
    exit_code: int

    @property
    def summary(self):
        return self.stdout.splitlines()[-1]


def content_writes(queries):
    """The statements that wrote anything but the run's own record (every run
    is recorded: articles/ingest/runs.py)."""
    return [
        q["sql"]
        for q in queries
        if q["sql"].split()[0] in ("INSERT", "UPDATE", "DELETE")
        and '"articles_importrun' not in q["sql"]
    ]


def run_import(*paths, **options):
    stdout, stderr = StringIO(), StringIO()
    exit_code = 0
    try:
        call_command(
            "import_articles",
            *map(str, paths),
            stdout=stdout,
            stderr=stderr,
            **options,
        )
    except SystemExit as exit:
        exit_code = exit.code
    return Run(stdout.getvalue(), stderr.getvalue(), exit_code)


def story(
    headline="Minsk hosts talks on grain exports",
    standfirst="Delegations from six countries met on Monday.",
    caption="Delegates arrive in Minsk. Reuters",
    body=("The talks lasted four hours.", "A second round is planned for May."),
    boilerplate=BOILERPLATE,
    related=(("Grain prices fall in Europe", "Wheat futures dropped again."),),
):
    """The text of an article file, built from its parts as FORMAT.md lays them."""
    lines = [headline, *([standfirst] if standfirst else []), ""]
    lines += [*([caption] if caption else []), *body, *boilerplate]
    if related is not None:
        lines.append("also read")
        for title, summary in related:
            lines += ["", title, *([summary] if summary else [])]
    return "\n".join(lines) + "\n"


def write(folder, name, content):
    path = Path(folder) / name
    path.write_bytes(content.encode() if isinstance(content, str) else content)
    return path


def import_text(tmp_path, text, name="story.txt", **options):
    run = run_import(write(tmp_path, name, text), **options)
    assert run.exit_code == 0, run.stderr
    return run


@pytest.fixture
def vocabulary(db):
    call_command("load_vocabulary", str(PEOPLE), str(TOPICS), verbosity=0)


def names(queryset):
    return sorted(str(item) for item in queryset)


# The seed ---------------------------------------------------------------------------


def test_seed_imports_exactly_as_the_format_describes(vocabulary):
    run = run_import(SEED)

    assert run.exit_code == 0
    assert run.stderr == ""
    assert run.summary == "created 1, updated 0, unchanged 0, skipped 0, failed 0"
    article = Article.objects.get()
    seed_lines = SEED.read_text(encoding="utf-8").splitlines()
    assert article.headline == seed_lines[0]
    assert article.standfirst == seed_lines[1]
    assert article.image_caption == "Russian president Vladimir Putin"
    assert article.image_credit == "AP"
    assert len(article.paragraphs()) == 7
    assert article.paragraphs() == seed_lines[4:11]  # the file's lines 5 to 11
    # Seven <p>, each holding one of the lines unchanged (none has & < or >).
    assert article.body == "\n".join(f"<p>{line}</p>" for line in seed_lines[4:11])
    assert "Read all the Latest News" not in article.body
    assert "Follow us" not in article.body
    assert article.source == SEED.name
    assert article.status == Article.Status.PUBLISHED
    assert article.published_at is not None
    assert article.slug == (
        "vladimir-putin-backs-plan-to-set-up-military-training-centres-in-belarus"
    )
    links = list(article.related_links.all())
    assert [(link.position, link.title, link.summary) for link in links] == [
        (1, seed_lines[15], seed_lines[16]),
        (2, seed_lines[18], seed_lines[19]),
        (3, seed_lines[21], seed_lines[22]),
    ]
    assert all(link.summary for link in links)
    assert names(article.people.all()) == ["Alexander Lukashenko", "Vladimir Putin"]
    assert names(article.tags.all()) == ["Belarus", "Russia", "Ukraine"]


def test_seed_is_on_the_home_page_after_import(vocabulary, client):
    run_import(SEED)

    response = client.get("/")

    assert response.status_code == 200
    assert "Vladimir Putin backs plan" in response.content.decode()


# Variations FORMAT.md lists ---------------------------------------------------------


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        (
            "Russian president Vladimir Putin. AP",
            ("Russian president Vladimir Putin", "AP"),
        ),
        (
            "Smoke over Kyiv. Photo by Jane Doe, AFP",
            ("Smoke over Kyiv", "Photo by Jane Doe, AFP"),
        ),
        ("Talks in Minsk. Then the delegates left the room", None),  # six words
        (
            "Talks ended early. Both sides said so.",
            None,
        ),  # the fragment ends a sentence
        ("Talks ended early with no deal", None),  # no ". " at all
        ("Putin lands in St. Petersburg for talks.", None),  # an ordinary paragraph
    ],
)
def test_caption_rule_takes_a_short_final_fragment_as_credit(line, expected):
    assert split_caption(line) == expected


def test_first_story_line_without_credit_is_a_paragraph(tmp_path):
    import_text(tmp_path, story(caption=None))

    article = Article.objects.get()
    assert (article.image_caption, article.image_credit) == ("", "")
    assert article.paragraphs() == [
        "The talks lasted four hours.",
        "A second round is planned for May.",
    ]


def test_no_related_section_with_boilerplate(tmp_path):
    import_text(tmp_path, story(related=None))

    article = Article.objects.get()
    assert article.paragraphs()[-1] == "A second round is planned for May."
    assert not article.related_links.exists()


def test_no_related_section_and_no_boilerplate(tmp_path):
    import_text(tmp_path, story(related=None, boilerplate=[]))

    article = Article.objects.get()
    assert len(article.paragraphs()) == 2
    assert article.image_credit == "Reuters"
    assert not article.related_links.exists()


def test_boilerplate_on_one_line(tmp_path):
    import_text(tmp_path, story(boilerplate=[" ".join(BOILERPLATE)]))

    article = Article.objects.get()
    assert article.paragraphs()[-1] == "A second round is planned for May."
    assert article.related_links.count() == 1


def test_boilerplate_wrapped_over_more_lines_and_inside_its_first_words(tmp_path):
    wrapped = [
        "Read all the",
        "Latest News, Trending News,",
        "Cricket News, Follow us",
        "on Facebook, Twitter and Instagram.",
    ]
    import_text(tmp_path, story(boilerplate=wrapped))

    assert (
        Article.objects.get().paragraphs()[-1] == "A second round is planned for May."
    )


def test_nothing_between_boilerplate_and_related_marker_is_body(tmp_path):
    footer = [*BOILERPLATE, "Advertisement", "Subscribe to our newsletter"]
    import_text(tmp_path, story(boilerplate=footer))

    assert "Advertisement" not in Article.objects.get().body


def test_windows_line_endings(tmp_path):
    import_text(tmp_path, story().replace("\n", "\r\n"))

    article = Article.objects.get()
    assert "\r" not in article.body + article.standfirst + article.image_credit
    assert article.image_credit == "Reuters"
    assert article.related_links.get().summary == "Wheat futures dropped again."


def test_byte_order_mark_is_dropped(tmp_path):
    import_text(tmp_path, "\ufeff" + story())

    assert Article.objects.get().headline == "Minsk hosts talks on grain exports"


def test_typographic_text_accents_non_latin_names_and_emoji_are_kept(tmp_path):
    make_person(name="Sviatlana Tsikhanouskaya", aliases="Ціханоўская, Tsikhanouskaya")
    headline = "Ціханоўская’s “new start” — a plan for Belarus 🇧🇾"
    body = ("Café owners in Brest – and José Müller – cheered 🎉.", "A paragraph.")
    import_text(tmp_path, story(headline=headline, body=body))

    article = Article.objects.get()
    assert article.headline == headline
    assert article.paragraphs()[0] == body[0]
    assert names(article.people.all()) == ["Sviatlana Tsikhanouskaya"]
    assert article.slug == "tsikhanouskayas-new-start-a-plan-for-belarus-by"


def test_related_story_with_a_title_and_no_summary(tmp_path):
    related = (("First related", None), ("Second related", "It has a summary."))
    import_text(tmp_path, story(related=related))

    links = Article.objects.get().related_links.all()
    assert [(link.title, link.summary) for link in links] == [
        ("First related", ""),
        ("Second related", "It has a summary."),
    ]


@pytest.mark.parametrize("marker", ["also read", "Also Read", "ALSO READ", "Also read"])
def test_related_marker_in_any_letter_case(tmp_path, marker):
    import_text(tmp_path, story().replace("\nalso read\n", f"\n{marker}\n"))

    article = Article.objects.get()
    assert article.related_links.get().title == "Grain prices fall in Europe"
    assert marker not in article.body


def test_html_looking_text_is_stored_and_shown_as_text(tmp_path, client):
    body = ("<script>alert('x')</script> & <b>bold</b> claims.", "Second.")
    import_text(tmp_path, story(headline="Tom & Jerry <i>return</i>", body=body))

    article = Article.objects.get()
    assert article.headline == "Tom & Jerry <i>return</i>"
    assert article.paragraphs()[0] == body[0]
    page = client.get(article.get_absolute_url()).content.decode()
    assert "&lt;script&gt;alert(&#x27;x&#x27;)&lt;/script&gt; &amp; &lt;b&gt;" in page
    assert "<script>alert" not in page


def test_trailing_spaces_are_trimmed(tmp_path):
    text = "\n".join(line + " \t " for line in story().split("\n"))
    import_text(tmp_path, text)

    article = Article.objects.get()
    assert article.headline == "Minsk hosts talks on grain exports"
    assert article.image_credit == "Reuters"
    assert article.paragraphs()[0] == "The talks lasted four hours."
    assert article.related_links.get().title == "Grain prices fall in Europe"


def test_missing_final_newline(tmp_path):
    import_text(tmp_path, story().rstrip("\n"))

    assert Article.objects.get().related_links.get().summary == (
        "Wheat futures dropped again."
    )


def test_runs_of_blank_lines_count_as_one(tmp_path):
    text = story(related=(("One", "First."), ("Two", None))).replace("\n\n", "\n\n\n\n")
    text = text.replace(
        "The talks lasted four hours.\n", "The talks lasted four hours.\n\n\n"
    )
    import_text(tmp_path, "\n\n" + text)

    article = Article.objects.get()
    assert article.headline == "Minsk hosts talks on grain exports"
    assert article.image_credit == "Reuters"
    assert len(article.paragraphs()) == 2
    assert [link.title for link in article.related_links.all()] == ["One", "Two"]


def test_standfirst_may_be_absent_or_span_lines():
    without = parse_article(story(standfirst=None))
    assert without.standfirst == ""
    assert without.image_credit == "Reuters"

    over_two_lines = parse_article(story(standfirst="Delegations met\non Monday."))
    assert over_two_lines.standfirst == "Delegations met on Monday."


# Bad input --------------------------------------------------------------------------


def _big_file(folder):
    path = write(folder, "big.txt", b"Headline\n\n" + b"x" * MAX_FILE_BYTES)
    return path, f"larger than 1 MB ({MAX_FILE_BYTES + 10} bytes)"


def _fifo(folder):
    path = Path(folder) / "pipe.txt"
    os.mkfifo(path)
    return path, "not a regular file (a FIFO)"


BAD_FILES = {
    "empty": lambda d: (write(d, "empty.txt", ""), "empty"),
    "blank lines only": lambda d: (write(d, "blank.txt", "\ufeff\n \r\n\t\n"), "empty"),
    "headline only": lambda d: (
        write(d, "headline.txt", "Just a headline\n"),
        "no body: nothing follows the headline and standfirst",
    ),
    "headline and standfirst only": lambda d: (
        write(d, "top.txt", "A headline\nA standfirst\n\n"),
        "no body: nothing follows the headline and standfirst",
    ),
    "footer and related stories only": lambda d: (
        write(d, "nobody.txt", story(caption=None, body=())),
        "no body: nothing follows the headline and standfirst",
    ),
    "invalid UTF-8": lambda d: (
        write(d, "latin1.txt", "Headline\n\ncafé au lait\n".encode("latin-1")),
        "not valid UTF-8 (byte offset 13)",
    ),
    "NUL byte": lambda d: (
        write(d, "nul.txt", b"Headline\n\nBody\x00 text\n"),
        "holds a NUL byte (byte offset 14)",
    ),
    "over 1 MB": _big_file,
    "headline over 300 characters": lambda d: (
        write(d, "long.txt", story(headline="H" * 301)),
        "headline longer than 300 characters (301)",
    ),
    "related title over 300 characters": lambda d: (
        write(d, "longrel.txt", story(related=(("T" * 301, "Summary."),))),
        "related story title longer than 300 characters (301)",
    ),
    "missing": lambda d: (Path(d) / "missing.txt", "no such file"),
    "FIFO": _fifo,
    "device": lambda d: (Path("/dev/null"), "not a regular file (a character device)"),
}


@pytest.mark.parametrize("make_bad_file", BAD_FILES.values(), ids=BAD_FILES.keys())
def test_bad_file_is_refused_with_one_line_and_the_others_are_imported(
    tmp_path, make_bad_file
):
    good = write(tmp_path, "good.txt", story())
    bad, reason = make_bad_file(tmp_path)

    run = run_import(good, bad)

    assert_only_the_bad_file_failed(run, bad, reason)


def assert_only_the_bad_file_failed(run, bad, reason):
    assert run.stderr == f"{bad}: {reason}\n"
    assert "Traceback" not in run.stdout + run.stderr
    assert run.exit_code == 1
    assert run.summary == "created 1, updated 0, unchanged 0, skipped 0, failed 1"
    good = Article.objects.get()
    assert good.headline == "Minsk hosts talks on grain exports"
    assert RelatedLink.objects.exclude(article=good).count() == 0


def test_directory_named_like_an_article_in_a_folder_is_refused(tmp_path):
    write(tmp_path, "a_good.txt", story())
    bad = tmp_path / "b_folder.txt"
    bad.mkdir()

    run = run_import(tmp_path)

    assert_only_the_bad_file_failed(run, bad, "not a regular file (a directory)")


@contextlib.contextmanager
def unprivileged():
    """Act as nobody, since root reads a file whatever its permissions."""
    if os.geteuid() != 0:
        yield
        return
    os.seteuid(65534)
    try:
        yield
    finally:
        os.seteuid(0)


def test_unreadable_file_is_refused(tmp_path):
    with tempfile.TemporaryDirectory() as folder:
        os.chmod(folder, 0o755)  # noqa: S103 - nobody must reach the good file
        good = write(folder, "good.txt", story())
        bad = write(folder, "secret.txt", story(headline="Secret"))
        bad.chmod(0)
        with unprivileged():
            run = run_import(good, bad)

    assert_only_the_bad_file_failed(run, bad, "cannot be read (permission denied)")


def test_a_file_failing_in_the_database_is_rolled_back_whole(tmp_path):
    refuse_related_links_in_database()
    good = write(tmp_path, "a.txt", story(related=None))
    bad = write(tmp_path, "b.txt", story(headline="Has related stories"))

    run = run_import(good, bad)

    assert_only_the_bad_file_failed(
        run, bad, "database error: related links refused by the test"
    )
    assert not Article.objects.filter(headline="Has related stories").exists()


def refuse_related_links_in_database():
    """A trigger: the database fails the file after its article row is written."""
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute(
                "CREATE FUNCTION refuse_links() RETURNS trigger AS $$ BEGIN "
                "RAISE EXCEPTION 'related links refused by the test'; END $$ "
                "LANGUAGE plpgsql"
            )
            cursor.execute(
                "CREATE TRIGGER refuse_links BEFORE INSERT ON articles_relatedlink "
                "FOR EACH ROW EXECUTE FUNCTION refuse_links()"
            )
        else:
            cursor.execute(
                "CREATE TRIGGER refuse_links BEFORE INSERT ON articles_relatedlink "
                "BEGIN SELECT RAISE(ABORT, 'related links refused by the test'); END"
            )


# Identity and re-import -------------------------------------------------------------


def test_identical_reimport_changes_nothing(vocabulary):
    run_import(SEED)
    before = Article.objects.values().get()

    with CaptureQueriesContext(connection) as queries:
        run = run_import(SEED)

    assert run.summary == "created 0, updated 0, unchanged 1, skipped 0, failed 0"
    assert content_writes(queries) == []
    assert ImportRunFile.objects.latest("id").outcome == "unchanged"
    assert Article.objects.values().get() == before
    assert RelatedLink.objects.count() == 3


def test_edited_reimport_updates_the_article_in_place(vocabulary, tmp_path):
    path = write(tmp_path, "story.txt", SEED.read_bytes())
    run_import(path)
    before = Article.objects.get()
    link_ids = set(RelatedLink.objects.values_list("pk", flat=True))
    text = path.read_text().replace(
        "The document did not specify", "The decree did not specify"
    )
    text = text.replace(
        "for war crimes\nThe meeting comes", "for war crimes\nA new summary"
    )
    path.write_text(text)

    run = run_import(path)

    assert run.summary == "created 0, updated 1, unchanged 0, skipped 0, failed 0"
    after = Article.objects.get()
    assert (after.pk, after.slug, after.published_at) == (
        before.pk,
        before.slug,
        before.published_at,
    )
    assert (
        after.paragraphs()[2] == "The decree did not specify where they would be based."
    )
    assert after.updated_at > before.updated_at
    links = list(after.related_links.all())
    assert len(links) == 3
    assert links[2].summary.startswith("A new summary")
    assert not link_ids & {link.pk for link in links}  # replaced, not added to


def test_reimport_never_removes_people_or_topics_editors_added(vocabulary):
    run_import(SEED)
    article = Article.objects.get()
    article.people.add(Person.objects.get(name="Xi Jinping"))
    article.tags.add(Topic.objects.get(name="China"))

    run = run_import(SEED)

    assert run.summary == "created 0, updated 0, unchanged 1, skipped 0, failed 0"
    assert "Xi Jinping" in names(article.people.all())
    assert "China" in names(article.tags.all())


def test_reimport_links_people_and_topics_added_to_the_vocabulary_since(vocabulary):
    run_import(SEED)
    make_person(name="Strongman leader", slug="strongman")
    Topic.objects.create(name="Military", slug="military", keywords="troops, drills")

    run = run_import(SEED)

    assert run.summary == "created 0, updated 1, unchanged 0, skipped 0, failed 0"
    article = Article.objects.get()
    assert "Strongman leader" in names(article.people.all())
    assert "Military" in names(article.tags.all())


def test_headlines_that_slugify_alike_get_numbered_slugs(tmp_path):
    headlines = ["Putin's ally speaks", "Putins ally speaks", "PUTIN’S ALLY SPEAKS!"]
    for number, headline in enumerate(headlines):
        write(tmp_path, f"{number}.txt", story(headline=headline))
    run_import(tmp_path)
    slugs = dict(Article.objects.values_list("headline", "slug"))
    assert slugs == {
        headlines[0]: "putins-ally-speaks",
        headlines[1]: "putins-ally-speaks-2",
        headlines[2]: "putins-ally-speaks-3",
    }

    # Each file finds its own article again.
    write(tmp_path, "1.txt", story(headline=headlines[1], standfirst="Changed."))
    run = run_import(tmp_path)

    assert run.summary == "created 0, updated 1, unchanged 2, skipped 0, failed 0"
    assert Article.objects.get(slug="putins-ally-speaks-2").standfirst == "Changed."


@pytest.mark.parametrize(
    ("headline", "slug"),
    [
        ("Путин встретился с Лукашенко", "putin-vstretilsya-s-lukashenko"),
        ("习近平会见普京", "xijinpinghuijianpujing"),
        ("“…” — !!!", None),
    ],
)
def test_headline_without_ascii_letters_gets_a_usable_slug(
    tmp_path, client, headline, slug
):
    import_text(tmp_path, story(headline=headline))

    article = Article.objects.get()
    if slug:
        assert article.slug == slug
    else:
        assert re.fullmatch(r"article-[0-9a-f]{10}", article.slug)
    assert client.get(article.get_absolute_url()).status_code == 200


def test_draft_option_creates_drafts(tmp_path):
    import_text(tmp_path, story(), draft=True)

    article = Article.objects.get()
    assert article.status == Article.Status.DRAFT
    assert article.published_at is None


def test_reimport_keeps_status_and_first_publication_time(tmp_path):
    path = write(tmp_path, "story.txt", story())
    run_import(path)
    Article.objects.update(status=Article.Status.DRAFT)
    first_published = Article.objects.get().published_at
    path.write_text(story(standfirst="A new standfirst."))

    run_import(path)

    article = Article.objects.get()
    assert article.standfirst == "A new standfirst."
    assert article.status == Article.Status.DRAFT
    assert article.published_at == first_published


def test_new_only_leaves_stored_articles_alone(tmp_path):
    path = write(tmp_path, "story.txt", story())
    run_import(path)
    Article.objects.update(body="An editor's rewrite.")
    write(tmp_path, "other.txt", story(headline="Another story"))

    run = run_import(tmp_path, new_only=True)

    assert run.summary == "created 1, updated 0, unchanged 1, skipped 0, failed 0"
    assert Article.objects.get(source="story.txt").body == "An editor's rewrite."


def test_imported_story_is_stored_as_save_would_store_it(tmp_path):
    """New stories are written with one plain INSERT, not Model.save(): the
    row must be the one save() writes, and save()'s listeners must hear of it."""
    changes = read_versions(()).changes
    run_import(write(tmp_path, "story.txt", story()))
    imported = Article.objects.get()
    saved = Article(
        headline="Saved by the ORM",
        slug="saved-by-the-orm",
        standfirst=imported.standfirst,
        body=imported.body,
        image_caption=imported.image_caption,
        image_credit=imported.image_credit,
        source=imported.source,
        status=Article.Status.PUBLISHED,
    )
    saved.save()

    ignored = {"id", "headline", "slug", "published_at", "created_at", "updated_at"}
    rows = Article.objects.order_by("pk").values()
    assert [{k: v for k, v in row.items() if k not in ignored} for row in rows] == [
        {k: v for k, v in rows[1].items() if k not in ignored}
    ] * 2
    assert imported.published_at is not None
    assert imported.created_at is not None and imported.updated_at is not None
    assert imported.content_updated_at is None
    assert read_versions(()).changes != changes  # the page cache heard of it


def test_imported_story_takes_over_an_old_address(tmp_path, client):
    renamed = make_article(headline="Budget", slug="minsk-hosts-talks-on-grain-exports")
    renamed.slug = "budget-2024"
    renamed.save()
    assert (
        client.get("/articles/minsk-hosts-talks-on-grain-exports/").status_code == 301
    )

    run_import(write(tmp_path, "story.txt", story()))

    response = client.get("/articles/minsk-hosts-talks-on-grain-exports/")
    assert response.status_code == 200
    assert response.context["article"].headline == "Minsk hosts talks on grain exports"


# Related stories --------------------------------------------------------------------


def test_related_titles_match_headlines_ignoring_case_spacing_and_quotes(tmp_path):
    target = make_article(headline='Putin\'s "ally" proposes ICC ban')
    related = (
        ("  PUTIN’S “ALLY”   proposes icc ban ", "Summary."),
        ("Elsewhere", None),
    )
    import_text(tmp_path, story(related=related))

    links = Article.objects.get(source="story.txt").related_links.all()
    assert [link.target for link in links] == [target, None]


@pytest.mark.parametrize("one_run", [True, False], ids=["one run", "two runs"])
@pytest.mark.parametrize("order", ["a first", "b first"])
def test_related_links_resolve_whatever_the_import_order(tmp_path, order, one_run):
    a = write(
        tmp_path, "a.txt", story(headline="Story A", related=(("Story B", None),))
    )
    b = write(
        tmp_path,
        "b.txt",
        story(headline="Story B", related=(("story a", None), ("Story C", None))),
    )
    files = [a, b] if order == "a first" else [b, a]
    if one_run:
        run_import(*files)
    else:
        run_import(files[0])
        run_import(files[1])

    story_a, story_b = (
        Article.objects.get(headline="Story A"),
        Article.objects.get(headline="Story B"),
    )
    assert [link.target for link in story_a.related_links.all()] == [story_b]
    assert [link.target for link in story_b.related_links.all()] == [story_a, None]

    # Story C arriving later resolves the link that waited for it.
    run_import(write(tmp_path, "c.txt", story(headline="Story C", related=None)))
    assert story_b.related_links.get(title="Story C").target.headline == "Story C"


def test_link_waiting_for_a_headline_is_resolved_by_its_import(tmp_path):
    waiting = make_related_link(
        make_article(), title="Minsk hosts talks on grain exports"
    )

    result = ArticleImporter().import_file(write(tmp_path, "story.txt", story()))

    waiting.refresh_from_db()
    assert waiting.target == result.article
    # Resolved with one UPDATE: the importer names the articles it touched.
    assert result.relinked_article_ids == [waiting.article_id]


# People and topics ------------------------------------------------------------------


def test_people_and_topics_match_whole_case_sensitive_words_in_own_text(
    vocabulary, tmp_path
):
    body = (
        "Putinism is not Putin. putin and lukashenko are lower case.",
        "The Kremlin's answer came from Minsk-based aides and Xi's envoy.",
    )
    related = (("Volodin on China and the ICC", "Lvova-Belova in Ukraine."),)
    import_text(tmp_path, story(headline="Russians wait", body=body, related=related))

    article = Article.objects.get()
    assert names(article.people.all()) == ["Vladimir Putin", "Xi Jinping"]
    assert names(article.tags.all()) == ["Belarus", "Russia"]


def test_queries_per_article_do_not_depend_on_people_and_topics_found(
    vocabulary, tmp_path
):
    few = story(headline="Putin speaks", body=("Putin spoke in Moscow.",))
    many = story(
        headline="Everyone speaks",
        body=(
            "Putin, Lukashenko, Volodin, Xi and Lvova-Belova spoke in Moscow, "
            "Minsk, Kyiv and Beijing about the ICC.",
        ),
    )
    counts = []
    for name, text in [("few.txt", few), ("many.txt", many)]:
        with CaptureQueriesContext(connection) as queries:
            import_text(tmp_path, text, name=name)
        counts.append(len(queries))

    assert counts[0] == counts[1]
    everyone = Article.objects.get(headline="Everyone speaks")
    assert everyone.people.count() == 5
    assert everyone.tags.count() == 5


# Operator comforts ------------------------------------------------------------------


def test_dry_run_reports_and_writes_nothing(vocabulary, tmp_path):
    run_import(SEED)
    body = Article.objects.get().body
    write(tmp_path, "new.txt", story())
    # The seed's own file (a story is known by its file's name), edited.
    edited = SEED.read_text().replace("The document did not", "The decree did not")
    write(tmp_path, SEED.name, edited)
    counts_before = _table_counts()

    run = run_import(tmp_path, dry_run=True, verbosity=2)

    assert run.summary == (
        "created 1, updated 1, unchanged 0, skipped 0, failed 0 "
        "(dry run: nothing was written)"
    )
    assert f"would be created: {tmp_path / 'new.txt'}" in run.stdout
    assert _table_counts() == counts_before
    assert Article.objects.get().body == body


def _table_counts():
    return [
        model.objects.count()
        for model in (Article, RelatedLink, TaggedArticle, Article.people.through)
    ]


def test_verbosity_0_prints_only_errors(tmp_path):
    write(tmp_path, "good.txt", story())
    write(tmp_path, "empty.txt", "")

    run = run_import(tmp_path, verbosity=0)

    assert run.stdout == ""
    assert run.stderr == f"{tmp_path / 'empty.txt'}: empty\n"


def test_verbosity_2_lists_each_file_and_names_that_match_no_person(
    vocabulary, tmp_path
):
    body = (
        "Ukrainian President Volodymyr Zelensky met Emmanuel Macron's aides on "
        "Tuesday.",
        "In October, Putin said Zelensky had not called.",
    )
    path = write(tmp_path, "story.txt", story(headline="Leaders meet", body=body))

    run = run_import(path, verbosity=2)

    lines = run.stdout.splitlines()
    assert lines[0] == f"created: {path} (leaders-meet)"
    start = lines.index("Capitalised names that match no person:")
    assert lines[start + 1 : -1] == [
        "  Emmanuel Macron (1)",
        "  Volodymyr Zelensky (1)",
        "  Zelensky (1)",
    ]


def test_many_files_show_progress(tmp_path):
    for number in range(100):
        write(
            tmp_path,
            f"{number:03}.txt",
            story(headline=f"Story {number}", related=None),
        )

    run = run_import(tmp_path)

    progress = [
        line
        for line in run.stdout.splitlines()
        if line.endswith("failed 0") and "files:" in line
    ]
    assert len(progress) == 10
    assert progress[0].startswith("10/100 files: created 10")
    assert run.summary == "created 100, updated 0, unchanged 0, skipped 0, failed 0"


def test_folder_imports_only_its_txt_files_in_name_order(tmp_path):
    write(tmp_path, "b.txt", story(headline="Second"))
    write(tmp_path, "a.txt", story(headline="First"))
    write(tmp_path, "notes.md", "Not an article")

    run = run_import(tmp_path, verbosity=2)

    created = [line for line in run.stdout.splitlines() if line.startswith("created:")]
    assert [line.split(" (")[0] for line in created] == [
        f"created: {tmp_path / 'a.txt'}",
        f"created: {tmp_path / 'b.txt'}",
    ]


def test_folder_story_files_in_any_letter_case_and_never_hidden_ones(tmp_path):
    write(tmp_path, "a.txt", story(headline="Lower case"))
    write(tmp_path, "C.TXT", story(headline="Upper case"))
    write(tmp_path, ".a.txt", story(headline="Hidden"))  # an editor's backup
    write(tmp_path, "._a.txt", b"\x00\x05\x16\x07")  # macOS metadata

    run = run_import(tmp_path, verbosity=2)

    created = [line for line in run.stdout.splitlines() if line.startswith("created:")]
    assert [line.split(" (")[0] for line in created] == [
        f"created: {tmp_path / 'C.TXT'}",
        f"created: {tmp_path / 'a.txt'}",
    ]
    assert run.summary == "created 2, updated 0, unchanged 0, skipped 0, failed 0"


def test_folder_without_articles_is_a_command_error(tmp_path):
    with pytest.raises(CommandError, match="no \\*.txt files"):
        call_command("import_articles", str(tmp_path))


# People and topics fixtures ---------------------------------------------------------


def test_loading_the_vocabulary_again_adds_nothing_and_keeps_edits(vocabulary):
    putin = Person.objects.get(slug="vladimir-putin")
    putin.description = "Edited by an editor."
    putin.save()
    Topic.objects.filter(slug="china").update(slug="people-s-republic-of-china")
    stdout = StringIO()

    call_command("load_vocabulary", str(PEOPLE), str(TOPICS), stdout=stdout)

    assert stdout.getvalue().splitlines() == [
        f"{PEOPLE}: added 0, kept 5",
        f"{TOPICS}: added 0, kept 5",
    ]
    assert Person.objects.count() == 5
    assert Topic.objects.count() == 5
    assert (
        Person.objects.get(slug="vladimir-putin").description == "Edited by an editor."
    )


def test_vocabulary_fixtures_describe_the_five_people_the_seed_names(vocabulary):
    # Each is known by their surname too (Xi's comes first in Chinese order).
    assert {
        person.name: person.alias_list()
        for person in Person.objects.exclude(description="")
    } == {
        "Vladimir Putin": ["Putin"],
        "Alexander Lukashenko": ["Lukashenko"],
        "Vyacheslav Volodin": ["Volodin"],
        "Xi Jinping": ["Xi"],
        "Maria Lvova-Belova": ["Lvova-Belova"],
    }


def test_load_vocabulary_refuses_a_fixture_of_something_else(tmp_path):
    path = write(
        tmp_path, "users.json", '[{"model": "auth.group", "fields": {"name": "X"}}]'
    )
    with pytest.raises(CommandError, match="only people and topics"):
        call_command("load_vocabulary", str(path))
