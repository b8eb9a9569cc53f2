"""Form error messages in our own words: plain, specific, and in Spanish with tú.

Django's Spanish catalogue addresses the reader as usted ("Introduzca una dirección de correo
electrónico válida", "Asegúrese de que este valor tenga…", "Escoja una opción válida"), and
the site says tú everywhere. A form that mixes in ``PlainErrors`` gives every field these
messages instead (a field's own ``error_messages`` still win).
"""

from django import forms
from django.utils.translation import gettext_lazy as _

COMMON = {
    "required": _("Fill in this field."),
    "max_length": _("Write at most %(limit_value)d characters (you wrote %(show_value)d)."),
    "min_length": _("Write at least %(limit_value)d characters (you wrote %(show_value)d)."),
    "invalid_choice": _("Choose one of the options."),
    "max_value": _("Choose a number up to %(limit_value)s."),
    "min_value": _("Choose a number from %(limit_value)s."),
}
BY_FIELD = {
    forms.EmailField: {
        "required": _("Write your email address."),
        "invalid": _("Write a valid email address, like name@example.com."),
    },
    forms.IntegerField: {"invalid": _("Write a whole number.")},
    forms.ModelChoiceField: {"required": _("Choose one of the options.")},
    forms.ChoiceField: {"required": _("Choose one of the options.")},
}


class PlainErrors:
    """Mix into a ``forms.Form`` (before it) for our own error messages on every field."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        for field in self.fields.values():
            ours = dict(COMMON)
            for kind, messages in BY_FIELD.items():
                if isinstance(field, kind):
                    ours.update(messages)
            own = getattr(field, "own_error_messages", {})
            field.error_messages = {**field.error_messages, **ours, **own}
            for validator in field.validators:  # max_length and min_length are validators
                if validator.code in ours and hasattr(validator, "message"):
                    validator.message = ours[validator.code]

    def add_error(self, field, error):
        super().add_error(field, error)
        # Each field in error says so, and points at its messages (the template writes them
        # with the id "<field id>-errors") and its help text.
        for name in self.errors:
            if name in self.fields:
                bound = self[name]
                attrs = bound.field.widget.attrs
                attrs["aria-invalid"] = "true"
                described = [f"{bound.auto_id}-errors"]
                if bound.help_text:
                    described.insert(0, f"{bound.auto_id}_helptext")
                attrs["aria-describedby"] = " ".join(described)
