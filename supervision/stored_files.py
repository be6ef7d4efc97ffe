"""Files written to storage inside a database transaction.

Storage is not transactional: when a service saves an uploaded file and then fails (an invalid row, an audit
write refused, a constraint), the transaction rolls the row back but the file would stay on disk, pointed at by
nothing, possibly evidence from a classified item. Services wrap what follows the file's save in
`deleted_if_not_kept(field_file)`."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from django.db.models.fields.files import FieldFile


@contextmanager
def deleted_if_not_kept(field_file: FieldFile) -> Iterator[None]:
    """Delete the just-saved file if the rest of the service fails (its row is rolled back with it)."""
    try:
        yield
    except BaseException:
        if field_file:
            field_file.delete(save=False)
        raise
