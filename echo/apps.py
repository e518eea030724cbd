from django.apps import AppConfig


class EchoConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "echo"
    verbose_name = "Audio echo"

    def ready(self) -> None:
        from . import checks  # noqa: F401  (registers the system checks)
