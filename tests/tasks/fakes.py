"""Test doubles for the delivery channels: an SMS gateway and an email backend that record what
they were given and fail on demand, and a real local HTTP server for the webhook channel."""

from __future__ import annotations

import json
import threading
from collections import deque
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from django.core.mail.backends.locmem import EmailBackend as LocmemEmailBackend

_lock = threading.Lock()


class RecordingSmsGateway:
    """settings.DUBAN_SMS_BACKEND = "tests.tasks.fakes.RecordingSmsGateway".

    Class-level state, because the channel instantiates the gateway per send (and the real
    worker runs in another thread of this process)."""

    sent: list[tuple[str, str]] = []
    failures: deque[Exception] = deque()
    fail_always: Exception | None = None

    @classmethod
    def reset(cls) -> None:
        with _lock:
            cls.sent = []
            cls.failures = deque()
            cls.fail_always = None

    def send_sms(self, *, phone: str, text: str, message_id: str = "") -> None:
        with _lock:
            if self.fail_always is not None:
                raise self.fail_always
            if self.failures:
                raise self.failures.popleft()
            type(self).sent.append((phone, text))


class FailingEmailBackend(LocmemEmailBackend):
    """settings.EMAIL_BACKEND = "tests.tasks.fakes.FailingEmailBackend": raises `error`."""

    error: Exception | None = None

    def send_messages(self, messages):
        if self.error is not None:
            raise self.error
        return super().send_messages(messages)


class WebhookReceiver:
    """A real HTTP server on 127.0.0.1: records each request, answers with queued status codes
    (200 once the queue is empty)."""

    def __init__(self):
        self.requests: list[dict] = []
        self.statuses: deque[int] = deque()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                receiver.requests.append({"headers": dict(self.headers), "body": body, "json": json.loads(body)})
                status = receiver.statuses.popleft() if receiver.statuses else 200
                self.send_response(status)
                self.send_header("Content-Length", "2")
                self.end_headers()
                self.wfile.write(b"ok")

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hook"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.server.shutdown()
        self.server.server_close()
