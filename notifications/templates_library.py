"""Starting points for the staff composer: each kind of notice with its text half written."""

from django.utils.translation import gettext_lazy as _

from notifications.models import Announcement

STARTING_POINTS = {
    "holiday": {
        "label": _("Holiday hours"),
        "fields": {
            "kind": Announcement.Kind.HOLIDAY,
            "severity": Announcement.Severity.INFO,
            "title_es": "Horario especial: …",
            "title_en": "Special hours: …",
            "body_es": (
                "El **…** nuestro equipo de atención no trabaja. Los mensajes que nos envíes ese día "
                "se responderán a partir del **…** a las 09:00.\n\nPuedes consultar el estado de tus "
                "casos en cualquier momento en [Consultar mi caso](/cases/find/)."
            ),
            "body_en": (
                "On **…** our support team is off. Messages sent that day will be answered from "
                "**…** at 09:00.\n\nYou can check your cases at any time at [Check my case](/cases/find/)."
            ),
        },
    },
    "incident": {
        "label": _("Outage or incident"),
        "fields": {
            "kind": Announcement.Kind.INCIDENT,
            "severity": Announcement.Severity.WARNING,
            "title_es": "Estamos investigando un problema con …",
            "title_en": "We are investigating a problem with …",
            "body_es": (
                "Desde las **…** algunos clientes no pueden **…**. Ya estamos trabajando en ello; "
                "publicaremos aquí la próxima actualización antes de las **…**.\n\n"
                "No hace falta que nos escribas por este motivo: te avisaremos cuando esté resuelto."
            ),
            "body_en": (
                "Since **…** some customers cannot **…**. We are working on it and will post the "
                "next update here by **…**.\n\nThere is no need to write to us about it: we will let "
                "you know when it is fixed."
            ),
        },
    },
    "maintenance": {
        "label": _("Planned maintenance"),
        "fields": {
            "kind": Announcement.Kind.MAINTENANCE,
            "severity": Announcement.Severity.INFO,
            "title_es": "Mantenimiento programado: …",
            "title_en": "Planned maintenance: …",
            "body_es": (
                "Entre las **…** y las **…** haremos tareas de mantenimiento. Durante ese tiempo "
                "**…** no estará disponible. El resto de la web funcionará con normalidad."
            ),
            "body_en": (
                "Between **…** and **…** we will carry out maintenance. During that time **…** "
                "will not be available. The rest of the site will work as usual."
            ),
        },
    },
}
