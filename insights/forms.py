from datetime import timedelta

from django import forms
from django.utils.translation import gettext_lazy as _

from insights.periods import MAX_DAYS, PRESET_DAYS, Period, service_today


class PeriodForm(forms.Form):
    period = forms.ChoiceField(
        label=_("Period"),
        choices=[
            *[(str(days), _("Last %(days)s days") % {"days": days}) for days in PRESET_DAYS],
            ("custom", _("Custom")),
        ],
        initial="30",
        required=False,
    )
    start = forms.DateField(
        label=_("From"), required=False, widget=forms.DateInput({"type": "date"})
    )
    end = forms.DateField(label=_("To"), required=False, widget=forms.DateInput({"type": "date"}))

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        # Built per request: "%" on a lazy string translates it at import, in one language.
        self.fields["period"].choices = [
            *[(str(days), _("Last %(days)s days") % {"days": days}) for days in PRESET_DAYS],
            ("custom", _("Custom")),
        ]

    def clean(self):
        data = super().clean()
        if data.get("period") != "custom":
            return data
        start, end = data.get("start"), data.get("end")
        if not start or not end:
            raise forms.ValidationError(_("Give both dates of a custom period."), code="missing")
        if end < start:
            raise forms.ValidationError(_("The period ends before it starts."), code="reversed")
        if end > service_today():
            raise forms.ValidationError(_("The period cannot end in the future."), code="future")
        if (end - start) >= timedelta(days=MAX_DAYS):
            raise forms.ValidationError(
                _("Choose at most %(days)s days.") % {"days": MAX_DAYS}, code="too_long"
            )
        return data

    def chosen_period(self) -> Period:
        """The period asked for, or the last 30 days when the form is empty or invalid."""
        if not self.is_valid():
            return Period.last(30)
        data = self.cleaned_data
        if data.get("period") == "custom":
            return Period(data["start"], data["end"])
        return Period.last(int(data.get("period") or 30))
