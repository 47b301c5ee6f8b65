from django.apps import AppConfig


class DemoConfig(AppConfig):
    name = "kinfold.demo"
    label = "demo"
