from django import forms
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

from helpcenter.i18n import Language
from notifications.models import Announcement
from notifications.services.announcements import validate_announcement


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


class AnnouncementForm(forms.ModelForm):
    areas_text = forms.CharField(
        label=_("Affected areas"),
        required=False,
        help_text=_(
            "Codes of the affected contact reasons or areas, comma separated; empty: everyone."
        ),
    )

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

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if self.instance.pk:
            self.fields["areas_text"].initial = ", ".join(self.instance.areas)

    def _post_clean(self) -> None:
        super()._post_clean()  # the instance now holds the cleaned values
        try:
            validate_announcement(self.instance)  # the service's rule, not a copy of it
        except ValidationError as error:
            self._update_errors(error)

    def save(self, commit: bool = True) -> Announcement:
        self.instance.areas = [
            code.strip()
            for code in self.cleaned_data.get("areas_text", "").split(",")
            if code.strip()
        ]
        return super().save(commit=commit)


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
    phase = forms.ChoiceField(label=_("Phase"), choices=Announcement.Phase.choices, required=False)
    body_es = forms.CharField(label=_("Update (Spanish)"), widget=forms.Textarea(attrs={"rows": 3}))
    body_en = forms.CharField(label=_("Update (English)"), widget=forms.Textarea(attrs={"rows": 3}))
    notify_subscribers = forms.BooleanField(
        label=_("Email subscribers"), required=False, initial=True
    )
