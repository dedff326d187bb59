"""Translators between shop platforms (Shopify, WooCommerce, Nuvemshop / Tiendanube) and the
normalized order dataclasses of ``base.py``. No database, no business rules: see docs/shops.md."""
