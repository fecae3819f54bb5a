from django.urls import path

from articles import feeds, views

app_name = "articles"

urlpatterns = [
    path("", views.home, name="home"),
    path("articles/<slug:slug>/", views.article_detail, name="detail"),
    path("tags/", views.topic_list, name="topics"),
    path("tags/<slug:slug>/", views.topic_detail, name="topic"),
    path("people/", views.person_list, name="people"),
    path("people/<slug:slug>/", views.person_detail, name="person"),
    path("favicon.ico", views.favicon, name="favicon"),
]

# Discovery: feeds and search (issue 9).
urlpatterns += [
    path("feeds/rss/", feeds.site_rss, name="feed_rss"),
    path("feeds/atom/", feeds.site_atom, name="feed_atom"),
    path("tags/<slug:slug>/feed/rss/", feeds.topic_rss, name="topic_feed_rss"),
    path("tags/<slug:slug>/feed/atom/", feeds.topic_atom, name="topic_feed_atom"),
    path("people/<slug:slug>/feed/rss/", feeds.person_rss, name="person_feed_rss"),
    path("people/<slug:slug>/feed/atom/", feeds.person_atom, name="person_feed_atom"),
    path("search/", views.search, name="search"),
]

# Corrections and clarifications (issue 12).
urlpatterns += [
    path("corrections/", views.correction_list, name="corrections"),
    path("corrections/feed/rss/", feeds.corrections_rss, name="corrections_feed_rss"),
    path(
        "corrections/feed/atom/", feeds.corrections_atom, name="corrections_feed_atom"
    ),
]

# Authors and bylines (issue 19).
urlpatterns += [
    path("authors/<slug:slug>/", views.author_detail, name="author"),
    path("authors/<slug:slug>/feed/rss/", feeds.author_rss, name="author_feed_rss"),
    path("authors/<slug:slug>/feed/atom/", feeds.author_atom, name="author_feed_atom"),
]
