"""Listings: each fetched once however many threads want it first (issue 8).

    IMAPFS_BIN=build/imapfs python3 -m unittest discover -s tests/integration -t tests/integration -k TestConcurrentFirstListing
"""
import hashlib
import os
import threading
import time
import unittest

from helpers import FaultProxy, Imapfs, TIMEOUT, require_binary, start_fixture, uids

THREADS = 8
# How long the kernel keeps a directory's attributes (model_timeout), and a bit.
ATTR_TIMEOUT = 1.2
FULL_LISTING = r"^UID FETCH 1:\* \(UID FLAGS INTERNALDATE RFC822\.SIZE\)"


def at_once(fn, args):
    """Runs fn(arg) for every arg, each in its own thread, released together."""
    start = threading.Barrier(len(args))
    errors = []

    def run(arg):
        start.wait()
        try:
            fn(arg)
        except Exception as e:  # noqa: BLE001 - reported below
            errors.append((arg, e))
    threads = [threading.Thread(target=run, args=(a,)) for a in args]
    for t in threads:
        t.start()
    for t in threads:
        t.join(TIMEOUT)
    return errors


class TestConcurrentFirstListing(unittest.TestCase):
    """Threads that look at a fresh mount at once wait for one listing: the
    mailboxes are LISTed once, a mailbox's messages fetched once."""

    @classmethod
    def setUpClass(cls):
        require_binary()
        cls.d = start_fixture(cls)
        cls.d.create(cls.d.user, "Crowd")
        cls.d.append_many(cls.d.user, "Crowd", [
            (b"Subject: crowd %d\r\nMessage-ID: <crowd%d@imapfs.test>\r\n\r\nhi\r\n" % (i, i),
             (), None) for i in range(2 * THREADS)])
        c = cls.d.client()
        try:
            cls.crowd = uids(c, "Crowd")
        finally:
            c.logout()

    def mount(self, proxy, *opts):
        m = Imapfs(self.d, proxy.opts(*opts))
        self.addCleanup(m.cleanup)
        self.addCleanup(proxy.cleanup)
        m.mount()
        return m

    def test_mailboxes_listed_once(self):
        # The LIST at mount fails, so each look below finds the mailboxes
        # unlisted; the LIST they need answers slowly. (The kernel sends one
        # directory's lookups one at a time, but not its GETATTRs.)
        p = FaultProxy(self.d, ["no ^LIST"])
        m = self.mount(p)
        p.set([r"trickle=0.002 ^LIST"])
        time.sleep(ATTR_TIMEOUT)
        errors = at_once(os.stat, [m.mnt] * THREADS)
        self.assertEqual(errors, [])
        self.assertIn("Crowd", os.listdir(m.mnt))
        lists = [c for c in p.commands(r"^LIST") if c.action != "no"]
        self.assertEqual(len(lists), 1, lists)

    def test_messages_listed_once(self):
        # The first thread's look into the metadata cache blocks (a FIFO where
        # the file would be) until the others have come; the listing a second
        # thread would start answers slowly, so it would overlap the first's.
        cache = os.path.join(self.d.dir, f"cache-{self.id()}")
        meta = os.path.join(cache, "meta")
        os.makedirs(meta)
        fifo = os.path.join(meta, hashlib.sha256(b"Crowd").hexdigest())
        os.mkfifo(fifo)
        self.addCleanup(release, fifo, 0)
        p = FaultProxy(self.d, [])
        m = self.mount(p, f"cache_dir={cache}")
        p.set([r"trickle=0.003 " + FULL_LISTING])
        # Names and attributes come with the listing (readdirplus), so Crowd
        # is known without a LOOKUP, which would list it; once they are stale,
        # each stat below revalidates it with a LOOKUP of its own, at once.
        crowd = os.path.join(m.mnt, "Crowd")
        self.assertIn("Crowd", os.listdir(m.mnt))
        time.sleep(ATTR_TIMEOUT)
        releaser = threading.Thread(target=release, args=(fifo, 0.5))
        releaser.start()

        def look(uid):
            os.stat(crowd)
            os.stat(os.path.join(crowd, str(uid)))
        errors = at_once(look, self.crowd[:THREADS])
        releaser.join(TIMEOUT)
        self.assertEqual(errors, [])
        fetches = p.commands(FULL_LISTING)
        self.assertEqual(len(fetches), 1, fetches)


def release(fifo, after):
    """After AFTER seconds, lets the reader of FIFO on (within TIMEOUT): opening
    the write end makes its open return, and closing it leaves an empty file,
    which the metadata cache takes as foreign (absent)."""
    time.sleep(after)
    deadline = time.monotonic() + TIMEOUT
    while time.monotonic() < deadline:
        try:
            os.close(os.open(fifo, os.O_WRONLY | os.O_NONBLOCK))
            return
        except OSError:  # ENXIO: no reader yet
            time.sleep(0.05)


if __name__ == "__main__":
    unittest.main()
