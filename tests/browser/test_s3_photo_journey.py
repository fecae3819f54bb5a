"""A reader's browser loads photos from the S3 bucket (moto) under the site's
Content-Security-Policy: img-src names the bucket's origin, and only it."""

from tests import test_s3_storage
from tests.browser.checks import watch_for_problems
from tests.services import Site
from tests.test_s3_storage import CREDENTIALS, REGION
from tests.test_security import csp_directives

# moto's S3 server and a fresh public bucket, as tests/test_s3_storage.py has them.
s3_endpoint = test_s3_storage.s3_endpoint
s3_client = test_s3_storage.s3_client
bucket = test_s3_storage.bucket

STORY_WITH_A_PHOTO = """
import io, PIL.Image
from django.core.files.base import ContentFile
from articles.models import Article, Image
from articles.tasks import make_missing_renditions
output = io.BytesIO()
PIL.Image.new('RGB', (1200, 800), (200, 80, 40)).save(output, 'JPEG')
photo = Image.objects.create(
    file=ContentFile(output.getvalue(), name='harbour.jpg'),
    alt_text='The harbour at dawn',
)
make_missing_renditions(photo)  # what the task worker does after an upload
Article.objects.create(
    headline='Harbour reopens', slug='harbour-reopens', body='Text.',
    status='published', lead_image=photo,
)
"""


def test_photo_from_the_bucket_loads_with_no_csp_violation(
    page, tmp_path, prepared_site, s3_endpoint, bucket
):
    site = Site.from_prepared(
        tmp_path,
        prepared_site,
        MEDIA_S3_BUCKET=bucket,
        MEDIA_S3_ENDPOINT_URL=s3_endpoint,
        MEDIA_S3_REGION=REGION,
        AWS_ACCESS_KEY_ID=CREDENTIALS["access_key"],
        AWS_SECRET_ACCESS_KEY=CREDENTIALS["secret_key"],
    )
    site.shell(STORY_WITH_A_PHOTO)
    with site.server(workers=1) as server:
        problems = watch_for_problems(page)  # a CSP violation is a console error
        response = page.goto(
            f"http://127.0.0.1:{server.port}/articles/harbour-reopens/"
        )
        assert response.status == 200
        policy = csp_directives(response.headers["content-security-policy"])
        assert policy["img-src"] == ["'self'", "data:", s3_endpoint]
        page.wait_for_function(
            "() => document.querySelector('img.story-photo')?.complete"
        )
        photo = page.locator("img.story-photo")
        assert photo.evaluate("img => img.currentSrc").startswith(
            f"{s3_endpoint}/{bucket}/images/renditions/"
        )
        assert photo.evaluate("img => img.naturalWidth") > 0
        problems.assert_none()
