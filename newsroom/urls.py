from django.contrib import admin
from django.urls import include, path
from django.views.generic import TemplateView

from articles import sitemaps
from articles.delivery import keys
from articles.media import media_urlpatterns
from newsroom import password_reset
from newsroom.health import healthz

admin.site.site_header = "Newsroom"
admin.site.site_title = "Newsroom admin"
admin.site.index_title = "Editorial desk"


urlpatterns = [
    # Before the admin's own URLs, whose catch-all would answer them.
    *password_reset.urlpatterns,
    path("admin/", admin.site.urls),
    path("healthz", healthz, name="healthz"),
    path("", include("articles.urls")),
]

# Discovery: sitemaps and robots.txt, all with absolute SITE_URL locations (issue 9).
urlpatterns += [
    path("sitemap.xml", sitemaps.index, name="sitemap_index"),
    path(
        "sitemap-news.xml",
        sitemaps.section,
        {
            "sitemaps": {"news": sitemaps.NewsSitemap},
            "template_name": "sitemaps/news.xml",
        },
        name="sitemap_news",
    ),
    path(
        "sitemap-<slug:section>.xml",
        sitemaps.section,
        {"sitemaps": sitemaps.SECTIONS},
        name="sitemap_section",
    ),
    path(
        "robots.txt",
        keys.shows(keys.SITE)(
            TemplateView.as_view(template_name="robots.txt", content_type="text/plain")
        ),
        name="robots_txt",
    ),
]
urlpatterns += media_urlpatterns()

# The 500 page renders from its template alone, without the database.
handler500 = "articles.views.server_error"
# A form over the upload limit gets the 413 page, as a too-large body does.
handler400 = "newsroom.http.bad_request"
