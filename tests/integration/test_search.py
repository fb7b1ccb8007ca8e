"""`.search/<IMAP search keys>/` directories (README "Searching"), checked
against a second IMAP client's UID SEARCH on the same Dovecot.

    IMAPFS_BIN=build/imapfs python3 -m unittest discover -s tests/integration -t tests/integration -k TestSearch
"""
import errno
import os
import re
import subprocess
import time
import unittest

from helpers import (FaultProxy, Imapfs, examine, mount_for_class, rawlog_command_lines, rawlog_files,
                     rawlog_sessions_since, require_binary, start_fixture, tls_opts, uids)
import dovecot
import seed

POLL_S = 10.0
# Shown name of each mailbox this test searches (seed.DISPLAY, plus its own).
SHOWN = dict(seed.DISPLAY, **{".search": "%2Esearch"})

# (directory name, the reference's criteria): the reference's last item may be
# bytes, sent as a literal (imaplib sends a literal only at a command's end).
KEYS = [
    ("FROM alice UNSEEN", ["FROM", "alice", "UNSEEN"]),
    ("from alice unseen", ["FROM", "alice", "UNSEEN"]),
    ('SUBJECT "hóa đơn" SINCE 1-Jan-2024', ["SINCE", "1-Jan-2024", "SUBJECT", "hóa đơn".encode()]),
    ("SUBJECT 北京", ["SUBJECT", "北京".encode()]),
    ("BODY 北京", ["BODY", "北京".encode()]),
    ('BODY "gửi anh"', ["BODY", "gửi anh".encode()]),
    ("NOT SEEN", ["NOT", "SEEN"]),
    ("SEEN", ["SEEN"]),
    ("FLAGGED", ["FLAGGED"]),
    ("OR FROM nguyen FROM li", ["OR", "FROM", "nguyen", "FROM", "li"]),
    ("(FROM alice OR SEEN FLAGGED) NOT (LARGER 10000)",
     ["(FROM", "alice", "OR", "SEEN", "FLAGGED)", "NOT", "(LARGER", "10000)"]),
    ("NOT (OR (UID 1:3) (NOT (FROM alice)))", ["NOT", "(OR", "(UID", "1:3)", "(NOT", "(FROM", "alice)))"]),
    ("SINCE 10-Jan-2024", ["SINCE", "10-Jan-2024"]),
    ("BEFORE 5-Jan-2024", ["BEFORE", "5-Jan-2024"]),
    ("ON 15-Jan-2024", ["ON", "15-Jan-2024"]),
    ("UID 2:5", ["UID", "2:5"]),
    ("UID 3,7:*", ["UID", "3,7:*"]),
    ("LARGER 3000", ["LARGER", "3000"]),
    ("SMALLER 1000", ["SMALLER", "1000"]),
    ("HEADER X-Spam yes", ["HEADER", "X-Spam", "yes"]),
    ("KEYWORD $Label1", ["KEYWORD", "$Label1"]),
    ("TEXT " + seed.SEARCH_WORD, ["TEXT", seed.SEARCH_WORD]),
    ("ALL", ["ALL"]),
]

# Names that must answer ENOENT and send nothing harmful.
REFUSED = [
    "ALL\r\nA1 DELETE INBOX",
    "ALL\nA1 DELETE INBOX",
    "ALL\rA1 DELETE INBOX",
    "ALL) (DELETE INBOX",
    "ALL)",
    "(ALL",
    'FROM "alice',
    'SUBJECT "x" "',
    "FROM alice\x01",
    "FROM \x7f",
    "NOSUCHKEY",
    "DELETE INBOX",
    "FROM",
    "SINCE notadate",
    "BEFORE 32-Jan-2024",
    "LARGER abc",
    "UID 1:x",
    "OR FROM a",
    "NOT",
    "ALL {5}\r\nhello",
    "CHARSET UTF-8 ALL",
    "$",
    "ALL ALL ) EXPUNGE",
]


def literal_uids(client, mailbox, criteria):
    """UID SEARCH CHARSET UTF-8 criteria on a second client: its UIDs."""
    examine(client, mailbox)
    crit = list(criteria)
    if crit and isinstance(crit[-1], bytes):
        client.literal = crit.pop()
    typ, data = client.uid("SEARCH", "CHARSET", "UTF-8", *crit)
    assert typ == "OK", (criteria, data)
    return sorted(int(x) for x in b" ".join(d for d in data if isinstance(d, bytes)).split())


def server_mailboxes(client):
    typ, data = client.list()
    assert typ == "OK", data
    out = set()
    for line in data:
        m = re.match(rb'\((?P<attrs>[^)]*)\) (?:"(?:[^"\\]|\\.)*"|NIL) (?P<name>.*)$', line)
        if m:
            name = m.group("name")
            if name.startswith(b'"'):
                name = name[1:-1].replace(b'\\"', b'"').replace(b"\\\\", b"\\")
            out.add((dovecot.mutf7_decode(name.decode()), b"\\Noselect" in m.group("attrs")))
    return out


def inbox_state(client):
    examine(client, "INBOX")
    typ, data = client.uid("FETCH", "1:*", "(FLAGS)")
    assert typ == "OK", data
    return sorted(d.decode() if isinstance(d, bytes) else repr(d) for d in data)


def poll(fn, timeout=POLL_S):
    """fn() until true or timeout: its last value."""
    end = time.monotonic() + timeout
    while True:
        v = fn()
        if v or time.monotonic() > end:
            return v
        time.sleep(0.2)


def spam(n):
    return (f"From: Spammer <spam@example.net>\r\nTo: bob@example.org\r\nSubject: offer {n}\r\n"
            f"Message-ID: <spam-{n}@imapfs.test>\r\nX-Spam: yes\r\n\r\nBuy now.\r\n").encode()


def plain(subject, body, frm="Carol <carol@example.org>"):
    return (f"From: {frm}\r\nTo: bob@example.org\r\nSubject: {subject}\r\n"
            f"Message-ID: <{abs(hash(subject))}@imapfs.test>\r\n\r\n{body}\r\n").encode()


class TestSearch(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        require_binary()
        cls.d = start_fixture(cls)
        d = cls.d
        d.append(d.user, "INBOX", spam(1), date=seed._date(17))
        d.append(d.user, "Sent", plain("plans for spring", "see you"), date=seed._date(18))
        d.append(d.user, "Archive/Projects", plain("Project plans", "the plans, 北京"),
                 ("\\Seen",), seed._date(19))
        c = d.client()
        c.create(dovecot.imap_quote(".search"))
        c.logout()
        d.append(d.user, ".search", plain("in a real .search", "plans"), date=seed._date(21))
        cls.c = d.client()
        cls.addClassCleanup(cls.c.logout)
        cls.m = mount_for_class(cls, d, tls_opts(d))
        cls.mnt = cls.m.mnt

    def sdir(self, keys, mailbox="INBOX"):
        return os.path.join(self.mnt, SHOWN[mailbox], ".search", keys)

    def listed(self, path):
        return sorted(int(n) for n in os.listdir(path))

    def test_keys_match_reference(self):
        for name, crit in KEYS:
            with self.subTest(keys=name):
                want = literal_uids(self.c, "INBOX", crit)
                self.assertEqual(self.listed(self.sdir(name)), want)
        # The searches with hits prove the test compares something.
        self.assertGreater(sum(bool(literal_uids(self.c, "INBOX", c)) for _, c in KEYS), 15)

    def test_links(self):
        sdir = self.sdir("TEXT " + seed.SEARCH_WORD)
        want = literal_uids(self.c, "INBOX", ["TEXT", seed.SEARCH_WORD])
        self.assertEqual(len(want), 1)
        uid = str(want[0])
        link = os.path.join(sdir, uid)
        self.assertTrue(os.path.islink(link))
        self.assertEqual(os.readlink(link), f"../../{uid}")
        self.assertEqual(os.lstat(link).st_size, len(f"../../{uid}"))
        self.assertEqual(os.path.realpath(link), os.path.join(os.path.realpath(self.mnt), "INBOX", uid))
        # ls -L, find -L, grep through it; cd into a hit.
        r = subprocess.run(["ls", "-L", "-l", sdir], capture_output=True, timeout=60)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertRegex(r.stdout.decode(), rf"(?m)^d.* {uid}$")
        r = subprocess.run(["find", "-L", sdir, "-name", "message.eml"], capture_output=True,
                           timeout=60)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(r.stdout.decode().splitlines(), [os.path.join(sdir, uid, "message.eml")])
        for argv in (["grep", "-Rl", seed.SEARCH_WORD, sdir],
                     ["grep", "-rl", seed.SEARCH_WORD, link]):
            r = subprocess.run(argv, capture_output=True, timeout=60)
            self.assertEqual(r.returncode, 0, (argv, r.stderr))
            self.assertIn(os.path.join(link, "message.eml"), r.stdout.decode().split("\n"))
        old = os.getcwd()
        try:
            os.chdir(link)
            self.assertIn("message.eml", os.listdir("."))
            with open("message.eml", "rb") as f:
                self.assertIn(seed.SEARCH_WORD.encode(), f.read())
        finally:
            os.chdir(old)

    def test_top_level_is_the_union(self):
        keys = "SUBJECT plans"
        want = set()
        for mb in ["INBOX", "Sent", "Archive/Projects", ".search"] + seed.MAILBOXES:
            if mb == "Archive":
                continue
            for u in literal_uids(self.c, mb, ["SUBJECT", "plans"]):
                want.add(f"{SHOWN[mb]}/{u}")
        self.assertGreaterEqual({w.split("/")[0] for w in want}, {"INBOX", "Sent", "Archive"})
        top = os.path.join(self.mnt, ".search", keys)
        got = set()
        for dirpath, dirs, files in os.walk(top):
            for n in files + dirs:
                p = os.path.join(dirpath, n)
                if os.path.islink(p):
                    rel = os.path.relpath(p, top)
                    got.add(rel)
                    depth = rel.count("/") + 2
                    self.assertEqual(os.readlink(p), "../" * depth + rel)
                    self.assertTrue(os.path.isfile(os.path.join(p, "message.eml")), p)
        self.assertEqual(got, want)
        # Levels are directories, nested like the mount.
        self.assertTrue(os.path.isdir(os.path.join(top, "Archive", "Projects")))
        self.assertFalse(os.path.islink(os.path.join(top, "Archive")))
        self.assertNotIn("Trash", os.listdir(top))
        # The same search again: one search per mailbox, several connections (no check
        # of timing, just that it answers the same).
        self.assertEqual(sorted(os.listdir(top)), sorted({w.split("/")[0] for w in want}))

    def test_refused_names(self):
        boxes, state = server_mailboxes(self.c), inbox_state(self.c)
        for name in REFUSED:
            with self.subTest(name=name):
                p = self.sdir(name)
                with self.assertRaises(FileNotFoundError):
                    os.listdir(p)
                with self.assertRaises(FileNotFoundError):
                    os.stat(p)
                top = os.path.join(self.mnt, ".search", name)
                with self.assertRaises(FileNotFoundError):
                    os.stat(top)
        self.assertGreaterEqual(len(REFUSED), 20)
        # The connections are healthy and the server unchanged.
        self.assertEqual(self.listed(self.sdir("FLAGGED")),
                         literal_uids(self.c, "INBOX", ["FLAGGED"]))
        self.assertEqual(server_mailboxes(self.c), boxes)
        self.assertEqual(inbox_state(self.c), state)
        for name in os.listdir(os.path.join(self.mnt, "INBOX", ".search")):
            self.assertNotIn(name, REFUSED)
        # The reason is in the log, its control characters escaped (no forged line).
        log = self.m.stderr()
        self.assertIn("search 'NOSUCHKEY' refused: ", log)
        self.assertIn("search 'ALL\\x0D\\x0AA1 DELETE INBOX' refused: ", log)
        self.assertNotIn("\nA1 DELETE", log)

    def test_follows_append_and_expunge(self):
        keys = "SUBJECT freshnessprobe"
        sdir = self.sdir(keys, "Sent")
        self.assertEqual(os.listdir(sdir), [])
        uid = self.d.append(self.d.user, "Sent", plain("a freshnessprobe", "x"))
        self.assertIsNotNone(uid)
        self.assertTrue(poll(lambda: os.listdir(sdir) == [str(uid)]), os.listdir(sdir))
        top = os.path.join(self.mnt, ".search", keys)
        self.assertTrue(poll(lambda: os.path.isdir(os.path.join(top, "Sent", str(uid)))))
        c = self.d.client()
        try:
            c.select(dovecot.imap_quote("Sent"))
            c.uid("STORE", str(uid), "+FLAGS.SILENT", "(\\Deleted)")
            c.uid("EXPUNGE", str(uid))
        finally:
            c.logout()
        self.assertTrue(poll(lambda: os.listdir(sdir) == []), os.listdir(sdir))
        self.assertFalse(os.path.lexists(os.path.join(sdir, str(uid))))
        self.assertTrue(poll(lambda: not os.path.lexists(os.path.join(top, "Sent"))))

    def test_searches_directory(self):
        inbox = os.path.join(self.mnt, "INBOX")
        self.assertIn(".search", os.listdir(inbox))
        self.assertIn(".search", os.listdir(self.mnt))
        os.listdir(self.sdir("SEEN"))
        os.listdir(self.sdir("FROM alice UNSEEN"))
        kept = os.listdir(os.path.join(inbox, ".search"))
        self.assertIn("SEEN", kept)
        self.assertIn("FROM alice UNSEEN", kept)
        self.assertNotIn("FROM alice UNSEEN", os.listdir(os.path.join(self.mnt, ".search")))
        os.listdir(os.path.join(self.mnt, ".search", "UNSEEN"))
        self.assertIn("UNSEEN", os.listdir(os.path.join(self.mnt, ".search")))
        self.assertNotIn("UNSEEN", os.listdir(os.path.join(inbox, ".search")))
        self.assertTrue(os.path.isdir(os.path.join(inbox, ".search")))

    def test_real_mailbox_named_search(self):
        shown = os.path.join(self.mnt, "%2Esearch")
        self.assertTrue(os.path.isdir(shown))
        msgs = [n for n in os.listdir(shown) if n.isdigit()]
        self.assertEqual(sorted(int(n) for n in msgs), literal_uids(self.c, ".search", ["ALL"]))
        self.assertEqual(len(msgs), 1)
        # Its own search works too, and .search at the top is still the searches'.
        self.assertEqual(self.listed(os.path.join(shown, ".search", "ALL")), [int(msgs[0])])
        # MOUNT/.search/<n> is a search (a message number is a search key), never the
        # real mailbox's message.
        self.assertFalse(os.path.exists(os.path.join(self.mnt, ".search", msgs[0], "message.eml")))
        self.assertNotIn("in a real", " ".join(os.listdir(os.path.join(self.mnt, ".search"))))

    def test_search_is_not_a_mailbox(self):
        before = server_mailboxes(self.c)
        for p in [os.path.join(self.mnt, "INBOX", ".search", "xyzzy"),
                  os.path.join(self.mnt, ".search", "newbox"),
                  os.path.join(self.mnt, ".search", "ALL", "x")]:
            with self.assertRaises(OSError, msg=p) as cm:
                os.mkdir(p)
            self.assertIn(cm.exception.errno, (errno.EPERM, errno.EACCES, errno.EEXIST, errno.ENOENT), p)
        for p in [os.path.join(self.mnt, ".search"), os.path.join(self.mnt, "INBOX", ".search")]:
            with self.assertRaises(OSError, msg=p):
                os.rmdir(p)
        with self.assertRaises(OSError):
            os.rename(os.path.join(self.mnt, "Trash"), os.path.join(self.mnt, "INBOX", ".search"))
        after = server_mailboxes(self.c)
        self.assertEqual(after, before)
        self.assertEqual({n for n, _ in after if "search" in n.lower()}, {".search"})


class TestSearchServerTrouble(unittest.TestCase):
    """A search the server cannot run now (NO) fails with EIO, never ENOENT; one that
    ran before keeps showing its last hits."""

    @classmethod
    def setUpClass(cls):
        require_binary()
        cls.d = start_fixture(cls)
        cls.proxy = FaultProxy(cls.d)
        cls.addClassCleanup(cls.proxy.cleanup)
        cls.m = mount_for_class(cls, cls.d, cls.proxy.opts())
        cls.mnt = cls.m.mnt

    def test_no_answer_keeps_last_hits(self):
        c = self.d.client()
        self.addCleanup(c.logout)
        want = literal_uids(c, "INBOX", ["FLAGGED"])
        self.assertTrue(want)
        sdir = os.path.join(self.mnt, "INBOX", ".search", "FLAGGED")
        self.assertEqual(sorted(int(n) for n in os.listdir(sdir)), want)
        self.proxy.set([r"no ^UID SEARCH"])
        try:
            with self.assertRaises(OSError) as cm:
                os.listdir(os.path.join(self.mnt, "INBOX", ".search", "SEEN"))
            self.assertEqual(cm.exception.errno, errno.EIO)
            # Sent again (more than 2 s later) and refused: the last hits stay.
            sent = lambda: len(self.proxy.commands(r"^UID SEARCH .*FLAGGED"))  # noqa: E731
            first = sent()
            self.assertTrue(poll(lambda: (os.listdir(sdir), sent() > first)[1]))
            self.assertEqual(sorted(int(n) for n in os.listdir(sdir)), want)
            self.assertTrue([e for e in self.proxy.commands(r"^UID SEARCH .*FLAGGED")
                             if e.action == "no"])
        finally:
            self.proxy.set([])
        self.assertEqual(sorted(int(n) for n in os.listdir(sdir)), want)

    def test_hostile_hits(self):
        """A UID answered twice shows once; a range of 2^32-1 UIDs is EIO (never one entry
        per UID of it: 16 GiB), and the mount goes on."""
        c = self.d.client()
        self.addCleanup(c.logout)
        u1, u2 = literal_uids(c, "INBOX", ["ALL"])[:2]
        self.proxy.set([rf"esearch={u1}:{u2},{u2},{u1} UTF-8 ANSWERED$",
                        r"esearch=1:4294967295 UTF-8 LARGER 1$"])
        try:
            names = os.listdir(os.path.join(self.mnt, "INBOX", ".search", "ANSWERED"))
            self.assertEqual(sorted(names, key=int), [str(u1), str(u2)])
            with self.assertRaises(OSError) as cm:
                os.listdir(os.path.join(self.mnt, "INBOX", ".search", "LARGER 1"))
            self.assertEqual(cm.exception.errno, errno.EIO)
        finally:
            self.proxy.set([])
        self.assertIn(str(u1), os.listdir(os.path.join(self.mnt, "INBOX")))


class TestSearchReadOnly(unittest.TestCase):
    """Searching changes nothing on the server (rawlog: no STORE, no EXPUNGE, no \\Seen)."""

    @classmethod
    def setUpClass(cls):
        require_binary()
        cls.d = start_fixture(cls)

    def test_nothing_changes(self):
        c = self.d.client()
        state = inbox_state(c)
        c.logout()
        before = rawlog_files(self.d)
        m = Imapfs(self.d, tls_opts(self.d))
        self.addCleanup(m.cleanup)
        m.mount()
        for keys in ["UNSEEN", "TEXT " + seed.SEARCH_WORD, "BODY 北京", "NOT SEEN"]:
            sdir = os.path.join(m.mnt, "INBOX", ".search", keys)
            self.assertTrue(os.listdir(sdir), keys)
            r = subprocess.run(["grep", "-Rl", "e", sdir], capture_output=True, timeout=60)
            self.assertEqual(r.returncode, 0, r.stderr)
        self.assertTrue(os.listdir(os.path.join(m.mnt, ".search", "UNSEEN")))
        m.unmount()
        sent = rawlog_command_lines(rawlog_sessions_since(self.d, before))
        self.assertTrue([l for l in sent if "SEARCH" in l.upper()], sent)
        bad = [l for l in sent if re.search(r"\b(STORE|EXPUNGE|DELETE|SELECT|COPY|MOVE|APPEND)\b", l, re.I)
               or re.search(r"BODY\[", l, re.I)]
        self.assertEqual(bad, [])
        c = self.d.client()
        self.assertEqual(inbox_state(c), state)
        c.logout()


if __name__ == "__main__":
    unittest.main()
