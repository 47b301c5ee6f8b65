from django.apps import AppConfig


class OrganizationsConfig(AppConfig):
    name = "kinfold.organizations"
    label = "organizations"
    verbose_name = "Organisations"
