from django.contrib.syndication.views import Feed
from django.urls import reverse
from django.utils.feedgenerator import Atom1Feed
from django.utils.translation import gettext_lazy as _

from helpcenter.markdown import render_markdown
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
        return render_markdown(item.body).html

    def item_pubdate(self, item: Announcement):
        return item.published_at

    def item_updateddate(self, item: Announcement):
        return item.updated_at

    def item_categories(self, item: Announcement):
        return [item.get_kind_display()]
