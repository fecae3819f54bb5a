from django.apps import AppConfig
from django.db.models.signals import post_migrate


class ArticlesConfig(AppConfig):
    name = "articles"
    verbose_name = "Newsroom content"

    def ready(self):
        from articles import search

        # Migrations that rebuild articles_article on SQLite drop its triggers.
        post_migrate.connect(search.repair_index, sender=self)
