"""Integration tests of base64 attachments read in ranges without BINARY (issue 12).

Attachments of several line lengths, last lines and paddings, read at many offsets
through the mount and compared with the original bytes: against Dovecot advertising
BINARY (TestB64Binary: the BINARY path) and with BINARY hidden (TestB64NoBinary: windows
of whole base64 lines, mime/b64map.h). Without BINARY, a read in the middle of an
attachment fetches neither the whole part nor BINARY (rawlog); irregular attachments
(a short line, LF line ends) still read right, through the whole-part path.

    IMAPFS_BIN=build/imapfs python3 -m unittest discover -s tests/integration -t tests/integration -k B64
"""
import base64
import os
import random
import re
import shutil
import subprocess
import sys
import tempfile
import unittest

from helpers import (Imapfs, binary_commands, dovecot, fresh_mount, mount_for_class,
                     rawlog_command_lines, rawlog_files, rawlog_received_bytes, rawlog_sessions_since,
                     require_binary, start_fixture, tls_opts)

KiB = 1024
MAILBOX = "B64"


def b64_body(data, line, final_crlf):
    s = base64.b64encode(data).decode()
    return "\r\n".join(s[i:i + line] for i in range(0, len(s), line)) + ("\r\n" if final_crlf else "")


def message(key, body):
    """multipart/mixed: a text part, then the attachment (section 2) named KEY.bin."""
    return ("From: Alice <alice@example.org>\r\nTo: bob@example.org\r\n"
            f"Subject: b64 {key}\r\nMIME-Version: 1.0\r\n"
            'Content-Type: multipart/mixed; boundary="=_b"\r\n\r\n'
            "--=_b\r\nContent-Type: text/plain; charset=us-ascii\r\n\r\nAn attachment.\r\n"
            f'--=_b\r\nContent-Type: application/octet-stream; name="{key}.bin"\r\n'
            "Content-Transfer-Encoding: base64\r\n"
            f'Content-Disposition: attachment; filename="{key}.bin"\r\n\r\n'
            f"{body}\r\n--=_b--\r\n").encode()


def data_of(key, size):
    return random.Random(key).randbytes(size)


# key: (line length, final CRLF, decoded size); sizes over 1 MiB so the messages are
# read in ranges (smaller ones are fetched whole), and of each size modulo 3 ('=' 0/1/2)
REGULAR = {
    "l76": (76, True, 1_500_000),         # no '=', last line full
    "l64": (64, False, 1_500_001),        # '==', no final CRLF
    "l72": (72, True, 1_400_002),         # '='
    "l4": (4, True, 1_200_000),
    "l100": (100, False, 1_300_012),      # last line short
    "l76big": (76, True, 6_000_000),      # read from 0, a fill
}


def irregular():
    """key: (data, body) of attachments whose lines are not all one length."""
    out = {}
    data = data_of("short", 1_300_000)
    lines = b64_body(data, 76, True).split("\r\n")
    lines[5000] = lines[5000][:72] + "\r\n" + lines[5000][72:]     # a short line: the grid moves
    out["short"] = (data, "\r\n".join(lines))
    data = data_of("swap", 1_300_000)
    s = base64.b64encode(data).decode()
    # line 9150 one character long, line 9250 one short: the tail fits the grid, the
    # lines between do not (found only when a window there is read). Read as if
    # regular, a window starting between them (each 128 KiB chunk's does, fs/model/
    # model.h: the one at 524288 is on line 9198) starts a character into a quantum.
    lens = [77 if i == 9150 else 75 if i == 9250 else 76 for i in range(len(s) // 76 + 1)]
    lines, at = [], 0
    for n in lens:
        if at < len(s):
            lines.append(s[at:at + n])
        at += n
    out["swap"] = (data, "\r\n".join(lines) + "\r\n")
    data = data_of("blank", 1_300_000)
    out["blank"] = (data, b64_body(data, 76, True).replace("\r\n", " \r\n"))
    return out


def reads(size, line):
    """(offset, length) pairs: the start, line and quantum edges, the middle, the end."""
    per = line // 4 * 3
    out = [(0, 4096), (1, 10), (per - 1, 2), (per, 1), (per * 3 + 2, per + 3), (size // 2, 4096),
           (size // 2 + 1, 70_000), (size // 3 - 7, 200_000), (size - 1, 10), (size - 4096, 4096),
           (size - 5, 100), (size - per - 2, per + 4)]
    r = random.Random(size * line)
    out += [(r.randrange(size), r.choice((1, 3, 4, 100, 4096, 65536, 150_000))) for _ in range(24)]
    return out


class B64Tests:
    NO_BINARY = False

    @classmethod
    def setUpClass(cls):
        require_binary()
        cls.d = start_fixture(cls, seeded=False, no_binary=cls.NO_BINARY)
        cls.d.create(cls.d.user, MAILBOX)
        cls.data = {k: data_of(k, n) for k, (line, crlf, n) in REGULAR.items()}
        bodies = {k: b64_body(cls.data[k], line, crlf) for k, (line, crlf, n) in REGULAR.items()}
        for k, (data, body) in irregular().items():
            cls.data[k] = data
            bodies[k] = body
        c = cls.d.client()
        try:
            cls.uid = {k: dovecot.append_with(c, MAILBOX, message(k, b)) for k, b in bodies.items()}
        finally:
            c.logout()
        cls.m = mount_for_class(cls, cls.d, tls_opts(cls.d))

    def path(self, key, mnt=None):
        return os.path.join(mnt or self.m.mnt, MAILBOX, str(self.uid[key]), "2", f"{key}.bin")

    def fresh_mount(self):
        return fresh_mount(self, self.d)

    def check_reads(self, key, path, line=76):
        data = self.data[key]
        self.assertEqual(os.stat(path).st_size, len(data), key)
        fd = os.open(path, os.O_RDONLY)
        try:
            for off, n in reads(len(data), line):
                self.assertEqual(os.pread(fd, n, off), data[off:off + n], (key, off, n))
        finally:
            os.close(fd)
        self.assertEqual(os.stat(path).st_size, len(data), key)

    def test_regular_at_many_offsets(self):
        """Every layout: stat is the decoded size, reads anywhere are the original's bytes."""
        for key, (line, _, _) in REGULAR.items():
            if key != "l76big":
                self.check_reads(key, self.path(key), line)

    def test_whole_reads(self):
        """cat of each attachment (the 6 MB one by a fill from offset 0) is the original."""
        mnt = self.fresh_mount()
        for key in REGULAR:
            with open(self.path(key, mnt.mnt), "rb") as f:
                self.assertEqual(f.read(), self.data[key], key)
        self.assertEqual(mnt.unmount(), 0, mnt.stderr())
        if self.NO_BINARY:
            self.assert_no_binary(rawlog_sessions_since(self.d, mnt.before))

    def test_irregular_read_right(self):
        """A short line, an irregular middle, blanks: the same bytes, by the whole part."""
        mnt = self.fresh_mount()
        for key in ("short", "swap", "blank"):
            path = self.path(key, mnt.mnt)
            data = self.data[key]
            # the middle of "swap" first: the window that finds it irregular
            mid = 4 * 128 * 1024
            fd = os.open(path, os.O_RDONLY)
            try:
                self.assertEqual(os.pread(fd, 4096, mid), data[mid:mid + 4096], key)
            finally:
                os.close(fd)
            self.check_reads(key, path)
            with open(path, "rb") as f:
                self.assertEqual(f.read(), data, key)
        self.assertEqual(mnt.unmount(), 0, mnt.stderr())
        err = mnt.stderr()
        if self.NO_BINARY:
            # "swap" passes the probe and is caught by its window
            self.assertIn("not regular after all", err)
            self.assert_no_binary(rawlog_sessions_since(self.d, mnt.before))

    def test_sizes_across_remounts(self):
        """A second mount with the same cache_dir shows the same sizes, whether a part was
        read by a fill, went over to the whole part, or was not read; what was read whole
        is then read from the cache, not fetched again."""
        cache = tempfile.mkdtemp(prefix="imapfs-b64-")
        self.addCleanup(shutil.rmtree, cache, True)
        keys = list(REGULAR) + ["short", "swap", "blank"]
        want = {k: len(self.data[k]) for k in keys}
        for again in (False, True):
            mnt = Imapfs(self.d, tls_opts(self.d, "cache_dir=" + cache))
            self.addCleanup(mnt.cleanup)
            before = rawlog_files(self.d)
            mnt.mount()
            self.assertEqual({k: os.stat(self.path(k, mnt.mnt)).st_size for k in keys}, want)
            with open(self.path("l76big", mnt.mnt), "rb") as f:
                self.assertEqual(f.read(), self.data["l76big"])
            fd = os.open(self.path("swap", mnt.mnt), os.O_RDONLY)
            try:
                self.assertEqual(os.pread(fd, 4096, 4 * 128 * 1024),
                                 self.data["swap"][4 * 128 * 1024:][:4096])
            finally:
                os.close(fd)
            self.assertEqual({k: os.stat(self.path(k, mnt.mnt)).st_size for k in keys}, want)
            self.assertEqual(mnt.unmount(), 0, mnt.stderr())
        if not self.NO_BINARY:
            return  # BINARY.SIZE is asked again (kept only for small messages)
        lines = rawlog_command_lines(rawlog_sessions_since(self.d, before))
        for key in ("l76big", "swap", "short"):
            self.assertFalse([l for l in lines if re.search(rf"UID FETCH {self.uid[key]} .*\[2\]", l)],
                             f"{key} fetched again after the remount")

    def assert_no_binary(self, sessions):
        self.assertEqual(binary_commands(sessions), [],
                         "BINARY used although the server does not advertise it")

    def test_mid_read_fetches_little(self):
        """A 4 KiB read in the middle of the 6 MB attachment on a fresh mount: with BINARY
        hidden, no BINARY, no whole-part fetch, and at most 512 KiB received."""
        key = "l76big"
        mnt = self.fresh_mount()
        path = self.path(key, mnt.mnt)
        size = len(self.data[key])
        self.assertEqual(os.stat(path).st_size, size)
        skip = size // 4096 // 2
        r = subprocess.run(["dd", f"if={path}", "bs=4096", f"skip={skip}", "count=1",
                            "status=none"], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                           timeout=120)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(r.stdout, self.data[key][skip * 4096:(skip + 1) * 4096])
        self.assertEqual(mnt.unmount(), 0, mnt.stderr())
        sessions = rawlog_sessions_since(self.d, mnt.before)
        lines = rawlog_command_lines(sessions)
        received = rawlog_received_bytes(sessions)
        sys.stderr.write(f"\n[measured] {'no ' if self.NO_BINARY else ''}BINARY: stat and dd 4 KiB "
                         f"at {skip * 4096} of a {size}-byte base64 part: {received} bytes "
                         "received\n")
        if not self.NO_BINARY:
            return
        self.assert_no_binary(sessions)
        requested = 0
        for line in lines:
            self.assertNotRegex(line, r"BODY\.PEEK\[2\](?!<)", "whole-part fetch")
            self.assertNotRegex(line, r"BODY\.PEEK\[\]", "whole-message fetch")
            for mm in re.finditer(r"BODY\.PEEK\[2\]<(\d+)\.(\d+)>", line):
                requested += int(mm.group(2))
        self.assertGreater(requested, 0, "no range of the part fetched")
        # the probe: head and tail in one command (the tail asked with a byte more)
        self.assertTrue(any(re.search(r"BODY\.PEEK\[2\]<0\.4096> BODY\.PEEK\[2\]<\d+\.513>", l)
                            for l in lines), [l for l in lines if "FETCH" in l])
        self.assertLessEqual(requested, 512 * KiB, lines)
        self.assertLessEqual(received, 512 * KiB)


class TestB64Binary(B64Tests, unittest.TestCase):
    NO_BINARY = False


class TestB64NoBinary(B64Tests, unittest.TestCase):
    NO_BINARY = True


if __name__ == "__main__":
    unittest.main()
