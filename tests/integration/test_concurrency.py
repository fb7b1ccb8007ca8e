"""Many things at once on one mount (issue 8): what scripts/test runs under ThreadSanitizer.

Two `grep -r`, a lister (ls + stat + getxattr) and two readers of random files
(whole messages, headers, decoded parts, a large message in ranges) in parallel
on one mount, while a second IMAP client appends, flags and expunges; then an
unmount and a remount on the same cache, twice. Every answer is checked, imapfs
must exit 0 and its stderr hold no sanitizer report.

    G_SLICE=always-malloc TSAN_OPTIONS=halt_on_error=0 IMAPFS_BIN=build-tsan/imapfs \\
        python3 -m unittest discover -s tests/integration -t tests/integration -k TestConcurrency

(G_SLICE: see tests/tsan.supp.)

Environment: IMAPFS_CONCURRENCY_SECONDS, how long each round's load runs (default 6);
IMAPFS_TEST_VERBOSE=1 prints how many loops each worker made.
"""
import os
import random
import shutil
import subprocess
import sys
import tempfile
import threading
import time
import unittest

from helpers import (ROOT, TIMEOUT, Imapfs, dovecot, is_uid_name, readable_header,
                     require_binary,
                     start_fixture, tls_opts, uids)

sys.path.insert(0, os.path.join(ROOT, "tests", "data"))
import bulk  # noqa: E402

SECONDS = float(os.environ.get("IMAPFS_CONCURRENCY_SECONDS", "6"))
ROUNDS = 2
BOX = "Bulk"
BIG_INDEX = 13          # the bulk message with a 1.3 MB attachment: read in ranges


def read(path):
    with open(path, "rb") as f:
        return f.read()


class TestConcurrency(unittest.TestCase):

    @classmethod
    def setUpClass(cls):
        require_binary()
        cls.d = start_fixture(cls)
        cls.msgs = bulk.mailbox("conc", 120, bigs=(BIG_INDEX,))
        cls.uids = bulk.load(cls.d, BOX, cls.msgs)
        cls.by_uid = dict(zip(cls.uids, cls.msgs))
        cls.word_uids = {u for u, m in cls.by_uid.items() if m.has_word}

    def setUp(self):
        self.errors = []
        self.rounds = {}        # worker name -> loops completed
        self.stop = threading.Event()
        self.appended = []      # UIDs in INBOX added by the writer, still there
        self.expunged = []

    # ---- workers: each loops until stop, recording what went wrong ---------------

    def worker(self, name, fn):
        def loop():
            n = 0
            try:
                while not self.stop.is_set():
                    fn()
                    n += 1
                    self.rounds[name] = n
            except Exception as e:  # noqa: BLE001 - every failure is a finding
                self.errors.append(f"{name} (after {n} rounds): {e!r}")
                self.stop.set()
        t = threading.Thread(target=loop, name=name, daemon=True)
        t.start()
        return t

    def grep(self, mnt):
        box = os.path.join(mnt, BOX)
        r = subprocess.run(["grep", "-rl", "--", bulk.WORD, box], capture_output=True,
                           timeout=300)
        if r.returncode != 0:
            raise AssertionError(f"grep exited {r.returncode}: {r.stderr[-2000:]!r}")
        got = {int(os.path.relpath(p, box).split("/")[0])
               for p in r.stdout.decode().split("\n") if p}
        if got != self.word_uids:
            raise AssertionError(f"grep found {sorted(got)}, want {sorted(self.word_uids)}")

    def lister(self, mnt):
        for top in ("INBOX", "Archive", BOX):
            d = os.path.join(mnt, top)
            for name in os.listdir(d):
                p = os.path.join(d, name)
                try:
                    os.stat(p)
                    if is_uid_name(name):
                        os.getxattr(p, "user.imap.flags")
                        os.listdir(p)
                except FileNotFoundError:
                    if top != "INBOX":  # only INBOX loses messages meanwhile
                        raise

    def reader(self, mnt, rng):
        """One file of a random message: message.eml (the big one in a random range),
        header or a decoded part; its page cache dropped first, so imapfs is asked."""
        uid = rng.choice(self.uids)
        msg = self.by_uid[uid]
        d = os.path.join(mnt, BOX, str(uid))
        which = rng.randrange(3)
        if which == 0:
            path, want = os.path.join(d, "message.eml"), msg.raw
        elif which == 1:
            path, want = os.path.join(d, "header"), readable_header(msg.header)
        else:
            leaf = rng.choice(msg.leaves)
            (name,) = os.listdir(os.path.join(d, *leaf.dirs))
            path, want = os.path.join(d, *leaf.dirs, name), leaf.expected
        with open(path, "rb") as f:
            os.posix_fadvise(f.fileno(), 0, 0, os.POSIX_FADV_DONTNEED)
            off = rng.randrange(len(want)) if len(want) > 1024 * 1024 else 0
            f.seek(off)
            data = f.read(rng.randrange(1, 300000) if off else -1)
        if data != want[off:off + len(data)] or (not off and len(data) != len(want)):
            raise AssertionError(f"{path}: {len(data)} bytes at {off} differ from the server's")

    def writer(self, client, rng):
        """APPEND to INBOX; now and then flag one and expunge the oldest appended."""
        n = len(self.appended) + len(self.expunged)
        uid = dovecot.append_with(client, "INBOX", b"Subject: concurrent %d\r\n"
                                  b"Message-ID: <conc-%d@imapfs.test>\r\n\r\nnew %d\r\n"
                                  % (n, n, n))
        self.appended.append(uid)
        client.select("INBOX")
        if n % 2 == 1:
            client.uid("STORE", str(rng.choice(self.appended)), "+FLAGS", "(\\Flagged)")
        if n % 3 == 2:
            old = self.appended.pop(0)
            client.uid("STORE", str(old), "+FLAGS", "(\\Deleted)")
            client.uid("EXPUNGE", str(old))
            self.expunged.append(old)
        time.sleep(0.3)

    # ---- the test -------------------------------------------------------------------

    def wait_for_inbox(self, mnt, client):
        """Within about two seconds of looking, INBOX shows the server's UIDs (README)."""
        want = set(uids(client, "INBOX"))
        deadline = time.monotonic() + 15
        while True:
            got = {int(n) for n in os.listdir(os.path.join(mnt, "INBOX")) if is_uid_name(n)}
            if got == want or time.monotonic() > deadline:
                break
            time.sleep(0.5)
        self.assertEqual(got, want, "INBOX after the writer stopped")

    def test_readers_writer_remount(self):
        workdir = tempfile.mkdtemp(prefix="imapfs-mnt-")
        self.addCleanup(shutil.rmtree, workdir, True)
        client = self.d.client()
        self.addCleanup(client.logout)
        rng = random.Random(8)
        for rnd in range(ROUNDS):
            m = Imapfs(self.d, tls_opts(self.d, "connections=4"), workdir=workdir)
            self.addCleanup(m.kill)
            m.mount()
            self.stop.clear()
            rngs = [random.Random(rnd * 2), random.Random(rnd * 2 + 1)]
            threads = [self.worker("grep-1", lambda: self.grep(m.mnt)),
                       self.worker("grep-2", lambda: self.grep(m.mnt)),
                       self.worker("ls", lambda: self.lister(m.mnt)),
                       self.worker("reader-1", lambda: self.reader(m.mnt, rngs[0])),
                       self.worker("reader-2", lambda: self.reader(m.mnt, rngs[1])),
                       self.worker("writer", lambda: self.writer(client, rng))]
            self.stop.wait(SECONDS)
            self.stop.set()
            for t in threads:
                t.join(TIMEOUT * 4)
                self.assertFalse(t.is_alive(), f"{t.name} still running (imapfs stuck?)")
            self.assertEqual(self.errors, [], f"round {rnd}:\n{m.stderr()[-4000:]}")
            self.assertEqual(set(self.rounds), {t.name for t in threads}, self.rounds)
            if os.environ.get("IMAPFS_TEST_VERBOSE"):
                print(f"round {rnd}: {self.rounds}", file=sys.stderr)
            self.rounds.clear()
            self.wait_for_inbox(m.mnt, client)
            self.grep(m.mnt)
            rc = m.unmount()
            self.assertIsNone(m.sanitizer_report(), m.stderr()[-16000:])
            self.assertEqual(rc, 0, m.stderr()[-4000:])
        self.assertTrue(self.appended and self.expunged)


if __name__ == "__main__":
    unittest.main()
