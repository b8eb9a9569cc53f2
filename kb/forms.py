from django import forms
from django.utils.translation import gettext_lazy as _

from kb.services.feedback import MAX_COMMENT_LENGTH


class SearchForm(forms.Form):
    """Forgiving by design: any text is a query; a bad page or category is simply ignored."""

    q = forms.CharField(required=False, strip=True)
    category = forms.SlugField(required=False)
    page = forms.IntegerField(required=False, min_value=1)

    def search_arguments(self) -> dict:
        self.is_valid()
        data = self.cleaned_data
        return {
            "query": data.get("q") or "",
            "category": data.get("category") or None,
            "page": data.get("page") or 1,
        }


class FeedbackForm(forms.Form):
    helpful = forms.TypedChoiceField(
        label=_("Was this article helpful?"),
        choices=[("yes", _("Yes")), ("no", _("No"))],
        coerce=lambda value: value == "yes",
    )
    comment = forms.CharField(
        label=_("What were you looking for? (optional)"),
        required=False,
        max_length=MAX_COMMENT_LENGTH,
        widget=forms.Textarea(attrs={"rows": 3}),
    )
