import unicodedata

from django import forms
from django.utils.translation import gettext_lazy as _

from cases.models import Case, ContactReason
from cases.selectors import reason_groups
from helpcenter.parsing import MAX_ID


class SingleLineField(forms.CharField):
    """A name or a subject: line breaks, tabs and other control characters become one space,
    so nothing typed here can start a new line in an email or a header."""

    def to_python(self, value):
        value = super().to_python(value)
        return " ".join(
            "".join(
                " " if unicodedata.category(char)[0] in "CZ" else char for char in value
            ).split()
        )


class ReasonChoiceField(forms.ModelChoiceField):
    def label_from_instance(self, reason: ContactReason) -> str:
        return reason.name


class ContactForm(forms.Form):
    reason = ReasonChoiceField(
        label=_("What is it about?"),
        queryset=ContactReason.objects.none(),
        empty_label=_("Choose a topic"),
    )
    subject = SingleLineField(
        label=_("Subject"),
        max_length=200,
        help_text=_("A few words: we will look for an answer while you type."),
    )
    description = forms.CharField(
        label=_("Tell us what happened"),
        max_length=5000,
        widget=forms.Textarea(attrs={"rows": 6}),
        help_text=_("Include any order number or date that helps: we will not ask for it again."),
    )
    name = SingleLineField(label=_("Your name"), max_length=120)
    email = forms.EmailField(
        label=_("Your email"), max_length=254, help_text=_("We send the link to your case here.")
    )
    website = forms.CharField(required=False, label=_("Leave this empty"))

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        from cases.selectors import selectable_reasons

        field = self.fields["reason"]
        field.queryset = selectable_reasons()
        field.choices = [("", _("Choose a topic"))] + [
            (group.name, [(reason.pk, reason.name) for reason in reasons])
            for group, reasons in reason_groups()
        ]

    def clean_website(self) -> str:
        if self.cleaned_data.get("website"):
            raise forms.ValidationError(_("Leave this field empty."))
        return ""


class FindCaseForm(forms.Form):
    reference = forms.CharField(
        label=_("Case reference (optional)"),
        max_length=12,
        required=False,
        help_text=_("Like K7M2-Q9XA. Leave it empty to get the links to all your cases."),
    )
    email = forms.EmailField(label=_("The email you wrote from"), max_length=254)

    def clean_reference(self) -> str:
        return self.cleaned_data["reference"].strip().upper().replace(" ", "-")


class MessageForm(forms.Form):
    body = forms.CharField(
        label=_("Your message"), max_length=5000, widget=forms.Textarea(attrs={"rows": 4})
    )


class ReopenForm(forms.Form):
    body = forms.CharField(
        label=_("What is still wrong? (optional)"),
        required=False,
        max_length=5000,
        widget=forms.Textarea(attrs={"rows": 3}),
    )


class SolvedForm(forms.Form):
    """ "This solved it": which suggestion answered. Only counted, so a bad value is dropped."""

    reason = forms.IntegerField(required=False, min_value=1, max_value=MAX_ID)
    article = forms.SlugField(required=False, max_length=80)

    def counted(self) -> dict:
        self.is_valid()
        return {
            "reason_id": self.cleaned_data.get("reason"),
            "article_key": self.cleaned_data.get("article") or "",
        }


class RatingForm(forms.Form):
    rating = forms.TypedChoiceField(
        label=_("How did we do?"),
        choices=[(value, value) for value in range(1, 6)],
        coerce=int,
        widget=forms.RadioSelect,
    )
    comment = forms.CharField(
        label=_("Anything to add? (optional)"),
        required=False,
        max_length=2000,
        widget=forms.Textarea(attrs={"rows": 3}),
    )


class ReplyForm(forms.Form):
    body = forms.CharField(
        label=_("Reply to the customer"), max_length=5000, widget=forms.Textarea(attrs={"rows": 5})
    )
    status = forms.ChoiceField(
        label=_("Then set the status to"),
        required=False,
        choices=[("", _("(keep or move to In progress)")), *Case.Status.choices],
    )


class NoteForm(forms.Form):
    body = forms.CharField(
        label=_("Internal note (never shown to the customer)"),
        max_length=5000,
        widget=forms.Textarea(attrs={"rows": 3}),
    )


class StatusForm(forms.Form):
    status = forms.ChoiceField(label=_("Status"), choices=Case.Status.choices)


class BulkStatusForm(forms.Form):
    cases = forms.ModelMultipleChoiceField(queryset=Case.objects.all(), to_field_name="reference")
    status = forms.ChoiceField(
        label=_("Set the status of the selected cases to"), choices=Case.Status.choices
    )
