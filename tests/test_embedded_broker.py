"""The embedded broker of `make run` (config/broker.py): a consumer never reads a half-written message,
of two consumers only one gets each message, and a broken file does not kill the worker."""

from __future__ import annotations

import multiprocessing
from pathlib import Path
from queue import Empty

from kombu import Connection
from kombu.transport.virtual import BrokerState

from config.broker import Transport

QUEUE = "celery"


def _connection(root: Path) -> Connection:
    queue = root / "queue"
    queue.mkdir(parents=True, exist_ok=True)
    (root / "control").mkdir(exist_ok=True)
    # kombu keeps a filesystem broker's state per process; these tests open several brokers in one.
    transport = type("IsolatedTransport", (Transport,), {"global_state": BrokerState()})
    return Connection(
        "filesystem://",
        transport=transport,
        transport_options={
            "data_folder_in": str(queue),
            "data_folder_out": str(queue),
            "control_folder": str(root / "control"),
            "store_processed": False,
        },
    )


def _drain(root: Path, limit: float = 1.0) -> list:
    got = []
    with _connection(root) as conn:
        q = conn.SimpleQueue(QUEUE)
        while True:
            try:
                message = q.get(timeout=limit)
            except Empty:
                break
            got.append(message.payload)
            message.ack()
        q.close()
    return got


def test_messages_arrive_whole_and_in_order(tmp_path):
    with _connection(tmp_path) as conn:
        q = conn.SimpleQueue(QUEUE)
        for n in range(5):
            q.put({"n": n, "text": "督办" * 50})
        q.close()
    assert [m["n"] for m in _drain(tmp_path)] == [0, 1, 2, 3, 4]
    # nothing left behind: no half-written or claimed files
    assert list((tmp_path / "writing").iterdir()) == []
    assert list((tmp_path / "claimed").iterdir()) == []


def test_a_file_still_being_written_is_not_read(tmp_path):
    _connection(tmp_path).close()
    writing = tmp_path / "writing"
    writing.mkdir()
    # What stock kombu would leave visible mid-write: a truncated JSON body. Here it sits in writing/.
    (writing / f"000000000000001_x.{QUEUE}.msg").write_text('{"body": "eyJ', encoding="utf-8")
    assert _drain(tmp_path) == []


def test_a_broken_file_is_set_aside_and_the_next_message_still_comes(tmp_path, caplog):
    with _connection(tmp_path) as conn:
        q = conn.SimpleQueue(QUEUE)
        q.put({"n": 1})
        q.close()
    # A file that is truncated in the queue folder itself (a crash of another writer, a full disk).
    (tmp_path / "queue" / f"000000000000000_broken.{QUEUE}.msg").write_text('{"bo', encoding="utf-8")
    assert [m["n"] for m in _drain(tmp_path)] == [1]
    assert [p.name for p in (tmp_path / "broken").iterdir()] == [f"000000000000000_broken.{QUEUE}.msg"]
    assert "undecodable message" in caplog.text


def _produce(root: str, start: int, count: int) -> None:
    with _connection(Path(root)) as conn:
        q = conn.SimpleQueue(QUEUE)
        for n in range(start, start + count):
            q.put({"n": n, "pad": "x" * 20000})  # large enough that a write takes several syscalls
        q.close()


def _consume(root: str, out, stop) -> None:
    got = []
    with _connection(Path(root)) as conn:
        q = conn.SimpleQueue(QUEUE)
        idle = 0
        while idle < 20:
            try:
                message = q.get(timeout=0.05)
            except Empty:
                idle = idle + 1 if stop.is_set() else 0
                continue
            idle = 0
            got.append(message.payload["n"])
            message.ack()
        q.close()
    out.put(got)


def test_two_writers_and_two_readers_each_message_once(tmp_path):
    _connection(tmp_path).close()
    ctx = multiprocessing.get_context("spawn")
    out, stop = ctx.Queue(), ctx.Event()
    readers = [ctx.Process(target=_consume, args=(str(tmp_path), out, stop)) for _ in range(2)]
    writers = [ctx.Process(target=_produce, args=(str(tmp_path), start, 300)) for start in (0, 300)]
    for p in readers + writers:
        p.start()
    for p in writers:
        p.join()
    stop.set()
    received = out.get(timeout=60) + out.get(timeout=60)
    for p in readers:
        p.join()
        assert p.exitcode == 0  # no reader died on a half-written file
    assert sorted(received) == list(range(600))
