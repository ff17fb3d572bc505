"""The ``producers`` group (DESIGN's fixed role name) with what producers may see and do in admin."""
from django.db import migrations


def create_group(apps, schema_editor):
    from django.contrib.auth.management import create_permissions

    from events.roles import sync_producers_group

    # Permissions are normally created after all migrations (post_migrate);
    # this migration needs them now.
    for label in ("events", "polls"):
        config = apps.get_app_config(label)
        config.models_module = True
        create_permissions(config, apps=apps, verbosity=0, using=schema_editor.connection.alias)
        config.models_module = None
    sync_producers_group(apps=apps, using=schema_editor.connection.alias)


class Migration(migrations.Migration):
    dependencies = [
        ("auth", "0012_alter_user_first_name_max_length"),
        ("contenttypes", "0002_remove_content_type_name"),
        ("events", "0003_keymoment_statssnapshot"),
        ("polls", "0001_initial"),
    ]

    operations = [migrations.RunPython(create_group, migrations.RunPython.noop)]
