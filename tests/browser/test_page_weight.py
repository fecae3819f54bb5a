"""The seed article with a 12-megapixel photo, as a phone loads it.

Lighthouse-style checks in Debian's Chromium: the bytes the page transfers
(document, CSS, images), no layout shift when the photo arrives, and a lead
image that is neither lazy-loaded nor without width and height.
"""

import shutil
from io import StringIO
from pathlib import Path

import pytest
from django.core.management import call_command

from articles.models import Article
from benchmarks.image_bench import realistic_photo

SEED = (
    Path(__file__).resolve().parents[2] / "fixtures/articles/000_0f23217bc585dcd4.txt"
)
PHONE = {"width": 375, "height": 812}
BUDGET_BYTES = 200 * 1024

# Run in the page once it has loaded: waits for the lead photo, then reads the
# transfer sizes of everything fetched and every layout shift so far.
MEASURE = """
async () => {
  const lead = document.querySelector("img.story-photo");
  if (!lead.complete) {
    await new Promise((done) => lead.addEventListener("load", done, {once: true}));
  }
  const shift = await new Promise((done) => {
    let total = 0;
    new PerformanceObserver((list) => {
      for (const entry of list.getEntries()) {
        if (!entry.hadRecentInput) total += entry.value;
      }
    }).observe({type: "layout-shift", buffered: true});
    // Buffered entries arrive in the first callback; none means no shift.
    setTimeout(() => done(total), 500);
  });
  const [navigation] = performance.getEntriesByType("navigation");
  return {
    document: navigation.transferSize,
    resources: performance.getEntriesByType("resource").map((entry) => ({
      url: entry.name, kind: entry.initiatorType, bytes: entry.transferSize,
    })),
    shift,
    lead: {
      loading: lead.getAttribute("loading"),
      fetchpriority: lead.getAttribute("fetchpriority"),
      width: lead.getAttribute("width"),
      height: lead.getAttribute("height"),
      currentSrc: lead.currentSrc,
    },
  };
}
"""


def import_seed_with_photo(folder):
    """The seed article imported as an editor would, with a photo beside it."""
    story = Path(folder) / SEED.name
    shutil.copy(SEED, story)
    story.with_suffix(".jpg").write_bytes(realistic_photo())
    call_command("import_articles", str(story), stdout=StringIO())
    return Article.objects.get()


def measure(page, path, viewport):
    """What the page transferred and how it behaved, loaded fresh at a width."""
    page.set_viewport_size(viewport)
    response = page.goto(path, wait_until="load")
    assert response.status == 200
    result = page.evaluate(MEASURE)
    result["total"] = result["document"] + sum(
        resource["bytes"] for resource in result["resources"]
    )
    return result


@pytest.fixture
def seed_article(transactional_db, tmp_path):
    return import_seed_with_photo(tmp_path)


def test_seed_article_with_a_photo_is_light_and_stable_on_a_phone(page, seed_article):
    result = measure(page, seed_article.get_absolute_url(), PHONE)

    images = [r for r in result["resources"] if "/media/" in r["url"]]
    styles = [r for r in result["resources"] if r["url"].endswith(".css")]
    # Every part was really fetched and counted (transferSize is 0 from a cache).
    assert result["document"] > 0
    assert styles and all(r["bytes"] > 0 for r in styles)
    assert len(images) == 1 and images[0]["bytes"] > 0
    # A phone gets a small modern rendition, not the 4000 px original.
    assert result["lead"]["currentSrc"].endswith(".avif")
    assert "-480x" in result["lead"]["currentSrc"]
    assert result["total"] < BUDGET_BYTES, result
    # Lighthouse: the lead image (LCP) is not lazy and reserves its space.
    assert result["lead"]["loading"] == "eager"
    assert result["lead"]["fetchpriority"] == "high"
    assert int(result["lead"]["width"]) > 0 and int(result["lead"]["height"]) > 0
    assert result["shift"] == 0
