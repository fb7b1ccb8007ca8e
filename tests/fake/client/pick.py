#!/usr/bin/env python3
"""Plays one fakeimap script per connection, for the pool tests.

    pick.py STATEDIR PREFIX

The Nth run (N = 1, 2, ...) plays PREFIX.N.txt, the count kept in
STATEDIR/count under a lock since the pool may open connections in
parallel. A missing script hangs up at once, like a refused connection.
"""
import fcntl
import os
import sys


def main():
    state, prefix = sys.argv[1], sys.argv[2]
    with open(os.path.join(state, "count"), "a+") as f:
        fcntl.flock(f, fcntl.LOCK_EX)
        f.seek(0)
        n = int(f.read() or 0) + 1
        f.seek(0)
        f.truncate()
        f.write(str(n))
    script = "%s.%d.txt" % (prefix, n)
    if not os.path.exists(script):
        sys.stderr.write("pick.py: no %s: hanging up\n" % script)
        sys.exit(1)
    fake = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "fakeimap.py")
    os.execv(sys.executable, [sys.executable, fake, script])


if __name__ == "__main__":
    main()
