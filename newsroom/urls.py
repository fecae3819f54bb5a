from django.contrib import admin
from django.urls import include, path

from newsroom.health import healthz

admin.site.site_header = "Newsroom"
admin.site.site_title = "Newsroom admin"
admin.site.index_title = "Editorial desk"

urlpatterns = [
    path("admin/", admin.site.urls),
    path("healthz", healthz, name="healthz"),
    path("", include("articles.urls")),
]
