"""Every write of the notifications app: outbox, calendar, announcements, subscribers."""
