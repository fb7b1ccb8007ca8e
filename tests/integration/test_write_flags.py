"""Flags changed from the shell: setfattr -n user.imap.flags (UID STORE FLAGS),
checked by a second IMAP client (issue 9, SPEC.md "Changing mail").

    IMAPFS_BIN=build/imapfs python3 -m unittest discover -s tests/integration -t tests/integration -k TestFlagWrites
"""
import errno
import os
import subprocess
import unittest

from helpers import (FaultProxy, Imapfs, examine, fake_server_mount, fetch_meta, mount_for_class,
                     require_binary, start_fixture, tls_opts)
from mailstate import store_lines

FLAGS = "user.imap.flags"
BOX = "Flags"


def message(i):
    return (b"From: a@imapfs.test\r\nSubject: flags %d\r\nMessage-ID: <flags-%d@imapfs.test>\r\n"
            b"\r\n%s\r\n" % (i, i, b"line of text\r\n" * 50))


class TestFlagWrites(unittest.TestCase):
    """setfattr replaces a message's flags on the server and getfattr shows them
    at once; anything not a flag a user may set is EINVAL with nothing sent.
    One connection, so the mailbox a STORE selected read-write is the one the
    reads then use."""

    @classmethod
    def setUpClass(cls):
        require_binary()
        cls.d = start_fixture(cls)
        cls.d.create(cls.d.user, BOX)
        cls.uids = [cls.d.append(cls.d.user, BOX, message(i)) for i in range(8)]
        cls.m = mount_for_class(cls, cls.d, tls_opts(cls.d, "connections=1"))
        cls.mnt = cls.m.mnt

    def setUp(self):
        self.c = self.d.client()
        self.addCleanup(self.c.logout)

    def msg(self, k):
        return os.path.join(self.mnt, BOX, str(self.uids[k]))

    def server_flags(self, k):
        examine(self.c, BOX)
        return fetch_meta(self.c, self.uids[k])["flags"]

    def assertErrno(self, err, fn, *args):
        with self.assertRaises(OSError) as cm:
            fn(*args)
        self.assertEqual(cm.exception.errno, err,
                         f"{fn.__name__}{args}: {cm.exception} (wanted {errno.errorcode[err]})")

    def test_set_then_get(self):
        os.setxattr(self.msg(0), FLAGS, b"\\Seen \\Flagged $Label2")
        self.assertEqual(os.getxattr(self.msg(0), FLAGS), b"\\Seen \\Flagged $Label2")
        self.assertEqual(self.server_flags(0), {"\\Seen", "\\Flagged", "$Label2"})
        # replaced, not added to
        os.setxattr(self.msg(0), FLAGS, b"\\Answered")
        self.assertEqual(os.getxattr(self.msg(0), FLAGS), b"\\Answered")
        self.assertEqual(self.server_flags(0), {"\\Answered"})

    def test_every_system_flag_any_case(self):
        os.setxattr(self.msg(1), FLAGS, b"\\seen \\ANSWERED \\Flagged \\deleted \\dRaFt \\Seen")
        want = {"\\Seen", "\\Answered", "\\Flagged", "\\Deleted", "\\Draft"}
        self.assertEqual(set(os.getxattr(self.msg(1), FLAGS).decode().split()), want)
        self.assertEqual(self.server_flags(1), want)
        # \Deleted is a flag like the others: the message stays (no EXPUNGE)
        self.assertIn(str(self.uids[1]), os.listdir(os.path.join(self.mnt, BOX)))

    def test_clear(self):
        os.setxattr(self.msg(2), FLAGS, b"\\Flagged kw1")
        self.assertEqual(self.server_flags(2), {"\\Flagged", "kw1"})
        os.setxattr(self.msg(2), FLAGS, b"")
        self.assertEqual(os.getxattr(self.msg(2), FLAGS), b"")
        self.assertEqual(self.server_flags(2), set())
        os.setxattr(self.msg(2), FLAGS, b"\\Seen")
        os.removexattr(self.msg(2), FLAGS)  # removing them is setting none
        self.assertEqual(os.getxattr(self.msg(2), FLAGS), b"")
        self.assertEqual(self.server_flags(2), set())

    def test_setfattr_command(self):
        r = subprocess.run(["setfattr", "-n", FLAGS, "-v", "\\Seen $Work", self.msg(3)],
                           stderr=subprocess.PIPE)
        self.assertEqual(r.returncode, 0, r.stderr)
        r = subprocess.run(["getfattr", "--only-values", "-n", FLAGS, self.msg(3)],
                           stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
        self.assertEqual(r.stdout, b"\\Seen $Work")
        self.assertEqual(self.server_flags(3), {"\\Seen", "$Work"})

    def test_invalid_values(self):
        """EINVAL, the server's flags unchanged, and no STORE sent."""
        os.setxattr(self.msg(4), FLAGS, b"\\Flagged")
        before = self.server_flags(4)
        stores = len(store_lines(self.d, self.uids[4]))
        bad = [b"\\Recent", b"\\Seen \\Recent", b"\\Foo", b"\\*", b"\\", b"a(b", b"a)b", b"x]",
               b"a{3}", b"50%", b"st*r", b'"quoted"', b"back\\slash", b"tab\there",
               b"line\nfeed", b"\\Seen\r", b"nul\x00byte", b"caf\xc3\xa9", b"del\x7f"]
        for value in bad:
            self.assertErrno(errno.EINVAL, os.setxattr, self.msg(4), FLAGS, value)
            self.assertEqual(os.getxattr(self.msg(4), FLAGS), b"\\Flagged", value)
        self.assertEqual(self.server_flags(4), before)
        os.setxattr(self.msg(4), FLAGS, b"marker")  # the rawlog holds what came before it
        lines = store_lines(self.d, self.uids[4])
        self.assertEqual(len(lines), stores + 1, lines)
        self.assertIn("FLAGS.SILENT (marker)", lines[-1])

    def test_facts_are_read_only(self):
        for name in ("user.imap.uid", "user.imap.size", "user.imap.internaldate"):
            self.assertErrno(errno.EPERM, os.setxattr, self.msg(5), name, b"1")
        self.assertErrno(errno.ENOTSUP, os.setxattr, self.msg(5), "user.other", b"1")

    def test_reading_never_sets_seen(self):
        """After a STORE selected the mailbox read-write on the only connection,
        reading another message there still leaves it unseen (BODY.PEEK)."""
        os.setxattr(self.msg(6), FLAGS, b"\\Flagged")
        for root, dirs, files in os.walk(self.msg(7)):
            for f in files:
                with open(os.path.join(root, f), "rb") as fh:
                    fh.read()
        with open(os.path.join(self.msg(7), "message.eml"), "rb") as fh:
            self.assertIn(b"flags 7", fh.read())
        self.assertEqual(self.server_flags(7), set())
        self.assertEqual(self.server_flags(6), {"\\Flagged"})


class TestFlagLostAnswer(unittest.TestCase):
    """STORE replaces the flags whatever they were: after a lost answer it is
    simply sent again (tests/fake/faultproxy.py)."""

    def test_store_sent_again(self):
        require_binary()
        d = start_fixture(type(self), seeded=False)
        uid = d.append(d.user, "INBOX", message(0))
        proxy = FaultProxy(d)
        self.addCleanup(proxy.cleanup)
        m = Imapfs(d, proxy.opts())
        self.addCleanup(m.cleanup)
        m.mount()
        msg = os.path.join(m.mnt, "INBOX", str(uid))
        proxy.set(["lose/once ^UID STORE"])
        os.setxattr(msg, FLAGS, b"\\Flagged $Again")
        self.assertEqual(os.getxattr(msg, FLAGS), b"\\Flagged $Again")
        c = d.client()
        self.addCleanup(c.logout)
        examine(c, "INBOX")
        self.assertEqual(fetch_meta(c, uid)["flags"], {"\\Flagged", "$Again"})
        self.assertEqual([x.action for x in proxy.commands(r"^UID STORE")], ["lose", "forward"])


# A server whose mailbox keeps only \Seen and \Flagged (no "\*": no keywords),
# played by tests/fake/fakeimap.py. A STORE imapfs should not send makes the
# conversation diverge, and the fake server ends.
PERMANENT = r"""S: * PREAUTH [CAPABILITY IMAP4rev1 LITERAL+ UIDPLUS UNSELECT] fake ready
C: \S+ LIST "" "\*"
S: * LIST () "/" INBOX
S: {TAG} OK LIST done
C: \S+ EXAMINE "INBOX"
S: * 1 EXISTS
S: * OK [UIDVALIDITY 7] ok
S: * OK [UIDNEXT 5] ok
S: {TAG} OK [READ-ONLY] done
C: \S+ UID FETCH 1:\* \(UID FLAGS INTERNALDATE RFC822.SIZE\)
S: * 1 FETCH (UID 4 FLAGS (\Seen) INTERNALDATE "01-Jan-2024 10:00:00 +0000" RFC822.SIZE 100)
S: {TAG} OK done
C: \S+ SELECT "INBOX"
S: * 1 EXISTS
S: * OK [UIDVALIDITY 7] ok
S: * OK [UIDNEXT 5] ok
S: * OK [PERMANENTFLAGS (\Seen \Flagged)] limited
S: {TAG} OK [READ-WRITE] done
C: \S+ UID STORE 4 FLAGS.SILENT \(\\Flagged\)
S: {TAG} OK done
C: \S+ LOGOUT
S: * BYE bye
S: {TAG} OK LOGOUT done
"""


class TestPermanentFlags(unittest.TestCase):
    """A flag the mailbox's PERMANENTFLAGS do not keep is EINVAL, and no STORE
    is sent; one it keeps is stored."""

    def test_refused_keyword(self):
        require_binary()
        m = fake_server_mount(self, "imapfs-permflags-", PERMANENT)
        m.mount()
        msg = os.path.join(m.mnt, "INBOX", "4")
        self.assertEqual(os.getxattr(msg, FLAGS), b"\\Seen")
        for value in (b"$Label", b"\\Seen $Label", b"\\Draft"):
            with self.assertRaises(OSError) as cm:
                os.setxattr(msg, FLAGS, value)
            self.assertEqual(cm.exception.errno, errno.EINVAL, value)
        self.assertEqual(os.getxattr(msg, FLAGS), b"\\Seen")
        os.setxattr(msg, FLAGS, b"\\Flagged")
        self.assertEqual(os.getxattr(msg, FLAGS), b"\\Flagged")
        self.assertEqual(m.unmount(), 0, m.stderr())
        self.assertIn("not kept by this mailbox", m.stderr())
        self.assertNotIn("fakeimap: expected", m.stderr())  # no command it did not expect


if __name__ == "__main__":
    unittest.main()
