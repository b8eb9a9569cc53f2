import re

from django.db import migrations, models


def reasons_to_codes(apps, schema_editor):
    """The two sentences ever stored (in Spanish or English) become their code; anything
    else is kept as written, shown as it is."""
    Endpoint = apps.get_model("webhooks", "Endpoint")
    for endpoint in Endpoint.objects.exclude(disabled_reason=""):
        text = endpoint.disabled_reason
        hours = re.search(r"(\d+)", text)
        if text in ("disabled by staff", "desactivado por el equipo"):
            code, params = "staff", {}
        elif hours and text.startswith(("every delivery failed", "todas las entregas fallaron")):
            code, params = "failing", {"hours": int(hours.group(1))}
        else:
            code, params = "", {"text": text}
        Endpoint.objects.filter(pk=endpoint.pk).update(
            disabled_reason_code=code, disabled_reason_params=params
        )


def codes_to_reasons(apps, schema_editor):
    Endpoint = apps.get_model("webhooks", "Endpoint")
    for endpoint in Endpoint.objects.exclude(disabled_at=None):
        params = endpoint.disabled_reason_params or {}
        text = {
            "staff": "disabled by staff",
            "failing": f"every delivery failed for {params.get('hours', 24)} hours",
        }.get(endpoint.disabled_reason_code, params.get("text", ""))
        Endpoint.objects.filter(pk=endpoint.pk).update(disabled_reason=text[:200])


class Migration(migrations.Migration):

    dependencies = [
        ('webhooks', '0001_initial'),
    ]

    operations = [
        migrations.AddField(
            model_name='endpoint',
            name='disabled_reason_code',
            field=models.CharField(blank=True, choices=[('failing', 'Every delivery failed for a day'), ('staff', 'Disabled by staff')], max_length=20, verbose_name='why disabled'),
        ),
        migrations.AddField(
            model_name='endpoint',
            name='disabled_reason_params',
            field=models.JSONField(blank=True, default=dict, editable=False),
        ),
        migrations.AddField(
            model_name='endpoint',
            name='language',
            field=models.CharField(choices=[('es', 'Spanish'), ('en', 'English')], default='es', help_text='The owner is written to in this language.', max_length=2, verbose_name='language of its emails'),
        ),
        migrations.RunPython(reasons_to_codes, codes_to_reasons, elidable=True),
        migrations.RemoveField(
            model_name='endpoint',
            name='disabled_reason',
        ),
    ]
