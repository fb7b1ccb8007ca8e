"""Integration tests: how imapfs fetches (partial, PEEK), what it logs, and what it
sees of other clients' changes — against a real Dovecot with a raw protocol log.

    IMAPFS_BIN=build/imapfs python3 -m unittest discover -s tests/integration -k TestPartial
"""
import base64
import errno
import hashlib
import os
import re
import shutil
import tempfile
import time
import unittest

from helpers import Imapfs, client_fetch_commands, require_binary, start_fixture, tls_opts, uids

from corpus import blob

CHUNK = 128 * 1024      # MODEL_CHUNK
CHUNK_MAX = 4 * 1024 * 1024  # MODEL_CHUNK_MAX


def big_message(size):
    """A message of about SIZE bytes whose every 64-byte line is different."""
    head = (b"From: big@imapfs.test\r\nTo: alice@imapfs.test\r\nSubject: big\r\n"
            b"Message-ID: <big@imapfs.test>\r\n\r\n")
    lines = []
    n = 0
    while len(head) + 64 * len(lines) < size:
        lines.append(hashlib.sha256(str(n).encode()).hexdigest()[:62].encode() + b"\r\n")
        n += 1
    return head + b"".join(lines)


class TestPartialReads(unittest.TestCase):
    """A read fetches the aligned chunks around it, never the whole message."""

    @classmethod
    def setUpClass(cls):
        require_binary()
        cls.d = start_fixture(cls, seeded=False)
        cls.d.create("alice", "Big")
        cls.body = big_message(3 * 1024 * 1024)
        cls.uid = cls.d.append("alice", "Big", cls.body)

    def fetched_ranges(self):
        """(offset, length) of every BODY.PEEK[] fetch of the big message."""
        got = []
        for line in client_fetch_commands(self.d):
            for m in re.finditer(r"BODY\.PEEK\[\]<(\d+)\.(\d+)>", line):
                got.append((int(m.group(1)), int(m.group(2))))
            self.assertNotRegex(line, r"BODY\.PEEK\[\](?!<)", "whole-message fetch")
        return got

    def test_head_and_middle_read_fetch_little(self):
        m = Imapfs(self.d, tls_opts(self.d))
        self.addCleanup(m.cleanup)
        m.mount()
        path = os.path.join(m.mnt, "Big", str(self.uid), "message.eml")
        self.assertEqual(os.stat(path).st_size, len(self.body))
        with open(path, "rb") as f:
            self.assertEqual(f.read(100), self.body[:100])
            f.seek(2 * 1024 * 1024 + 12345)
            self.assertEqual(f.read(4096), self.body[2 * 1024 * 1024 + 12345:][:4096])
        self.assertEqual(m.unmount(), 0, m.stderr())
        ranges = self.fetched_ranges()
        self.assertTrue(ranges, "no partial fetch seen")
        # A fetch starts on a chunk boundary, or where the one before ended
        # (a reader going on in order gets growing chunks).
        ends = set()
        for off, length in ranges:
            self.assertTrue(off % CHUNK == 0 or off in ends, ranges)
            self.assertLessEqual(length, CHUNK_MAX, ranges)
            ends.add(off + length)
        self.assertLessEqual(sum(length for _, length in ranges), 1024 * 1024, ranges)

    def test_whole_read_is_exact(self):
        m = Imapfs(self.d, tls_opts(self.d, "connections=2"))
        self.addCleanup(m.cleanup)
        m.mount()
        path = os.path.join(m.mnt, "Big", str(self.uid), "message.eml")
        with open(path, "rb") as f:
            data = f.read()
        self.assertEqual(hashlib.sha256(data).hexdigest(), hashlib.sha256(self.body).hexdigest())
        self.assertEqual(m.unmount(), 0, m.stderr())


class TestDebugLog(unittest.TestCase):
    """-d logs the protocol, and never the password."""

    @classmethod
    def setUpClass(cls):
        require_binary()
        cls.d = start_fixture(cls)

    def test_protocol_logged_password_not(self):
        for auth in ("plain", "login"):
            m = Imapfs(self.d, tls_opts(self.d, "auth=" + auth), args=["-d"])
            self.addCleanup(m.cleanup)
            m.mount()
            os.listdir(os.path.join(m.mnt, "INBOX"))
            self.assertEqual(m.unmount(), 0, m.stderr())
            err = m.stderr()
            self.assertRegex(err, r"C: \S+ UID FETCH")
            self.assertRegex(err, r"S: ")
            password = self.d.password
            self.assertNotIn(password, err)
            plain = base64.b64encode(b"\0" + self.d.user.encode() + b"\0" + password.encode())
            self.assertNotIn(plain.decode(), err)


class TestHeaderAttrsInListing(unittest.TestCase):
    """Once a small message's whole copy is here, listing its directory hands the kernel
    the header file's attributes: opening the header then costs no LOOKUP."""

    @classmethod
    def setUpClass(cls):
        require_binary()
        cls.d = start_fixture(cls)

    def lookups_between(self, log, first, second):
        # A LOOKUP in the root of a name of n bytes has insize 40 + n + 1.
        marks = [i for i, l in enumerate(log) if re.search(
            r"opcode: LOOKUP \(1\), nodeid: 1, insize: (%d|%d)," % (41 + len(first),
                                                                   41 + len(second)), l)]
        self.assertEqual(len(marks), 2, marks)
        return [l for l in log[marks[0] + 1:marks[1]] if "opcode: LOOKUP" in l]

    def test_no_lookup_for_header(self):
        m = Imapfs(self.d, tls_opts(self.d), args=["-d"])
        self.addCleanup(m.cleanup)
        m.mount()
        c = self.d.client()
        self.addCleanup(c.logout)
        msg = os.path.join(m.mnt, "INBOX", str(min(uids(c, "INBOX"))))
        with open(os.path.join(msg, "message.eml"), "rb") as f:
            f.read()
        first, second = "imapfs-test-mark-one", "imapfs-test-mark-second"
        self.assertFalse(os.path.exists(os.path.join(m.mnt, first)))
        names = os.listdir(msg)
        self.assertIn("header", names)
        with open(os.path.join(msg, "header"), "rb") as f:
            self.assertTrue(f.read())
        self.assertFalse(os.path.exists(os.path.join(m.mnt, second)))
        self.assertEqual(m.unmount(), 0, m.stderr())
        self.assertEqual(self.lookups_between(m.stderr().splitlines(), first, second), [])


class TestOtherClients(unittest.TestCase):
    """New mail and expunges by another client show up within seconds."""

    @classmethod
    def setUpClass(cls):
        require_binary()
        cls.d = start_fixture(cls)

    def test_new_and_expunged(self):
        m = Imapfs(self.d, tls_opts(self.d))
        self.addCleanup(m.cleanup)
        m.mount()
        inbox = os.path.join(m.mnt, "INBOX")
        before = set(os.listdir(inbox))
        new = self.d.append("alice", "INBOX", b"Subject: late\r\n\r\nlate arrival\r\n")
        c = self.d.client()
        self.addCleanup(c.logout)
        victim = min(uids(c, "INBOX"))
        self.assertEqual(c.select("INBOX")[0], "OK")  # uids() leaves it EXAMINEd
        self.assertEqual(c.uid("STORE", str(victim), "+FLAGS", "(\\Deleted)")[0], "OK")
        self.assertEqual(c.expunge()[0], "OK")
        deadline = time.time() + 10
        while time.time() < deadline:
            now = set(os.listdir(inbox))
            if str(new) in now and str(victim) not in now:
                break
            time.sleep(0.5)
        self.assertIn(str(new), now)
        self.assertNotIn(str(victim), now)
        self.assertEqual(now, (before | {str(new)}) - {str(victim)})
        with open(os.path.join(inbox, str(new), "message.eml"), "rb") as f:
            self.assertIn(b"late arrival", f.read())
        with self.assertRaises(FileNotFoundError):
            os.stat(os.path.join(inbox, str(victim), "message.eml"))
        self.assertEqual(m.unmount(), 0, m.stderr())

    def test_expunged_name_forgotten(self):
        """A message directory's name lives long in the kernel; an expunge
        seen by a listing must make it go (fs/inval)."""
        m = Imapfs(self.d, tls_opts(self.d))
        self.addCleanup(m.cleanup)
        m.mount()
        inbox = os.path.join(m.mnt, "INBOX")
        c = self.d.client()
        self.addCleanup(c.logout)
        victim = max(uids(c, "INBOX"))
        eml = os.path.join(inbox, str(victim), "message.eml")
        os.stat(eml)  # the kernel now holds the names of both levels
        self.assertEqual(c.select("INBOX")[0], "OK")
        self.assertEqual(c.uid("STORE", str(victim), "+FLAGS", "(\\Deleted)")[0], "OK")
        self.assertEqual(c.expunge()[0], "OK")
        deadline = time.time() + 10
        while time.time() < deadline and str(victim) in os.listdir(inbox):
            time.sleep(0.5)
        self.assertNotIn(str(victim), os.listdir(inbox))
        time.sleep(0.5)  # the invalidation goes out from its own thread
        with self.assertRaises(FileNotFoundError):
            os.stat(eml)
        self.assertEqual(m.unmount(), 0, m.stderr())

    def test_stat_header_of_just_expunged_message(self):
        """Another client expunges a message the listing still shows: stat of
        its header may fetch nothing (an empty OK) and must then answer ENOENT,
        not kill the daemon (an unset out-parameter was freed). The certain
        reproduction, through the fault proxy, is in test_faults."""
        big = b"Subject: big\r\n\r\n" + b"x" * (2 << 20) + b"\r\n"  # not fetched whole
        victims = [self.d.append("alice", "INBOX", big),
                   self.d.append("alice", "INBOX", b"Subject: small\r\n\r\nsmall\r\n")]
        m = Imapfs(self.d, tls_opts(self.d))
        self.addCleanup(m.cleanup)
        m.mount()
        inbox = os.path.join(m.mnt, "INBOX")
        names = os.listdir(inbox)
        for v in victims:
            self.assertIn(str(v), names)
        c = self.d.client()
        self.addCleanup(c.logout)
        self.assertEqual(c.select("INBOX")[0], "OK")
        for v in victims:
            self.assertEqual(c.uid("STORE", str(v), "+FLAGS", "(\\Deleted)")[0], "OK")
        self.assertEqual(c.expunge()[0], "OK")
        for v in victims:  # within the listing's freshness window
            for name in ("header", "message.eml"):
                # Dovecot may still serve it to a session that has not synced
                # the expunge; either way the mount answers and lives on.
                try:
                    os.stat(os.path.join(inbox, str(v), name))
                    with open(os.path.join(inbox, str(v), name), "rb") as f:
                        f.read()
                except OSError as e:
                    self.assertIn(e.errno, (errno.ENOENT, errno.EIO))
        self.assertTrue(os.path.isdir(os.path.join(inbox, str(min(uids(c, "INBOX"))))))
        self.assertIsNone(m.proc.poll(), m.stderr())
        self.assertEqual(m.unmount(), 0, m.stderr())


def b64_lines(data, nl=b"\r\n"):
    e = base64.b64encode(data)
    return nl.join(e[i:i + 76] for i in range(0, len(e), 76))


def multipart(parts, nl=b"\r\n"):
    """A multipart/mixed message of (content-type, encoding or None, body) parts."""
    out = [b"From: a@imapfs.test", b"Subject: parts", b"MIME-Version: 1.0",
           b'Content-Type: multipart/mixed; boundary="XX"', b""]
    for ctype, cte, body in parts:
        out += [b"--XX", b"Content-Type: " + ctype]
        if cte:
            out.append(b"Content-Transfer-Encoding: " + cte)
        out += [b"", body]
    out += [b"--XX--", b""]
    return nl.join(out)


class TestFill(unittest.TestCase):
    """A large attachment read from its start streams in one command, decoded here, and
    is kept in cache_dir; a reader that stops stops the stream, and the rest of the file
    still reads right."""
    SIZE = 40 * 1024 * 1024
    FILL_FIRST = 256 * 1024

    @classmethod
    def setUpClass(cls):
        require_binary()
        cls.d = start_fixture(cls, seeded=False)
        cls.d.create("alice", "Fill")
        cls.att = blob("fill", cls.SIZE)
        cls.uid = cls.d.append("alice", "Fill", multipart([
            (b"text/plain", None, b"see attached"),
            (b"application/octet-stream; name=big.bin", b"base64", b64_lines(cls.att))]))
        cls.plain = big_message(6 * 1024 * 1024)
        cls.plain_uid = cls.d.append("alice", "Fill", cls.plain)

    def mount(self, cache):
        m = Imapfs(self.d, tls_opts(self.d, "cache_dir=" + cache))
        self.addCleanup(m.cleanup)
        m.mount()
        return m

    def path(self, m):
        return os.path.join(m.mnt, "Fill", str(self.uid), "2", "big.bin")

    def part_fetches(self, before):
        return [l for l in client_fetch_commands(self.d)[before:] if re.search(r"PEEK\[2\]", l)]

    def test_sequential_read_then_from_cache(self):
        cache = tempfile.mkdtemp(prefix="imapfs-fill-")
        self.addCleanup(shutil.rmtree, cache, True)
        before = len(client_fetch_commands(self.d))
        m = self.mount(cache)
        self.assertEqual(os.stat(self.path(m)).st_size, self.SIZE)
        with open(self.path(m), "rb") as f:
            self.assertEqual(hashlib.sha256(f.read()).digest(), hashlib.sha256(self.att).digest())
        self.assertEqual(m.unmount(), 0, m.stderr())
        fetches = self.part_fetches(before)
        k = self.FILL_FIRST
        self.assertEqual(len(fetches), 4, fetches)
        for line, (off, n) in zip(fetches, ((0, k), (k, 4 * k), (5 * k, 16 * k),
                                             (21 * k, 4294967295))):
            self.assertRegex(line, r"BODY\.PEEK\[2\]<%d\.%d>" % (off, n))
        # Remounted: read from cache_dir, nothing of the part fetched.
        before = len(client_fetch_commands(self.d))
        m = self.mount(cache)
        with open(self.path(m), "rb") as f:
            self.assertEqual(hashlib.sha256(f.read()).digest(), hashlib.sha256(self.att).digest())
        self.assertEqual(m.unmount(), 0, m.stderr())
        self.assertEqual(self.part_fetches(before), [])

    def test_head_does_not_stream(self):
        cache = tempfile.mkdtemp(prefix="imapfs-fill-")
        self.addCleanup(shutil.rmtree, cache, True)
        before = len(client_fetch_commands(self.d))
        m = self.mount(cache)
        with open(self.path(m), "rb") as f:
            self.assertEqual(f.read(4096), self.att[:4096])
        time.sleep(2.5)  # FILL_IDLE_MS: the fill gives up waiting for the reader
        self.assertEqual(m.unmount(), 0, m.stderr())
        # The kernel reads ahead of a 4 KiB read, which may cost the fill's first
        # ranges (5.3 MB at most), never the stream of the rest (the part is 54 MB).
        fetches = self.part_fetches(before)
        self.assertTrue(fetches)
        self.assertRegex(fetches[0], r"BODY\.PEEK\[2\]<0\.%d>" % self.FILL_FIRST)
        self.assertNotRegex(" ".join(fetches), r"<\d+\.4294967295>")

    def test_message_eml_streams_exact(self):
        cache = tempfile.mkdtemp(prefix="imapfs-fill-")
        self.addCleanup(shutil.rmtree, cache, True)
        before = len(client_fetch_commands(self.d))
        for _ in range(2):  # fetched, then from cache_dir after a remount
            m = self.mount(cache)
            with open(os.path.join(m.mnt, "Fill", str(self.plain_uid), "message.eml"), "rb") as f:
                self.assertEqual(hashlib.sha256(f.read()).digest(),
                                 hashlib.sha256(self.plain).digest())
            self.assertEqual(m.unmount(), 0, m.stderr())
        whole = [l for l in client_fetch_commands(self.d)[before:]
                 if re.search(r"FETCH %d \(BODY\.PEEK\[\]<" % self.plain_uid, l)]
        self.assertRegex(" ".join(whole), r"<\d+\.4294967295>")  # streamed, once
        self.assertEqual(len(whole), 4, whole)

    def test_one_connection_no_stream(self):
        # A stream would keep the only connection from every other request.
        cache = tempfile.mkdtemp(prefix="imapfs-fill-")
        self.addCleanup(shutil.rmtree, cache, True)
        before = len(client_fetch_commands(self.d))
        m = Imapfs(self.d, tls_opts(self.d, "cache_dir=" + cache, "connections=1"))
        self.addCleanup(m.cleanup)
        m.mount()
        with open(self.path(m), "rb") as f:
            self.assertEqual(hashlib.sha256(f.read()).digest(), hashlib.sha256(self.att).digest())
            self.assertIn("Fill", os.listdir(m.mnt))  # the connection still serves others
        self.assertEqual(m.unmount(), 0, m.stderr())
        fetches = self.part_fetches(before)
        self.assertGreater(len(fetches), 10, fetches)
        self.assertNotRegex(" ".join(fetches), r"<\d+\.4294967295>")

    def test_reader_that_stops(self):
        cache = tempfile.mkdtemp(prefix="imapfs-fill-")
        self.addCleanup(shutil.rmtree, cache, True)
        m = self.mount(cache)
        mid = 30 * 1024 * 1024 + 4321
        with open(self.path(m), "rb") as f:
            self.assertEqual(f.read(300 * 1024), self.att[:300 * 1024])
            time.sleep(3.5)  # FILL_IDLE_MS: the fill gives up, dropping its connection
            f.seek(mid)
            self.assertEqual(f.read(4096), self.att[mid:mid + 4096])
            f.seek(0)
            self.assertEqual(hashlib.sha256(f.read()).digest(), hashlib.sha256(self.att).digest())
        self.assertEqual(m.unmount(), 0, m.stderr())
        # Stopped: never committed to the cache as a whole file.
        self.assertLess(sum(os.path.getsize(os.path.join(r, n)) for r, _, ns in os.walk(cache)
                            for n in ns), self.SIZE)


class TestBinarySizeTrust(unittest.TestCase):
    """Dovecot's BINARY.SIZE of a part followed by a base64 part is wrong when the message
    has bare LFs; imapfs checks such sizes (a 2-byte read across the end) and only those."""

    @classmethod
    def setUpClass(cls):
        require_binary()
        cls.d = start_fixture(cls, seeded=False)
        cls.d.create("alice", "LF")
        cls.a = blob("a", 6058)
        b = blob("b", 3000)
        # Over 1 MiB, so that the parts are not cut from a whole copy but asked by BINARY.
        text = b"hello world, more lines\n" * 50000
        cls.followed = cls.d.append("alice", "LF", multipart([
            (b"text/plain", None, text), (b"application/pdf", b"base64", b64_lines(cls.a, b"\n")),
            (b"application/zip", b"base64", b64_lines(b, b"\n"))], b"\n"))
        cls.last = cls.d.append("alice", "LF", multipart([
            (b"text/plain", None, text),
            (b"application/pdf", b"base64", b64_lines(cls.a, b"\n"))], b"\n"))

    def test_sizes_right_and_checked_only_when_needed(self):
        m = Imapfs(self.d, tls_opts(self.d))
        self.addCleanup(m.cleanup)
        m.mount()
        for uid in (self.followed, self.last):
            d = os.path.join(m.mnt, "LF", str(uid), "2")
            (name,) = os.listdir(d)
            path = os.path.join(d, name)
            with open(path, "rb") as f:
                data = f.read()
            self.assertEqual(data, self.a, uid)
            self.assertEqual(os.stat(path).st_size, len(self.a), uid)
        self.assertEqual(m.unmount(), 0, m.stderr())
        probes = [l for l in client_fetch_commands(self.d) if re.search(r"BINARY\.PEEK\[2\]<\d+\.2>", l)]
        self.assertTrue(any("FETCH %d " % self.followed in l for l in probes), probes)
        self.assertFalse(any("FETCH %d " % self.last in l for l in probes), probes)


if __name__ == "__main__":
    unittest.main()
