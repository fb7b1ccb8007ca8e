"""Shared and public folders (NAMESPACE, RFC 2342) and rights (ACL, RFC 4314)
against Dovecot's acl plugin: bob shares one mailbox with alice read-only and
another read-write, and a public folder lets alice write (issue 11).

    IMAPFS_BIN=build/imapfs python3 -m unittest discover -s tests/integration -t tests/integration -k TestShared
"""
import errno
import os
import re
import stat
import unittest

from helpers import (FaultProxy, examine, fake_server_mount, fetch_item, fetch_meta,
                     mount_for_class, rawlog_command_lines, rawlog_files, rawlog_sessions_since,
                     require_binary, start_fixture, tls_opts, uids)
from dovecot import imap_quote

RIGHTS = "user.imap.rights"
RO, RW, GONE = "Projects", "Team", "Withdrawn"
PUBLIC = "Announcements"


def message(tag, i=0):
    return (b"From: bob@imapfs.test\r\nSubject: %s %d\r\nMessage-ID: <%s-%d@imapfs.test>\r\n"
            b"\r\nhello from bob\r\n" % (tag.encode(), i, tag.encode(), i))


def myrights(client, mailbox):
    typ, data = client._simple_command("MYRIGHTS", imap_quote(mailbox))
    assert typ == "OK", data
    typ, data = client._untagged_response(typ, data, "MYRIGHTS")
    return data[-1].decode().split()[-1].strip('"')


def sent_lines(fixture, before):
    return rawlog_command_lines(rawlog_sessions_since(fixture, before))


class TestShared(unittest.TestCase):
    """One mount of alice's, shared mailboxes of bob's, a public folder."""

    @classmethod
    def setUpClass(cls):
        require_binary()
        cls.d = d = start_fixture(cls, shared=True)
        d.share("bob", RO, "alice", "lr")
        d.share("bob", RW, "alice", "lrswitek")
        d.share("bob", GONE, "alice", "lrswitek")
        cls.ro_uids = [d.append("bob", RO, message("ro", i)) for i in range(2)]
        cls.rw_uids = [d.append("bob", RW, message("rw", i)) for i in range(3)]
        d.append("bob", GONE, message("gone"))
        cls.public = d.public_mailbox(PUBLIC, acl="anyone lr\nuser=alice lrwsipkxte")
        d.append("alice", cls.public, message("news"))
        cls.before = rawlog_files(d)
        cls.m = mount_for_class(cls, d, tls_opts(d))
        cls.mnt = cls.m.mnt

    def setUp(self):
        self.alice = self.d.client("alice")
        self.addCleanup(self.alice.logout)
        self.bob = self.d.client("bob")
        self.addCleanup(self.bob.logout)

    def path(self, *names):
        return os.path.join(self.mnt, *[str(n) for n in names])

    def shared(self, box, *rest):
        return self.path("shared", "bob", box, *rest)

    def assertErrno(self, err, fn, *args):
        with self.assertRaises(OSError) as cm:
            fn(*args)
        self.assertEqual(cm.exception.errno, err,
                         f"{fn.__name__}{args}: {cm.exception} (wanted {errno.errorcode[err]})")

    # ---- namespaces ----------------------------------------------------------

    def test_listed_as_the_server_names_them(self):
        typ, data = self.alice.list('""', '"*"')
        self.assertEqual(typ, "OK")
        names = [re.match(rb'\(([^)]*)\) "/" "?([^"]*)"?$', l).group(2).decode() for l in data]
        others = [n for n in names if n.startswith(("shared", "Public"))]
        for n in [f"shared/bob/{RO}", f"shared/bob/{RW}", f"Public/{PUBLIC}"]:
            self.assertIn(n, others)
        for n in others:
            self.assertTrue(os.path.isdir(self.path(*n.split("/"))), n)
        self.assertEqual(os.listdir(self.path("shared")), ["bob"])
        self.assertEqual(sorted(os.listdir(self.path("shared", "bob"))), sorted([RO, RW, GONE]))
        self.assertIn(PUBLIC, os.listdir(self.path("Public")))
        # Dovecot lists them under "*": NAMESPACE asked once, no LIST of a prefix
        lines = sent_lines(self.d, self.before)
        self.assertEqual(len([l for l in lines if re.search(r"^\S+ \S+ NAMESPACE$", l)]), 1, lines)
        self.assertFalse([l for l in lines if re.search(r'LIST "" "(shared|Public)/\*"', l)])

    def test_read_bobs_message(self):
        examine(self.bob, RO)
        want = fetch_item(self.bob, self.ro_uids[0], "BODY.PEEK[]")
        with open(self.shared(RO, self.ro_uids[0], "message.eml"), "rb") as f:
            self.assertEqual(f.read(), want)
        self.assertEqual(fetch_meta(self.bob, self.ro_uids[0])["flags"], set())  # PEEK

    # ---- rights --------------------------------------------------------------

    def test_modes_show_rights(self):
        self.assertEqual(stat.S_IMODE(os.stat(self.shared(RO)).st_mode), 0o555)
        self.assertEqual(stat.S_IMODE(os.stat(self.shared(RW)).st_mode), 0o755)
        self.assertEqual(stat.S_IMODE(os.stat(self.path("Public", PUBLIC)).st_mode), 0o755)
        self.assertEqual(stat.S_IMODE(os.stat(self.path("INBOX")).st_mode), 0o755)

    def test_rights_xattr_is_myrights(self):
        for shown, wire in [(self.shared(RO), f"shared/bob/{RO}"),
                            (self.shared(RW), f"shared/bob/{RW}"),
                            (self.path("Public", PUBLIC), f"Public/{PUBLIC}"),
                            (self.path("INBOX"), "INBOX")]:
            self.assertEqual(os.getxattr(shown, RIGHTS).decode(), myrights(self.alice, wire))
            self.assertIn(RIGHTS, os.listxattr(shown))

    def test_write_where_allowed(self):
        # a new file becomes a message in bob's mailbox
        with open(self.shared(RW, "new.eml"), "wb") as f:
            f.write(message("from-alice"))
        found = uids(self.bob, RW, "HEADER", "Message-ID", "<from-alice-0@imapfs.test>")
        self.assertEqual(len(found), 1)
        # a flag
        os.setxattr(self.shared(RW, self.rw_uids[0]), "user.imap.flags", b"\\Flagged \\Seen")
        examine(self.bob, RW)
        self.assertEqual(fetch_meta(self.bob, self.rw_uids[0])["flags"], {"\\Flagged", "\\Seen"})
        # a delete
        os.rmdir(self.shared(RW, self.rw_uids[1]))
        self.assertNotIn(self.rw_uids[1], uids(self.bob, RW))
        # and the public folder
        with open(self.path("Public", PUBLIC, "news.eml"), "wb") as f:
            f.write(message("public-news"))
        self.assertEqual(len(uids(self.alice, self.public, "HEADER", "Message-ID",
                                  "<public-news-0@imapfs.test>")), 1)

    def test_refused_before_anything_is_sent(self):
        box = self.shared(RO)
        os.listdir(box)  # rights learned with the listing
        before = rawlog_files(self.d)
        self.assertErrno(errno.EACCES, open, os.path.join(box, "new.eml"), "wb")
        self.assertErrno(errno.EACCES, os.setxattr, self.shared(RO, self.ro_uids[0]),
                         "user.imap.flags", b"\\Seen")
        self.assertErrno(errno.EACCES, os.rmdir, self.shared(RO, self.ro_uids[1]))
        self.assertErrno(errno.EACCES, os.rename, self.shared(RO, self.ro_uids[1]),
                         self.path("INBOX", self.ro_uids[1]))
        self.assertErrno(errno.EACCES, os.mkdir, os.path.join(box, "Sub"))
        mine = [n for n in os.listdir(self.path("INBOX")) if n.isdigit()][0]
        self.assertErrno(errno.EACCES, os.rename, self.path("INBOX", mine), self.shared(RO, mine))
        self.assertErrno(errno.EACCES, os.rename, box, self.shared(RW, "Sub"))
        self.assertErrno(errno.EACCES, os.rmdir, box)
        # a STORE, MOVE or EXPUNGE would need a SELECT (read-write) first
        lines = sent_lines(self.d, self.before)
        wire = re.escape(f"shared/bob/{RO}")
        bad = [l for l in lines
               if re.search(r"\b(APPEND|SELECT|CREATE|DELETE|RENAME) \"?" + wire, l)
               or re.search(r"\bUID (MOVE|COPY) \S+ \"?" + wire, l)]
        self.assertEqual(bad, [])
        examine(self.bob, RO)
        self.assertEqual(uids(self.bob, RO), self.ro_uids)
        self.assertEqual(fetch_meta(self.bob, self.ro_uids[0])["flags"], set())


class TestRightsWithdrawn(unittest.TestCase):
    """bob takes alice's rights away after imapfs learned them: the server's
    NOPERM is EACCES, not EIO, and the rights are asked again. Dovecot keeps a
    session's rights for its life, so the change is sent on a new connection:
    the proxy ends the old one at the APPEND's STATUS (nothing sent yet, the
    write goes out again on a new one)."""

    @classmethod
    def setUpClass(cls):
        require_binary()
        cls.d = d = start_fixture(cls, seeded=False, shared=True)
        d.share("bob", GONE, "alice", "lrswitek")
        d.append("bob", GONE, message("gone"))
        cls.p = FaultProxy(d)
        cls.addClassCleanup(cls.p.cleanup)
        cls.m = mount_for_class(cls, d, cls.p.opts("connections=1"))
        cls.mnt = cls.m.mnt

    def test_noperm_is_eacces(self):
        box = os.path.join(self.mnt, "shared", "bob", GONE)
        alice = self.d.client("alice")
        self.addCleanup(alice.logout)
        self.assertEqual(os.getxattr(box, RIGHTS).decode(),
                         myrights(alice, f"shared/bob/{GONE}"))
        self.assertIn("i", os.getxattr(box, RIGHTS).decode())
        bob = self.d.client("bob")
        self.addCleanup(bob.logout)
        typ, data = bob._simple_command("SETACL", imap_quote(GONE), "alice", "lr")
        self.assertEqual(typ, "OK", data)
        self.p.set(["close/once ^STATUS"])
        f = open(os.path.join(box, "late.eml"), "wb")  # rights known say i: allowed here
        f.write(message("late"))
        with self.assertRaises(OSError) as cm:
            f.close()
        self.assertEqual(cm.exception.errno, errno.EACCES, cm.exception)
        self.assertTrue(self.p.commands(r'^APPEND "shared/bob/' + GONE))  # the server refused
        # asked again after the refusal
        self.assertEqual(os.getxattr(box, RIGHTS).decode(), "lr")


class TestNamespacePrefixList(unittest.TestCase):
    """A server whose LIST "*" leaves the other namespaces out (Cyrus, Courier,
    Exchange may): the proxy answers that LIST with nothing, and the mount
    still shows them, through NAMESPACE and a LIST of each prefix."""

    @classmethod
    def setUpClass(cls):
        require_binary()
        cls.d = d = start_fixture(cls, seeded=False, shared=True)
        d.share("bob", RO, "alice", "lr")
        cls.uid = d.append("bob", RO, message("prefix"))
        cls.public = d.public_mailbox(PUBLIC, acl="anyone lr")
        cls.p = FaultProxy(d, ['empty ^LIST "" "\\*"'])
        cls.addClassCleanup(cls.p.cleanup)
        cls.m = mount_for_class(cls, d, cls.p.opts())
        cls.mnt = cls.m.mnt

    def test_listed_by_prefix(self):
        self.assertEqual(sorted(n for n in os.listdir(self.mnt) if n != ".search"), ["Public", "shared"])
        self.assertEqual(os.listdir(os.path.join(self.mnt, "shared", "bob")), [RO])
        self.assertEqual(os.listdir(os.path.join(self.mnt, "Public")), [PUBLIC])
        with open(os.path.join(self.mnt, "shared", "bob", RO, str(self.uid), "message.eml"),
                  "rb") as f:
            self.assertIn(b"Subject: prefix 0", f.read())
        self.assertEqual(len(self.p.commands(r"^NAMESPACE")), 1)
        self.assertTrue(self.p.commands(r'^LIST "" "shared/\*"'))
        self.assertTrue(self.p.commands(r'^LIST "" "Public/\*"'))


# An account without a Trash of its own that sees bob's, shared with it and
# marked \Trash (a server may keep the special use where a mailbox is
# shared), played by tests/fake/fakeimap.py: a delete expunges, and never
# moves the message into bob's Trash (a command about it there makes the
# conversation diverge, and the fake server ends).
OTHERS_TRASH = r"""S: * PREAUTH [CAPABILITY IMAP4rev1 LITERAL+ UIDPLUS UNSELECT MOVE NAMESPACE SPECIAL-USE] fake
C: \S+ NAMESPACE
S: * NAMESPACE (("" "/")) (("shared/" "/")) NIL
S: {TAG} OK done
C: \S+ LIST "" "\*" RETURN \(SPECIAL-USE\)
S: * LIST () "/" INBOX
S: * LIST (\Noselect) "/" shared
S: * LIST (\Noselect) "/" shared/bob
S: * LIST (\Trash) "/" shared/bob/Trash
S: {TAG} OK LIST done
C: \S+ EXAMINE "INBOX"
S: * 1 EXISTS
S: * OK [UIDVALIDITY 7] ok
S: * OK [UIDNEXT 5] ok
S: {TAG} OK [READ-ONLY] done
C: \S+ UID FETCH 1:\* \(UID FLAGS INTERNALDATE RFC822.SIZE\)
S: * 1 FETCH (UID 4 FLAGS () INTERNALDATE "01-Jan-2024 10:00:00 +0000" RFC822.SIZE 100)
S: {TAG} OK done
C: \S+ SELECT "INBOX"
S: * 1 EXISTS
S: * OK [UIDVALIDITY 7] ok
S: * OK [UIDNEXT 5] ok
S: * OK [PERMANENTFLAGS (\Seen \Deleted \*)] ok
S: {TAG} OK [READ-WRITE] done
C: \S+ UID STORE 4 \+FLAGS.SILENT \(\\Deleted\)
S: {TAG} OK done
C: \S+ UID EXPUNGE 4
S: * 1 EXPUNGE
S: {TAG} OK done
C: \S+ LOGOUT
S: * BYE bye
S: {TAG} OK LOGOUT done
"""


class TestOthersTrash(unittest.TestCase):
    """Another user's Trash is never where a delete puts one's mail."""

    def test_delete_expunges(self):
        require_binary()
        m = fake_server_mount(self, "imapfs-otherstrash-", OTHERS_TRASH)
        m.mount()
        try:
            os.rmdir(os.path.join(m.mnt, "INBOX", "4"))
        except OSError as e:
            self.fail(f"{e}\n{m.stderr()}")
        self.assertEqual(m.unmount(), 0, m.stderr())
        self.assertNotIn("fakeimap: expected", m.stderr())  # no command it did not expect


class TestWithoutAcl(unittest.TestCase):
    """A server without ACL: nothing asked, modes as they always were."""

    @classmethod
    def setUpClass(cls):
        require_binary()
        cls.d = start_fixture(cls)
        cls.before = rawlog_files(cls.d)
        cls.m = mount_for_class(cls, cls.d, tls_opts(cls.d))
        cls.mnt = cls.m.mnt

    def test_no_rights(self):
        inbox = os.path.join(self.mnt, "INBOX")
        os.listdir(inbox)
        self.assertEqual(stat.S_IMODE(os.stat(inbox).st_mode), 0o755)
        self.assertNotIn(RIGHTS, os.listxattr(inbox))
        with self.assertRaises(OSError) as cm:
            os.getxattr(inbox, RIGHTS)
        self.assertEqual(cm.exception.errno, errno.ENODATA)
        os.setxattr(os.path.join(inbox, [n for n in os.listdir(inbox) if n.isdigit()][0]),
                    "user.imap.flags",
                    b"\\Flagged")
        lines = sent_lines(self.d, self.before)
        self.assertFalse([l for l in lines if "MYRIGHTS" in l], lines)


if __name__ == "__main__":
    unittest.main()
