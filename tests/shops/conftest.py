import pytest
from django.urls import clear_url_caches


@pytest.fixture(autouse=True)
def _shop_urls(settings):
    settings.ROOT_URLCONF = "tests.shops.urlconf"
    clear_url_caches()
    yield
    clear_url_caches()
