import gc
import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.local")
application = get_wsgi_application()

# The cyclic garbage collector, tuned for a web worker. A list request allocates tens of thousands
# of objects (querysets, model instances, the rendered rows), so at the interpreter's default
# threshold of 700 the collector ran dozens of times per request, and its older generations kept
# re-scanning the hundreds of thousands of objects Django loads at start-up, which live as long as
# the process. Those are frozen out of collection here, and the youngest generation is collected
# every 50,000 allocations: about 5% of a list request's CPU (bench/README.md). Garbage is still
# collected, just in larger batches; memory grows by at most a few megabytes between collections.
gc.freeze()
gc.set_threshold(50_000, 10, 10)
