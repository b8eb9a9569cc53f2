"""The database cache, with counters that keep their expiry.

Django's ``DatabaseCache`` inherits ``BaseCache.incr``: a read, then a ``set()`` with the
*default* timeout (300 s). Every count taken on a rate-limit window or a daily counter therefore
rewrote its expiry to five minutes, and an "per hour" limit reset after five quiet minutes.
Redis' ``INCRBY`` and the local-memory cache keep the key's expiry; this backend does the same
on the database: the new value is written into the same row, whose ``expires`` is untouched,
inside one transaction holding the row (``SELECT … FOR UPDATE`` where the database has it,
SQLite's immediate transactions otherwise), so concurrent counts are not lost either.
"""

import base64
import pickle

from django.core.cache.backends.db import DatabaseCache as DjangoDatabaseCache
from django.db import connections, models, router, transaction
from django.utils import timezone


class DatabaseCache(DjangoDatabaseCache):
    def incr(self, key, delta=1, version=None):
        cache_key = self.make_and_validate_key(key, version=version)
        db = router.db_for_write(self.cache_model_class)
        connection = connections[db]
        quote_name = connection.ops.quote_name
        table = quote_name(self._table)
        lock = " FOR UPDATE" if connection.features.has_select_for_update else ""
        with transaction.atomic(using=db), connection.cursor() as cursor:
            cursor.execute(
                f"SELECT {quote_name('value')}, {quote_name('expires')} FROM {table} "  # noqa: S608
                f"WHERE {quote_name('cache_key')} = %s{lock}",
                [cache_key],
            )
            row = cursor.fetchone()
            if row is not None:
                value, expires = row
                expression = models.Expression(output_field=models.DateTimeField())
                converters = connection.ops.get_db_converters(
                    expression
                ) + expression.get_db_converters(connection)
                for converter in converters:
                    expires = converter(expires, expression, connection)
            if row is None or expires < timezone.now():
                raise ValueError(f"Key '{key}' not found")
            value = connection.ops.process_clob(value)
            new_value = pickle.loads(base64.b64decode(value.encode())) + delta  # noqa: S301
            encoded = base64.b64encode(pickle.dumps(new_value, self.pickle_protocol)).decode(
                "latin1"
            )
            cursor.execute(
                f"UPDATE {table} SET {quote_name('value')} = %s "  # noqa: S608
                f"WHERE {quote_name('cache_key')} = %s",
                [encoded, cache_key],
            )
        return new_value
