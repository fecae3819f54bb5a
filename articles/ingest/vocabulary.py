"""Adding the people and topics the importer recognises, from Django fixtures."""

from django.core import serializers
from django.core.serializers.base import DeserializationError
from django.db import transaction
from django.db.models import Q

from articles.ingest.formats import ImportRefused, os_reason
from articles.models import Person, Topic


def load_vocabulary_fixture(path):
    """Add the people and topics of a Django fixture that are not stored yet.

    An object counts as stored when one with the same slug or name exists; it is
    then left exactly as editors made it. Returns (added, kept).
    """
    added = kept = 0
    try:
        with open(path, "rb") as stream:
            objects = [item.object for item in serializers.deserialize("json", stream)]
    except OSError as error:
        raise ImportRefused(os_reason(error)) from None
    except DeserializationError as error:
        reason = str(error).strip().splitlines()[0]
        raise ImportRefused(f"not a valid fixture: {reason}") from None
    with transaction.atomic():
        for obj in objects:
            model = type(obj)
            if model not in (Person, Topic):
                raise ImportRefused(
                    f"holds a {model._meta.label}; only people and topics are loaded"
                )
            stored = model.objects.filter(Q(slug=obj.slug) | Q(name=obj.name))
            if stored.exists():
                kept += 1
                continue
            # A fresh primary key: a fixed one could overwrite an editor's row.
            obj.pk = None
            obj.save()
            added += 1
    return added, kept
