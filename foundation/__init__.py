"""The building blocks every app stands on: times and dates, languages, counters, rate limits,
caches, Markdown, permissions, queueing after commit. It imports no app (``make lint``)."""
