"""Integration tests of MIME parts as files (issue 3), on the corpus of tests/data/corpus.py.

The whole suite runs twice: against Dovecot advertising BINARY (TestPartsBinary) and
with BINARY removed from its capability list (TestPartsNoBinary). TestCorpusOnServer
checks the corpus's own expectations with a second IMAP client; it needs no imapfs.

    IMAPFS_BIN=build/imapfs python3 -m unittest discover -s tests/integration -t tests/integration -k TestParts
"""
import email
import email.policy
import errno
import hashlib
import os
import re
import shutil
import subprocess
import sys
import unicodedata
import unittest
import zipfile

from helpers import (binary_commands, dovecot, examine, fetch_item, fetch_meta,
                     fresh_mount, mount_for_class,
                     parse_internaldate, rawlog_command_lines, readable_header, rawlog_received_bytes,
                     rawlog_sessions_since, require_binary, start_fixture, tls_opts)

import corpus

MiB = 1024 * 1024
BIG_SKIP = 2600          # dd bs=4096 skip=BIG_SKIP: about 10 MiB into the 20 MiB attachment


def nfc(s):
    return unicodedata.normalize("NFC", s)


def read(path):
    with open(path, "rb") as f:
        return f.read()


def sha(data):
    return hashlib.sha256(data).hexdigest()


def load_corpus(test_cls, fixture):
    """Create the corpus mailboxes and APPEND every message once; {key: uid}."""
    for mb in (corpus.MAILBOX, corpus.BIG_MAILBOX):
        fixture.create(fixture.user, mb)
    c = fixture.client()
    try:
        return {m.key: dovecot.append_with(c, m.mailbox, m.raw) for m in corpus.messages()}
    finally:
        c.logout()


class PartsTests:
    """The tests; subclasses choose the server (BINARY advertised or not)."""

    NO_BINARY = False

    @classmethod
    def setUpClass(cls):
        require_binary()
        cls.d = start_fixture(cls, seeded=False, no_binary=cls.NO_BINARY)
        cls.uid = load_corpus(cls, cls.d)
        cls.m = mount_for_class(cls, cls.d, tls_opts(cls.d))
        cls.c = cls.d.client()
        cls.addClassCleanup(cls.c.logout)

    # ---- paths -----------------------------------------------------------------

    def msgdir(self, m, mnt=None):
        return os.path.join(mnt or self.m.mnt, m.mailbox, str(self.uid[m.key]))

    def top(self, p):
        """The top-level corpus message holding leaf P (P.message may be an attached one)."""
        for m in corpus.messages():
            if any(q is p for q in m.leaves()):
                return m
        raise AssertionError(p)

    def content_path(self, p, mnt=None):
        """The content file of leaf P: the one entry of its part directory."""
        d = os.path.join(self.msgdir(self.top(p), mnt), *p.dirs)
        entries = os.listdir(d)
        self.assertEqual(len(entries), 1, (p, d, entries))
        return os.path.join(d, entries[0])

    def all_leaves(self):
        return [p for m in corpus.messages() for p in m.leaves()]

    def flags(self):
        out = {}
        for m in corpus.messages():
            examine(self.c, m.mailbox)
            out[m.key] = fetch_meta(self.c, self.uid[m.key])["flags"]
        return out

    def fresh_mount(self):
        return fresh_mount(self, self.d)

    def assert_no_binary_sent(self, sessions):
        self.assertEqual(binary_commands(sessions), [],
                         "BINARY used although the server does not advertise it")

    # ---- layout ------------------------------------------------------------------

    def test_layout(self):
        """Part dirs named by the last section number, multiparts nest, an attached
        message holds message.eml + header + its parts, a single part is 1/; every
        content file name is the expected one or at least safe."""
        for m in corpus.messages():
            base = self.msgdir(m)
            names = {}
            for rel, want in m.layout().items():
                d = os.path.join(base, rel)
                got = {nfc(n) for n in os.listdir(d)}
                if want is None:
                    self.assertEqual(len(got), 1, (m.key, rel, got))
                else:
                    self.assertEqual(got, {nfc(n) for n in want}, (m.key, rel))
                for n in got:
                    names[os.path.join(rel, n)] = n
            for p in m.leaves():
                (entry,) = os.listdir(os.path.join(base, *p.dirs))
                self.assertTrue(p.name_ok(entry), (m.key, p.section, p.label, entry))
                self.assertTrue(os.path.isfile(os.path.join(base, *p.dirs, entry)))
                if p.name is None:
                    # hostile names: no escape out of the part directory
                    self.assertNotIn("/", entry)
                    self.assertFalse(entry.startswith("."), entry)
        self.assertEqual(os.listdir(os.path.join(self.msgdir(corpus.message("utf8-single")), "1")),
                         ["body.txt"])

    def test_attached_message(self):
        """A message/rfc822 part: message.eml and header are the embedded message's own."""
        m = corpus.message("forward")
        (sec, inner), = m.embedded()
        d = os.path.join(self.msgdir(m), *sec.split("."))
        self.assertEqual(read(os.path.join(d, "message.eml")), inner.raw)
        self.assertEqual(read(os.path.join(d, "header")), readable_header(inner.header))
        self.assertEqual(os.stat(os.path.join(d, "message.eml")).st_size, len(inner.raw))
        examine(self.c, m.mailbox)
        self.assertEqual(inner.raw, fetch_item(self.c, self.uid[m.key], f"BODY.PEEK[{sec}]"))
        self.assertEqual(read(os.path.join(d, "2", "inner-data.bin")),
                         inner.leaf("inner-bin").expected)

    # ---- content -------------------------------------------------------------------

    def test_every_part_exact(self):
        """On a fresh mount: stat every content file before anything is read, then read
        each: sha256 equals the corpus's, size equals bytes read before and after.
        Reading never sets \\Seen."""
        flags_before = self.flags()
        mnt = self.fresh_mount()
        leaves = self.all_leaves()
        paths = {id(p): self.content_path(p, mnt.mnt) for p in leaves}
        sizes = {id(p): os.stat(paths[id(p)]).st_size for p in leaves}
        for p in leaves:
            path = paths[id(p)]
            data = read(path)
            where = (self.top(p).key, p.section, p.label, path)
            self.assertEqual(sha(data), sha(p.expected), where)
            self.assertEqual(sizes[id(p)], len(data), ("stat before the first read",) + where)
            self.assertEqual(os.stat(path).st_size, len(data), ("stat after reading",) + where)
        for m in corpus.messages():
            for sec, inner in m.embedded():
                path = os.path.join(self.msgdir(m, mnt.mnt), *sec.split("."), "message.eml")
                self.assertEqual(read(path), inner.raw)
        self.assertEqual(mnt.unmount(), 0, mnt.stderr())
        sessions = rawlog_sessions_since(self.d, mnt.before)
        if self.NO_BINARY:
            self.assert_no_binary_sent(sessions)
        self.assertEqual(self.flags(), flags_before, "reading set flags")
        for key, fl in self.flags().items():
            self.assertNotIn("\\Seen", fl, key)

    def test_dd_middle_of_big_attachment(self):
        """dd from the middle of the 20 MB attachment equals the original range and
        fetches only around the range: with BINARY by BINARY ranges, without by ranges of
        whole base64 lines (at most 512 KiB received)."""
        m = corpus.message("big")
        p = m.leaf("big")
        mnt = self.fresh_mount()
        path = os.path.join(self.msgdir(m, mnt.mnt), *p.dirs, corpus.BIG_NAME)
        self.assertEqual(os.stat(path).st_size, corpus.BIG_SIZE)
        r = subprocess.run(["dd", f"if={path}", "bs=4096", f"skip={BIG_SKIP}", "count=1",
                            "status=none"], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                           timeout=300)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(r.stdout, p.expected[BIG_SKIP * 4096:(BIG_SKIP + 1) * 4096])
        self.assertEqual(os.stat(path).st_size, corpus.BIG_SIZE)
        self.assertEqual(mnt.unmount(), 0, mnt.stderr())
        sessions = rawlog_sessions_since(self.d, mnt.before)
        lines = rawlog_command_lines(sessions)
        received = rawlog_received_bytes(sessions)
        sec = re.escape(p.section)
        if self.NO_BINARY:
            # ranges of whole base64 lines (mime/b64map.h), never the whole part
            self.assert_no_binary_sent(sessions)
            for line in lines:
                self.assertNotRegex(line, rf"BODY\.PEEK\[{sec}\](?!<)", "whole-part fetch")
                self.assertNotRegex(line, r"BODY\.PEEK\[\](?!<)", "whole-message fetch")
            self.assertLessEqual(received, 512 * 1024,
                                 f"received {received} bytes for a 4 KiB read")
            sys.stderr.write(f"\n[measured] no BINARY: dd 4 KiB at {BIG_SKIP * 4096} of a "
                             f"{corpus.BIG_SIZE}-byte part: server sent {received} bytes in all\n")
            return
        ranged = 0
        for line in lines:
            self.assertNotRegex(line, rf"BINARY\.PEEK\[{sec}\](?!<)", "whole-part BINARY fetch")
            self.assertNotRegex(line, rf"BODY\.PEEK\[{sec}\]", "encoded part fetched with BINARY")
            self.assertNotRegex(line, r"BODY\.PEEK\[\](?!<)", "whole-message fetch")
            for mm in re.finditer(rf"BINARY\.PEEK\[{sec}\]<(\d+)\.(\d+)>", line):
                ranged += int(mm.group(2))
            for mm in re.finditer(r"BODY\.PEEK\[\]<(\d+)\.(\d+)>", line):
                ranged += int(mm.group(2))
        self.assertTrue(any(re.search(rf"BINARY\.PEEK\[{sec}\]<", l) for l in lines),
                        "no BINARY.PEEK of the part although the server has BINARY")
        self.assertLessEqual(ranged, MiB, f"requested {ranged} bytes for a 4 KiB read")
        self.assertLessEqual(received, 2 * MiB, f"received {received} bytes for a 4 KiB read")
        sys.stderr.write(f"\n[measured] dd 4 KiB at {BIG_SKIP * 4096} of a {corpus.BIG_SIZE}-byte"
                         f" part: BINARY ranges requested {ranged} bytes, server sent "
                         f"{received} bytes in all\n")

    def test_text_is_utf8(self):
        """Every text part reads as UTF-8, converted from its charset, with LF line ends."""
        for p in self.all_leaves():
            if p.is_text:
                data = read(self.content_path(p))
                data.decode("utf-8")
                self.assertEqual(data, p.expected, (p.label, data[:200]))

    # ---- tools ---------------------------------------------------------------------

    def test_zip_through_the_mount(self):
        p = corpus.part("mixed-alternative", "zip")
        path = self.content_path(p)
        if shutil.which("unzip"):
            r = subprocess.run(["unzip", "-l", path], stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, timeout=60)
            self.assertEqual(r.returncode, 0, r.stderr)
            out = r.stdout.decode("utf-8", "replace")
            for name in corpus.ZIP_MEMBERS:
                if name.isascii():
                    self.assertIn(name, out)
            self.assertIn(f"{len(corpus.ZIP_MEMBERS)} files", out)
            r = subprocess.run(["unzip", "-tq", path], stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, timeout=60)
            self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        else:
            sys.stderr.write("\n[skipped] unzip is not installed\n")
        with zipfile.ZipFile(path) as z:
            self.assertIsNone(z.testzip())  # every member's CRC
            self.assertEqual(sorted(z.namelist()), sorted(corpus.ZIP_MEMBERS))
            for name, data in corpus.ZIP_MEMBERS.items():
                self.assertEqual(z.read(name), data, name)

    def test_file_recognises_png_and_pdf(self):
        if not shutil.which("file"):
            self.skipTest("file is not installed")
        for label, want in (("png", "PNG image data, 16 x 16"), ("pdf", "PDF document")):
            path = self.content_path(corpus.part("mixed-alternative", label))
            r = subprocess.run(["file", "-b", path], stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, timeout=60)
            self.assertIn(want, r.stdout.decode(), (label, r.stderr))

    def test_grep_finds_decoded_words(self):
        """grep -r over the mailbox finds, in UTF-8: the word cut by a QP soft break,
        Vietnamese from windows-1258, Chinese from GB2312, GBK and Big5."""
        top = os.path.join(self.m.mnt, corpus.MAILBOX)
        for word, key, label in ((corpus.QP_WORD, "mixed-alternative", "qp"),
                                 (corpus.VIET_WORD, "charsets", "cp1258"),
                                 ("Đường phố", "charsets", "cp1258"),
                                 (corpus.CHINESE_WORD, "charsets", "gb2312"),
                                 ("朱镕基", "charsets", "gbk"),
                                 (corpus.BIG5_WORD, "charsets", "big5")):
            r = subprocess.run(["grep", "-rlF", "--", word, top], stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, timeout=120,
                               env=dict(os.environ, LC_ALL="C"))
            self.assertEqual(r.returncode, 0, (word, r.stderr))
            hits = {os.path.realpath(h) for h in os.fsdecode(r.stdout).split("\n") if h}
            want = os.path.realpath(self.content_path(corpus.part(key, label)))
            self.assertIn(want, hits, word)
        # the QP word is only whole after decoding
        r = subprocess.run(["grep", "-rlF", corpus.QP_WORD, top], stdout=subprocess.PIPE,
                           timeout=120)
        hits = [h for h in os.fsdecode(r.stdout).split("\n") if h]
        self.assertEqual(len(hits), 1, hits)

    # ---- extended attributes ----------------------------------------------------------

    def assert_origin(self, path, m, outer):
        """Origin xattrs of PATH: those of message M, or (for parts of an attached message,
        a judgement call) of the top-level message OUTER."""
        def get(attr):
            return os.getxattr(path, attr).decode("utf-8")
        subject = get("user.xdg.origin.email.subject")
        frm = get("user.xdg.origin.email.from")
        mid = get("user.xdg.origin.email.message-id")
        candidates = [m] if outer is m else [m, outer]
        ok = [c for c in candidates
              if nfc(subject) == nfc(c.subject) and nfc(c.from_name) in nfc(frm)
              and c.from_addr in frm and mid.strip().strip("<>") == c.message_id.strip("<>")]
        self.assertTrue(ok, (path, subject, frm, mid))

    def test_xattrs(self):
        for top in corpus.messages():
            base = self.msgdir(top)
            examine(self.c, top.mailbox)
            meta = fetch_meta(self.c, self.uid[top.key])
            idate = os.getxattr(base, "user.imap.internaldate").decode()
            self.assertEqual(parse_internaldate(idate), meta["internaldate"], (top.key, idate))
            self.assertEqual(int(os.getxattr(base, "user.imap.size")), meta["size"], top.key)
            self.assert_origin(os.path.join(base, "message.eml"), top, top)
            for sec, inner in top.embedded():
                self.assert_origin(os.path.join(base, *sec.split("."), "message.eml"), inner, top)
            for p in top.leaves():
                path = self.content_path(p)
                where = (top.key, p.section, p.label)
                self.assertEqual(os.getxattr(path, "user.mime_type").decode(), p.mime_type, where)
                if p.is_text:
                    self.assertEqual(os.getxattr(path, "user.charset").decode().lower(), "utf-8",
                                     where)
                else:
                    with self.assertRaises(OSError) as cm:
                        os.getxattr(path, "user.charset")
                    self.assertEqual(cm.exception.errno, errno.ENODATA, where)
                self.assert_origin(path, p.message, top)
                self.assertIn("user.mime_type", os.listxattr(path))

    def test_rfc2047_subject_exact(self):
        m = corpus.message("charsets")
        path = os.path.join(self.msgdir(m), "message.eml")
        self.assertEqual(os.getxattr(path, "user.xdg.origin.email.subject").decode(), m.subject)
        self.assertIn("张伟", os.getxattr(path, "user.xdg.origin.email.from").decode())
        m = corpus.message("utf8-single")
        path = self.content_path(m.leaf("text"))
        self.assertEqual(nfc(os.getxattr(path, "user.xdg.origin.email.subject").decode()),
                         m.subject)


class TestPartsBinary(PartsTests, unittest.TestCase):
    """Dovecot advertising BINARY: content from BINARY.PEEK, sizes from BINARY.SIZE."""
    NO_BINARY = False


class TestPartsNoBinary(PartsTests, unittest.TestCase):
    """Dovecot without BINARY in its capabilities: encoded parts decoded by imapfs."""
    NO_BINARY = True


class TestCorpusOnServer(unittest.TestCase):
    """The corpus's expectations, checked with a second client (imaplib + Python's email
    package), so that a failure above is imapfs's and not the corpus's. No imapfs needed."""

    @classmethod
    def setUpClass(cls):
        cls.d = start_fixture(cls, seeded=False)
        cls.uid = load_corpus(cls, cls.d)
        cls.c = cls.d.client()
        cls.addClassCleanup(cls.c.logout)

    def test_sections_decode_to_expected(self):
        for m in corpus.messages():
            examine(self.c, m.mailbox)
            uid = self.uid[m.key]
            for sec, inner in m.embedded():
                self.assertEqual(fetch_item(self.c, uid, f"BODY.PEEK[{sec}]"), inner.raw)
                self.assertEqual(fetch_item(self.c, uid, f"BODY.PEEK[{sec}.HEADER]"), inner.header)
            for p in m.leaves():
                where = (m.key, p.section, p.label)
                if p is corpus.part("big", "big"):
                    off = BIG_SKIP * 4096
                    self.assertEqual(fetch_item(self.c, uid, f"BINARY.PEEK[{p.section}]<{off}.4096>"),
                                     p.expected[off:off + 4096])
                    continue
                mime = fetch_item(self.c, uid, f"BODY.PEEK[{p.section}.MIME]")
                body = fetch_item(self.c, uid, f"BODY.PEEK[{p.section}]")
                part = email.message_from_bytes(mime + body)
                raw = part.get_payload(decode=True)
                self.assertEqual(fetch_item(self.c, uid, f"BINARY.PEEK[{p.section}]"), raw, where)
                self.assertEqual(part.get_content_type(), p.mime_type, where)
                if p.is_text:
                    cs = part.get_content_charset()
                    if cs in (None, "us-ascii"):
                        try:
                            text = raw.decode("utf-8")
                        except UnicodeDecodeError:
                            text = raw.decode("cp1252")
                    else:
                        text = raw.decode("gb18030" if cs == "gb2312" else cs)
                    raw = nfc(text).replace("\r\n", "\n").encode("utf-8")
                self.assertEqual(raw, p.expected, where)
            hdr = email.message_from_bytes(m.header, policy=email.policy.default)
            self.assertEqual(str(hdr["Subject"]), m.subject)
            self.assertEqual(hdr["From"].addresses[0].display_name, m.from_name)
            self.assertEqual(hdr["Message-ID"], m.message_id)

    def test_binary_size(self):
        m = corpus.message("big")
        examine(self.c, m.mailbox)
        typ, data = self.c.uid("FETCH", str(self.uid["big"]), "(BINARY.SIZE[2])")
        self.assertEqual(typ, "OK")
        self.assertIn(b"BINARY.SIZE[2] %d" % corpus.BIG_SIZE, data[0])


if __name__ == "__main__":
    unittest.main()
