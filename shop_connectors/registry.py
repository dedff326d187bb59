"""Which connector class serves which platform, chosen by settings like Django's mail backends.

``settings.SHOP_CONNECTORS`` maps a platform (``shopify``, ``woocommerce``, ``nuvemshop``) to
a dotted class path, merged over the defaults. Read lazily, so tests can override it.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from django.conf import settings
from django.utils.module_loading import import_string

from .base import BaseShopConnector

DEFAULT_CONNECTORS = {
    "shopify": "shop_connectors.shopify.ShopifyConnector",
    "woocommerce": "shop_connectors.woocommerce.WooCommerceConnector",
    "nuvemshop": "shop_connectors.nuvemshop.NuvemshopConnector",
}


def connector_class_for(platform: str) -> type[BaseShopConnector]:
    paths = {**DEFAULT_CONNECTORS, **getattr(settings, "SHOP_CONNECTORS", {})}
    try:
        return import_string(paths[platform])
    except KeyError:
        raise LookupError(f"no shop connector is registered for {platform!r}") from None


def build_connector(platform: str, config: Mapping[str, Any]) -> BaseShopConnector:
    return connector_class_for(platform)(config)
