from django.apps import AppConfig


class ChannelsAdaptersConfig(AppConfig):
    name = "channels_adapters"
    verbose_name = "Channel adapters"
