"""Create the demo shop's canned answers in the demo's language (``--language pt|es|en``,
default ``DEMO_LANGUAGE``; ``--language all`` loads every language). Idempotent: answers are
found by title and language, and an existing one is brought back to the demo text and variants."""

from __future__ import annotations

from django.core.management.base import BaseCommand
from django.db import transaction

from bot import services
from bot.models import LANGUAGE_CODES, CannedAnswer
from inbox.demo_content import demo_language

# (locale, title, tags, answer, variants)
DEMO_ANSWERS: list[tuple[str, str, str, str, list[str]]] = [
    ("pt", "Rastrear meu pedido", "pedidos,entrega",
     "Oi {{contact.first_name}}! Você acompanha seu pedido em Minha conta › Pedidos, com o código de "
     "rastreio que enviamos por e-mail. Se o prazo já passou, responda aqui com o número do pedido.",
     ["não recebi meu pedido", "onde está meu pedido", "cadê minha encomenda", "código de rastreio",
      "como rastrear o pedido", "meu pedido está atrasado", "rastreamento da entrega"]),
    ("pt", "Trocas e devoluções", "trocas,devolucao",
     "Você tem 30 dias após o recebimento para trocar ou devolver. Abra a solicitação em Minha conta › "
     "Pedidos › Trocar ou devolver; a postagem nos Correios é grátis.",
     ["quero trocar um produto", "como faço para devolver", "política de troca", "quero devolver o pedido",
      "trocar tamanho", "devolução e reembolso"]),
    ("pt", "Frete e prazo de entrega", "entrega,frete",
     "O frete é calculado no carrinho pelo CEP. Acima de R$ 199 é grátis. O prazo é de 2 a 8 dias úteis "
     "conforme a região.",
     ["quanto custa o frete", "qual o prazo de entrega", "frete grátis", "quanto tempo demora para chegar",
      "valor do frete para meu cep", "vocês entregam na minha cidade"]),
    ("pt", "Formas de pagamento", "pagamento",
     "Aceitamos Pix (5% de desconto), boleto bancário (vence em 3 dias), cartão de crédito em até 6x sem "
     "juros e cartão de débito.",
     ["quais as formas de pagamento", "posso pagar com pix", "aceita boleto", "parcelamento no cartão",
      "pagar no débito", "tem desconto no pix"]),
    ("pt", "Horário de atendimento", "atendimento",
     "Nosso atendimento funciona de segunda a sexta, das 9h às 18h, e sábado das 9h às 13h.",
     ["qual o horário de atendimento", "que horas vocês abrem", "vocês atendem no sábado",
      "horário de funcionamento", "até que horas atendem"]),
    ("pt", "Tabela de tamanhos", "produtos,tamanhos",
     "Cada produto tem a tabela de medidas na página, abaixo do botão Comprar. Na dúvida entre dois "
     "tamanhos, recomendamos o maior.",
     ["qual tamanho devo escolher", "tabela de medidas", "guia de tamanhos", "o tamanho m serve em mim",
      "a numeração é normal ou pequena"]),
    ("pt", "Cancelar pedido", "pedidos,cancelamento",
     "Se o pedido ainda não foi enviado, cancele em Minha conta › Pedidos › Cancelar. O estorno no cartão "
     "aparece em até 2 faturas; no Pix, em até 24 horas.",
     ["quero cancelar meu pedido", "como cancelo a compra", "cancelamento de pedido",
      "desistir da compra", "estorno do pagamento"]),
    ("pt", "Nota fiscal", "pedidos,nota fiscal",
     "A nota fiscal é enviada por e-mail quando o pedido é despachado e também fica em Minha conta › Pedidos.",
     ["preciso da nota fiscal", "onde encontro a nota fiscal", "não recebi a nota fiscal", "segunda via da nf",
      "emitir nota fiscal com cnpj"]),
    ("pt", "Garantia", "produtos,garantia",
     "Todos os produtos têm 90 dias de garantia contra defeitos de fabricação. Envie fotos do defeito aqui "
     "que abrimos o atendimento.",
     ["o produto veio com defeito", "qual a garantia", "produto quebrado", "acionar a garantia",
      "meu produto estragou"]),
    ("pt", "Cupom de desconto", "promocoes,cupom",
     "Use o cupom no carrinho, campo Cupom de desconto. Só um cupom por pedido; ele não vale junto com o "
     "desconto do Pix.",
     ["tenho um cupom de desconto", "meu cupom não funciona", "como usar cupom", "tem cupom de primeira compra",
      "código promocional inválido"]),
    ("es", "Rastrear mi pedido", "pedidos,envio",
     "¡Hola {{contact.first_name}}! Puedes seguir tu pedido en Mi cuenta › Pedidos con el código de "
     "seguimiento que te enviamos por correo.",
     ["no recibí mi pedido", "dónde está mi pedido", "código de seguimiento", "mi pedido no llega",
      "cómo rastreo mi paquete", "mi pedido está retrasado"]),
    ("es", "Cambios y devoluciones", "cambios,devolucion",
     "Tienes 30 días desde la entrega para cambiar o devolver. Solicítalo en Mi cuenta › Pedidos › Cambiar "
     "o devolver.",
     ["quiero devolver un producto", "cómo hago un cambio", "política de devoluciones", "cambiar la talla",
      "reembolso de mi compra"]),
    ("es", "Formas de pago", "pago",
     "Aceptamos tarjeta de crédito y débito, transferencia bancaria y pago en efectivo en puntos autorizados.",
     ["qué formas de pago aceptan", "puedo pagar con tarjeta", "pago en efectivo", "aceptan transferencia",
      "pagar en cuotas"]),
    ("es", "Envío y plazos de entrega", "envio",
     "El envío se calcula en el carrito con tu código postal y es gratis en compras desde $999. La entrega "
     "tarda de 2 a 8 días hábiles.",
     ["cuánto cuesta el envío", "cuánto tarda en llegar", "envío gratis", "hacen envíos a mi ciudad",
      "cuál es el plazo de entrega"]),
    ("es", "Horario de atención", "atencion",
     "Atendemos de lunes a viernes de 9 a 18 h y los sábados de 9 a 13 h.",
     ["cuál es el horario de atención", "a qué hora abren", "atienden los sábados", "horario de servicio"]),
    ("es", "Cancelar pedido", "pedidos,cancelacion",
     "Si tu pedido todavía no se envió, cancélalo en Mi cuenta › Pedidos › Cancelar. El reembolso a la "
     "tarjeta puede tardar hasta dos cortes.",
     ["quiero cancelar mi pedido", "cómo cancelo mi compra", "cancelación de pedido", "me arrepentí de la compra"]),
    ("en", "Track my order", "orders,shipping",
     "Hi {{contact.first_name}}! You can track your order under My account › Orders with the tracking code "
     "we emailed you.",
     ["where is my order", "I didn't receive my order", "tracking number", "my order is late",
      "how do I track my package", "order not arrived yet"]),
    ("en", "Returns and exchanges", "returns",
     "You have 30 days after delivery to return or exchange an item. Start it under My account › Orders › "
     "Return or exchange.",
     ["how do I return an item", "I want to exchange for another size", "return policy", "can I get a refund",
      "send the product back"]),
    ("en", "Payment methods", "payment",
     "We accept credit and debit cards, PayPal and Apple Pay.",
     ["what payment methods do you accept", "can I pay with PayPal", "do you take credit cards",
      "can I pay in installments", "payment options"]),
    ("en", "Opening hours", "support",
     "Our team answers Monday to Friday, 9 am to 6 pm, and Saturday 9 am to 1 pm.",
     ["what are your opening hours", "when are you open", "are you open on saturday", "support hours"]),
    ("en", "Shipping costs and times", "shipping",
     "Shipping is calculated at checkout from your postcode and is free above $50. Delivery takes 2 to 8 "
     "business days.",
     ["how much is shipping", "how long does delivery take", "free shipping", "when will it arrive",
      "do you ship to my city"]),
]


class Command(BaseCommand):
    help = "Create the demo shop's canned answers in the demo language (idempotent)."

    def add_arguments(self, parser):
        parser.add_argument("--language", default="", choices=["", "all", *LANGUAGE_CODES],
                            help="pt, es, en or all (default: DEMO_LANGUAGE).")

    @transaction.atomic
    def handle(self, *args, **options):
        language = options["language"] or demo_language()
        created = updated = 0
        for locale, title, tags, text, variants in DEMO_ANSWERS:
            if language != "all" and locale != language:
                continue
            answer = CannedAnswer.objects.filter(title=title, locale=locale).first()
            if answer is None:
                services.answer_create(title=title, text=text, locale=locale, tags=tags, variants=variants)
                created += 1
            else:
                services.answer_update(answer=answer, text=text, tags=tags, active=True, variants=variants)
                updated += 1
        self.stdout.write(f"Demo answers: {created} created, {updated} updated.")
