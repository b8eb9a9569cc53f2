"""Known XSS payloads, stored where customers and staff write, never run in chromium.

The payloads go into an article (title and Markdown body), announcements (title and Markdown
body), case subjects and a customer's message, and into URL parameters that pages echo. Each
one, if it ran, would call ``__xss(n)``, post ``xss:n`` to the top window or open a dialog.

The browser ignores the Content-Security-Policy here (``bypass_csp``): the CSP only lets our
own scripts run, so with it on nothing could execute anyway; with it off, this proves that the
escaping and the Markdown sanitiser are enough on their own.
"""

import re
from urllib.parse import quote

import pytest
from playwright.sync_api import expect

from cases import services as cases
from cases.services.access import issue_access_link
from notifications.services import announcements
from tests.browser.support import STAFF_PASSWORD, Tab, in_language, log_in
from tests.factories import AnnouncementFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

# From the OWASP XSS filter evasion cheat sheet, PortSwigger's XSS cheat sheet and known
# sanitiser (mutation XSS) and htmx bypasses; {n} is the payload's number.
PAYLOADS = [
    "<script>__xss({n})</script>",
    "<img src=x onerror=__xss({n})>",
    "<svg onload=__xss({n})>",
    "<svg><script>__xss({n})</script></svg>",
    "<body onload=__xss({n})>",
    '"><script>__xss({n})</script>',
    "'><img src=x onerror=__xss({n})>",
    "</textarea><script>__xss({n})</script>",
    "</title><script>__xss({n})</script>",
    "<details open ontoggle=__xss({n})>",
    "<input autofocus onfocus=__xss({n})>",
    "<iframe src=\"javascript:top.postMessage('xss:{n}','*')\"></iframe>",
    "<iframe srcdoc=\"<script>top.postMessage('xss:{n}','*')</script>\"></iframe>",
    "<object data=\"javascript:top.postMessage('xss:{n}','*')\"></object>",
    "<embed src=\"data:text/html,<script>top.postMessage('xss:{n}','*')</script>\">",
    '<a href="javascript:__xss({n})" id="xss-link-{n}">x</a>',
    '<a href="&#106;avascript:__xss({n})">x</a>',
    '<a href="jav&#x09;ascript:__xss({n})">x</a>',
    "[markdown](javascript:__xss({n}))",
    "[markdown](JaVaScRiPt:__xss({n}))",
    '![image](x" onerror="__xss({n}))',
    "<math><mtext><table><mglyph><style><img src=x onerror=__xss({n})>",
    '<noscript><p title="</noscript><img src=x onerror=__xss({n})>">',
    "<form><button formaction=javascript:__xss({n})>x</button></form>",
    '<meta http-equiv="refresh" content="0;url=javascript:__xss({n})">',
    '<base href="javascript:__xss({n})//">',
    "<style>*{{background:url(javascript:__xss({n}))}}</style>",
    '<div hx-get="/xss-probe/{n}/" hx-trigger="load" hx-on::load="__xss({n})">x</div>',
    '<button hx-on:click="__xss({n})" onclick="__xss({n})">x</button>',
    "<x onmouseover=__xss({n}) style=position:fixed;inset:0>x</x>",
    "{{{{ __xss({n}) }}}} ${{__xss({n})}}",
]
ALL = "\n\n".join(payload.format(n=n) for n, payload in enumerate(PAYLOADS))

# Runs before any script of every page: what a payload would call if it ran.
TRAPS = """
window.__xss_hits = [];
window.__xss = (n) => window.__xss_hits.push(String(n));
window.addEventListener('message', (event) => {
  if (String(event.data).startsWith('xss:')) window.__xss_hits.push(String(event.data));
});
"""

# Anything in the page that only a payload that got through would have made.
SURVIVORS = r"""() => {
  const found = [];
  const URL_ATTRIBUTES = [
    'href', 'src', 'action', 'formaction', 'data', 'poster', 'background', 'xlink:href',
  ];
  const own = (src) => src.startsWith(location.origin + '/static/');
  for (const el of document.querySelectorAll('*')) {
    const tag = el.tagName.toLowerCase();
    if (tag === 'script' && !own(el.src)) found.push('script: ' + el.outerHTML.slice(0, 80));
    // A fully sandboxed frame (no allow-scripts) is how the desk previews an email.
    const scriptless = tag === 'iframe' && el.hasAttribute('sandbox')
      && !el.sandbox.contains('allow-scripts');
    const embedding = ['iframe', 'frame', 'object', 'embed', 'base', 'svg', 'math'];
    if (embedding.includes(tag) && !scriptless) found.push(tag);
    if (tag === 'meta' && el.httpEquiv) found.push('meta http-equiv');
    for (const attr of el.attributes) {
      const name = attr.name.toLowerCase();
      const value = attr.value.replace(/[\s\u0000-\u001f]/g, '').toLowerCase();
      const label = `${tag} ${name}=${value.slice(0, 40)}`;
      if (name.startsWith('on')) found.push(label);
      if (name === 'srcdoc' && !scriptless) found.push(label);
      if (URL_ATTRIBUTES.includes(name) && /^(javascript|vbscript|data:text)/.test(value)) {
        found.push(label);
      }
      // The site's own htmx attributes never mention the payloads' marker (but for the body's
      // CSRF token, random letters that now and then spell it).
      const csrf = tag === 'body' && name === 'hx-headers';
      if (/^(data-)?hx-/.test(name) && !csrf && value.includes('xss')) found.push(label);
    }
  }
  return found;
}"""


def assert_nothing_ran(tab: Tab, dialogs: list[str], what: str) -> None:
    page = tab.page
    page.wait_for_load_state("load")
    page.wait_for_timeout(150)  # onerror, ontoggle, autofocus and htmx's load triggers
    hits = page.evaluate("() => window.__xss_hits")
    assert hits == [] and dialogs == [], f"payloads ran on {what}: {hits} {dialogs}"
    survivors = [found for frame in page.frames for found in frame.evaluate(SURVIVORS)]
    assert survivors == [], f"payload markup left in {what}: {survivors}"
    assert page.evaluate("() => document.title").count("·") == 1, f"title broken on {what}"
    tab.shots += 1
    tab.screenshots.mkdir(parents=True, exist_ok=True)
    name = re.sub(r"[^\w]+", "-", what).strip("-")[:60]
    page.screenshot(path=tab.screenshots / f"{tab.shots:02d}-{name}.png", full_page=True)


def hostile_tab(open_tab, who: str, **options) -> tuple[Tab, list[str]]:
    tab = open_tab("es", who=who, bypass_csp=True, **options)
    dialogs: list[str] = []

    def record(dialog) -> None:
        dialogs.append(dialog.message)
        dialog.dismiss()

    tab.page.on("dialog", record)
    tab.page.add_init_script(TRAPS)
    return tab, dialogs


def test_known_xss_payloads_never_run(open_tab, publish, shop, agent):
    article = publish(
        title="Zapatillas <img src=x onerror=__xss('title')> <script>__xss('title')</script>",
        slug="zapatillas-peligrosas",
        summary="<b onmouseover=__xss('summary')>Resumen</b>",
        body=f"Zapatillas y devoluciones.\n\n{ALL}\n\nMás zapatillas al final.",
        category=shop["category"],
    )
    notice = announcements.publish_announcement(
        announcement=AnnouncementFactory.build(
            title_es="Aviso <svg onload=__xss('notice-title')>",
            title_en="Notice <svg onload=__xss('notice-title')>",
            body_es=ALL,
            body_en=ALL,
        ),
        actor=None,
    )
    subjects = [""]  # as many payloads as fit in each subject (200 characters)
    for n, payload in enumerate(PAYLOADS):
        text = payload.format(n=n)
        if len(subjects[-1]) + len(text) > 200:
            subjects.append("")
        subjects[-1] += text
    case_list = []
    for subject in subjects:
        case = cases.open_case(
            reason=shop["reason"],
            customer_email="mallory@example.com",
            customer_name="Mallory <script>__xss('name')</script>",
            language="es",
            subject=subject,
            description=ALL,
        )
        cases.add_customer_message(case=case, body=ALL)
        case_list.append(case)

    customer, dialogs = hostile_tab(open_tab, "customer")
    page = customer.page
    public_pages = [
        article.get_absolute_url(),
        "/es/search/?q=zapatillas",
        "/es/",
        "/es/notices/",
        notice.get_absolute_url(),
        "/es/search/?q=" + quote(PAYLOADS[1].format(n="q")),
        "/es/cases/find/?reference=" + quote(PAYLOADS[5].format(n="reference")),
    ]
    for path in public_pages:
        customer.goto(path)
        assert_nothing_ran(customer, dialogs, path)
    for case in case_list:
        customer.goto(issue_access_link(case=case))
        expect(page.locator("#case h1")).to_contain_text("xss")  # the subject, as text
        assert_nothing_ran(customer, dialogs, f"status page of {case.reference}")
    customer.goto("/es/contact/")
    page.get_by_label(in_language("es", "Subject")).press_sequentially("zapatillas", delay=10)
    expect(page.locator("#suggestions li")).to_have_count(1)
    assert_nothing_ran(customer, dialogs, "contact suggestions")

    staff, staff_dialogs = hostile_tab(open_tab, "staff")
    staff.goto("/es/desk/")
    log_in(staff, agent.username, STAFF_PASSWORD)
    assert_nothing_ran(staff, staff_dialogs, "desk queue")
    for path in [
        f"/es/desk/cases/{case_list[0].reference}/",
        f"/es/desk/cases/{case_list[-1].reference}/",
        "/es/desk/notices/",
        f"/es/desk/notices/{notice.pk}/",
    ]:
        staff.goto(path)
        assert_nothing_ran(staff, staff_dialogs, path)
