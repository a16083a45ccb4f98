"""grids_visible_to for a supervisor and the dispatcher on the demo city.

Figure: time and query count for the dispatcher (the whole district, 4,833 grids); baseline:
the same for a supervisor of one street (about a tenth of the grids). Equal query counts are
the point: scope comes from relations, not from lists of ids.
"""

from django.db import connection
from django.test.utils import CaptureQueriesContext

from accounts.models import User
from accounts.selectors import grids_visible_to
from bench.common import best_of_interleaved, line


def run():
    street = User.objects.get(username="supervisor-440306001")
    district = User.objects.get(username="dispatcher")
    for name, selector in (("grids_visible_to", grids_visible_to),):

        def measure(user, selector=selector):
            with CaptureQueriesContext(connection) as queries:
                rows = len(list(selector(user)))
            return rows, len(queries)

        measure(district), measure(street)  # warm the content-type cache guardian consults
        (big_rows, big_q), (small_rows, small_q) = measure(district), measure(street)
        big_s, small_s = best_of_interleaved(
            [lambda s=selector: list(s(district)), lambda s=selector: list(s(street))]
        )
        yield line(
            f"{name} dispatcher ({big_rows:,} rows)",
            f"{big_q} queries, {big_s * 1e3:.1f} ms",
            f"supervisor of one street ({small_rows:,} rows): {small_q} queries, "
            f"{small_s * 1e3:.1f} ms",
            big_s / small_s,
            "OK: constant queries" if big_q == small_q else "QUERIES GROW WITH ROWS",
        )
