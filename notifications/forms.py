from django import forms
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

from foundation.i18n import Language
from notifications.models import Announcement
from notifications.services.announcements import phases_for, validate_announcement


class SubscribeForm(forms.Form):
    email = forms.EmailField(label=_("Your email"), max_length=254)
    language = forms.ChoiceField(label=_("Language of the emails"), choices=Language.choices)
    kinds = forms.MultipleChoiceField(
        label=_("Tell me about"),
        choices=Announcement.Kind.choices,
        required=False,
        widget=forms.CheckboxSelectMultiple,
        help_text=_("Choose none to hear about everything."),
    )
    # A field people never see: bots fill it in, and then nothing is sent.
    website = forms.CharField(required=False, label=_("Leave this empty"))

    def clean_website(self) -> str:
        if self.cleaned_data.get("website"):
            raise forms.ValidationError(_("Leave this field empty."))
        return ""


class PreferencesForm(forms.Form):
    language = forms.ChoiceField(label=_("Language of the emails"), choices=Language.choices)
    kinds = forms.MultipleChoiceField(
        label=_("Tell me about"),
        choices=Announcement.Kind.choices,
        required=False,
        widget=forms.CheckboxSelectMultiple,
        help_text=_("Choose none to hear about everything."),
    )


class GroupedCheckboxes(forms.CheckboxSelectMultiple):
    """Checkboxes in a fieldset per group (the contact reasons under their parent)."""

    template_name = "notifications/desk/widgets/grouped_checkboxes.html"


AreaChoices = list[tuple[str, list[tuple[str, str]]]]


def areas_field(help_text: str) -> forms.MultipleChoiceField:
    """The contact reasons something affects, ticked under their groups (``offer_areas``)."""
    return forms.MultipleChoiceField(
        label=_("Affected areas"), required=False, widget=GroupedCheckboxes, help_text=help_text
    )


def offer_areas(form: forms.ModelForm, area_choices: AreaChoices | None) -> None:
    """Offer ``area_choices`` ([(group name, [(code, name), ...]), ...], read from
    ``cases.selectors`` by the desk) in the form's ``areas`` field, ticked as the instance's
    are; codes already saved that are no longer in the list stay offered."""
    choices = list(area_choices or [])
    offered = {code for _group, options in choices for code, _name in options}
    saved = [code for code in form.instance.areas or [] if code not in offered]
    if saved:
        choices.append((_("No longer a contact reason"), [(code, code) for code in saved]))
    form.fields["areas"].choices = choices
    form.fields["areas"].initial = list(form.instance.areas or [])


class AnnouncementForm(forms.ModelForm):
    """A notice's text and times, and the contact reasons it affects, chosen from a list
    (``offer_areas``)."""

    areas = areas_field(_("The contact reasons it affects; none: everyone."))

    class Meta:
        model = Announcement
        fields = [
            "kind",
            "severity",
            "title_es",
            "title_en",
            "body_es",
            "body_en",
            "starts_at",
            "ends_at",
            "expire_at",
        ]
        widgets = {
            "starts_at": forms.DateTimeInput(
                attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M"
            ),
            "ends_at": forms.DateTimeInput(
                attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M"
            ),
            "expire_at": forms.DateTimeInput(
                attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M"
            ),
            "body_es": forms.Textarea(attrs={"rows": 6}),
            "body_en": forms.Textarea(attrs={"rows": 6}),
        }

    def __init__(self, *args, area_choices: AreaChoices | None = None, **kwargs):
        super().__init__(*args, **kwargs)
        offer_areas(self, area_choices)

    def _post_clean(self) -> None:
        super()._post_clean()  # the instance now holds the cleaned values
        self.instance.areas = list(self.cleaned_data.get("areas") or [])
        try:
            validate_announcement(self.instance)  # the service's rule, not a copy of it
        except ValidationError as error:
            self._update_errors(error)


class PublishForm(forms.Form):
    publish_at = forms.DateTimeField(
        label=_("Publish at (empty: now)"),
        required=False,
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M"),
    )


class EmailToMyselfForm(forms.Form):
    """The language of a test email to oneself (Spanish unless English is asked for)."""

    language = forms.ChoiceField(choices=[("es", "Español"), ("en", "English")], required=False)

    def chosen_language(self) -> str:
        self.is_valid()
        return self.cleaned_data.get("language") or "es"


class UpdateForm(forms.Form):
    """An update; the phases offered are those of the notice's kind (none for holiday hours
    and general notices)."""

    phase = forms.ChoiceField(label=_("Phase"), required=False)
    body_es = forms.CharField(label=_("Update (Spanish)"), widget=forms.Textarea(attrs={"rows": 3}))
    body_en = forms.CharField(label=_("Update (English)"), widget=forms.Textarea(attrs={"rows": 3}))
    notify_subscribers = forms.BooleanField(
        label=_("Email subscribers"), required=False, initial=True
    )

    def __init__(self, *args, kind: str, **kwargs):
        super().__init__(*args, **kwargs)
        phases = phases_for(kind)
        if phases:
            labels = dict(Announcement.Phase.choices)
            self.fields["phase"].choices = [(phase, labels[phase]) for phase in phases]
        else:
            del self.fields["phase"]

    def clean(self) -> dict:
        cleaned = super().clean()
        cleaned.setdefault("phase", "")
        return cleaned
