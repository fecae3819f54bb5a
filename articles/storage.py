"""Media in an S3 bucket, shared by every app server (MEDIA_S3_BUCKET)."""

from storages.backends.s3 import S3Storage

from articles.media import cache_control


class MediaS3Storage(S3Storage):
    """S3 storage that sends the same cache rules as the app's own media view."""

    def get_object_parameters(self, name):
        parameters = super().get_object_parameters(name)
        parameters.setdefault("CacheControl", cache_control(name))
        return parameters
