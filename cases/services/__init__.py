"""Every write of the cases app."""

from cases.services.access import (
    email_case_links,
    forget_session_access,
    grant_session_access,
    issue_access_link,
    redeem_token,
    redeem_token_for_session,
    revoke_links,
)
from cases.services.contact import (
    add_to_existing_case,
    record_article_deflection,
    record_deflection,
)
from cases.services.lifecycle import (
    add_customer_message,
    add_internal_note,
    advance_idle_cases,
    assign_case,
    change_case_status,
    confirm_solved,
    open_case,
    rate_case,
    reopen_case,
    reply_to_customer,
    send_pending_updates,
    set_customer_updates,
    tell_cases_about_incidents,
)
from cases.services.link_requests import (
    answer_case_link_request,
    request_case_links,
    requeue_case_link_requests,
)

__all__ = [
    "add_customer_message",
    "add_internal_note",
    "add_to_existing_case",
    "advance_idle_cases",
    "answer_case_link_request",
    "assign_case",
    "change_case_status",
    "confirm_solved",
    "email_case_links",
    "forget_session_access",
    "grant_session_access",
    "issue_access_link",
    "open_case",
    "rate_case",
    "record_article_deflection",
    "record_deflection",
    "redeem_token",
    "redeem_token_for_session",
    "reopen_case",
    "reply_to_customer",
    "request_case_links",
    "requeue_case_link_requests",
    "revoke_links",
    "send_pending_updates",
    "set_customer_updates",
    "tell_cases_about_incidents",
]
