from django.shortcuts import get_object_or_404, render

from articles.models import Article, Person, Topic


def home(request):
    articles = Article.objects.published().prefetch_related("tags")[:20]
    return render(request, "articles/home.html", {"articles": articles})


def article_detail(request, slug):
    article = get_object_or_404(
        Article.objects.published().prefetch_related(
            "tags", "people", "related_links__target"
        ),
        slug=slug,
    )
    return render(request, "articles/article_detail.html", {"article": article})


def topic_detail(request, slug):
    topic = get_object_or_404(Topic, slug=slug)
    articles = Article.objects.published().filter(tags=topic)
    return render(
        request, "articles/topic_detail.html", {"topic": topic, "articles": articles}
    )


def person_detail(request, slug):
    person = get_object_or_404(Person, slug=slug)
    articles = Article.objects.published().filter(people=person)
    return render(
        request, "articles/person_detail.html", {"person": person, "articles": articles}
    )


# Search (issue 9): the view only; the mechanism is articles/search.py.
from django.core.paginator import Paginator  # noqa: E402
from django.views.decorators.cache import cache_control  # noqa: E402

from articles.search import MAX_QUERY_LENGTH, parse_query, search_articles  # noqa: E402

SEARCH_RESULTS_PER_PAGE = 20


# Private: results depend on arbitrary input, so no shared cache keeps them.
@cache_control(private=True)
def search(request):
    query = parse_query(request.GET.get("q"))
    paginator = Paginator(search_articles(query), SEARCH_RESULTS_PER_PAGE)
    return render(
        request,
        "articles/search.html",
        {
            "search_query": query,
            "page_obj": paginator.get_page(request.GET.get("page")),
            "max_query_length": MAX_QUERY_LENGTH,
        },
    )
