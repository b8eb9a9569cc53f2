"""A realistic contact-reason taxonomy (Spanish and English) and one demo case."""

from typing import TextIO

from django.contrib.auth import get_user_model

from cases import services
from cases.models import Case, ContactReason, SavedReply, Team

TEAMS = [
    ("logistics", "Logística", "Logistics"),
    ("payments", "Pagos", "Payments"),
    ("care", "Atención al cliente", "Customer care"),
    ("accounts", "Cuentas y privacidad", "Accounts and privacy"),
]
# The person accountable for each team's reasons (the insights page and the weekly digest name
# them): one demo person each, staff without a password (nobody signs in as them).
OWNERS = {
    "logistics": ("lucia.moreno", "Lucía", "Moreno"),
    "payments": ("javier.ruiz", "Javier", "Ruiz"),
    "care": ("carmen.soto", "Carmen", "Soto"),
    "accounts": ("david.navarro", "David", "Navarro"),
}


def _demo_owner(team: str):
    username, first_name, last_name = OWNERS[team]
    person, created = get_user_model().objects.get_or_create(
        username=username,
        defaults={
            "first_name": first_name,
            "last_name": last_name,
            "email": f"{username}@example.com",
            "is_staff": True,
        },
    )
    if created:
        person.set_unusable_password()
        person.save(update_fields=["password"])
    return person


# (group code, es, en, [(code, es, en, team, first reply hours, resolution days, article keys)])
TAXONOMY = [
    (
        "orders",
        "Pedidos",
        "Orders",
        [
            (
                "order-change-cancel",
                "Quiero cambiar o cancelar un pedido",
                "I want to change or cancel an order",
                "logistics",
                4,
                1,
                ["change-or-cancel-order", "change-delivery-address"],
            ),
            (
                "order-stuck-preparing",
                "Mi pedido lleva días “En preparación”",
                "My order has been “Being prepared” for days",
                "logistics",
                8,
                2,
                ["order-statuses", "where-is-my-order"],
            ),
        ],
    ),
    (
        "delivery",
        "Entregas",
        "Delivery",
        [
            (
                "delivery-late",
                "El paquete llega tarde o el seguimiento no avanza",
                "The parcel is late or tracking does not move",
                "logistics",
                8,
                3,
                ["delivery-delayed", "where-is-my-order"],
            ),
            (
                "delivery-damaged",
                "El paquete llegó dañado",
                "The parcel arrived damaged",
                "logistics",
                8,
                3,
                ["damaged-package"],
            ),
            (
                "delivery-missing-item",
                "Falta un artículo o llegó otro distinto",
                "An item is missing or I got the wrong one",
                "logistics",
                8,
                3,
                ["missing-item", "wrong-item"],
            ),
            (
                "delivery-not-received",
                "Figura como entregado pero no lo tengo",
                "Marked as delivered but I do not have it",
                "logistics",
                8,
                5,
                ["delivered-but-not-received"],
            ),
        ],
    ),
    (
        "returns",
        "Devoluciones y reembolsos",
        "Returns and refunds",
        [
            (
                "return-request",
                "Quiero devolver o cambiar un artículo",
                "I want to return or exchange an item",
                "care",
                8,
                2,
                ["how-to-return", "exchange-size", "return-label-and-costs"],
            ),
            (
                "refund-not-received",
                "No me ha llegado el reembolso",
                "My refund has not arrived",
                "payments",
                8,
                3,
                ["refund-times"],
            ),
            (
                "warranty-faulty",
                "El producto no funciona (garantía)",
                "The product does not work (warranty)",
                "care",
                8,
                5,
                ["warranty-faulty-product"],
            ),
        ],
    ),
    (
        "payments",
        "Pagos y facturas",
        "Payments and invoices",
        [
            (
                "payment-failed-checkout",
                "El pago falla al finalizar la compra",
                "Payment fails at checkout",
                "payments",
                4,
                1,
                ["payment-declined", "payment-methods"],
            ),
            (
                "payment-charged-twice",
                "Me han cobrado dos veces",
                "I was charged twice",
                "payments",
                4,
                3,
                ["charged-twice"],
            ),
            (
                "invoice-request",
                "Necesito una factura",
                "I need an invoice",
                "payments",
                8,
                2,
                ["request-invoice"],
            ),
        ],
    ),
    (
        "account",
        "Cuenta y privacidad",
        "Account and privacy",
        [
            (
                "account-cannot-sign-in",
                "No puedo entrar en mi cuenta",
                "I cannot sign in to my account",
                "accounts",
                4,
                1,
                ["reset-password", "account-locked-login-code"],
            ),
            (
                "account-delete-data",
                "Borrar mi cuenta o mis datos (RGPD)",
                "Delete my account or my data (GDPR)",
                "accounts",
                8,
                5,
                ["delete-account-privacy", "change-personal-data"],
            ),
        ],
    ),
    (
        "existing-case",
        "Un caso que ya tengo",
        "A case I already have",
        [
            (
                "case-status",
                "¿Cómo va mi caso?",
                "How is my case going?",
                "care",
                8,
                1,
                ["check-case-status", "case-statuses", "lost-case-link"],
            ),
        ],
    ),
    (
        # Last in the list: whoever finds no reason that fits still has one to choose.
        "something-else",
        "Otra cosa",
        "Something else",
        [
            (
                "other",
                "Otro / ninguno de estos",
                "Other / none of these",
                "care",
                8,
                3,
                [],
            ),
        ],
    ),
]


# The desk's saved replies, per language, with the placeholders staff use most.
SAVED_REPLIES = [
    (
        "es",
        "Acuse de recibo",
        "Hola {customer_name}:\n\nGracias por escribirnos. Estamos revisando tu caso {reference} y te responderemos, como muy tarde, el {resolution_due}.\n\nPuedes seguirlo aquí: {case_link}",
    ),
    (
        "es",
        "Consulta con el transportista",
        "Hola {customer_name}:\n\nHemos abierto una consulta con el transportista sobre tu pedido. En cuanto nos conteste te escribimos aquí mismo: {case_link}",
    ),
    (
        "es",
        "Reembolso en camino",
        "Hola {customer_name}:\n\nYa hemos hecho el reembolso. El banco tarda de 5 a 10 días hábiles en mostrarlo en tu cuenta. Si pasado ese plazo no lo ves, responde a este mensaje.",
    ),
    (
        "en",
        "Acknowledgement",
        "Hello {customer_name},\n\nThank you for writing to us. We are looking into your case {reference} and will answer by {resolution_due}.\n\nYou can follow it here: {case_link}",
    ),
    (
        "en",
        "Asking the carrier",
        "Hello {customer_name},\n\nWe have asked the carrier about your order. We will write to you here as soon as they answer: {case_link}",
    ),
    (
        "en",
        "Refund on its way",
        "Hello {customer_name},\n\nWe have sent your refund. Your bank takes 5 to 10 working days to show it in your account. If it is not there by then, reply to this message.",
    ),
]


def load(stdout: TextIO) -> None:
    teams = {}
    for slug, name_es, name_en in TEAMS:
        teams[slug], _ = Team.objects.get_or_create(
            slug=slug, defaults={"name_es": name_es, "name_en": name_en}
        )
    owner = get_user_model().objects.filter(is_superuser=True).order_by("pk").first()
    owners = {team: _demo_owner(team) for team in OWNERS}
    for position, (group_code, group_es, group_en, reasons) in enumerate(TAXONOMY):
        group, _ = ContactReason.objects.get_or_create(
            code=group_code,
            defaults={"name_es": group_es, "name_en": group_en, "position": position},
        )
        for index, (code, name_es, name_en, team, hours, days, keys) in enumerate(reasons):
            reason, _ = ContactReason.objects.get_or_create(
                code=code,
                defaults={
                    "parent": group,
                    "position": index,
                    "name_es": name_es,
                    "name_en": name_en,
                    "team": teams[team],
                    "owner": owners[team],
                    "first_response_hours": hours,
                    "resolution_days": days,
                    "article_keys": keys,
                    "is_status_inquiry": code == "case-status",
                },
            )
            if reason.owner_id in (None, getattr(owner, "pk", None)):  # loaded before owners
                reason.owner = owners[team]
                reason.save(update_fields=["owner"])
            if reason.team_id is None:  # "other" comes from a migration, without a team
                reason.team = teams[team]
                reason.save(update_fields=["team"])
    for position, (language, title, body) in enumerate(SAVED_REPLIES):
        SavedReply.objects.get_or_create(
            language=language, title=title, defaults={"body": body, "position": position}
        )
    if not Case.objects.filter(customer_email="maria.garcia@example.com").exists():
        case = services.open_case(
            reason=ContactReason.objects.get(code="delivery-late"),
            customer_email="maria.garcia@example.com",
            customer_name="María García",
            language="es",
            subject="Mi pedido P-2381904 no avanza desde el lunes",
            description="El seguimiento dice 'En reparto' desde el lunes y no ha llegado nada.",
        )
        services.reply_to_customer(
            case=case,
            body="Hola María: hemos abierto una consulta con el transportista. Te escribimos en cuanto respondan.",
            actor=owner,
        )
        services.add_internal_note(
            case=case, body="Consulta abierta con el transportista, ref. TR-55102.", actor=owner
        )
        stdout.write(f"  cases: demo case {case.reference} for maria.garcia@example.com")
        stdout.write(f"         open it at {services.issue_access_link(case=case)}")
    stdout.write(
        f"  cases: {ContactReason.objects.count()} contact reasons, {Case.objects.count()} cases"
    )
