"""A mailbox's .summary (one line per message: UID, date, flags, size, From,
Subject) and the envelope xattrs of message directories, checked against a
second IMAP client (issue "Daily use", README "What you see").

    IMAPFS_BIN=build/imapfs python3 -m unittest discover -s tests/integration -t tests/integration -k TestSummary
"""
import datetime
import email.header
import errno
import os
import re
import subprocess
import time
import unittest

from helpers import (Imapfs, examine, fake_server_mount, mount_for_class, rawlog_command_lines,
                     rawlog_files, rawlog_sessions_since, require_binary, start_fixture, tls_opts)
import dovecot
import seed

# The mount's local time: a fixed offset needing no tzdata.
TZ = "ICT-7"
OFFSET = datetime.timezone(datetime.timedelta(hours=7))
BOX = "Summ"
XA = "user.xdg.origin.email."
# What a read of .summary may never send: a body, a part, a structure.
BODY_ITEM = re.compile(r"\b(BODY|BINARY)(\.PEEK)?\[|BODYSTRUCTURE|RFC822(\.HEADER|\.TEXT)?\b(?!\.SIZE)",
                       re.I)


# ---- a reference built from what a second client sees -----------------------------

def tokens(data):
    """IMAP tokens of one response: atoms, strings (bytes), '(' and ')'."""
    out, i = [], 0
    while i < len(data):
        c = data[i:i + 1]
        if c in b" \r\n":
            i += 1
        elif c in b"()":
            out.append(c.decode())
            i += 1
        elif c == b'"':
            j, s = i + 1, bytearray()
            while data[j:j + 1] != b'"':
                if data[j:j + 1] == b"\\":
                    j += 1
                s += data[j:j + 1]
                j += 1
            out.append(bytes(s))
            i = j + 1
        elif c == b"{":
            j = data.index(b"}", i)
            n = int(data[i + 1:j])
            start = data.index(b"\n", j) + 1
            out.append(data[start:start + n])
            i = start + n
        else:
            j = i
            while j < len(data) and data[j:j + 1] not in b" ()\r\n":
                j += 1
            atom = data[i:j].decode()
            out.append(None if atom.upper() == "NIL" else ("atom", atom))
            i = j
    return out


def tree(toks):
    """Nested lists from tokens."""
    stack = [[]]
    for t in toks:
        if t == "(":
            stack.append([])
        elif t == ")":
            done = stack.pop()
            stack[-1].append(done)
        else:
            stack[-1].append(t)
    return stack[0]


def text(raw):
    """Header text decoded as imapfs does: RFC 2047 words, 8-bit as UTF-8 or windows-1252."""
    if raw is None:
        return ""
    try:
        s = raw.decode("utf-8")
    except UnicodeDecodeError:
        s = raw.decode("cp1252", "replace")
    return str(email.header.make_header(email.header.decode_header(s)))


def clean(s):
    return "".join(" " if ord(c) < 0x20 or 0x7f <= ord(c) <= 0x9f or c in "\u2028\u2029" else c
                   for c in s)


def reference(client, mailbox):
    """The .summary a second client's FETCH says mailbox must have."""
    examine(client, mailbox)
    typ, data = client.uid("FETCH", "1:*", "(UID FLAGS INTERNALDATE RFC822.SIZE ENVELOPE)")
    assert typ == "OK", data
    raw, lines = b"", []
    for d in data:
        if d is None:
            continue
        raw += d[0] + b"\r\n" + d[1] if isinstance(d, tuple) else d + b"\r\n"
    for resp in re.split(rb"\r\n(?=\d+ \()", b"\r\n" + raw):
        if not resp.strip():
            continue
        items = tree(tokens(resp))[1]
        kv = {items[k][1].upper(): items[k + 1] for k in range(0, len(items), 2)}
        flags = " ".join(f[1] for f in kv["FLAGS"] if f[1] != "\\Recent")
        when = datetime.datetime.strptime(kv["INTERNALDATE"].decode().strip(),
                                          "%d-%b-%Y %H:%M:%S %z").astimezone(OFFSET)
        env = kv["ENVELOPE"]
        frm = ""
        if env[2]:
            name, _, box, host = env[2][0]
            addr = f"{box.decode()}@{host.decode()}"
            frm = f"{text(name)} <{addr}>" if name else addr
        lines.append("\t".join([kv["UID"][1], when.isoformat(), flags, kv["RFC822.SIZE"][1],
                                clean(frm), clean(text(env[1]))]))
    return sorted(lines, key=lambda l: int(l.split("\t")[0]))


def message(i, subject="plain %d", message_id=True):
    hdr = b"From: Someone <s@imapfs.test>\r\nSubject: " + (subject % i).encode() + b"\r\n"
    if message_id:
        hdr += b"Message-ID: <summ-%d@imapfs.test>\r\n" % i
    return hdr + b"\r\nbody %d\r\n" % i


class TestSummary(unittest.TestCase):
    """The seeded mailboxes through .summary, and what other clients change."""

    @classmethod
    def setUpClass(cls):
        require_binary()
        cls.d = start_fixture(cls)
        cls.d.create(cls.d.user, BOX)
        cls.uids = [cls.d.append(cls.d.user, BOX, message(i)) for i in range(3)]
        cls.m = mount_for_class(cls, cls.d, tls_opts(cls.d), env={"TZ": TZ})
        cls.mnt = cls.m.mnt

    def setUp(self):
        self.c = self.d.client()
        self.addCleanup(self.c.logout)

    def summary(self, shown):
        with open(os.path.join(self.mnt, shown, ".summary"), "rb") as f:
            return f.read().decode("utf-8")

    def test_seed_mailboxes_match_a_second_client(self):
        for mb in ["INBOX", "Sent"] + [m for m in seed.MAILBOXES if m != "Archive"]:
            with self.subTest(mailbox=mb):
                got = self.summary(seed.DISPLAY.get(mb, mb)).split("\n")
                self.assertEqual(got[-1], "")
                self.assertEqual(got[:-1], reference(self.c, mb))

    def test_vietnamese_and_chinese_decoded(self):
        inbox = self.summary("INBOX")
        self.assertIn("\t" + seed.UTF8_SUBJECT + "\n", inbox)
        self.assertIn("\tNguyễn Văn A <nguyen@example.vn>\t", inbox)
        self.assertIn("\tNote in 收件箱\n", self.summary("收件箱"))
        self.assertIn("\tGrüße aus München\n", inbox)

    def test_one_line_per_message_in_uid_order(self):
        lines = self.summary("INBOX").splitlines()
        uids = [int(l.split("\t")[0]) for l in lines]
        self.assertEqual(uids, sorted(uids))
        examine(self.c, "INBOX")
        typ, data = self.c.uid("SEARCH", None, "ALL")
        self.assertEqual(uids, [int(x) for x in data[0].split()])
        for l in lines:
            self.assertEqual(len(l.split("\t")), 6, l)

    def test_hidden_from_ls_shown_by_ls_a(self):
        inbox = os.path.join(self.mnt, "INBOX")
        plain = subprocess.run(["ls", inbox], capture_output=True, text=True, check=True).stdout
        every = subprocess.run(["ls", "-a", inbox], capture_output=True, text=True,
                               check=True).stdout
        self.assertNotIn(".summary", plain.split())
        self.assertIn(".summary", every.split())
        self.assertTrue(os.path.isfile(os.path.join(inbox, ".summary")))
        # a level that is no mailbox has none
        self.assertFalse(os.path.exists(os.path.join(self.mnt, ".summary")))

    def test_size_is_what_reads(self):
        for shown in ("INBOX", BOX, "Sent"):
            p = os.path.join(self.mnt, shown, ".summary")
            with open(p, "rb") as f:
                data = f.read()
            self.assertEqual(os.stat(p).st_size, len(data))
            self.assertEqual(os.stat(p).st_mode & 0o777, 0o444)

    def test_other_clients_changes_show(self):
        box = "Summ2"
        self.d.create(self.d.user, box)
        first = self.d.append(self.d.user, box, message(10))
        second = self.d.append(self.d.user, box, message(11))
        p = os.path.join(self.mnt, box, ".summary")

        def until(pred, what):
            deadline = time.monotonic() + 10
            while True:
                try:  # the new mailbox shows at the root's next listing
                    with open(p, "rb") as f:
                        data = f.read().decode()
                except FileNotFoundError:
                    data = None
                    os.listdir(self.mnt)
                if data is not None and pred(data):
                    self.assertEqual(os.stat(p).st_size, len(data.encode()))
                    return data
                if time.monotonic() > deadline:
                    self.fail(f"{what} never showed in .summary:\n{data}")
                time.sleep(0.2)

        until(lambda s: s == "\n".join(reference(self.c, box)) + "\n", "the first listing")
        third = self.d.append(self.d.user, box, message(12, "new one %d"))
        until(lambda s: f"{third}\t" in s and "new one 12" in s, "an append")
        examine(self.c, box)
        self.c.select(dovecot.imap_quote(box))
        self.c.uid("STORE", str(first), "+FLAGS", "(\\Seen \\Flagged)")
        def flags_of(s, uid):
            for line in s.splitlines():
                if line.split("\t")[0] == str(uid):
                    return set(line.split("\t")[2].split())
        until(lambda s: flags_of(s, first) == {"\\Seen", "\\Flagged"}, "a flag change")
        self.c.uid("STORE", str(second), "+FLAGS", "(\\Deleted)")
        self.c.expunge()
        data = until(lambda s: not re.search(rf"^{second}\t", s, re.M), "an expunge")
        self.assertEqual(data, "\n".join(reference(self.c, box)) + "\n")

    def test_mtime_kept_when_read_again_unchanged(self):
        # More mailboxes' .summary read than imapfs keeps texts of: the first
        # is made again, and its mtime still says when its content changed.
        boxes = ["SummK%d" % i for i in range(6)]
        for box in boxes:
            self.d.create(self.d.user, box)
            self.d.append(self.d.user, box, message(30))
        paths = [os.path.join(self.mnt, box, ".summary") for box in boxes]
        deadline = time.monotonic() + 10
        while not all(os.path.exists(p) for p in paths):
            self.assertLess(time.monotonic(), deadline, "the new mailboxes never showed")
            os.listdir(self.mnt)
            time.sleep(0.2)

        def mtime(p):  # asked of imapfs, not the kernel's cache
            return subprocess.run(["stat", "--cached=never", "-c", "%.9Y", p],
                                  capture_output=True, text=True, check=True).stdout.strip()
        with open(paths[0], "rb") as f:
            first = f.read()
        before = mtime(paths[0])
        for p in paths[1:]:
            with open(p, "rb") as f:
                f.read()
            mtime(p)
        self.assertEqual(mtime(paths[0]), before)
        with open(paths[0], "rb") as f:
            self.assertEqual(f.read(), first)

    def test_refused_changes(self):
        p = os.path.join(self.mnt, BOX, ".summary")
        before = self.summary(BOX)

        def write():
            fd = os.open(p, os.O_WRONLY | os.O_APPEND)
            try:
                os.write(fd, b"x")
            finally:
                os.close(fd)
        for what, fn in [
                ("write", write),
                ("truncate", lambda: os.truncate(p, 0)),
                ("unlink", lambda: os.unlink(p)),
                ("rename", lambda: os.rename(p, os.path.join(self.mnt, BOX, "other"))),
                ("setxattr", lambda: os.setxattr(p, "user.test", b"v")),
                ("chmod", lambda: os.chmod(p, 0o644))]:
            with self.subTest(what):
                with self.assertRaises(OSError) as cm:
                    fn()
                self.assertIn(cm.exception.errno, (errno.EPERM, errno.EACCES), what)
        self.assertTrue(os.path.isfile(p))
        self.assertEqual(self.summary(BOX), before)

    def test_column_and_grep_work(self):
        p = os.path.join(self.mnt, "INBOX", ".summary")
        lines = self.summary("INBOX").splitlines()
        col = subprocess.run(["column", "-ts", "\t", p], capture_output=True, text=True,
                             check=True).stdout.splitlines()
        self.assertEqual(len(col), len(lines))
        unseen = subprocess.run(["grep", "-v", "\\\\Seen", p], capture_output=True, text=True,
                                check=True).stdout.splitlines()
        self.assertEqual(unseen, [l for l in lines if "\\Seen" not in l.split("\t")[2]])
        self.assertLess(len(unseen), len(lines))  # the seed has a \Seen message in INBOX
        hits = subprocess.run(["grep", "-i", "lunch plans", p], capture_output=True, text=True,
                              check=True).stdout
        self.assertEqual(len(hits.splitlines()), 1)

    def test_message_directory_xattrs(self):
        examine(self.c, "INBOX")
        typ, data = self.c.uid("SEARCH", None, "HEADER", "Message-ID", "<seed-3@imapfs.test>")
        uid = data[0].split()[0].decode()
        out = subprocess.run(["getfattr", "-d", "-e", "text", os.path.join(self.mnt, "INBOX", uid)],
                             capture_output=True, check=True).stdout.decode()
        self.assertIn(f'{XA}subject="{seed.UTF8_SUBJECT}"', out)
        self.assertIn(f'{XA}from="Nguyễn Văn A <nguyen@example.vn>"', out)
        self.assertIn(f'{XA}message-id="<seed-3@imapfs.test>"', out)
        self.assertIn('user.imap.uid="%s"' % uid, out)

    def test_no_message_id_no_attribute(self):
        uid = self.d.append(self.d.user, BOX, message(20, message_id=False))
        d = os.path.join(self.mnt, BOX, str(uid))
        deadline = time.monotonic() + 10
        while not os.path.isdir(d):
            self.assertLess(time.monotonic(), deadline, "the new message never showed")
            time.sleep(0.2)
        for path in (d, os.path.join(d, "message.eml")):
            with self.subTest(path=path):
                self.assertNotIn(XA + "message-id", os.listxattr(path))
                self.assertIn(XA + "subject", os.listxattr(path))
                with self.assertRaises(OSError) as cm:
                    os.getxattr(path, XA + "message-id")
                self.assertEqual(cm.exception.errno, errno.ENODATA)
                self.assertEqual(os.getxattr(path, XA + "subject"), b"plain 20")


class TestSummaryFetches(unittest.TestCase):
    """What .summary and the directories' xattrs ask of the server: envelopes
    only, never a body, and nothing again after a remount."""

    @classmethod
    def setUpClass(cls):
        require_binary()
        cls.d = start_fixture(cls)

    def mount(self, workdir=None):
        before = rawlog_files(self.d)
        m = Imapfs(self.d, tls_opts(self.d), workdir=workdir, env={"TZ": TZ})
        self.addCleanup(m.cleanup)
        m.mount()
        return m, before

    def read_all(self, m):
        out = {}
        for mb in ["INBOX", "Sent", "收件箱"]:
            with open(os.path.join(m.mnt, mb, ".summary"), "rb") as f:
                out[mb] = f.read()
        inbox = os.path.join(m.mnt, "INBOX")
        for name in os.listdir(inbox):
            if name.isdigit():
                os.listxattr(os.path.join(inbox, name))
                os.getxattr(os.path.join(inbox, name), XA + "subject")
        return out

    def test_envelopes_only_and_kept_across_a_remount(self):
        m, before = self.mount()
        first = self.read_all(m)
        m.unmount()
        sent = rawlog_command_lines(rawlog_sessions_since(self.d, before))
        self.assertTrue([l for l in sent if "ENVELOPE" in l], sent)
        self.assertEqual([l for l in sent if BODY_ITEM.search(l)], [])

        again, before = self.mount(workdir=m.dir)
        self.assertEqual(self.read_all(again), first)
        again.unmount()
        sent = rawlog_command_lines(rawlog_sessions_since(self.d, before))
        self.assertEqual([l for l in sent if "ENVELOPE" in l or BODY_ITEM.search(l)], [])

    def test_new_envelopes_tell_the_kernel_once_a_batch(self):
        # Each notice drops .summary's attributes in the kernel, and one that
        # arrives while it reads makes it drop the size it was just given:
        # the envelopes of 600 new messages are one notice, not 600.
        box = "Flood"
        self.d.create(self.d.user, box)
        self.d.append(self.d.user, box, message(0))
        m = Imapfs(self.d, tls_opts(self.d), env={"TZ": TZ}, args=["-d"])
        self.addCleanup(m.cleanup)
        m.mount()
        p = os.path.join(m.mnt, box, ".summary")

        def read():
            with open(p, "rb") as f:
                return f.read()
        self.assertEqual(len(read().splitlines()), 1)
        self.d.append_many(self.d.user, box, [(message(i), (), None) for i in range(1, 601)])
        before = m.stderr().count("NOTIFY: code=2 ")
        deadline = time.monotonic() + 20
        while len(read().splitlines()) != 601:
            self.assertLess(time.monotonic(), deadline, "the new messages never showed")
            time.sleep(0.2)
        notices = m.stderr().count("NOTIFY: code=2 ") - before
        self.assertGreater(notices, 0)  # the debug log shows them
        self.assertLess(notices, 50)
        data = read()
        self.assertEqual(os.stat(p).st_size, len(data))
        c = self.d.client()
        self.addCleanup(c.logout)
        self.assertEqual(data.decode().splitlines(), reference(c, box))


# A server that sends, in the middle of the listing, a flags update of a
# message it listed (an unsolicited FETCH with UID, as a QRESYNC server does
# when another client changes flags meanwhile) and one message twice; then
# envelopes with NILs, 8-bit junk and controls in a literal, one for a UID
# not asked and a second one for a UID.
HOSTILE = r"""S: * PREAUTH [CAPABILITY IMAP4rev1 LITERAL+] fake ready
C: \S+ LIST "" "\*"
S: * LIST () "/" INBOX
S: {TAG} OK LIST done
C: \S+ EXAMINE "INBOX"
S: * 2 EXISTS
S: * OK [UIDVALIDITY 7] ok
S: * OK [UIDNEXT 6] ok
S: {TAG} OK [READ-ONLY] done
C: \S+ UID FETCH 1:\* \(UID FLAGS INTERNALDATE RFC822.SIZE\)
S: * 1 FETCH (UID 4 FLAGS (\Seen) INTERNALDATE "01-Jan-2024 10:00:00 +0000" RFC822.SIZE 100)
S: * 1 FETCH (UID 4 FLAGS (\Seen \Flagged))
S: * 2 FETCH (UID 5 FLAGS () INTERNALDATE "02-Jan-2024 10:00:00 +0000" RFC822.SIZE 200)
S: * 2 FETCH (UID 5 FLAGS () INTERNALDATE "02-Jan-2024 10:00:00 +0000" RFC822.SIZE 200)
S: {TAG} OK done
C: \S+ UID FETCH 4:5 \(UID ENVELOPE\)
S: * 1 FETCH (UID 4 ENVELOPE (NIL NIL NIL NIL NIL NIL NIL NIL NIL NIL))
R: * 2 FETCH (UID 5 ENVELOPE (NIL {8}\r\nx\xffy\tz\r\nw (("Ann" NIL "a" "b.example")) NIL NIL NIL NIL NIL NIL "<m5@x>"))\r\n
S: * 3 FETCH (UID 99 ENVELOPE (NIL "not asked" NIL NIL NIL NIL NIL NIL NIL NIL))
S: * 2 FETCH (UID 5 ENVELOPE (NIL "second" NIL NIL NIL NIL NIL NIL NIL NIL))
S: {TAG} OK done
C: \S+ LOGOUT
S: * BYE bye
S: {TAG} OK LOGOUT done
"""


class TestSummaryHostileServer(unittest.TestCase):
    """What a broken or hostile server sends shows as one line per message."""

    def test_one_line_per_uid(self):
        require_binary()
        m = fake_server_mount(self, "imapfs-summary-hostile-", HOSTILE, env={"TZ": "UTC0"})
        m.mount()
        self.assertEqual(sorted(os.listdir(os.path.join(m.mnt, "INBOX"))),
                         [".search", ".summary", "4", "5"])
        p = os.path.join(m.mnt, "INBOX", ".summary")
        with open(p, "rb") as f:
            data = f.read()
        self.assertEqual(os.stat(p).st_size, len(data))
        lines = [l.split("\t") for l in data.decode("utf-8").split("\n")]
        self.assertEqual(lines[-1], [""])
        lines = lines[:-1]
        self.assertEqual([l[0] for l in lines], ["4", "5"], data)
        self.assertEqual([len(l) for l in lines], [6, 6], data)
        self.assertEqual([l[1] for l in lines],
                         ["2024-01-01T10:00:00+00:00", "2024-01-02T10:00:00+00:00"])
        self.assertEqual([l[3] for l in lines], ["100", "200"])
        self.assertEqual(lines[0][4:], ["", ""])  # an envelope of NILs
        self.assertEqual(lines[1][4], "Ann <a@b.example>")
        subject = lines[1][5]
        self.assertTrue(subject.startswith("x") and subject.endswith("w"), subject)
        self.assertEqual(re.findall(r"[\x00-\x1f\x7f]", subject), [])
        self.assertEqual(os.getxattr(os.path.join(m.mnt, "INBOX", "5"), XA + "message-id"),
                         b"<m5@x>")
        with self.assertRaises(OSError) as cm:
            os.getxattr(os.path.join(m.mnt, "INBOX", "4"), XA + "subject")
        self.assertEqual(cm.exception.errno, errno.ENODATA)
        self.assertEqual(m.unmount(), 0, m.stderr())
        self.assertNotIn("fakeimap: expected", m.stderr())  # no command it did not expect


if __name__ == "__main__":
    unittest.main()
