"""Write nginx's share of the site's settings: the upload limit and its page.

deploy/nginx/newsroom.conf includes the file this writes, so nginx refuses
exactly the uploads the app would (NEWSROOM_UPLOAD_MAX_MB), with a copy of the
app's own 413 page instead of nginx's bare one. Run it after collectstatic
(the page links the collected stylesheet) and whenever the limit changes,
then reload nginx.
"""

from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from newsroom.http import request_too_large

LIMITS_CONF = """\
# Written by `manage.py nginx_limits` from NEWSROOM_UPLOAD_MAX_MB (a photo, plus
# 1 MB for its form): do not edit, run the command again. Included by
# deploy/nginx/newsroom.conf.
client_max_body_size {request_max_mb}m;
error_page 413 /_newsroom/413.html;
location = /_newsroom/413.html {{
    internal;
    default_type text/html;
    alias {page};
}}
"""


class Command(BaseCommand):
    help = (
        "Write nginx's upload limit (client_max_body_size) and a copy of the "
        "site's 413 page into VAR_DIR/nginx/, for deploy/nginx/newsroom.conf."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--output-dir",
            type=Path,
            default=settings.VAR_DIR / "nginx",
            help="Where to write limits.conf and 413.html (default: var/nginx/).",
        )

    def handle(self, *args, output_dir, **options):
        output_dir = output_dir.resolve()
        output_dir.mkdir(parents=True, exist_ok=True)
        page = output_dir / "413.html"
        try:
            content = request_too_large().content
        except ValueError as error:  # the static manifest is not there yet
            raise CommandError(f"Run collectstatic first: {error}") from None
        page.write_bytes(content)
        conf = output_dir / "limits.conf"
        conf.write_text(
            LIMITS_CONF.format(request_max_mb=settings.REQUEST_MAX_MB, page=page)
        )
        if options["verbosity"]:
            self.stdout.write(
                self.style.SUCCESS(
                    f"wrote {conf} (client_max_body_size "
                    f"{settings.REQUEST_MAX_MB}m) and {page}"
                )
            )
