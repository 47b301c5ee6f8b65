from django.apps import AppConfig


class DirectoryConfig(AppConfig):
    name = "kinfold.directory"
    label = "directory"
    verbose_name = "Service directory"
