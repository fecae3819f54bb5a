"""The admin's article search: the site's full-text search, ranked, drafts too.

The mechanism is articles/search.py; this only plugs it into the change list
(and the autocompletes that search articles, such as a related link's target).
"""

from django.contrib.admin.views.main import ORDER_VAR, ChangeList

from articles.search import parse_query, ranked_matches


def search_results(articles, search_term):
    """What ModelAdmin.get_search_results returns: matches, best first."""
    if not search_term.strip():
        return articles, False
    return ranked_matches(parse_query(search_term), articles), False


class RankedChangeList(ChangeList):
    """While searching, the best match leads unless the editor sorts by a column."""

    def get_ordering(self, request, queryset):
        if self.query.strip() and ORDER_VAR not in self.params:
            return list(queryset.query.order_by)
        return super().get_ordering(request, queryset)
