"""-o tunnel=CMD with Dovecot's own imap binary, run the way a user would.

    IMAPFS_BIN=build/imapfs python3 -m unittest discover -s tests/integration -k TestTunnel

The fixture's tunnel_command wraps the binary ('2>>log | cat') because a
socket on its stdin or stdout makes it refuse to run; here it is given no
wrapping at all: imapfs must hand it pipes, as a shell does.
"""
import os
import shlex
import unittest

from helpers import TIMEOUT, Imapfs, is_mounted, is_uid_name, require_binary, start_fixture, uids


def tunnel_opt(cmd):
    """-o tunnel=CMD with the option parser's escapes for backslash and comma."""
    return "tunnel=" + cmd.replace("\\", "\\\\").replace(",", "\\,")


def read(path):
    with open(path, "rb") as f:
        return f.read()


class TestTunnel(unittest.TestCase):

    @classmethod
    def setUpClass(cls):
        require_binary()
        cls.d = start_fixture(cls)
        c = cls.d.client()
        cls.inbox = sorted(uids(c, "INBOX"))
        c.logout()

    def imap_command(self):
        """The plain binary: the config and the user, as the fixture gives them."""
        return " ".join(shlex.quote(a) for a in
                        (self.d.imap_bin, "-c", self.d.conf, "-u", self.d.user))

    def test_plain_dovecot_imap(self):
        m = Imapfs(self.d, [tunnel_opt(self.imap_command())])
        self.addCleanup(m.cleanup)
        m.mount()
        inbox = os.path.join(m.mnt, "INBOX")
        got = sorted(int(n) for n in os.listdir(inbox) if is_uid_name(n))
        self.assertTrue(self.inbox)
        self.assertEqual(got, self.inbox)
        self.assertIn(b"Message-ID:", read(os.path.join(inbox, str(self.inbox[0]), "header")))
        self.assertEqual(m.unmount(), 0, m.stderr())
        self.assertIsNone(m.sanitizer_report(), m.stderr())

    def test_refusal_is_quoted(self):
        """A command that answers as Dovecot does on a socket (bare LF) and
        exits: the mount fails and the error shows what it sent."""
        m = Imapfs(self.d, [tunnel_opt("printf '* BAD [ALERT] Fatal: must not be started "
                                       "from inetd\\n'")])
        self.addCleanup(m.cleanup)
        m.spawn()
        rc = m.wait_exit(TIMEOUT)
        self.assertIsNotNone(rc, "imapfs did not exit")
        self.assertNotEqual(rc, 0)
        self.assertFalse(is_mounted(m.mnt))
        self.assertIn('"* BAD [ALERT] Fatal: must not be started from inetd\\n"', m.stderr())


if __name__ == "__main__":
    unittest.main()
