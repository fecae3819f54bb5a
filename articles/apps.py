from django.apps import AppConfig
from django.db.models.signals import post_migrate


class ArticlesConfig(AppConfig):
    name = "articles"
    verbose_name = "Newsroom content"

    def ready(self):
        # Receivers that must run however a change arrives (admin, import, code).
        from articles import (  # noqa: F401
            conflicts,
            history,
            redirects,
            search,
            signals,
        )
        from articles.models import Article, Author, Person, Topic

        redirects.connect_signals(Article, Topic, Person, Author)
        signals.connect(self)
        # Migrations that rebuild articles_article on SQLite drop its triggers.
        post_migrate.connect(search.repair_index, sender=self)
