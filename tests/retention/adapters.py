"""Test adapters: the in-memory adapter, with the 24-hour window of WhatsApp and Messenger."""

from channels_adapters.locmem import LocmemAdapter


class WindowedLocmemAdapter(LocmemAdapter):
    window_hours = 24
