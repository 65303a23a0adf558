#!/usr/bin/env python3
"""The stack's OpenLineage receiver: the HTTP endpoint Airflow's OpenLineage provider and the Spark
listener send their run events to (OpenLineage's HTTP transport posts to /api/v1/lineage), kept for
the extension, its CLI and its agent tools to read.

A stack service, not a listener in the extension host: containers on the stack's bridge network
cannot reach the host's 127.0.0.1, and the events must outlive a window reload. Python's standard
library only, so it runs in the Airflow image and beside the native stack with nothing installed.

  POST /api/v1/lineage          one run event (JSON); 201, or 400 with the reason (logged)
  GET  /api/v1/lineage?after=N  the events after sequence N (default 0), oldest first, at most
                                `limit` (default 1000): {"events": [{"seq", "event"}], "next", "dropped"}
  GET  /health                  {"status": "ok", "events", "bytes", "budget", "dropped"}

Events are kept in a byte budget (--budget-mb, default 64): the oldest go first. With --store they
are also appended to events.jsonl there and read back at start (the file is rewritten from memory
when it grows past twice the budget), so a restart of the receiver keeps them.
"""
import argparse
import json
import os
import sys
import threading
from collections import deque
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlparse

MAX_EVENT_BYTES = 5 * 1024 * 1024
REQUIRED = ("eventTime", "producer", "run", "job")


def validate(event):
    """The reason an event is refused, or None. The fields every OpenLineage event carries."""
    if not isinstance(event, dict):
        return "an event is a JSON object"
    missing = [k for k in REQUIRED if k not in event]
    if missing:
        return "missing " + ", ".join(missing)
    run, job = event.get("run"), event.get("job")
    if not isinstance(run, dict) or not isinstance(run.get("runId"), str) or not run["runId"]:
        return "run.runId must be a non-empty string"
    if not isinstance(job, dict) or not isinstance(job.get("namespace"), str) or not isinstance(job.get("name"), str):
        return "job.namespace and job.name must be strings"
    if not isinstance(event.get("eventTime"), str):
        return "eventTime must be a string (ISO 8601)"
    return None


class Store:
    def __init__(self, budget, directory=None):
        self.budget = budget
        self.events = deque()  # (seq, raw bytes)
        self.bytes = 0
        self.seq = 0
        self.dropped = 0
        self.lock = threading.Lock()
        self.file = None
        self.file_bytes = 0
        if directory:
            os.makedirs(directory, exist_ok=True)
            self.path = os.path.join(directory, "events.jsonl")
            self._load()
            self._rewrite()

    def _load(self):
        try:
            with open(self.path, "rb") as f:
                for line in f:
                    line = line.strip()
                    if line:
                        try:
                            if validate(json.loads(line)) is None:
                                self._keep(line)
                        except ValueError:
                            pass  # a line cut short by a crash
        except FileNotFoundError:
            pass

    def _rewrite(self):
        tmp = self.path + ".tmp"
        with open(tmp, "wb") as f:
            for _, raw in self.events:
                f.write(raw + b"\n")
        os.replace(tmp, self.path)
        if self.file:
            self.file.close()
        self.file = open(self.path, "ab")
        self.file_bytes = self.bytes

    def _keep(self, raw):
        self.seq += 1
        self.events.append((self.seq, raw))
        self.bytes += len(raw)
        while self.bytes > self.budget and len(self.events) > 1:
            _, old = self.events.popleft()
            self.bytes -= len(old)
            self.dropped += 1

    def add(self, raw):
        with self.lock:
            self._keep(raw)
            if self.file:
                self.file.write(raw + b"\n")
                self.file.flush()
                self.file_bytes += len(raw)
                if self.file_bytes > 2 * self.budget:
                    self._rewrite()
            return self.seq

    def after(self, seq, limit):
        with self.lock:
            out = [(s, raw) for s, raw in self.events if s > seq][:limit]
            return out, self.dropped

    def health(self):
        with self.lock:
            return {"status": "ok", "events": len(self.events), "bytes": self.bytes, "budget": self.budget, "dropped": self.dropped}


def handler(store):
    class Handler(BaseHTTPRequestHandler):
        server_version = "DataPipelineLineage/1"
        # keep-alive, and each reply sent at once (no Nagle wait on a reply's second write: with it, a
        # flood of events from one client went at 15 a second)
        protocol_version = "HTTP/1.1"
        disable_nagle_algorithm = True

        def log_message(self, fmt, *args):  # one line per refusal instead (below)
            pass

        def reply(self, code, body):
            data = body if isinstance(body, bytes) else json.dumps(body).encode()
            self.send_response(code)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def refuse(self, code, reason):
            # a body left unread must not be taken for the next request on this connection
            self.close_connection = True
            sys.stderr.write(f"refused an event from {self.client_address[0]}: {reason}\n")
            sys.stderr.flush()
            self.reply(code, {"error": reason})

        def do_GET(self):
            url = urlparse(self.path)
            if url.path == "/health":
                return self.reply(200, store.health())
            if url.path.rstrip("/") == "/api/v1/lineage":
                q = parse_qs(url.query)
                try:
                    after = int(q.get("after", ["0"])[0])
                    limit = max(1, min(10000, int(q.get("limit", ["1000"])[0])))
                except ValueError:
                    return self.reply(400, {"error": "after and limit are integers"})
                events, dropped = store.after(after, limit)
                body = b'{"events":[' + b",".join(b'{"seq":%d,"event":%s}' % (s, raw) for s, raw in events) + b'],"next":%d,"dropped":%d}' % (events[-1][0] if events else after, dropped)
                return self.reply(200, body)
            self.reply(404, {"error": f"no {url.path}: POST events to /api/v1/lineage"})

        def do_POST(self):
            if urlparse(self.path).path.rstrip("/") != "/api/v1/lineage":
                return self.reply(404, {"error": "POST events to /api/v1/lineage"})
            try:
                length = int(self.headers.get("Content-Length") or "0")
            except ValueError:
                return self.refuse(400, "bad Content-Length")
            if length <= 0:
                return self.refuse(400, "empty body")
            if length > MAX_EVENT_BYTES:
                return self.refuse(413, f"event of {length} bytes (at most {MAX_EVENT_BYTES})")
            body = self.rfile.read(length)
            try:
                event = json.loads(body)
            except ValueError as e:
                return self.refuse(400, f"not JSON: {e}")
            reason = validate(event)
            if reason:
                return self.refuse(400, reason)
            # kept compact, one line, as the producer sent it
            seq = store.add(json.dumps(event, separators=(",", ":"), ensure_ascii=False).encode())
            self.reply(201, {"seq": seq})

    return Handler


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=5055)
    p.add_argument("--store", help="folder to keep events.jsonl in (none: memory only)")
    p.add_argument("--budget-mb", type=float, default=64)
    a = p.parse_args()
    store = Store(int(a.budget_mb * 1024 * 1024), a.store)
    server = ThreadingHTTPServer((a.host, a.port), handler(store))
    server.daemon_threads = True
    print(f"OpenLineage receiver on http://{a.host}:{a.port}/api/v1/lineage ({store.health()['events']} events kept)", flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass


if __name__ == "__main__":
    main()
