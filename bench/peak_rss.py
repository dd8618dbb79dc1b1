"""Run a command and print its wall time and peak resident memory (MB) as JSON on stderr's last line."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time


def main() -> None:
    started = time.monotonic()
    proc = subprocess.Popen(sys.argv[1:])
    _, status, usage = os.wait4(proc.pid, 0)
    seconds = time.monotonic() - started
    print(
        json.dumps(
            {
                "status": os.waitstatus_to_exitcode(status),
                "seconds": seconds,
                "peak_rss_mb": usage.ru_maxrss / 1024,
            }
        )
    )


if __name__ == "__main__":
    main()
