"""The demo in one language at a time: ``DEMO_LANGUAGE`` (pt-br by default, es, en) picks the
shop page, its currency and prices, the inboxes' names and greetings, the customers and their
conversations (setup_demo) and the canned answers (bot's load_demo_answers).

This is demo data written in each language, not interface text: the interface comes from the
catalogs in locale/ like everywhere else.
"""

from __future__ import annotations

from django.conf import settings

from .locale import customer_code

SHOP: dict[str, dict] = {
    "pt": {
        "currency": "BRL",
        "title": "Casa Verde — plantas e vasos",
        "nav": ["Plantas", "Vasos", "Guias de cuidado", "Carrinho (0)"],
        "hero": "Traga a floresta para casa",
        "hero_text": "Frete grátis acima de R$ 199. Dúvidas sobre entrega, trocas ou cuidados com as plantas? "
                     "Use o chat no canto.",
        "products": [
            ("Costela-de-adão (Monstera)", "Fácil, cresce rápido, gosta de luz indireta.", "149.90"),
            ("Cacto bola-de-ouro", "Regue uma vez por mês. Sério.", "79.00"),
            ("Jiboia 'Marble Queen'", "Pendente, resistente, purifica o ar.", "89.50"),
            ("Vaso de terracota, 20 cm", "Feito à mão, com furo de drenagem e pratinho.", "49.00"),
        ],
        "add_to_cart": "Adicionar ao carrinho",
        "orders_hint": "Esta loja de demonstração está conectada a uma loja com pedidos. Pergunte no chat "
                       "“cadê meu pedido?” e, quando ele pedir, responda “10241 ana.lima@example.com”.",
        "footer": "© Casa Verde — uma loja de demonstração do chat do site. Nada aqui está à venda.",
        "no_inbox": "Nenhum chat do site está ativo: crie uma caixa de entrada no admin (canal \"Chat do site\") "
                    "e recarregue.",
    },
    "es": {
        "currency": "MXN",
        "title": "Casa Verde — plantas y macetas",
        "nav": ["Plantas", "Macetas", "Guías de cuidado", "Carrito (0)"],
        "hero": "Lleva la selva a tu casa",
        "hero_text": "Envío gratis en compras desde $999. ¿Dudas sobre envíos, cambios o el cuidado de tus "
                     "plantas? Usa el chat de la esquina.",
        "products": [
            ("Monstera deliciosa", "Fácil, crece rápido y le gusta la luz indirecta.", "649.00"),
            ("Cactus asiento de suegra", "Riégalo una vez al mes. En serio.", "329.00"),
            ("Potus 'Marble Queen'", "Colgante, resistente, purifica el aire.", "389.00"),
            ("Maceta de barro, 20 cm", "Hecha a mano, con orificio de drenaje y plato.", "199.00"),
        ],
        "add_to_cart": "Agregar al carrito",
        "orders_hint": "Esta tienda de demostración está conectada a una tienda con pedidos. Pregunta en el chat "
                       "“¿dónde está mi pedido?” y, cuando te lo pida, responde “10241 ana.lima@example.com”.",
        "footer": "© Casa Verde — una tienda de demostración del chat web. Nada aquí está a la venta.",
        "no_inbox": "No hay ningún chat web activo: crea una bandeja de entrada en el admin (canal \"Chat web\") "
                    "y recarga la página.",
    },
    "en": {
        "currency": "USD",
        "title": "Casa Verde — plants and pots",
        "nav": ["Plants", "Pots", "Care guides", "Cart (0)"],
        "hero": "Bring the jungle home",
        "hero_text": "Free delivery on orders over $50. Questions about shipping, returns or plant care? "
                     "Use the chat in the corner.",
        "products": [
            ("Monstera deliciosa", "Easy, fast-growing, loves indirect light.", "34.90"),
            ("Golden barrel cactus", "Water once a month. Really.", "18.00"),
            ("Pothos 'Marble Queen'", "Trailing, forgiving, purifies the air.", "21.50"),
            ("Terracotta pot, 20 cm", "Hand-made, with drainage hole and saucer.", "12.00"),
        ],
        "add_to_cart": "Add to cart",
        "orders_hint": "The demo store is connected to a demo shop with orders. Ask the chat “where is my order?” "
                       "and, when it asks, answer “10241 ana.lima@example.com”.",
        "footer": "© Casa Verde — a demo shop for the support chat widget. Nothing here is for sale.",
        "no_inbox": "No web chat inbox is enabled yet: create one in the admin (channel kind \"Web chat\") and reload.",
    },
}

#: Per language: (name, channel kind, extra channel config) of each demo inbox.
INBOXES: dict[str, list[tuple[str, str, dict]]] = {
    "pt": [("Chat do site", "webchat", {}), ("WhatsApp +55 11 4000-1234", "whatsapp", {"template_language": "pt_BR"}),
           ("Página do Facebook", "messenger", {}), ("Instagram @casaverde.demo", "instagram", {}),
           ("atendimento@casaverde.example", "email", {})],
    "es": [("Chat del sitio", "webchat", {}), ("WhatsApp +52 55 4000 1234", "whatsapp", {"template_language": "es_MX"}),
           ("Página de Facebook", "messenger", {}), ("Instagram @casaverde.demo", "instagram", {}),
           ("soporte@casaverde.example", "email", {})],
    "en": [("Website chat", "webchat", {}), ("WhatsApp +1 555 0100", "whatsapp", {"template_language": "en_US"}),
           ("Facebook page", "messenger", {}), ("Instagram @casaverde.demo", "instagram", {}),
           ("support@casaverde.example", "email", {})],
}

WIDGET = {
    "pt": {"title": "Atendimento Casa Verde", "greeting": "Olá! 👋 Como podemos ajudar?"},
    "es": {"title": "Atención Casa Verde", "greeting": "¡Hola! 👋 ¿En qué podemos ayudarte?"},
    "en": {"title": "Casa Verde support", "greeting": "Hi! 👋 How can we help you today?"},
}

#: Per language: (channel kind, address, name, e-mail, subject, messages).
CONVERSATIONS: dict[str, list[tuple[str, str, str, str, str, list[str]]]] = {
    "pt": [
        ("whatsapp", "5511987650001", "Maria Souza", "", "",
         ["Oi! Comprei um vaso semana passada", "não recebi meu pedido ainda, o número é 10234"]),
        ("messenger", "2455501234567", "Rafael Costa", "", "", ["Oi, posso trocar o vaso por um maior?"]),
        ("instagram", "7300000000000001", "Júlia Prado", "", "", ["Oi! Vi a jiboia no story, ainda tem?"]),
        ("email", "juliana.alves@example.com", "Juliana Alves", "juliana.alves@example.com",
         "Cobrança em dobro no pedido #10198",
         ["Olá, fui cobrada duas vezes no pedido #10198. Vocês podem estornar um dos pagamentos?"]),
        ("webchat", "visitor-demo-1", "Ana Lima", "", "", ["Quais são as formas de pagamento?"]),
    ],
    "es": [
        ("whatsapp", "5215512340001", "Lucía Fernández", "", "",
         ["¡Hola! Compré unas macetas la semana pasada", "todavía no me llega mi pedido, el número es 10234"]),
        ("messenger", "2455501234567", "Diego Ramírez", "", "", ["Hola, ¿puedo cambiar la maceta por una más grande?"]),
        ("instagram", "7300000000000001", "Camila Rojas", "", "", ["¡Hola! Vi el potus en la historia, ¿todavía hay?"]),
        ("email", "valentina.gomez@example.com", "Valentina Gómez", "valentina.gomez@example.com",
         "Cobro doble en el pedido #10198",
         ["Hola, me cobraron dos veces el pedido #10198. ¿Pueden reembolsar uno de los pagos?"]),
        ("webchat", "visitor-demo-1", "Sofía Torres", "", "", ["¿Qué formas de pago aceptan?"]),
    ],
    "en": [
        ("whatsapp", "15555550101", "Emily Carter", "", "",
         ["Hi! I bought a cactus last week", "my order hasn't arrived yet, the number is 10234"]),
        ("messenger", "2455501234567", "Michael Brown", "", "", ["Hi, can I swap the pot for a bigger one?"]),
        ("instagram", "7300000000000001", "Jessica Lee", "", "", ["Hi! Saw the pothos in your story, still in stock?"]),
        ("email", "john.miller@example.com", "John Miller", "john.miller@example.com",
         "Charged twice for order #10198",
         ["Hi, I was charged twice for order #10198. Can you refund one of the payments?"]),
        ("webchat", "visitor-demo-1", "Sarah Davis", "", "", ["What payment methods do you accept?"]),
    ],
}


def demo_language() -> str:
    """The demo's customer code (pt, es, en) from ``settings.DEMO_LANGUAGE``."""
    return customer_code(getattr(settings, "DEMO_LANGUAGE", "") or settings.LANGUAGE_CODE)
