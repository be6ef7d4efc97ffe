"""Channel doubles for worker subprocesses (tests/tasks/test_exactly_once.py): they append one
JSON line per event to the file named by DUBAN_TEST_SEND_LOG, with a single O_APPEND write, so
lines from concurrent pool processes never interleave.

- {"event": "sent", ...} is written only once a send has completed;
- {"event": "started", ...} when an SMS send begins.

With DUBAN_TEST_SMS_BLOCK_MARKER set, the first SMS send of the whole run (whoever creates the
marker file first) writes the marker and then hangs for DUBAN_TEST_SMS_BLOCK_SECONDS before
completing: a send in progress that the test can kill."""

from __future__ import annotations

import json
import os
import time

from django.core.mail.backends.base import BaseEmailBackend


def append(path: str, event: str, **fields) -> None:
    line = json.dumps({"event": event, "pid": os.getpid(), "t": time.time(), **fields}, ensure_ascii=False) + "\n"
    fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
    try:
        os.write(fd, line.encode("utf-8"))
    finally:
        os.close(fd)


def record(event: str, **fields) -> None:
    append(os.environ["DUBAN_TEST_SEND_LOG"], event, **fields)


def read_log(path) -> list[dict]:
    try:
        with open(path, encoding="utf-8") as f:
            return [json.loads(line) for line in f if line.strip()]
    except FileNotFoundError:
        return []


class FileSmsGateway:
    def send_sms(self, *, phone: str, text: str, message_id: str = "") -> None:
        record("started", channel="sms", to=phone, text=text)
        marker = os.environ.get("DUBAN_TEST_SMS_BLOCK_MARKER")
        if marker:
            try:
                fd = os.open(marker, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
            except FileExistsError:
                pass
            else:
                # Marker first, then hang: the test kills this process while it sleeps here.
                os.write(fd, json.dumps({"pid": os.getpid(), "to": phone, "text": text}, ensure_ascii=False).encode("utf-8"))
                os.close(fd)
                time.sleep(float(os.environ.get("DUBAN_TEST_SMS_BLOCK_SECONDS", "30")))
        record("sent", channel="sms", to=phone, text=text)


class FileEmailBackend(BaseEmailBackend):
    def send_messages(self, email_messages):
        for message in email_messages:
            record("sent", channel="email", to=list(message.to), message_id=message.extra_headers.get("Message-ID"))
        return len(email_messages)
