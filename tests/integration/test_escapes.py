"""Control characters from the server: escaped in names and in the log (issue 8).

    IMAPFS_BIN=build/imapfs python3 -m unittest discover -s tests/integration -t tests/integration -k TestControl
"""
import os
import pwd
import re
import unittest

from helpers import (Imapfs, dovecot, entries, fake_server_mount, require_binary, start_fixture,
                     tls_opts)
# Shown name -> modified UTF-7 name on the server. Dovecot refuses control
# characters in new names (CREATE), except DEL and C1 ones, but lists the
# Maildir folders it finds on disk whatever their names.
CREATED = {"%7Fdel": "&AH8-del", "%C2%85nel": "&AIU-nel"}
ON_DISK = {"%1Besc": "&ABs-esc", "%09tab": "&AAk-tab", "line%0Afeed": "line&AAo-feed"}
RAW_CONTROL = re.compile(rb"[\x00-\x09\x0b-\x1f\x7f]|\xc2[\x80-\x9f]")


class TestControlCharactersInNames(unittest.TestCase):
    """Mailboxes whose names hold control characters show them as %XX, and so
    do the log lines that name them."""

    @classmethod
    def setUpClass(cls):
        require_binary()
        cls.d = start_fixture(cls, seeded=False)
        # Before anything lists the account: Dovecot keeps a list index.
        mail = pwd.getpwnam(dovecot.MAIL_USER)
        maildir = os.path.join(cls.d.home(cls.d.user), "Maildir")
        for name in [""] + [os.path.join(n, "cur") for n in ON_DISK.values()]:
            path = os.path.join(maildir, name)
            os.makedirs(path, exist_ok=True)
            os.chown(path, mail.pw_uid, mail.pw_gid)
            if name:
                os.chown(os.path.dirname(path), mail.pw_uid, mail.pw_gid)
        for wire in CREATED.values():
            cls.d.create(cls.d.user, dovecot.mutf7_decode(wire))
        cls.uid = cls.d.append(cls.d.user, dovecot.mutf7_decode(CREATED["%7Fdel"]),
                               b"Subject: in a mailbox called DEL\r\n\r\nhello\r\n")

    def test_names_escaped_and_logged_escaped(self):
        m = Imapfs(self.d, tls_opts(self.d), args=["-d"])
        self.addCleanup(m.cleanup)
        m.mount()
        names = os.listdir(m.mnt)
        for shown in list(CREATED) + list(ON_DISK):
            self.assertIn(shown, names)
        self.assertEqual([n for n in names if RAW_CONTROL.search(n.encode())], [])
        # A mailbox so named works like any other.
        msg = os.path.join(m.mnt, "%7Fdel", str(self.uid), "message.eml")
        with open(msg, "rb") as f:
            self.assertIn(b"hello", f.read())
        # Dovecot lists this one but will not open it: the failure is logged.
        with self.assertRaises(OSError):
            os.listdir(os.path.join(m.mnt, "%1Besc"))
        m.unmount()
        with open(m.stderr_path, "rb") as f:
            log = f.read()
        self.assertIn(b"cannot list messages of %1Besc", log)
        self.assertEqual(RAW_CONTROL.findall(log), [], log[-2000:])


# A server that lists a name with a line feed in it (a literal), made of two
# empty levels so that imapfs logs it as it came.
FORGER = r"""S: * PREAUTH [CAPABILITY IMAP4rev1 LITERAL+] forger ready
C: \S+ LIST "" "\*"
R: * LIST () "/" {{{n}}}\r\n{name}\r\n
S: * LIST () "/" INBOX
S: {{TAG}} OK LIST done
C: \S+ LOGOUT
S: * BYE bye
S: {{TAG}} OK LOGOUT done
"""
FORGED_NAME = "x//\\nimapfs: forged line\\x1b[2J"


class TestControlCharactersInLog(unittest.TestCase):
    """Text a server sends reaches the log with its control characters as \\xNN:
    a mailbox name cannot forge a log line."""

    def test_forged_line(self):
        require_binary()
        script = FORGER.format(n=len(FORGED_NAME.encode().decode("unicode_escape")),
                               name=FORGED_NAME)
        m = fake_server_mount(self, "imapfs-forger-", script)
        m.mount()
        self.assertEqual(entries(m.mnt), ["INBOX"])
        m.unmount()
        log = m.stderr()
        self.assertIn("mailbox 'x//\\x0Aimapfs: forged line\\x1B[2J' cannot be shown", log)
        self.assertNotIn("\nimapfs: forged line", log)
        self.assertEqual(RAW_CONTROL.findall(log.encode()), [], log)


if __name__ == "__main__":
    unittest.main()
