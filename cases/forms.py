import secrets
import unicodedata
from collections.abc import Sequence

from django import forms
from django.utils.translation import gettext_lazy as _

from cases.models import Attachment, Case, ContactReason
from cases.selectors import (
    QueueFilters,
    assignable_staff,
    attachment_limits_text,
    clean_desk_query,
    contact_reason,
    desk_status_choices,
    reason_groups,
    selectable_reasons,
    staged_files,
    teams,
)
from cases.selectors import upload_token as valid_upload_token
from cases.services import DuplicateChoice, IncomingFile
from foundation.form_messages import PlainErrors
from foundation.parsing import MAX_ID, parse_id


class IdField(forms.Field):
    """A database id, or None for anything else (never an error: a filter or an optional
    choice that cannot be read is simply not applied)."""

    def to_python(self, value):
        return parse_id(value) if isinstance(value, str) else None


class OptionalModelChoiceField(forms.ModelChoiceField):
    """An optional choice that may be gone (or forged) by the time the form is posted: the
    row it names in ``queryset``, or None, never an error."""

    def to_python(self, value):
        pk = parse_id(value) if isinstance(value, str) else None
        return self.queryset.filter(pk=pk).first() if pk else None


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


class MultipleFileInput(forms.ClearableFileInput):
    allow_multiple_selected = True


class AttachmentsField(forms.Field):
    """The files picked in a form. The services check them (``stage_files``); the field only
    renders, and carries the messages of the files refused."""

    widget = MultipleFileInput

    def __init__(self, **kwargs):
        kwargs.setdefault("required", False)
        kwargs.setdefault("label", _("Attach files (optional)"))
        super().__init__(**kwargs)

    def clean(self, value) -> list:
        return []


class AttachmentsForm(forms.Form):
    """A form that takes files. Those it receives are kept under its one-time token (the
    field ``kept_files_field``) by ``services.stage_files`` before the form is validated, so a form
    shown again for another field keeps them (listed by ``kept_files``); the messages of the
    files refused come in as ``refused_files`` and show on the field."""

    attachments = AttachmentsField()
    kept_files_field = "upload_token"

    def __init__(self, *args, refused_files: Sequence[str] = (), **kwargs):
        super().__init__(*args, **kwargs)
        self.refused_files = list(refused_files)
        self.fresh_token = not self.is_bound and not self.initial.get(self.kept_files_field)
        if self.fresh_token:
            self.initial[self.kept_files_field] = new_upload_token()
        self.fields["attachments"].help_text = attachment_limits_text()

    def clean(self):
        data = super().clean()
        for message in self.refused_files:
            self.add_error("attachments", message)
        return data

    def uploaded_files(self) -> list[IncomingFile]:
        if not self.files:
            return []
        return [
            IncomingFile(name=upload.name or "", content=upload)
            for upload in self.files.getlist("attachments")
        ]

    def attachments_token(self) -> str:
        if self.is_bound:
            value = self.data.get(self.kept_files_field, "")
        else:
            value = self.initial.get(self.kept_files_field, "")
        return valid_upload_token(value)

    def kept_files(self) -> list[Attachment]:
        # A token made for this new form holds nothing yet (no query).
        return [] if self.fresh_token else staged_files(self.attachments_token())


def new_upload_token() -> str:
    return secrets.token_urlsafe(24)


class ReasonChoiceField(forms.ModelChoiceField):
    def label_from_instance(self, reason: ContactReason) -> str:
        return reason.name


class ContactForm(PlainErrors, AttachmentsForm):
    """The contact form. Subject, description and name are asked only for a new case: a
    question about an existing case ("How is my case going?") needs the email and, optionally,
    the reference. ``submission`` is the form's one-time token (``submit_contact``);
    ``incident`` the live incident the visitor was shown before writing anyway."""

    reason = ReasonChoiceField(
        label=_("What is it about?"),
        queryset=ContactReason.objects.none(),
        empty_label=_("Choose a topic"),
    )
    subject = SingleLineField(
        label=_("Subject"),
        max_length=200,
        required=False,
        help_text=_("A few words: we will look for an answer while you type."),
    )
    description = forms.CharField(
        label=_("Tell us what happened"),
        max_length=5000,
        required=False,
        widget=forms.Textarea(attrs={"rows": 6}),
        help_text=_("Include any order number or date that helps: we will not ask for it again."),
    )
    name = SingleLineField(label=_("Your name"), max_length=120, required=False)
    email = forms.EmailField(
        label=_("Your email"), max_length=254, help_text=_("We send the link to your case here.")
    )
    reference = forms.CharField(
        label=_("Case reference (optional)"),
        max_length=12,
        required=False,
        help_text=_("Like K7M2-Q9XA. Leave it empty to get the links to all your cases."),
    )
    website = forms.CharField(required=False, label=_("Leave this empty"))
    submission = forms.CharField(required=False, max_length=64, widget=forms.HiddenInput)
    incident = IdField(required=False, widget=forms.HiddenInput)

    kept_files_field = "submission"  # the form's one-time token keeps its files too
    field_order = ["reason", "subject", "description", "attachments", "name", "email"]
    CASE_FIELDS = ("subject", "description", "name")
    REQUIRED_MESSAGES = {
        "reason": _("Choose what it is about."),
        "subject": _("Write a subject: a few words are enough."),
        "description": _("Tell us what happened."),
        "name": _("Write your name."),
    }

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        field = self.fields["reason"]
        field.queryset = selectable_reasons()
        groups = reason_groups()
        field.choices = [("", _("Choose a topic"))] + [
            (group.name, [(reason.pk, reason.name) for reason in reasons])
            for group, reasons in groups
        ]
        self.status_reason_ids = {
            reason.pk
            for _group, reasons in groups
            for reason in reasons
            if reason.is_status_inquiry
        }
        field.error_messages["invalid_choice"] = _("Choose one of the topics in the list.")
        for name, message in self.REQUIRED_MESSAGES.items():
            self.fields[name].error_messages["required"] = message

    def clean_website(self) -> str:
        if self.cleaned_data.get("website"):
            raise forms.ValidationError(_("Leave this field empty."))
        return ""

    def clean_reference(self) -> str:
        return self.cleaned_data["reference"].strip().upper().replace(" ", "-")

    def clean(self):
        data = super().clean()
        reason = data.get("reason")
        if reason is not None and not reason.is_status_inquiry:
            for name in self.CASE_FIELDS:
                if name not in self.errors and not data.get(name):
                    self.add_error(name, self.REQUIRED_MESSAGES[name])
        return data

    def chosen_reason_id(self) -> int | None:
        """The reason picked, even when the rest of the form is not valid (for its reply time)."""
        if self.is_bound:
            return parse_id(self.data.get("reason"))
        return parse_id(str(self.initial.get("reason") or ""))

    def chosen_reason(self) -> ContactReason | None:
        reason_id = self.chosen_reason_id()
        return next((r for r in self.fields["reason"].queryset if r.pk == reason_id), None)

    def asks_about_a_case(self) -> bool:
        """The chosen reason is a question about an existing case: only the email is asked."""
        reason = self.chosen_reason()
        return reason is not None and reason.is_status_inquiry

    def error_summary(self) -> list[tuple[str, str]]:
        """(field id or "", message) for every error, in the order of the form."""
        found = [("", str(error)) for error in self.non_field_errors()]
        for field in self:
            found += [(field.id_for_label, str(error)) for error in field.errors]
        return found


class FollowIncidentForm(PlainErrors, forms.Form):
    """ "Tell me when it is fixed": the incident and the address to tell."""

    incident = IdField()
    email = forms.EmailField(label=_("Your email"), max_length=254)
    reason = IdField(required=False)


class DuplicateChoiceForm(forms.Form):
    """The button pressed on "You already have a case about this" (posted with the contact
    form's fields): anything else means the question has not been answered yet."""

    duplicate_choice = forms.ChoiceField(
        required=False, choices=[(DuplicateChoice.ADD, "add"), (DuplicateChoice.NEW, "new")]
    )

    def choice(self) -> DuplicateChoice:
        self.is_valid()
        return DuplicateChoice(self.cleaned_data.get("duplicate_choice") or DuplicateChoice.ASK)


class FindCaseForm(PlainErrors, forms.Form):
    reference = forms.CharField(
        label=_("Case reference (optional)"),
        max_length=12,
        required=False,
        help_text=_("Like K7M2-Q9XA. Leave it empty to get the links to all your cases."),
    )
    email = forms.EmailField(label=_("The email you wrote from"), max_length=254)

    def clean_reference(self) -> str:
        return self.cleaned_data["reference"].strip().upper().replace(" ", "-")


class MessageForm(PlainErrors, AttachmentsForm):
    """A message on the case page: text, files, or both."""

    body = forms.CharField(
        label=_("Your message"),
        max_length=5000,
        required=False,
        widget=forms.Textarea(attrs={"rows": 4}),
    )
    upload_token = forms.CharField(required=False, max_length=64, widget=forms.HiddenInput)


class ReopenForm(PlainErrors, forms.Form):
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
    # The subject the suggestion answered (search learns from it); longer text is cut.
    subject = forms.CharField(required=False)

    def clean_reason(self) -> ContactReason | None:
        return contact_reason(self.cleaned_data.get("reason"))

    def counted(self) -> dict:
        self.is_valid()
        return {
            "reason": self.cleaned_data.get("reason"),
            "article_key": self.cleaned_data.get("article") or "",
            "subject": (self.cleaned_data.get("subject") or "")[:200],
        }


class UpdatesForm(forms.Form):
    """Whether the customer wants emails about their case ("1") or not (anything else)."""

    enabled = forms.CharField(required=False, strip=False)

    def wants_updates(self) -> bool:
        self.is_valid()
        return self.cleaned_data.get("enabled") == "1"


class RatingForm(PlainErrors, forms.Form):
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


class ReplyForm(AttachmentsForm):
    body = forms.CharField(
        label=_("Reply to the customer"), max_length=5000, widget=forms.Textarea(attrs={"rows": 5})
    )
    status = forms.ChoiceField(
        label=_("Then set the status to"),
        required=False,
        choices=[("", _("(keep or move to In progress)")), *desk_status_choices()],
    )
    upload_token = forms.CharField(required=False, max_length=64, widget=forms.HiddenInput)


class NoteForm(forms.Form):
    body = forms.CharField(
        label=_("Internal note (never shown to the customer)"),
        max_length=5000,
        widget=forms.Textarea(attrs={"rows": 3}),
    )


class StatusForm(forms.Form):
    status = forms.ChoiceField(label=_("Status"), choices=desk_status_choices())


class BulkStatusForm(forms.Form):
    cases = forms.ModelMultipleChoiceField(queryset=Case.objects.all(), to_field_name="reference")
    status = forms.ChoiceField(
        label=_("Set the status of the selected cases to"), choices=desk_status_choices()
    )


class DeskSearchForm(forms.Form):
    """The desk's one search box: a reference, an email, a name or words of the case."""

    q = forms.CharField(required=False, strip=False)

    def query(self) -> str:
        self.is_valid()
        return clean_desk_query(self.cleaned_data.get("q") or "")


class DraftForm(forms.Form):
    """What the reply box holds, saved as a draft (never an error: too long is cut), and the
    draft version its page was drawn at (``selectors.draft_version``; None when not given or
    unreadable)."""

    body = forms.CharField(required=False, strip=False)
    draft_version = forms.IntegerField(required=False, min_value=0, max_value=10**9)

    def text(self) -> str:
        self.is_valid()
        return (self.cleaned_data.get("body") or "").replace("\r\n", "\n")[:5000]

    def version(self) -> int | None:
        self.is_valid()
        return self.cleaned_data.get("draft_version")


class ArticleSearchForm(forms.Form):
    """The case page's GET parameter for its reply box: words to look for an article to link."""

    articles = forms.CharField(required=False, max_length=200)

    def query(self) -> str:
        self.is_valid()
        return clean_desk_query(getattr(self, "cleaned_data", {}).get("articles") or "")


class InsertForm(DraftForm):
    """The reply box posted by one of its insert buttons (without JavaScript): a saved reply
    or a link to a knowledge-base article to add at the end."""

    saved_reply = IdField(required=False)
    article = IdField(required=False)
    # "Find articles" without JavaScript posts the box too, so nothing typed is lost: these
    # words are looked for on the page that follows.
    articles = forms.CharField(required=False, max_length=200)

    def article_query(self) -> str:
        self.is_valid()
        return clean_desk_query(self.cleaned_data.get("articles") or "")


class DeskPreferencesForm(forms.Form):
    email_alerts = forms.BooleanField(
        label=_("Email me when a customer replies, reopens a case or rates it 1 or 2 stars"),
        required=False,
        help_text=_(
            "About the cases assigned to me, and the unassigned cases of my teams. The desk's "
            "header counts them either way."
        ),
    )
    language = forms.ChoiceField(
        label=_("Language of those emails"), choices=[("es", _("Spanish")), ("en", _("English"))]
    )


class QueueFilterForm(forms.Form):
    """The desk queue's filters (a GET form). Each is read on its own: a value that cannot be
    read does not filter."""

    status = forms.ChoiceField(required=False, choices=Case.Status.choices)
    q = forms.CharField(required=False, strip=False)
    reason = IdField(required=False)
    team = IdField(required=False)
    assignee = forms.CharField(required=False, strip=False)  # "me" or a user id
    overdue = forms.CharField(required=False, strip=False)  # "1" or not
    waiting = forms.CharField(required=False, strip=False)  # "1" or not

    def filters(self, *, user_id: int | None) -> QueueFilters:
        self.is_valid()
        data = self.cleaned_data
        assignee = data.get("assignee", "")
        return QueueFilters(
            query=clean_desk_query(data.get("q") or ""),
            status=data.get("status", ""),
            reason=data.get("reason"),
            team=data.get("team"),
            assignee=user_id if assignee == "me" else parse_id(assignee),
            overdue=data.get("overdue") == "1",
            waiting=data.get("waiting") == "1",
        )


class AssignForm(forms.Form):
    """Who handles a case: a staff member and a team (either may be left empty)."""

    assignee = OptionalModelChoiceField(queryset=None, required=False)
    team = OptionalModelChoiceField(queryset=None, required=False)

    def __init__(self, *args, case: Case, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["assignee"].queryset = assignable_staff(case)
        self.fields["team"].queryset = teams()


class CaseAnswerForm(PlainErrors, forms.Form):
    """The one question of a resolved case: is it solved? With one text box for what is
    still wrong (read only when it is not)."""

    solved = forms.TypedChoiceField(
        label=_("Is it solved?"),
        choices=[("yes", _("Yes, it is solved")), ("no", _("No, it is not solved"))],
        coerce=lambda value: value == "yes",
        widget=forms.RadioSelect,
        error_messages={"required": _("Choose whether it is solved.")},
    )
    body = forms.CharField(
        label=_("If it is not solved: what is still wrong? (optional)"),
        required=False,
        max_length=5000,
        widget=forms.Textarea(attrs={"rows": 3}),
    )
