from django.contrib import admin
from django.urls import include, path

from articles.media import media_urlpatterns

admin.site.site_header = "Newsroom"
admin.site.site_title = "Newsroom admin"
admin.site.index_title = "Editorial desk"

urlpatterns = [
    path("admin/", admin.site.urls),
    path("", include("articles.urls")),
]
urlpatterns += media_urlpatterns()

# The 500 page renders from its template alone, without the database.
handler500 = "articles.views.server_error"
