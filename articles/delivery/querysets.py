"""QuerySet writes that send no signals still bump the delivery keys.

`QuerySet.update()` and `bulk_create()` skip post_save; the models readers see
use this QuerySet, so `Topic.objects.filter(...).update(name=...)` reaches
the pages that show the topic like a save does.
"""

from django.db import models, transaction

# Bookkeeping columns no reader page shows.
UNSHOWN_FIELDS = frozenset({"version", "updated_at"})


class ChangeAwareQuerySet(models.QuerySet):
    def update(self, **kwargs):
        if set(kwargs) <= UNSHOWN_FIELDS:
            return super().update(**kwargs)
        from articles.delivery import changes, keys

        with transaction.atomic(using=self.db), keys.invalidation_batch():
            rows = list(self._chain())
            count = super().update(**kwargs)
            for row in rows:
                # Its state before the update; any shown field may have moved.
                row._delivery_state = None
                changes.saved(self.model, row, self.db)
        return count

    def bulk_create(self, objs, *args, **kwargs):
        from articles.delivery import changes, keys

        with transaction.atomic(using=self.db), keys.invalidation_batch():
            created = super().bulk_create(objs, *args, **kwargs)
            for row in created:
                changes.saved(self.model, row, self.db, created=True)
        return created
