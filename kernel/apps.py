from django.apps import AppConfig


class KernelConfig(AppConfig):
    name = "kernel"
    verbose_name = "Kernel: blocks and deliveries"

    def ready(self) -> None:
        from kernel.channels import EmailChannel
        from kernel.delivery import register_channel

        register_channel(EmailChannel())
