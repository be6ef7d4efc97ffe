import gc
import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.local")
application = get_wsgi_application()


def _warm_up() -> None:
    """Do now what Django would otherwise do on each worker's first request, which then took
    ~170 ms instead of ~35: import the URLconf (every view module, python-docx for the documents)
    and load the translation catalogs of the default language."""
    from django.conf import settings
    from django.urls import get_resolver
    from django.utils import translation

    with translation.override(settings.LANGUAGE_CODE):
        _ = get_resolver().reverse_dict  # imports the URLconf and indexes it for reverse()


_warm_up()

# The cyclic garbage collector, tuned for a web worker. A list request allocates tens of thousands
# of objects (querysets, model instances, the rendered rows), so at the interpreter's default
# threshold of 700 the collector ran dozens of times per request, and its older generations kept
# re-scanning the hundreds of thousands of objects Django loads at start-up, which live as long as
# the process. Those are frozen out of collection here, and the youngest generation is collected
# every 50,000 allocations: about 5% of a list request's CPU (bench/README.md). Garbage is still
# collected, just in larger batches; memory grows by a few megabytes (4 MB over 400 list requests).
gc.freeze()
gc.set_threshold(50_000, 10, 10)
