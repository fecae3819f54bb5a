from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("articles", "0016_body_bands"),
    ]

    operations = [
        migrations.AddField(
            model_name="pagegeneration",
            name="changes",
            field=models.BigIntegerField(
                default=0,
                help_text="Counts every content change; a page rendered while it "
                "moved is not stored (articles/delivery/keys.py).",
            ),
        ),
        migrations.AddField(
            model_name="pagegeneration",
            name="last_deadline",
            field=models.FloatField(
                help_text="Unix time of the last scheduled change that has come: "
                "pages count as modified then, though nobody saved anything.",
                null=True,
            ),
        ),
        migrations.CreateModel(
            name="PageKey",
            fields=[
                (
                    "key",
                    models.CharField(max_length=100, primary_key=True, serialize=False),
                ),
                ("version", models.CharField(max_length=32)),
                (
                    "changed_at",
                    models.FloatField(
                        help_text="Unix time of the change that wrote this version."
                    ),
                ),
            ],
        ),
    ]
