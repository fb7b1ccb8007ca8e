"""What the mount shows of the server itself (issue 11): the quota in df
(statfs), user.imap.capability on the root, user.imap.specialuse on mailbox
directories.

    IMAPFS_BIN=build/imapfs python3 -m unittest discover -s tests/integration -t tests/integration -k ServerInfo

The expected figures come from a second IMAP client (imaplib's GETQUOTAROOT
and CAPABILITY); statfs figures are cached for a few seconds, so a check of
a new figure polls until it shows (the verdict is the value, never the time).
"""
import errno
import math
import os
import re
import subprocess
import time
import unittest

from helpers import (TIMEOUT, FaultProxy, Imapfs, mount_for_class, rawlog_files, rawlog_sessions_since,
                     require_binary, start_fixture, tls_opts)

QUOTA_RULE = "storage=10M:messages=1000"
LIMIT_KIB = 10240
LIMIT_MESSAGES = 1000
# README: df shows a change within 5 s; polls give it that and some slack.
POLL_S = 5 + 15


def quota_of(client):
    """{resource: (usage, limit)} of INBOX's quota root, as imaplib sees it."""
    typ, data = client.getquotaroot("INBOX")
    if typ != "OK":
        raise AssertionError(f"GETQUOTAROOT: {typ} {data}")
    out = {}
    for item in data[1]:
        m = re.search(rb"\((.*)\)", item)
        words = m.group(1).split()
        for i in range(0, len(words), 3):
            out[words[i].decode().upper()] = (int(words[i + 1]), int(words[i + 2]))
    return out


def used_kib(sv):
    """df's Used column, in KiB."""
    return (sv.f_blocks - sv.f_bfree) * sv.f_frsize // 1024


def shown_used_kib(usage_kib):
    """What df shows for a usage in KiB: rounded up to a 4 KiB block."""
    return 4 * math.ceil(usage_kib / 4)


def message(size):
    head = (b"From: Quota <quota@imapfs.test>\r\nTo: you@imapfs.test\r\n"
            b"Subject: quota test\r\nDate: Wed, 02 Dec 2026 10:00:00 +0000\r\n"
            b"Message-ID: <quota-%d-%d@imapfs.test>\r\n\r\n" % (os.getpid(), time.time_ns()))
    line = b"x" * 76 + b"\r\n"
    return head + line * (size // len(line))


class ServerInfoBase(unittest.TestCase):
    def poll_statvfs(self, want, what):
        """statvfs until want(sv) holds (within POLL_S); returns the last sv."""
        deadline = time.monotonic() + POLL_S
        while True:
            sv = os.statvfs(self.m.mnt)
            if want(sv) or time.monotonic() > deadline:
                return sv
            time.sleep(0.2)


class TestServerInfoQuota(ServerInfoBase):
    """A Dovecot with the quota plugin, a mount over TLS with a login."""

    @classmethod
    def setUpClass(cls):
        require_binary()
        cls.d = start_fixture(cls, quota=QUOTA_RULE)
        cls.before = rawlog_files(cls.d)
        cls.m = mount_for_class(cls, cls.d, tls_opts(cls.d))
        cls.c = cls.d.client()
        cls.addClassCleanup(cls.c.logout)

    def expect_now(self):
        q = quota_of(self.c)
        return q["STORAGE"], q["MESSAGE"]

    def check_storage(self):
        (usage, limit), _ = self.expect_now()
        self.assertEqual(limit, LIMIT_KIB)
        sv = self.poll_statvfs(lambda sv: used_kib(sv) == shown_used_kib(usage), "storage")
        self.assertEqual(sv.f_frsize, 4096)
        self.assertEqual(sv.f_bsize, 4096)
        self.assertEqual(sv.f_blocks * sv.f_frsize // 1024, LIMIT_KIB)
        self.assertEqual(used_kib(sv), shown_used_kib(usage))
        self.assertEqual(sv.f_bavail, sv.f_bfree)
        return usage

    def test_statvfs_shows_storage_quota(self):
        self.check_storage()

    def test_df_shows_storage_quota(self):
        (usage, _), _ = self.expect_now()
        deadline = time.monotonic() + POLL_S
        while True:
            out = subprocess.run(["df", "-k", self.m.mnt], capture_output=True, text=True,
                                 timeout=TIMEOUT)
            self.assertEqual(out.returncode, 0, out.stderr)
            fields = out.stdout.splitlines()[-1].split()
            size, used, avail = int(fields[1]), int(fields[2]), int(fields[3])
            if used == shown_used_kib(usage) or time.monotonic() > deadline:
                break
            time.sleep(0.2)
        self.assertEqual(size, LIMIT_KIB)
        self.assertEqual(used, shown_used_kib(usage))
        self.assertEqual(avail, (LIMIT_KIB - usage) // 4 * 4)

    def test_message_quota_as_inodes(self):
        _, (count, limit) = self.expect_now()
        self.assertEqual(limit, LIMIT_MESSAGES)
        sv = self.poll_statvfs(lambda sv: sv.f_ffree == limit - count, "messages")
        self.assertEqual(sv.f_files, LIMIT_MESSAGES)
        self.assertEqual(sv.f_ffree, LIMIT_MESSAGES - count)
        self.assertEqual(sv.f_favail, LIMIT_MESSAGES - count)

    def test_usage_after_append(self):
        before = self.check_storage()
        path = os.path.join(self.m.mnt, "INBOX", "quota-append.eml")
        with open(path, "wb") as f:
            f.write(message(110 * 1024))
        (after, _), (count, _) = self.expect_now()
        self.assertGreaterEqual(after, before + 100, "the append did not reach the server")
        sv = self.poll_statvfs(lambda sv: used_kib(sv) == shown_used_kib(after), "after append")
        self.assertEqual(used_kib(sv), shown_used_kib(after))
        self.assertEqual(sv.f_ffree, LIMIT_MESSAGES - count)

    def test_read_only_mount(self):
        # GETQUOTAROOT selects nothing: a read-only mount shows the quota too.
        m = Imapfs(self.d, tls_opts(self.d, "ro"))
        self.addCleanup(m.cleanup)
        m.mount()
        (usage, _), _ = self.expect_now()
        deadline = time.monotonic() + POLL_S
        while True:
            sv = os.statvfs(m.mnt)
            if sv.f_blocks or time.monotonic() > deadline:
                break
            time.sleep(0.2)
        self.assertEqual(sv.f_blocks * 4, LIMIT_KIB)
        self.assertEqual(used_kib(sv), shown_used_kib(usage))

    def test_z_statfs_asks_getquotaroot_inbox(self):
        # z: after the others, so that statfs has asked at least once.
        os.statvfs(self.m.mnt)
        lines = []
        for inp, _ in rawlog_sessions_since(self.d, self.before):
            with open(inp, "rb") as f:
                lines += [l for l in f.read().split(b"\n") if b"GETQUOTAROOT" in l.upper()]
        # imapfs quotes the name; imaplib (this test's client) does not.
        self.assertTrue([l for l in lines if b'"INBOX"' in l], "statfs never asked the quota")
        for line in lines:
            # rawlog lines: "TIME TAG COMMAND"
            self.assertRegex(line, rb'^[\d.]+ \S+ GETQUOTAROOT "?INBOX"?\r?$')

    def test_capability_lists_quota(self):
        caps = os.getxattr(self.m.mnt, "user.imap.capability").decode().split()
        self.assertIn("QUOTA", caps)


class TestServerInfoQuotaFailing(ServerInfoBase):
    """The quota known, then GETQUOTAROOT refused or its connection lost:
    statfs shows what was known, never an error."""

    @classmethod
    def setUpClass(cls):
        require_binary()
        cls.d = start_fixture(cls, quota=QUOTA_RULE)
        cls.proxy = FaultProxy(cls.d)
        cls.addClassCleanup(cls.proxy.cleanup)
        cls.m = mount_for_class(cls, cls.d, cls.proxy.opts())

    def known(self):
        sv = self.poll_statvfs(lambda sv: sv.f_blocks * 4 == LIMIT_KIB, "known")
        self.assertEqual(sv.f_blocks * 4, LIMIT_KIB)
        self.assertEqual(sv.f_files, LIMIT_MESSAGES)
        return sv

    def failing(self, action):
        self.proxy.set([])
        good = self.known()
        n = len(self.proxy.commands(r"^GETQUOTAROOT"))
        self.proxy.set([f"{action} ^GETQUOTAROOT"])
        self.addCleanup(self.proxy.set, [])
        deadline = time.monotonic() + POLL_S
        seen = []
        while not [c for c in self.proxy.commands(r"^GETQUOTAROOT")[n:] if c.action == action]:
            sv = os.statvfs(self.m.mnt)  # never an error
            seen.append((sv.f_blocks, sv.f_bfree, sv.f_files, sv.f_ffree))
            self.assertLess(time.monotonic(), deadline, f"no GETQUOTAROOT was {action}ed")
            time.sleep(0.2)
        sv = os.statvfs(self.m.mnt)
        seen.append((sv.f_blocks, sv.f_bfree, sv.f_files, sv.f_ffree))
        self.assertEqual(set(seen), {(good.f_blocks, good.f_bfree, good.f_files, good.f_ffree)})
        subprocess.run(["df", "-k", self.m.mnt], check=True, capture_output=True, timeout=TIMEOUT)

    def test_refused(self):
        self.failing("no")

    def test_connection_lost(self):
        self.failing("close")

    def asks_until(self, action, count, since):
        """statvfs until COUNT GETQUOTAROOTs after the first SINCE were ACTIONed."""
        deadline = time.monotonic() + POLL_S
        while len([c for c in self.proxy.commands(r"^GETQUOTAROOT")[since:]
                   if c.action == action]) < count:
            os.statvfs(self.m.mnt)
            self.assertLess(time.monotonic(), deadline, f"fewer than {count} {action}")
            time.sleep(0.2)

    def test_refused_logged_once(self):
        # A run of refusals is logged once, not at every statfs's ask.
        self.proxy.set([])
        self.known()
        self.asks_until("forward", 1, len(self.proxy.commands(r"^GETQUOTAROOT")))
        logged = self.m.stderr().count("quota: showing what was known")
        n = len(self.proxy.commands(r"^GETQUOTAROOT"))
        self.proxy.set(["no ^GETQUOTAROOT"])
        self.addCleanup(self.proxy.set, [])
        self.asks_until("no", 2, n)
        self.assertEqual(self.m.stderr().count("quota: showing what was known") - logged, 1,
                         self.m.stderr())


class TestServerInfoNoQuota(ServerInfoBase):
    """A Dovecot without the quota plugin: statfs as before (zeros), no
    GETQUOTAROOT sent; the capability and special-use xattrs."""

    @classmethod
    def setUpClass(cls):
        require_binary()
        cls.d = start_fixture(cls)
        cls.before = rawlog_files(cls.d)
        cls.m = mount_for_class(cls, cls.d, tls_opts(cls.d))
        cls.c = cls.d.client()
        cls.addClassCleanup(cls.c.logout)

    def test_statvfs_as_before(self):
        for _ in range(3):
            sv = os.statvfs(self.m.mnt)
            self.assertEqual((sv.f_bsize, sv.f_frsize, sv.f_namemax), (4096, 4096, 255))
            self.assertEqual((sv.f_blocks, sv.f_bfree, sv.f_bavail), (0, 0, 0))
            self.assertEqual((sv.f_files, sv.f_ffree), (0, 0))
        out = subprocess.run(["df", "-k", self.m.mnt], capture_output=True, text=True,
                             timeout=TIMEOUT)
        self.assertEqual(out.returncode, 0, out.stderr)
        sent = b""
        for inp, _ in rawlog_sessions_since(self.d, self.before):
            with open(inp, "rb") as f:
                sent += f.read()
        self.assertIn(b"LIST", sent.upper())  # the mount's sessions are these
        self.assertNotIn(b"GETQUOTA", sent.upper())

    def test_capability(self):
        typ, data = self.c.capability()
        self.assertEqual(typ, "OK")
        want = data[0].decode()
        got = os.getxattr(self.m.mnt, "user.imap.capability").decode()
        self.assertEqual(got.split(), want.split())
        self.assertEqual(got, " ".join(got.split()))
        self.assertIn("user.imap.capability", os.listxattr(self.m.mnt))

    def test_specialuse(self):
        mnt = self.m.mnt
        self.assertEqual(os.getxattr(os.path.join(mnt, "Trash"), "user.imap.specialuse"),
                         b"\\Trash")
        self.assertEqual(os.getxattr(os.path.join(mnt, "Sent"), "user.imap.specialuse"),
                         b"\\Sent")
        self.assertIn("user.imap.specialuse", os.listxattr(os.path.join(mnt, "Trash")))
        self.assertIn("user.imap.specialuse", os.listxattr(os.path.join(mnt, "Sent")))
        with self.assertRaises(OSError) as e:
            os.getxattr(os.path.join(mnt, "INBOX"), "user.imap.specialuse")
        self.assertEqual(e.exception.errno, errno.ENODATA)
        self.assertNotIn("user.imap.specialuse", os.listxattr(os.path.join(mnt, "INBOX")))
        # Neither attribute is anywhere else.
        with self.assertRaises(OSError) as e:
            os.getxattr(os.path.join(mnt, "Trash"), "user.imap.capability")
        self.assertEqual(e.exception.errno, errno.ENODATA)
        with self.assertRaises(OSError) as e:
            os.getxattr(mnt, "user.imap.specialuse")
        self.assertEqual(e.exception.errno, errno.ENODATA)


if __name__ == "__main__":
    unittest.main()
