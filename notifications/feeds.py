from django.contrib.syndication.views import Feed
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils.feedgenerator import Atom1Feed
from django.utils.translation import gettext_lazy as _

from foundation.markdown import render_markdown
from notifications import selectors
from notifications.models import Announcement


class NoticesFeed(Feed):
    feed_type = Atom1Feed
    title = _("Notices: holiday hours, outages and maintenance")
    subtitle = _("What affects our service, before you have to ask.")

    def link(self) -> str:
        return reverse("notifications:notice_list")

    def items(self):
        return selectors.feed_announcements()

    def item_title(self, item: Announcement) -> str:
        return item.title

    def item_description(self, item: Announcement) -> str:
        """Every update, the latest first (each with its time and phase), then the notice as
        first published: a reader of the feed sees where things stand now."""
        return render_to_string(
            "notifications/feed_entry.html",
            {
                "announcement": item,
                "body_html": render_markdown(item.body).html,
                "updates": [
                    (update, render_markdown(update.body).html) for update in item.updates.all()
                ],
            },
        )

    def item_pubdate(self, item: Announcement):
        return item.published_at

    def item_updateddate(self, item: Announcement):
        """The last change: the latest update (or the notice's own last edit)."""
        latest = max((update.created_at for update in item.updates.all()), default=None)
        return max(filter(None, (latest, item.updated_at, item.published_at)))

    def item_categories(self, item: Announcement):
        return [item.get_kind_display()]
