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

With --forward URL (or DATAPIPELINE_LINEAGE_FORWARD) every accepted event is also posted there, in
order, from a queue of its own (an OpenLineage server such as Marquez: /api/v1/lineage is added to a URL
with no path); a server that is down costs the producers nothing: the queue holds up to 10,000 events,
each tried 3 times, and what is dropped is counted in /health and logged once a minute.

Events are kept in a byte budget (--budget-mb, default 64): the oldest go first. With --store they
are also appended to events.jsonl there and read back at start (the file is rewritten from memory
when it grows past twice the budget), so a restart of the receiver keeps them.
"""
import argparse
import json
import os
import sys
import queue
import threading
import time
import urllib.request
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


class Forwarder:
    """Posts accepted events to another OpenLineage endpoint, in order, off the request threads."""

    def __init__(self, url, capacity=10000):
        path = urlparse(url).path
        self.url = url if path not in ("", "/") else url.rstrip("/") + "/api/v1/lineage"
        self.queue = queue.Queue(maxsize=capacity)
        self.sent = self.failed = self.dropped = 0
        self.last_log = 0.0
        threading.Thread(target=self._run, name="forward", daemon=True).start()

    def offer(self, raw):
        try:
            self.queue.put_nowait(raw)
        except queue.Full:
            self.dropped += 1
            self._log(f"forward queue full ({self.queue.maxsize}): an event to {self.url} dropped")

    def _log(self, msg):
        now = time.monotonic()
        if now - self.last_log >= 60:
            self.last_log = now
            sys.stderr.write(msg + "\n")
            sys.stderr.flush()

    def _run(self):
        while True:
            raw = self.queue.get()
            for attempt in range(3):
                try:
                    req = urllib.request.Request(self.url, data=raw, method="POST", headers={"Content-Type": "application/json"})
                    with urllib.request.urlopen(req, timeout=5) as r:
                        r.read()
                    self.sent += 1
                    break
                except Exception as e:  # noqa: BLE001 - a server down, refusing, slow: counted and logged
                    if attempt == 2:
                        self.failed += 1
                        self._log(f"could not forward an event to {self.url}: {e} ({self.failed} failed so far)")
                    else:
                        time.sleep(attempt + 1)

    def health(self):
        return {"url": self.url, "sent": self.sent, "failed": self.failed, "dropped": self.dropped, "queued": self.queue.qsize()}


def handler(store, forwarder=None):
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
                body = store.health()
                if forwarder:
                    body["forward"] = forwarder.health()
                return self.reply(200, body)
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
            raw = json.dumps(event, separators=(",", ":"), ensure_ascii=False).encode()
            seq = store.add(raw)
            if forwarder:
                forwarder.offer(raw)
            self.reply(201, {"seq": seq})

    return Handler


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=5055)
    p.add_argument("--store", help="folder to keep events.jsonl in (none: memory only)")
    p.add_argument("--budget-mb", type=float, default=64)
    p.add_argument("--forward", default=os.environ.get("DATAPIPELINE_LINEAGE_FORWARD", ""), help="also post every event to this OpenLineage URL")
    a = p.parse_args()
    store = Store(int(a.budget_mb * 1024 * 1024), a.store)
    forward = a.forward.strip()
    if forward and not forward.lower().startswith(("http://", "https://")):
        sys.stderr.write(f"--forward {forward!r} is not an http(s) URL: not forwarding\n")
        forward = ""
    forwarder = Forwarder(forward) if forward else None
    server = ThreadingHTTPServer((a.host, a.port), handler(store, forwarder))
    server.daemon_threads = True
    print(f"OpenLineage receiver on http://{a.host}:{a.port}/api/v1/lineage ({store.health()['events']} events kept)"
          + (f", forwarding to {forwarder.url}" if forwarder else ""), flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass


if __name__ == "__main__":
    main()
