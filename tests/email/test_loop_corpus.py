"""Loop protection against public corpora: every bounce and auto-reply is machine mail, and no
mail a customer writes is (the bot must answer people, never robots)."""

from __future__ import annotations

from email.message import EmailMessage
from pathlib import Path

import pytest

from channels_adapters.email import EmailAdapter

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "email"
BOUNCES = sorted((FIXTURES / "bounces").glob("*.eml"))
PEOPLE = sorted(p for p in FIXTURES.glob("*.eml")
                if p.name.split("__")[0] in {"human", "gmail_reply", "outlook_reply", "apple_mail_reply",
                                              "thunderbird_reply", "outlook_original_message", "attachments",
                                              "html_only", "malformed", "no_message_id"})
ADAPTER = EmailAdapter({"address": "support@shop.test"})


def is_machine(raw: bytes) -> bool:
    """What the real entry point decides: a failed status for a bounce of ours, or an
    ``automated`` message that gets no automatic answer."""
    parsed = ADAPTER.parse_raw(raw)
    if parsed.statuses:
        return True
    return parsed.messages[0].automated


def mail(sender: str, subject: str, text: str = "Hello", **headers) -> bytes:
    msg = EmailMessage()
    msg["From"] = sender
    msg["To"] = "support@shop.test"
    msg["Subject"] = subject
    msg["Message-ID"] = "<m1@example.test>"
    for key, value in headers.items():
        msg[key.replace("_", "-")] = value
    msg.set_content(text)
    return msg.as_bytes()


def test_the_corpus_is_there():
    assert len(BOUNCES) >= 40 and len(PEOPLE) >= 10


@pytest.mark.parametrize("path", BOUNCES, ids=lambda p: p.name)
def test_every_public_bounce_is_machine_mail(path):
    assert is_machine(path.read_bytes())


MACHINE = [
    mail("MAILER-DAEMON", "Undelivered Mail Returned to Sender"),
    mail("Postmaster <>", "Undeliverable: hello"),
    mail("Mail Delivery System <>", "Warning: message delayed"),
    mail("Ana Souza <ana@customer.test>", "Auto reply: Pedido 123"),
    mail("Ana Souza <ana@customer.test>", "Automatic reply: Order 123"),
    mail("Ana Souza <ana@customer.test>", "Out of Office: Re: your order"),
    mail("Ana Souza <ana@customer.test>", "Out of Office AutoReply: hello"),
    mail("Ana Souza <ana@customer.test>", "Resposta automática: Re: Pedido 10234"),
    mail("Begoña <bego@cliente.test>", "Respuesta automática: Re: Pedido"),
    mail("Begoña <bego@cliente.test>", "RE: Respuesta automática: pedido"),
    mail("Renée <renee@client.test>", "Réponse automatique : commande"),
    mail("Jan <jan@kunde.test>", "Automatische Antwort: Bestellung"),
    mail("AWS Notifications <no-reply@sns.amazonaws.com>", "AWS Notification Message"),
    mail("bounces+123@eu-west-1.amazonses.com", "Notification"),
    mail("Loja <noreply@plataforma.test>", "Nova pergunta no seu anúncio"),
    mail("nao-responda@banco.test", "Aviso"),
    mail("AntiVirus Gateway <antivirus@mx.customer.test>", "Virus found in your message"),
    mail("MailScanner <mailscanner@gw.customer.test>", "Warning: e-mail viruses detected"),
    mail("Symantec_AntiVirus_for_SMTP_Gateways@corp.test", "Delivery failure notification"),
    mail("Sistema <sysadmin@corp.test>", "Delivery Failure",
         "Could not deliver message to the following recipient(s):\n\nFailed Recipient: ana@x.test\n"
         "Reason: Remote host said: 550 unknown user <ana@x.test>"),
    mail("IT <it@corp.test>", "Returned mail: see transcript for details",
         "The original message was received.\n   ----- The following addresses had permanent fatal errors -----\n"
         "<ana@x.test>\n    (reason: 550 5.1.1 User unknown)"),
]


@pytest.mark.parametrize("raw", MACHINE, ids=range(len(MACHINE)))
def test_auto_replies_null_senders_gateways_and_notifications_are_machine_mail(raw):
    assert is_machine(raw)


CUSTOMERS = [
    mail("Ana <ana@customer.test>", "Out of office chair broke after a week"),
    mail("Ana <ana@customer.test>", "Automatic replies on your site are not working"),
    mail("Ana <ana@customer.test>", "Re: Auto reply question"),
    mail("Ana <ana@customer.test>", "Delivery failure", "My package could not be delivered to my house, "
         "the courier said the address was wrong. Order 550 - can you check?"),
    mail("Ana <ana@customer.test>", "Returned mail order", "I returned it by mail: the app crashes on iOS 5.1.1 and 550 users said so."),
    mail("Ana <ana@customer.test>", "Pedido não entregue", "Meu pedido não foi entregue, o que faço?"),
    mail("Begoña <bego@cliente.test>", "No se pudo entregar mi pedido", "El repartidor no pudo entregar mi pedido."),
    mail("Begoña <bego@cliente.test>", "Respuesta sobre mi pedido", "¿Tienen respuesta automática? Gracias"),
    mail("Paulo Postmaster <paulo.postmaster@customer.test>", "Troca de tamanho"),
    mail("Noreen <noreen@customer.test>", "Reply about my order"),
    mail("Ana <ana@customer.test>", "Undeliverable address?", "Is my address undeliverable? It is Rua X 10."),
    mail("Virginia <virginia@customer.test>", "Mail delivery", "Can you deliver by mail to Chile?"),
    mail("Ana <ana@customer.test>", "Fw: Out of stock?", "Is the blue one out of stock?"),
]


@pytest.mark.parametrize("raw", CUSTOMERS, ids=range(len(CUSTOMERS)))
def test_customer_mail_is_never_machine_mail(raw):
    assert not is_machine(raw)


@pytest.mark.parametrize("path", PEOPLE, ids=lambda p: p.name)
def test_real_client_mails_are_not_machine_mail(path):
    assert not is_machine(path.read_bytes())
