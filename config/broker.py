"""The embedded broker for `make run`: kombu's filesystem transport, made safe for a writer and a reader
in different processes.

Stock kombu writes a message file in place and the consumer does not take the writer's lock, so a worker
polling the folder can read a file beat is still writing and die on `JSONDecodeError` (seen under
`make run`). Here a message is written whole under a temporary name in the same file system and then
renamed into the queue folder (rename is atomic there), so a reader only ever sees complete files. A
consumer claims a file by renaming it into its own claim folder (atomic too: of two consumers only one
wins), and a file that still cannot be decoded is set aside in `broken/` with a log line instead of
killing the worker.
"""

from __future__ import annotations

import itertools
import logging
import os
import uuid
from pathlib import Path
from queue import Empty
from time import monotonic_ns

from kombu.exceptions import ChannelError
from kombu.transport import filesystem
from kombu.utils.encoding import bytes_to_str, str_to_bytes
from kombu.utils.json import dumps, loads

logger = logging.getLogger(__name__)


# Names sort in the order messages were put: nanoseconds, then a per-process sequence for ties.
_sequence = itertools.count()


class Channel(filesystem.Channel):
    def _sibling(self, name: str) -> Path:
        # Beside the queue folder, hence on the same file system: os.replace stays atomic.
        folder = Path(self.data_folder_out).parent / name
        folder.mkdir(parents=True, exist_ok=True)
        return folder

    def _put(self, queue, payload, **kwargs):
        name = f"{monotonic_ns():020d}_{next(_sequence):09d}_{uuid.uuid4()}.{queue}.msg"
        final = Path(self.data_folder_out) / name
        partial = self._sibling("writing") / name
        try:
            with open(partial, "wb") as f:
                f.write(str_to_bytes(dumps(payload)))
                f.flush()
                os.fsync(f.fileno())
            os.replace(partial, final)
        except OSError as exc:
            partial.unlink(missing_ok=True)
            raise ChannelError(f"Cannot add file {str(final)!r} to directory") from exc

    def _get(self, queue):
        wanted = f"{queue}.msg"
        claimed_folder = self._sibling("claimed")
        for name in sorted(os.listdir(self.data_folder_in)):
            if name.partition(".")[2] != wanted:
                continue
            claimed = claimed_folder / name
            try:
                os.rename(os.path.join(self.data_folder_in, name), claimed)
            except OSError:
                continue  # another consumer took it first, or it was purged
            try:
                raw = claimed.read_bytes()
            except OSError as exc:
                raise ChannelError(f"Cannot read file {str(claimed)!r} from queue.") from exc
            try:
                payload = loads(bytes_to_str(raw))
            except ValueError:
                broken = self._sibling("broken") / name
                os.replace(claimed, broken)
                logger.error("embedded broker: undecodable message set aside in %s", broken)
                continue
            if self.store_processed:
                os.replace(claimed, Path(self.processed_folder) / name)
            else:
                claimed.unlink(missing_ok=True)
            return payload
        raise Empty()


class Transport(filesystem.Transport):
    Channel = Channel
