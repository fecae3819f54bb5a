"""The admin's article search: the site's full-text search, ranked, drafts too.

The mechanism is articles/search.py; this only plugs it into the change list
and into the autocompletes that search articles (a related link's target).
"""

from django.contrib.admin.views.main import ORDER_VAR, ChangeList

from articles.search import parse_query, ranked_matches


def search_results(articles, search_term):
    """What ModelAdmin.get_search_results returns: the matches, best first,
    unless the editor sorted the list by a column."""
    if not search_term.strip():
        return articles, False
    matches = ranked_matches(parse_query(search_term), articles)
    if articles.query.order_by:
        matches = matches.order_by(*articles.query.order_by)
    return matches, False


class RankedChangeList(ChangeList):
    """While searching, the best match leads unless a column is sorted.

    Django orders the change list before it searches: with no ordering of its
    own here, search_results' rank order stands.
    """

    def get_ordering(self, request, queryset):
        if self.query.strip() and ORDER_VAR not in self.params:
            return []
        return super().get_ordering(request, queryset)
