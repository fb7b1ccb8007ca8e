"""Append: a file written into a mailbox directory is APPENDed at its close, once (issue 9).

    IMAPFS_BIN=build/imapfs python3 -m unittest discover -s tests/integration -t tests/integration -k TestAppend

Every count is made by a second IMAP client (fixture.client()): the Message-ID
of each message is unique, so "exactly once" is a search by it.
"""
import errno
import hashlib
import os
import random
import re
import shutil
import subprocess
import tempfile
import threading
import time
import unittest

from helpers import (TIMEOUT, FaultProxy, Imapfs, dovecot, entries, examine, fetch_item, fetch_meta,
                     mount_for_class, rawlog_files, require_binary, start_fixture, uids)


class DovecotWithDrafts(dovecot.Dovecot):
    """The fixture with a SPECIAL-USE \\Drafts mailbox besides Trash and Sent."""

    def _write_config(self):
        super()._write_config()
        with open(self.conf) as f:
            text = f.read()
        drafts = "  mailbox Drafts {\n    special_use = \\Drafts\n    auto = subscribe\n  }\n"
        text = text.replace("  mailbox Sent {", drafts + "  mailbox Sent {", 1)
        assert "Drafts" in text
        with open(self.conf, "w") as f:
            f.write(text)


def message(mid, body=b"hello\r\n", subject=b"append test", eol=b"\r\n"):
    head = [b"From: Tester <tester@imapfs.test>", b"To: you@imapfs.test",
            b"Subject: " + subject, b"Date: Wed, 02 Dec 2026 10:00:00 +0000"]
    if mid:
        head.append(b"Message-ID: " + mid.encode())
    return eol.join(head) + eol + eol + body.replace(b"\r\n", eol)


def write_file(path, data):
    with open(path, "wb") as f:
        f.write(data)


def read_file(path):
    with open(path, "rb") as f:
        return f.read()


def run(argv, **kw):
    return subprocess.run(argv, capture_output=True, timeout=TIMEOUT * 4, **kw)


def by_mid(client, mailbox, mid):
    return uids(client, mailbox, "HEADER", "Message-ID", '"%s"' % mid)


def rss_hwm_kb(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
    return 0


class AppendBase(unittest.TestCase):
    serial = 0

    @classmethod
    def mid(cls, what):
        AppendBase.serial += 1
        return f"<{what}-{os.getpid()}-{AppendBase.serial}-{random.getrandbits(32)}@imapfs.test>"

    def tmpfile(self, data, name="mail.eml"):
        d = tempfile.mkdtemp(prefix="imapfs-src-")
        self.addCleanup(shutil.rmtree, d, True)
        p = os.path.join(d, name)
        write_file(p, data)
        return p

    def uidnext(self, mailbox):
        typ, data = self.c.status(mailbox, "(UIDNEXT MESSAGES)")
        self.assertEqual(typ, "OK", data)
        return data[0].decode()

    def assert_once(self, mailbox, mid, want=None):
        """The message is on the server once (its bytes: want), and its UID shows at
        once in the mailbox directory; returns that UID."""
        found = by_mid(self.c, mailbox, mid)
        self.assertEqual(len(found), 1, f"{mid} in {mailbox}: {found}")
        if want is not None:
            self.assertEqual(fetch_item(self.c, found[0], "BODY.PEEK[]"), want)
        self.assertIn(str(found[0]), os.listdir(os.path.join(self.m.mnt, mailbox)))
        return found[0]


class TestAppend(AppendBase):
    """cp, mv, cat > and rsync into a mailbox each APPEND once; refusals reach cp."""

    @classmethod
    def setUpClass(cls):
        require_binary()
        cls.d = DovecotWithDrafts(rawlog=True)
        cls.addClassCleanup(cls.d.cleanup)
        cls.d.start()
        cls.d.append(cls.d.user, "INBOX", message("<seed@imapfs.test>"))
        cls.d.create(cls.d.user, "Archive")
        cls.m = mount_for_class(cls, cls.d, [f"port={cls.d.port_plain}", "tls=none"])
        cls.c = cls.d.client()
        cls.addClassCleanup(cls.c.logout)
        cls.inbox = os.path.join(cls.m.mnt, "INBOX")

    def names(self, mailbox="INBOX"):
        return sorted(entries(os.path.join(self.m.mnt, mailbox)))

    def test_cp(self):
        mid = self.mid("cp")
        data = message(mid)
        src = self.tmpfile(data)
        r = run(["cp", src, self.inbox + "/"])
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assert_once("INBOX", mid, data)
        self.assertNotIn("mail.eml", self.names())
        self.assertEqual(read_file(src), data)

    def test_mv_from_another_file_system(self):
        mid = self.mid("mv")
        data = message(mid)
        src = self.tmpfile(data, "moved.eml")
        r = run(["mv", src, os.path.join(self.m.mnt, "Archive") + "/"])
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertFalse(os.path.exists(src))
        self.assert_once("Archive", mid, data)
        self.assertEqual(by_mid(self.c, "INBOX", mid), [])
        self.assertNotIn("moved.eml", self.names("Archive"))

    def test_cat_lf_only_arrives_crlf(self):
        mid = self.mid("cat")
        lf = message(mid, b"line one\r\nline two\r\n", eol=b"\n")
        self.assertNotIn(b"\r", lf)
        dest = os.path.join(self.inbox, "x.eml")
        r = run(["sh", "-c", 'cat > "$1"', "sh", dest], input=lf)
        self.assertEqual(r.returncode, 0, r.stderr)
        crlf = lf.replace(b"\n", b"\r\n")
        self.assert_once("INBOX", mid, crlf)
        self.assertNotIn("x.eml", self.names())
        # Dovecot makes line ends CRLF itself when read: what was sent is in its rawlog.
        sent = b""
        for _ in range(50):
            sent = b"".join(re.sub(rb"(?m)^\d+\.\d+ ", b"", read_file(p))
                            for p in rawlog_files(self.d) if p.endswith(".in"))
            if crlf in sent:
                break
            time.sleep(0.1)
        self.assertIn(b"{%d+}\r\n" % len(crlf) + crlf, sent)
        self.assertNotIn(b"Message-ID: " + mid.encode() + b"\n", sent)

    def test_rsync(self):
        if not shutil.which("rsync"):
            self.skipTest("no rsync (scripts/deps installs it)")
        mid = self.mid("rsync")
        data = message(mid)
        src = self.tmpfile(data, "synced.eml")
        r = run(["rsync", "-a", src, self.inbox + "/"])
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assert_once("INBOX", mid, data)
        names = self.names()
        self.assertFalse([n for n in names if n.startswith(".") or n.endswith(".eml")], names)

    def test_sent_and_drafts_flags(self):
        for mailbox, flags in (("Sent", {"\\Seen"}), ("Drafts", {"\\Draft"})):
            mid = self.mid(mailbox)
            r = run(["cp", self.tmpfile(message(mid)), os.path.join(self.m.mnt, mailbox) + "/"])
            self.assertEqual(r.returncode, 0, r.stderr)
            uid = self.assert_once(mailbox, mid)
            self.assertEqual(fetch_meta(self.c, uid)["flags"], flags)
        mid = self.mid("plain")
        r = run(["cp", self.tmpfile(message(mid)), os.path.join(self.m.mnt, "Archive") + "/"])
        self.assertEqual(r.returncode, 0, r.stderr)
        uid = self.assert_once("Archive", mid)
        self.assertEqual(fetch_meta(self.c, uid)["flags"], set())

    def test_not_a_message_is_refused(self):
        before = self.uidnext("INBOX")
        pdf = b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n1 0 obj\n<< /Type /Catalog >>\nendobj\n" * 50
        noise = random.Random(9).randbytes(100000)
        for i, data in enumerate((pdf, noise)):
            src = self.tmpfile(data, f"junk{i}.pdf")
            r = run(["cp", src, self.inbox + "/"])
            self.assertNotEqual(r.returncode, 0, "cp of a non-message succeeded")
            self.assertIn(b"Invalid argument", r.stderr)
            self.assertEqual(read_file(src), data)
            r = run(["mv", src, self.inbox + "/"])
            self.assertNotEqual(r.returncode, 0, "mv of a non-message succeeded")
            self.assertEqual(read_file(src), data, "mv lost its source")
            self.assertNotIn(f"junk{i}.pdf", self.names())
        with self.assertRaises(OSError) as cm:
            with open(os.path.join(self.inbox, "direct.eml"), "wb") as f:
                f.write(b"not a header line\r\n\r\nbody\r\n")
        self.assertEqual(cm.exception.errno, errno.EINVAL)
        self.assertEqual(self.uidnext("INBOX"), before, "something was appended")

    def test_empty_file_and_uid_names(self):
        before = self.uidnext("INBOX")
        r = run(["touch", os.path.join(self.inbox, "empty.eml")])
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertNotIn("empty.eml", self.names())
        with self.assertRaises(OSError) as cm:
            open(os.path.join(self.inbox, "4242"), "wb").close()
        self.assertEqual(cm.exception.errno, errno.EINVAL)
        self.assertEqual(self.uidnext("INBOX"), before)

    def test_read_back_truncate_and_attributes(self):
        mid = self.mid("rw")
        data = message(mid, b"x" * 5000 + b"\r\n")
        path = os.path.join(self.inbox, "rw.eml")
        fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_EXCL, 0o600)
        try:
            os.write(fd, b"garbage" * 1000)
            os.ftruncate(fd, 0)
            self.assertEqual(os.pwrite(fd, data, 0), len(data))
            self.assertEqual(os.pread(fd, len(data) + 10, 0), data)
            self.assertEqual(os.fstat(fd).st_size, len(data))
            self.assertIn("rw.eml", self.names())  # shown while being written
            os.utime(path, (1000000000, 1000000000))
            os.chmod(path, 0o640)
            st = os.stat(path)
            self.assertEqual((st.st_mtime, st.st_mode & 0o777), (1000000000, 0o640))
            # Another open's close (a file manager's look) appends nothing...
            self.assertEqual(read_file(path), data)
            self.assertEqual(by_mid(self.c, "INBOX", mid), [])  # ...only the creator's
        finally:
            os.close(fd)
        self.assert_once("INBOX", mid, data)
        # The name still answers for a while (rsync renames after its close)...
        os.utime(path, (1000000000, 1000000000))
        os.rename(path, os.path.join(self.inbox, "777"))  # any name: it is in
        self.assertFalse(os.path.exists(path))
        self.assertFalse(os.path.exists(os.path.join(self.inbox, "777")))
        self.assertNotIn("rw.eml", self.names())
        self.assert_once("INBOX", mid, data)

    def test_same_name_twice(self):
        """A name that still answers after its append, written again (O_TRUNC), is a
        new message with exactly the new bytes."""
        path = os.path.join(self.inbox, "twice.eml")
        first, second = self.mid("twice"), self.mid("again")
        long = message(first, b"a long first body\r\n" * 100)
        short = message(second)
        write_file(path, long)
        write_file(path, short)
        r = run(["sh", "-c", 'cat > "$1"', "sh", path], input=long)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(len(by_mid(self.c, "INBOX", first)), 2)
        for uid in by_mid(self.c, "INBOX", first):
            self.assertEqual(fetch_item(self.c, uid, "BODY.PEEK[]"), long)
        self.assert_once("INBOX", second, short)

    def test_shell_group_child_closes_first(self):
        """`{ ...; /bin/echo ...; printf ...; } > x.eml`: the child's exit closes the
        descriptor before the last write, so the file is appended twice; the second,
        whole APPEND replaces the first, partial one (that UID expunged)."""
        mid = self.mid("group")
        path = os.path.join(self.inbox, "group.eml")
        script = ('{ printf "From: a@imapfs.test\\nSubject: group\\nMessage-ID: %s\\n\\n" "$2"; '
                  '/bin/echo first; printf "second\\n"; } > "$1"')
        r = run(["bash", "-c", script, "sh", path, mid])
        self.assertEqual(r.returncode, 0, r.stderr)
        found = by_mid(self.c, "INBOX", mid)
        self.assertEqual(len(found), 1, found)
        body = fetch_item(self.c, found[0], "BODY.PEEK[]")
        self.assertTrue(body.endswith(b"first\r\nsecond\r\n"), body)
        self.assertIn(str(found[0]), self.names())
        self.assertIn("partial APPEND", self.m.stderr())

    def test_names_bounded_after_a_read(self):
        """Once an OPEN was answered ENOSYS (any file read: FUSE no_open), the kernel
        sends no RELEASE for created files: the names answering after their append
        stay bounded all the same (LINGER_MAX), the oldest dropped with its data."""
        seed = by_mid(self.c, "INBOX", "<seed@imapfs.test>")[0]
        msgdir = os.path.join(self.inbox, str(seed))
        with open(os.path.join(msgdir, "header"), "rb") as f:
            f.read()
        fds = lambda: len(os.listdir(f"/proc/{self.m.proc.pid}/fd"))
        before = fds()
        subject = self.mid("afterread")
        paths = [os.path.join(self.inbox, f"afterread{i}.eml") for i in range(140)]
        for path in paths:
            write_file(path, message(self.mid("afterread"), subject=subject.encode()))
        self.assertEqual(len(uids(self.c, "INBOX", "SUBJECT", '"%s"' % subject)), 140)
        self.assertFalse(os.path.exists(paths[0]), "the oldest name still answers")
        self.assertTrue(os.path.exists(paths[-1]))
        self.assertLess(fds() - before, 135, "a descriptor kept for every file")

    def test_redirection_dup_closed_first(self):
        """A shell's `cmd > FILE` opens FILE, dup2s it to 1 and closes the first
        descriptor before cmd writes: that empty close ends nothing, whatever
        happens in between (a readdir drops the names no longer wanted)."""
        path = os.path.join(self.inbox, "redirected.eml")
        mid = self.mid("redirected")
        data = message(mid)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
        out = os.dup(fd)
        os.close(fd)
        try:
            self.names()  # a sweep of the area
            self.assertEqual(os.write(out, data), len(data))
        finally:
            os.close(out)
        self.assert_once("INBOX", mid, data)

    def test_reopened_name_kept_while_written(self):
        """A name that still answers after its append, opened again and written, is
        not dropped with the names that only linger (LINGER_MAX of them, the oldest
        first): its close appends what was written, never says 0 for bytes thrown
        away."""
        path = os.path.join(self.inbox, "reopened.eml")
        first, second = self.mid("reopened"), self.mid("rewritten")
        write_file(path, message(first))
        data = message(second)
        fd = os.open(path, os.O_WRONLY | os.O_TRUNC)
        try:
            self.assertEqual(os.write(fd, data), len(data))
            subject = self.mid("crowd")
            for i in range(140):  # more names after it than LINGER_MAX
                write_file(os.path.join(self.inbox, f"crowd{i}.eml"),
                           message(self.mid("crowd"), subject=subject.encode()))
            self.assertFalse(os.path.exists(os.path.join(self.inbox, "crowd0.eml")),
                             "no name dropped: this proves nothing")
        finally:
            os.close(fd)
        self.assert_once("INBOX", first)
        self.assert_once("INBOX", second, data)

    def test_many_files_bounded_descriptors(self):
        """cp of many files: each appended once, and the names that still answer
        after their append (each holds its data open) are bounded."""
        fds = lambda: len(os.listdir(f"/proc/{self.m.proc.pid}/fd"))
        before = fds()
        subject = self.mid("many")
        for i in range(200):
            write_file(os.path.join(self.inbox, f"many{i}.eml"),
                       message(self.mid("many"), subject=subject.encode()))
        self.assertEqual(len(uids(self.c, "INBOX", "SUBJECT", '"%s"' % subject)), 200)
        self.assertLess(fds() - before, 150, "a descriptor kept for every file")

    def test_large_files_bounded_disk(self):
        """The data of names still answering after their append is bounded (64 MiB),
        the newest kept whatever its size: the oldest name goes."""
        body = b"0123456789" * (3 * 1024 * 1024)
        paths = [os.path.join(self.inbox, f"large{i}.eml") for i in range(3)]
        for path in paths:
            write_file(path, message(self.mid("large"), body))
        self.assertEqual([os.path.exists(p) for p in paths], [False, True, True])
        staging = os.path.join(self.m.dir, "cache", "imapfs",
                               f"{self.d.user}@{self.d.host}", "staging")
        self.assertEqual(os.listdir(staging), [])  # anonymous files only (O_TMPFILE)

    def test_50mb(self):
        mid = self.mid("big")
        line = b"0123456789abcdefghijklmnopqrstuvwxyz ABCDEFGHIJKLMNOPQRSTUVWXYZ 0123456789\n"
        body = line * (50 * 1024 * 1024 // len(line))
        data = message(mid, b"", eol=b"\n") + body  # LF-only: converted on the way
        want = data.replace(b"\n", b"\r\n")
        src = self.tmpfile(data, "big.eml")
        del body
        hwm = rss_hwm_kb(self.m.proc.pid)
        r = run(["cp", src, self.inbox + "/"])
        self.assertEqual(r.returncode, 0, r.stderr)
        grown = rss_hwm_kb(self.m.proc.pid) - hwm
        found = by_mid(self.c, "INBOX", mid)
        self.assertEqual(len(found), 1, found)
        self.assertEqual(fetch_meta(self.c, found[0])["size"], len(want))
        got = fetch_item(self.c, found[0], "BODY.PEEK[]")
        self.assertEqual(hashlib.sha256(got).hexdigest(), hashlib.sha256(want).hexdigest())
        print(f"\n50 MB append: peak RSS of imapfs grew by {grown} KiB", flush=True)
        self.assertLess(grown, 16 * 1024, "the message was held in memory")


class DovecotWithQuota(dovecot.Dovecot):
    """The fixture with a 1 MiB quota and messages of at most 512 KiB."""

    def _write_config(self):
        super()._write_config()
        with open(self.conf) as f:
            text = f.read()
        text = text.replace("protocols = imap\n",
                            "protocols = imap\nmail_plugins = $mail_plugins quota\n", 1)
        text += ("plugin {\n  quota = maildir:User quota\n  quota_rule = *:storage=1M\n"
                 "  quota_max_mail_size = 512k\n}\n")
        with open(self.conf, "w") as f:
            f.write(text)


class TestAppendRefusals(AppendBase):
    """What the server refuses reaches close(), so cp fails and mv keeps its
    source: a message over the size limit ([LIMIT]) EFBIG, over the quota
    ([OVERQUOTA]) EDQUOT, any other NO EIO; nothing is appended."""

    @classmethod
    def setUpClass(cls):
        require_binary()
        cls.d = DovecotWithQuota(rawlog=True)
        cls.addClassCleanup(cls.d.cleanup)
        cls.d.start()
        cls.proxy = FaultProxy(cls.d)
        cls.addClassCleanup(cls.proxy.cleanup)
        cls.m = mount_for_class(cls, cls.d, cls.proxy.opts())
        cls.c = cls.d.client()
        cls.addClassCleanup(cls.c.logout)
        cls.inbox = os.path.join(cls.m.mnt, "INBOX")

    def refused(self, data, reason, tool="cp"):
        before = self.uidnext("INBOX")
        src = self.tmpfile(data)
        r = run([tool, src, self.inbox + "/"])
        self.assertNotEqual(r.returncode, 0, f"{tool} of a refused message succeeded")
        self.assertIn(reason, r.stderr)
        self.assertEqual(read_file(src), data, f"{tool} lost its source")
        self.assertEqual(self.uidnext("INBOX"), before, "something was appended")
        self.assertNotIn("mail.eml", os.listdir(self.inbox))

    def test_close_waiting_for_another_close(self):
        """A close that waits while another close of the same file appends it, the
        name unlinked meanwhile: the file stays until the waiter is done (freed under
        it before: ASan's heap-use-after-free, in scripts/test's asan run)."""
        path = os.path.join(self.inbox, "waited.eml")
        first, second = self.mid("waited"), self.mid("waiting")
        write_file(path, message(first))
        data = message(second)
        writer = os.open(path, os.O_WRONLY | os.O_TRUNC)
        reader = os.open(path, os.O_RDONLY)
        os.write(writer, data)
        appends = len(self.proxy.commands("^APPEND"))
        results = {}

        def close(name, fd):
            try:
                os.close(fd)
                results[name] = 0
            except OSError as e:
                results[name] = e.errno

        self.proxy.set(["trickle=0.05 ^APPEND"])  # its answer takes ~2 s
        try:
            t1 = threading.Thread(target=close, args=("writer", writer))
            t1.start()
            deadline = time.monotonic() + TIMEOUT
            while len(self.proxy.commands("^APPEND")) == appends and time.monotonic() < deadline:
                time.sleep(0.02)
            t2 = threading.Thread(target=close, args=("reader", reader))
            t2.start()
            time.sleep(0.3)  # the reader's close waits for the writer's
            os.unlink(path)
            t1.join(TIMEOUT)
            t2.join(TIMEOUT)
        finally:
            self.proxy.set([])
        self.assertEqual(results, {"writer": 0, "reader": 0})
        self.assert_once("INBOX", second, data)
        self.assertTrue(self.m.proc.poll() is None and self.m.sanitizer_report() is None,
                        self.m.stderr()[-3000:])

    def test_refusals(self):
        self.refused(message(self.mid("big"), b"x" * 600 * 1024), b"File too large")
        self.refused(message(self.mid("big"), b"x" * 600 * 1024), b"File too large", "mv")
        self.proxy.set(["no ^APPEND"])
        self.refused(message(self.mid("no")), b"Input/output error")
        self.proxy.set([])
        for i in range(2):
            mid = self.mid("fill")
            r = run(["cp", self.tmpfile(message(mid, b"y" * 400 * 1024)), self.inbox + "/"])
            self.assertEqual(r.returncode, 0, r.stderr)
            self.assert_once("INBOX", mid)
        self.refused(message(self.mid("over"), b"z" * 400 * 1024), b"Disk quota exceeded")


class TestAppendReadOnly(AppendBase):
    """-o ro refuses a new file with EROFS and the server is unchanged; the
    staging directory is emptied of what a crashed mount left."""

    def test_read_only(self):
        require_binary()
        self.d = start_fixture(type(self), seeded=False)
        self.c = self.d.client()
        self.addCleanup(self.c.logout)
        m = Imapfs(self.d, [f"port={self.d.port_plain}", "tls=none", "ro"])
        self.addCleanup(m.cleanup)
        staging = os.path.join(m.dir, "cache", "imapfs", f"{self.d.user}@{self.d.host}",
                               "staging")
        os.makedirs(staging)
        write_file(os.path.join(staging, "stage-crashed"), b"left over")
        m.mount()
        before = self.uidnext("INBOX")
        src = self.tmpfile(message(self.mid("ro")))
        r = run(["cp", src, os.path.join(m.mnt, "INBOX") + "/"])
        self.assertNotEqual(r.returncode, 0)
        self.assertIn(b"Read-only file system", r.stderr)
        with self.assertRaises(OSError) as cm:
            open(os.path.join(m.mnt, "INBOX", "x.eml"), "wb").close()
        self.assertEqual(cm.exception.errno, errno.EROFS)
        self.assertEqual(self.uidnext("INBOX"), before)
        self.assertEqual(os.listdir(staging), [])


class TestAppendPlainServer(AppendBase):
    """A server without UIDPLUS (no APPENDUID), LITERAL+ or MOVE: the literal goes
    synchronising, and the new message still shows at once (the mailbox is
    listed again)."""

    @classmethod
    def setUpClass(cls):
        require_binary()
        cls.d = start_fixture(cls, seeded=False,
                              drop_caps=("UIDPLUS", "LITERAL+", "LITERAL-", "MOVE"))
        cls.m = mount_for_class(cls, cls.d, [f"port={cls.d.port_plain}", "tls=none"])
        cls.c = cls.d.client()
        cls.addClassCleanup(cls.c.logout)
        caps = cls.c.capabilities
        assert "UIDPLUS" not in caps and "LITERAL+" not in caps, caps

    def test_cp_small_and_large(self):
        inbox = os.path.join(self.m.mnt, "INBOX")
        for body in (b"small\r\n", b"x" * 76 + b"\r\n" * 1 + (b"y" * 998 + b"\r\n") * 5000):
            mid = self.mid("plain")
            data = message(mid, body)
            r = run(["cp", self.tmpfile(data), inbox + "/"])
            self.assertEqual(r.returncode, 0, r.stderr)
            self.assert_once("INBOX", mid, data)
            sent = b"".join(read_file(p) for p in rawlog_files(self.d) if p.endswith(".in"))
            self.assertIn(b"{%d}" % len(data), sent)   # synchronising, not {n+}
            self.assertNotIn(b"{%d+}" % len(data), sent)


class TestAppendFaults(AppendBase):
    """The connection cut at a random point of the APPEND (before it, inside its
    literal, right after it, or its answer lost: faultproxy.py "cut"), 100 times
    in a row: every close() returns 0 and each message is in the mailbox once."""

    ROUNDS = int(os.environ.get("IMAPFS_APPEND_CUTS", "100"))

    @classmethod
    def setUpClass(cls):
        require_binary()
        cls.d = start_fixture(cls, seeded=False)
        cls.proxy = FaultProxy(cls.d)
        cls.addClassCleanup(cls.proxy.cleanup)
        cls.m = mount_for_class(cls, cls.d, cls.proxy.opts())
        cls.c = cls.d.client()
        cls.addClassCleanup(cls.c.logout)

    def cut_appends(self, rounds, with_mid):
        inbox = os.path.join(self.m.mnt, "INBOX")
        events = len(self.proxy.events())
        appends = len(self.proxy.commands(r"^APPEND"))
        sent = []
        for i in range(rounds):
            self.proxy.set(["cut/once ^APPEND"])
            mid = self.mid("cut")
            # Without a Message-ID the check compares size and header: a unique subject.
            data = message(mid if with_mid else None, b"round %d\r\n" % i * (1 + i % 7),
                           subject=mid.encode())
            try:
                with open(os.path.join(inbox, f"cut{i}-{with_mid}.eml"), "wb") as f:
                    f.write(data)
            except OSError as e:
                self.fail(f"round {i}: close() failed: {e}\n{self.m.stderr()[-3000:]}")
            sent.append((mid, data))
        self.proxy.set([])
        kinds = [e[2] for e in self.proxy.events()[events:] if e[2].startswith("cut-")]
        examine(self.c, "INBOX")
        for mid, data in sent:
            found = uids(self.c, "INBOX", "SUBJECT", '"%s"' % mid)
            self.assertEqual(len(found), 1, f"{mid}: {found}\nkinds: {kinds}")
            self.assertEqual(fetch_item(self.c, found[0], "BODY.PEEK[]"), data)
        self.assertEqual(len(kinds), rounds, "not every APPEND was cut")
        # Sent again only when the check found it not made: always after a cut
        # before the end of the literal, never after a lost answer (the server
        # made it), either way when it had all of it.
        again = len(self.proxy.commands(r"^APPEND")) - appends - rounds
        lost = kinds.count("cut-none") + kinds.count("cut-part")
        self.assertGreaterEqual(again, lost, kinds)
        self.assertLessEqual(again, lost + kinds.count("cut-all"), kinds)
        print(f"\n{rounds} cut APPENDs: { {k: kinds.count(k) for k in sorted(set(kinds))} }, "
              f"{again} sent again", flush=True)
        return kinds

    def test_cut_appends_with_message_id(self):
        kinds = self.cut_appends(self.ROUNDS, True)
        self.assertIn("cut-answer", kinds)

    def test_cut_appends_without_message_id(self):
        kinds = self.cut_appends(max(self.ROUNDS // 5, 8), False)
        self.assertTrue(kinds)


if __name__ == "__main__":
    unittest.main()
