from django.apps import AppConfig


class ArticlesConfig(AppConfig):
    name = "articles"
    verbose_name = "Newsroom content"

    def ready(self):
        # Receivers that must run however a change arrives (admin, import, code).
        from articles import history, redirects  # noqa: F401
        from articles.models import Article, Person, Topic

        redirects.connect_signals(Article, Topic, Person)
