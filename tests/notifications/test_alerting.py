"""The words of a monitoring rule: Alertmanager-style matchers and templates filled in with an
alert's labels as plain words."""

from datetime import timedelta

import pytest
import time_machine
from django.core.exceptions import ValidationError
from django.utils import timezone, translation

from foundation.markdown import markdown_to_text, render_markdown
from notifications import tasks
from notifications.alerting import (
    matches_all,
    parse_matchers,
    render_markdown_text,
    render_title,
    validate_template,
)
from notifications.models import Alert, Announcement
from notifications.services.alerts import IncomingAlert, receive_alerts
from tests.factories import AlertRuleFactory

LABELS = {"service": "payments", "severity": "critical", "env": "prod"}


@pytest.mark.parametrize(
    ("matchers", "expected"),
    [
        ('service="payments"', True),
        ('service="pay"', False),
        ('service=~"pay.*"', True),
        ('service=~"pay"', False),  # anchored, as in Alertmanager
        ('severity=~"critical|page"\nenv!="staging"', True),
        ('env!~"prod|pre"', False),
        ('team=""', True),  # a label the alert lacks counts as empty
        ('team!=""', False),
        ('  service = "payments"  \n\n', True),
        ("", True),  # no matcher: every alert
        (r'service="pay\"ments"', False),
    ],
)
def test_matchers_hold_as_in_alertmanager(matchers, expected):
    assert matches_all(parse_matchers(matchers), LABELS) is expected


@pytest.mark.parametrize(
    "text",
    ["service=payments", 'service=="x"', '9x="a"', 'a=~"("', 'a=~"' + "x" * 400 + '"'],
)
def test_a_matcher_that_cannot_be_read_is_refused_naming_its_line(text):
    with pytest.raises(ValidationError) as refused:
        parse_matchers('env="prod"\n' + text)

    assert refused.value.code == "invalid_matcher"
    assert refused.value.params == {"number": 2}


def test_a_pattern_that_would_backtrack_forever_in_python_matches_at_once_with_re2():
    # Python's re would try 2**999 ways of splitting the a's before saying no; RE2 is linear.
    (matcher,) = parse_matchers('instance=~"(a+)+$"')

    assert matcher.matches({"instance": "a" * 999 + "b"}) is False
    assert matcher.matches({"instance": "a" * 999}) is True


def test_regular_expressions_read_as_alertmanager_reads_them():
    # Go's syntax through RE2: anchored, "." stops at a line break, (?s) lets it cross one.
    assert not matches_all(parse_matchers('service=~"pay.*"'), {"service": "pay\nments"})
    assert matches_all(parse_matchers('service=~"(?s)pay.*"'), {"service": "pay\nments"})
    assert matches_all(parse_matchers('service=~"(?i)PAY[a-z]+"'), LABELS)
    assert not matches_all(parse_matchers('service=~"pay"'), LABELS)


@pytest.mark.parametrize(
    "pattern", ["pay(?=ments)", "pay(?!x).*", "(?<=p)ay.*", "(?<!x)payments", r"(p)ay\\1"]
)
def test_perl_only_syntax_is_refused_saying_alertmanager_has_none(pattern):
    with pytest.raises(ValidationError) as refused:
        parse_matchers(f'service=~"{pattern}"')

    assert refused.value.code == "invalid_matcher" and refused.value.params == {"number": 1}
    with translation.override("en"):
        assert "lookarounds such as (?=…)" in refused.value.messages[0]
        assert "regular expressions (RE2)" in refused.value.messages[0]
    with translation.override("es"):
        assert "(RE2)" in refused.value.messages[0]


def test_a_template_with_a_brace_that_is_not_a_placeholder_is_refused():
    validate_template("Los pagos fallan en {labels.instance}: {annotations.summary}")
    for typo in ("{label.instance}", "{labels.}", "{instance}", "{labels.a-b}"):
        with pytest.raises(ValidationError):
            validate_template(f"Fallan {typo}")


def test_a_title_is_one_plain_line_whatever_the_labels_hold():
    title = render_title(
        "Fallan los pagos ({labels.instance}) {labels.missing}",
        labels={"instance": "pay-1\n\x00<b>x</b>\u2028y"},
        annotations={},
    )

    assert title == "Fallan los pagos (pay-1 <b>x</b> y)"
    assert len(render_title("{labels.a}", labels={"a": "x" * 900}, annotations={})) <= 200


def test_values_in_a_text_read_as_the_words_they_are_never_as_markdown_or_html():
    hostile = "<img src=x onerror=alert(1)> [pulsa](https://evil.example) **negrita** `c` # h & co"

    text = render_markdown_text(
        "Estado: {annotations.summary}", labels={}, annotations={"summary": hostile}
    )
    html = render_markdown(text).html

    assert "<img" not in html and "<a " not in html and "<strong>" not in html
    assert "<code>" not in html and "<h1" not in html
    assert markdown_to_text(text) == "Estado: " + hostile


@pytest.mark.django_db
def test_the_beat_task_opens_a_pending_incident_once_however_often_it_runs():
    AlertRuleFactory(min_duration=120)
    start = timezone.now()
    alert = IncomingAlert("firing", {"service": "payments"}, {}, starts_at=start)
    receive_alerts(alerts=[alert], source="generic", actor=None, now=start)

    assert tasks.promote_pending_alerts() == 0
    with time_machine.travel(start + timedelta(minutes=3)):
        assert [tasks.promote_pending_alerts() for _ in range(2)] == [1, 0]

    assert Announcement.objects.get().publication == "draft"
    assert Alert.objects.get().status == Alert.Status.FIRING


@pytest.mark.django_db
def test_the_beat_task_resolves_an_alert_gone_silent_once_however_often_it_runs():
    AlertRuleFactory(resolve_after_silence=20)
    start = timezone.now()
    alert = IncomingAlert("firing", {"service": "payments"}, {}, starts_at=start)
    receive_alerts(alerts=[alert], source="generic", actor=None, now=start)

    assert tasks.resolve_silent_alerts() == 0
    with time_machine.travel(start + timedelta(minutes=21)):
        assert [tasks.resolve_silent_alerts() for _ in range(2)] == [1, 0]

    assert Alert.objects.get().resolution == Alert.Resolution.SILENCE
    assert Announcement.objects.get().resolved_before_publishing


def test_the_beat_schedule_runs_the_silence_job():
    from django.conf import settings

    tasks_run = {entry["task"] for entry in settings.CELERY_BEAT_SCHEDULE.values()}
    assert "notifications.tasks.resolve_silent_alerts" in tasks_run
