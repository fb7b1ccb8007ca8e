"""Control characters from the server: escaped in names and in the log (issue 8).

    IMAPFS_BIN=build/imapfs python3 -m unittest discover -s tests/integration -t tests/integration -k TestControl
"""
import os
import re
import shlex
import sys
import tempfile
import unittest

from helpers import ROOT, Imapfs, require_binary

RAW_CONTROL = re.compile(rb"[\x00-\x09\x0b-\x1f\x7f]|\xc2[\x80-\x9f]")

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
        work = tempfile.mkdtemp(prefix="imapfs-forger-")
        script = os.path.join(work, "script")
        with open(script, "w") as f:
            f.write(FORGER.format(n=len(FORGED_NAME.encode().decode("unicode_escape")),
                                  name=FORGED_NAME))
        fake = " ".join(shlex.quote(a) for a in (
            sys.executable, os.path.join(ROOT, "tests", "fake", "fakeimap.py"), script))
        fixture = type("Fake", (), {"user": "alice", "host": "127.0.0.1", "password": "x"})()
        m = Imapfs(fixture, ["tunnel=" + fake.replace("\\", "\\\\").replace(",", "\\,"),
                             "connections=1"], workdir=work)
        self.addCleanup(m.cleanup)
        m.mount()
        self.assertEqual(os.listdir(m.mnt), ["INBOX"])
        m.unmount()
        log = m.stderr()
        self.assertIn("mailbox 'x//\\x0Aimapfs: forged line\\x1B[2J' cannot be shown", log)
        self.assertNotIn("\nimapfs: forged line", log)
        self.assertEqual(RAW_CONTROL.findall(log.encode()), [], log)


if __name__ == "__main__":
    unittest.main()
