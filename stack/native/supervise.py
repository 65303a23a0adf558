"""Tiny supervisor for one native stack service (DataPipeline).

Usage: python3 supervise.py EXIT_FILE -- PROGRAM ARG...

Runs PROGRAM in this process group (the backend starts us as a session leader, so stopping
the service is one kill of the group), forwards SIGTERM/SIGINT to it, and when it ends writes
{"code": N, "signal": NAME|null} to EXIT_FILE so a crashed service shows its exit code even
when the program that started it has gone.
"""
import json
import os
import signal
import subprocess
import sys
import time


def main() -> int:
    if len(sys.argv) < 4 or sys.argv[2] != "--":
        print("usage: supervise.py EXIT_FILE -- PROGRAM ARG...", file=sys.stderr)
        return 2
    exit_file = sys.argv[1]
    argv = sys.argv[3:]
    try:
        child = subprocess.Popen(argv)
    except OSError as e:
        print(f"supervise: cannot start {argv[0]}: {e}", file=sys.stderr, flush=True)
        _write(exit_file, 127, None)
        return 127

    def forward(signum, _frame):
        try:
            child.send_signal(signum)
        except ProcessLookupError:
            pass

    signal.signal(signal.SIGTERM, forward)
    signal.signal(signal.SIGINT, forward)
    signal.signal(signal.SIGHUP, forward)
    code = child.wait()
    sig = None
    if code < 0:
        sig = signal.Signals(-code).name
        code = 128 - code
    print(f"supervise: {os.path.basename(argv[0])} exited with code {code}" + (f" ({sig})" if sig else ""),
          file=sys.stderr, flush=True)
    _write(exit_file, code, sig)
    return code


def _write(path, code, sig):
    tmp = path + ".tmp"
    with open(tmp, "w") as f:
        json.dump({"code": code, "signal": sig, "at": time.time()}, f)
    os.replace(tmp, path)


if __name__ == "__main__":
    sys.exit(main())
