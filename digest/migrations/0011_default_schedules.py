"""The periodic tasks' defaults (settings.CELERY_BEAT_SCHEDULE) written to django-celery-beat's
tables, each only where no task of that name exists: later edits in admin are kept."""

from django.db import migrations


def install(apps, schema_editor):
    from digest.ops.schedules import install_defaults

    install_defaults(
        apps.get_model("django_celery_beat", "PeriodicTask"),
        apps.get_model("django_celery_beat", "CrontabSchedule"),
    )


class Migration(migrations.Migration):
    dependencies = [
        ("digest", "0010_job_runs"),
        ("django_celery_beat", "0019_alter_periodictasks_options"),
    ]

    operations = [migrations.RunPython(install, migrations.RunPython.noop)]
