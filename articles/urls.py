from django.urls import path

from articles import views

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
