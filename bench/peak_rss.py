#!/usr/bin/env python3
"""Run a command once and report its peak memory, two ways.

    python3 bench/peak_rss.py [--prepare CMD] -- COMMAND [ARGS...]

Prints one JSON object:

* `max_rss_kb`: the largest resident set of any single process of the run, as
  `/usr/bin/time -f %M` reports it (getrusage of the waited-for children);
* `tree_peak_kb`: the largest sum of the resident sets of the command and all its
  descendants (helper processes, worker processes, git), sampled from /proc every 2 ms.
  Sampling can miss a peak shorter than the interval, so it is a lower bound;
* `wall_s` and `exit`.

Linux only (reads /proc). Output of the command goes to /dev/null.
"""

import json
import os
import resource
import subprocess
import sys
import time


def children_map():
    """pid -> list of child pids, for every process visible in /proc."""
    kids = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat", "rb") as f:
                stat = f.read()
        except OSError:
            continue
        # The command name is in parentheses and may contain spaces: split after it.
        rest = stat[stat.rfind(b")") + 2 :].split()
        ppid = int(rest[1])
        kids.setdefault(ppid, []).append(int(entry))
    return kids


def rss_kb(pid):
    try:
        with open(f"/proc/{pid}/statm") as f:
            pages = int(f.read().split()[1])
    except (OSError, IndexError, ValueError):
        return 0
    return pages * (os.sysconf("SC_PAGE_SIZE") // 1024)


def tree_rss_kb(root):
    kids = children_map()
    total = 0
    todo = [root]
    while todo:
        pid = todo.pop()
        total += rss_kb(pid)
        todo.extend(kids.get(pid, []))
    return total


def main(argv):
    prepare = None
    if argv and argv[0] == "--prepare":
        prepare = argv[1]
        argv = argv[2:]
    if argv and argv[0] == "--":
        argv = argv[1:]
    if not argv:
        print(__doc__, file=sys.stderr)
        return 2
    if prepare:
        subprocess.run(prepare, shell=True, check=True)
    start = time.monotonic()
    proc = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stdin=subprocess.DEVNULL)
    peak = 0
    while proc.poll() is None:
        peak = max(peak, tree_rss_kb(proc.pid))
        time.sleep(0.002)
    wall = time.monotonic() - start
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    print(
        json.dumps(
            {
                "command": argv,
                "exit": proc.returncode,
                "wall_s": round(wall, 4),
                "max_rss_kb": usage.ru_maxrss,
                "tree_peak_kb": peak,
            }
        )
    )
    return 0 if proc.returncode == 0 else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
