"""Faults injected between imapfs and a real Dovecot (tests/fake/faultproxy.py, issue 8).

    IMAPFS_BIN=build/imapfs python3 -m unittest discover -s tests/integration -t tests/integration -k TestFault
"""
import errno
import os
import subprocess
import threading
import time
import unittest

from helpers import (TIMEOUT, FaultProxy, Imapfs, examine, fetch_item, is_mounted,
                     mount_for_class, readable_header, require_binary, start_fixture, uids)

# Above imapfs's 1 MiB whole-message limit, so its header is fetched on its own
# (BODY.PEEK[HEADER]) rather than cut from the whole message.
BIG = (b"From: Big <big@imapfs.test>\r\nSubject: big one\r\nMessage-ID: <big@imapfs.test>\r\n\r\n"
       + b"".join(b"line %06d of a message over one MiB %s\r\n" % (i, b"." * 30)
                  for i in range(22000)))
HEADER_NO = r"no UID FETCH .*BODY\.PEEK\[HEADER\]"


def read(path):
    with open(path, "rb") as f:
        return f.read()


class TestFaultProxyMount(unittest.TestCase):
    """A mount through the proxy works like a plain tunnel, and a refused header
    fetch fails one read, not the mount."""

    @classmethod
    def setUpClass(cls):
        require_binary()
        cls.d = start_fixture(cls)
        cls.big_uid = cls.d.append(cls.d.user, "INBOX", BIG)
        # From the start, so no listing or prefetch can fetch the big header first.
        cls.proxy = FaultProxy(cls.d, [HEADER_NO])
        cls.addClassCleanup(cls.proxy.cleanup)
        cls.m = mount_for_class(cls, cls.d, cls.proxy.opts())
        cls.c = cls.d.client()
        cls.addClassCleanup(cls.c.logout)

    def test_mount_lists_reads_and_survives_a_no(self):
        inbox = os.path.join(self.m.mnt, "INBOX")
        server = sorted(uids(self.c, "INBOX"))
        self.assertEqual(sorted(int(n) for n in os.listdir(inbox) if n.isdigit()), server)
        small = server[0]
        self.assertEqual(read(os.path.join(inbox, str(small), "message.eml")),
                         fetch_item(self.c, small, "BODY.PEEK[]"))
        commands = self.proxy.commands()
        self.assertTrue([c for c in commands if c.line.startswith(("EXAMINE", "SELECT"))],
                        commands)
        self.assertTrue(all(c.action == "forward" for c in commands
                            if "BODY.PEEK[HEADER]" not in c.line), commands)

        header = os.path.join(inbox, str(self.big_uid), "header")
        r = subprocess.run(["cat", header], capture_output=True, timeout=TIMEOUT)
        self.assertNotEqual(r.returncode, 0, "cat of a refused header succeeded")
        self.assertEqual(r.stdout, b"")
        self.assertRegex(r.stderr.decode(), "Input/output error|No such file or directory")
        with self.assertRaises(OSError) as cm:
            read(header)
        self.assertIn(cm.exception.errno, (errno.EIO, errno.ENOENT))
        refused = self.proxy.commands(r"BODY\.PEEK\[HEADER\]")
        self.assertTrue(refused and all(c.action == "no" for c in refused), refused)
        self.assertIsNone(self.m.proc.poll(), self.m.stderr())
        self.assertTrue(is_mounted(self.m.mnt))

        # Still serving; and once the server answers again, so does the header.
        self.assertIn(str(small), os.listdir(inbox))
        self.proxy.set([])
        examine(self.c, "INBOX")
        self.assertEqual(read(header),
                         readable_header(fetch_item(self.c, self.big_uid, "BODY.PEEK[HEADER]")))
        self.assertIsNone(self.m.sanitizer_report(), self.m.stderr())

    def test_refused_connection_fails_before_mounting(self):
        proxy = FaultProxy(self.d, ["refuse"])
        self.addCleanup(proxy.cleanup)
        m = Imapfs(self.d, proxy.opts())
        self.addCleanup(m.cleanup)
        m.spawn()
        self.assertEqual(m.wait_exit(TIMEOUT), 1, m.stderr())
        self.assertFalse(is_mounted(m.mnt))
        self.assertIn("imapfs: connection closed by server", m.stderr())
        self.assertTrue(proxy.events("refuse"))
        self.assertEqual(proxy.commands(), [])


class TestFaultProxyActions(unittest.TestCase):
    """Each rule of faultproxy.py, spoken to directly (no imapfs): the proxy in
    front of the fixture's tunnel, raw IMAP on its stdin/stdout."""

    @classmethod
    def setUpClass(cls):
        cls.d = start_fixture(cls, seeded=False)
        cls.d.append(cls.d.user, "INBOX", b"Subject: one\r\n\r\nbody one\r\n")

    def setUp(self):
        self.proxy = FaultProxy(self.d)
        self.addCleanup(self.proxy.cleanup)
        self.p = subprocess.Popen(["/bin/sh", "-c", self.proxy.command()],
                                  stdin=subprocess.PIPE, stdout=subprocess.PIPE)
        self.addCleanup(self.p.wait, 10)
        self.addCleanup(self.p.stdin.close)
        self.addCleanup(self.p.kill)
        self.assertTrue(self.p.stdout.readline().startswith(b"* PREAUTH"))

    def send(self, line):
        self.p.stdin.write(line + b"\r\n")
        self.p.stdin.flush()

    def answer(self, tag):
        """Every line up to and including the tagged one."""
        lines = []
        while not lines or not lines[-1].startswith(tag + b" "):
            line = self.p.stdout.readline()
            self.assertTrue(line, f"EOF before {tag}: {lines}")
            lines.append(line)
        return lines

    def test_actions(self):
        self.send(b"a1 EXAMINE INBOX")
        self.assertTrue(self.answer(b"a1")[-1].startswith(b"a1 OK"))
        self.proxy.set(["no FLAGS", "empty RFC822.SIZE", "stall ^NOOP",
                        "trickle=0.002 BODY.PEEK", "count ^CHECK", "close ^LOGOUT"])
        self.send(b"a2 UID FETCH 1 (FLAGS)")
        self.assertEqual(self.answer(b"a2"), [b"a2 NO [UNAVAILABLE] injected\r\n"])
        self.send(b"a3 UID FETCH 1 (RFC822.SIZE)")
        self.assertEqual(self.answer(b"a3"), [b"a3 OK injected\r\n"])
        self.send(b"a4 NOOP")                       # stalled: never answered...
        self.send(b"a5 UID FETCH 1 (UID BODY.PEEK[])")
        start = time.monotonic()
        got = b"".join(self.answer(b"a5"))          # ...while the next one is
        self.assertNotIn(b"a4 ", got)
        self.assertIn(b"body one", got)
        self.assertGreaterEqual(time.monotonic() - start, len(got) * 0.002)
        self.send(b"a6 CHECK")
        self.assertTrue(self.answer(b"a6")[-1].startswith(b"a6 OK"))
        # A synchronising literal: the proxy says "+ go" and forwards the whole command.
        self.p.stdin.write(b"a7 STATUS {5}\r\n")
        self.p.stdin.flush()
        self.assertTrue(self.p.stdout.readline().startswith(b"+ "))
        self.send(b"INBOX (MESSAGES)")
        self.assertIn(b"MESSAGES 1", b"".join(self.answer(b"a7")))
        self.send(b"a8 LOGOUT")
        self.assertEqual(self.p.stdout.read(), b"")  # closed, unanswered
        self.assertEqual(self.p.wait(10), 0)
        actions = [(c.action, c.line.split()[0]) for c in self.proxy.commands()]
        self.assertEqual(actions, [("forward", "EXAMINE"), ("no", "UID"), ("empty", "UID"),
                                   ("stall", "NOOP"), ("trickle", "UID"), ("count", "CHECK"),
                                   ("forward", "STATUS"), ("close", "LOGOUT")])
        self.assertEqual([e[2] for e in self.proxy.events()], ["connect"])

    def test_lose_once(self):
        """lose: the server does the change, the answer never comes; /once hits one command."""
        self.proxy.set(["lose/once ^CREATE"])
        watchdog = threading.Timer(10, self.p.kill)  # a relayed answer would keep it open
        watchdog.start()
        self.addCleanup(watchdog.cancel)
        self.send(b"b1 CREATE Lost1")
        self.assertEqual(self.p.stdout.read(), b"")  # closed, unanswered
        c = self.d.client()
        self.addCleanup(c.logout)
        self.assertIn(b"Lost1", b"".join(x for x in c.list()[1] if x))  # but done
        # A second connection under the same rules: the rule has hit already.
        p2 = subprocess.Popen(["/bin/sh", "-c", self.proxy.command()],
                              stdin=subprocess.PIPE, stdout=subprocess.PIPE)
        self.addCleanup(p2.wait, 10)
        self.addCleanup(p2.kill)
        self.assertTrue(p2.stdout.readline().startswith(b"* PREAUTH"))
        p2.stdin.write(b"b2 CREATE Lost2\r\nb3 LOGOUT\r\n")
        p2.stdin.close()
        self.assertIn(b"b2 OK", p2.stdout.read())
        self.assertEqual([c.action for c in self.proxy.commands("CREATE")], ["lose", "forward"])
        self.assertIn("answer-lost", [e[2] for e in self.proxy.events()])


if __name__ == "__main__":
    unittest.main()
