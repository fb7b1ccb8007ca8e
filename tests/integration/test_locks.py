"""No request waits behind a disk sync (issue 8, fix 2): the metadata cache is
written without the model's lock. A slow disk is played by
tests/fake/slowsync.c (LD_PRELOAD: every fsync takes 3 s).

    IMAPFS_BIN=build/imapfs python3 -m unittest discover -s tests/integration -t tests/integration -k TestLocks
"""
import os
import re
import subprocess
import tempfile
import threading
import time
import unittest

from helpers import IMAPFS_BIN, ROOT, Imapfs, require_binary, start_fixture, tls_opts

SYNC_S = 3
META_SAVE_S = 30  # fs/model/listing.c META_SAVE_MS: a changed listing is saved this often


def preload(shim):
    """LD_PRELOAD for the shim; a sanitizer's runtime must come first."""
    out = subprocess.run(["ldd", IMAPFS_BIN], capture_output=True, text=True).stdout
    runtimes = re.findall(r"=> (\S*lib[at]san\.so\S*)", out)
    return ":".join(runtimes + [shim])


class TestLocks(unittest.TestCase):

    @classmethod
    def setUpClass(cls):
        require_binary()
        cls.d = start_fixture(cls)
        cls.tmp = tempfile.mkdtemp(prefix="imapfs-slowsync-")
        cls.shim = os.path.join(cls.tmp, "slowsync.so")
        subprocess.run(["cc", "-shared", "-fPIC", "-o", cls.shim,
                        os.path.join(ROOT, "tests", "fake", "slowsync.c"), "-ldl"], check=True)

    def test_no_wait_behind_a_metadata_save(self):
        log = os.path.join(self.tmp, "syncs")
        m = Imapfs(self.d, tls_opts(self.d), env={
            "LD_PRELOAD": preload(self.shim), "SLOWSYNC_MS": str(SYNC_S * 1000),
            "SLOWSYNC_LOG": log})
        self.addCleanup(m.cleanup)
        m.mount()
        inbox, sent = os.path.join(m.mnt, "INBOX"), os.path.join(m.mnt, "Sent")
        os.listdir(inbox)
        probe = os.path.join(sent, sorted(n for n in os.listdir(sent) if n.isdigit())[0])
        os.getxattr(probe, "user.imap.flags")
        self.d.append(self.d.user, "INBOX", b"Subject: makes INBOX's listing dirty\r\n\r\nx\r\n")
        time.sleep(META_SAVE_S + 1)

        # While INBOX's changed listing is saved (a 3 s fsync), another
        # mailbox's flags (which need the model's lock) keep answering.
        slowest, stop = [0.0], threading.Event()

        def ask():
            while not stop.is_set():
                start = time.monotonic()
                os.getxattr(probe, "user.imap.flags")
                slowest[0] = max(slowest[0], time.monotonic() - start)
                time.sleep(0.02)

        t = threading.Thread(target=ask)
        t.start()
        time.sleep(0.5)
        started = time.monotonic()
        os.listdir(inbox)
        listed = time.monotonic() - started
        time.sleep(SYNC_S + 1)
        stop.set()
        t.join()
        with open(log) as f:
            syncs = [float(x) for x in f.read().split()]
        self.assertTrue([s for s in syncs if s >= started - 1], "no metadata save happened")
        # The listing that found the change does not wait for its save either.
        self.assertLess(listed, 1.0, f"ls waited {listed:.2f} s for the save")
        self.assertLess(slowest[0], 1.0, f"a request waited {slowest[0]:.2f} s behind the save")
        self.assertEqual(m.unmount(), 0, m.stderr())


if __name__ == "__main__":
    unittest.main()
