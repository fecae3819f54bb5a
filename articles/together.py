"""Rows of QuerySets of different models in one query, as model instances.

For a page that needs a few short lists of different things at once (a
story's topics, people, links and corrections): one round trip instead of
one each. The rows are joined by UNION ALL; each QuerySet has columns of its
own (NULLs in the others' rows), so no two models' field types have to
agree, and each keeps its own order by a row number.
"""

from django.db.models import F, IntegerField, Value, Window
from django.db.models.functions import Cast, RowNumber


def fetch_together(parts):
    """{name: [instances]} for parts, a dict of name -> QuerySet: each
    instance with the concrete fields of its model the QuerySet loads (all
    but those only() or defer() leave out), and its annotations as
    attributes."""
    if not parts:
        return {}
    querysets = list(parts.values())
    layouts = [_layout(index, queryset) for index, queryset in enumerate(querysets)]
    every_column = [column for layout in layouts for column in layout]
    selected = [
        queryset.annotate(
            part=Value(index, output_field=IntegerField()),
            rank=Window(RowNumber(), order_by=_ordering(queryset)),
            **{
                alias: expression if owner == index else _null(field, index)
                for owner, alias, expression, field in every_column
            },
        )
        .order_by()  # the rank keeps it; parts of a UNION may have no ORDER BY
        .values_list("part", "rank", *(column[1] for column in every_column))
        for index, queryset in enumerate(querysets)
    ]
    rows = selected[0].union(*selected[1:], all=True) if selected[1:] else selected[0]
    # Where each part's columns start in a row (after part and rank).
    starts = [sum(map(len, layouts[:index])) for index in range(len(layouts) + 1)]
    names = list(parts)
    found = {name: [] for name in names}
    for part, _rank, *values in sorted(rows, key=lambda row: row[:2]):
        found[names[part]].append(
            _instance(querysets[part], values[starts[part] : starts[part + 1]])
        )
    return found


def _loaded_fields(queryset):
    """The concrete fields of the QuerySet's model it loads."""
    mask = queryset.query.get_select_mask()
    return [
        field
        for field in queryset.model._meta.concrete_fields
        if not mask or field in mask
    ]


def _layout(index, queryset):
    """(owner, alias, expression, output field) for each column of a part:
    the fields it loads, then its annotations."""
    columns = [
        (index, f"p{index}_{field.attname}", F(field.attname), field)
        for field in _loaded_fields(queryset)
    ]
    columns += [
        (index, f"p{index}_{name}", F(name), annotation.output_field)
        for name, annotation in queryset.query.annotations.items()
    ]
    return columns


def _null(field, index):
    # PostgreSQL types the columns of a UNION from its parts pairwise, the
    # first two first: typed NULLs in the first part stand for the rest.
    null = Value(None, output_field=field)
    return Cast(null, field) if index == 0 else null


def _ordering(queryset):
    ordering = queryset.query.order_by or queryset.model._meta.ordering
    return [
        F(name[1:]).desc() if name.startswith("-") else F(name).asc()
        for name in ordering
    ]


def _instance(queryset, values):
    model = queryset.model
    fields = _loaded_fields(queryset)
    instance = model.from_db(
        queryset.db, [field.attname for field in fields], values[: len(fields)]
    )
    for name, value in zip(
        queryset.query.annotations, values[len(fields) :], strict=True
    ):
        setattr(instance, name, value)
    return instance
