"""Moved to articles/delivery/ (issue 20); kept so branches in flight still import."""

from articles.delivery.keys import (  # noqa: F401
    current_generation,
    invalidate_pages,
    invalidation_batch,
)
