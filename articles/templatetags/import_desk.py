"""The editors' start page: the latest import runs and the files they refused."""

from django import template

from articles.ingest.runs import ImportRun, ImportRunFile

register = template.Library()

LATEST = 5


@register.inclusion_tag("admin/includes/import_desk.html", takes_context=True)
def import_desk(context):
    user = context["request"].user
    if not user.has_perm("articles.view_importrun"):
        return {"show_imports": False}
    failures = ImportRunFile.objects.filter(
        outcome=ImportRunFile.Outcome.FAILED
    ).exclude(run__state=ImportRun.State.DRY_RUN)
    return {
        "show_imports": True,
        "latest_runs": list(
            ImportRun.objects.exclude(state=ImportRun.State.DRY_RUN)[:LATEST]
        ),
        "failure_count": failures.count(),
        "latest_failures": list(
            failures.select_related("run").order_by("-run__started_at", "-id")[:LATEST]
        ),
    }
