from django.urls import path

from articles import views

app_name = "articles"

urlpatterns = [
    path("", views.home, name="home"),
    path("articles/<slug:slug>/", views.article_detail, name="detail"),
    path("tags/<slug:slug>/", views.topic_detail, name="topic"),
    path("people/<slug:slug>/", views.person_detail, name="person"),
]

# Discovery: feeds and search (issue 9).
urlpatterns += [
    path("search/", views.search, name="search"),
]
