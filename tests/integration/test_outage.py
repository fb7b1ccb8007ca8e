"""A server that goes away, stalls or trickles: one deadline per request, no
error for a short outage, and an unmount that ends at once (issue 8, fixes 6
and 8). The faults come from tests/fake/faultproxy.py in front of the real
Dovecot: "refuse" is a server that is down (new connections fail at once),
"close" drops the connections it had, "stall" never answers.

    IMAPFS_BIN=build/imapfs python3 -m unittest discover -s tests/integration -t tests/integration -k TestOutage
"""
import os
import subprocess
import threading
import time
import unittest

from helpers import TIMEOUT, FaultProxy, Imapfs, is_mounted, require_binary, start_fixture

# imapfs's one deadline per request (fs/source/request.h), and what a test
# allows on top of it for the kernel, the proxy and a slow sanitizer build.
REQUEST_S = 20
SLACK_S = 8
MESSAGES = 600
NEEDLE = b"needle-in-the-outage"


def read_file(path):
    with open(path, "rb") as f:
        return f.read()


def message(i):
    body = b"".join(b"line %d of message %d, nothing to see\r\n" % (k, i) for k in range(40))
    if i == MESSAGES - 1:
        body += NEEDLE + b"\r\n"
    return (b"From: outage@imapfs.test\r\nSubject: outage %d\r\n\r\n" % i) + body


class TestOutage(unittest.TestCase):

    @classmethod
    def setUpClass(cls):
        require_binary()
        cls.d = start_fixture(cls, seeded=False)
        cls.d.create(cls.d.user, "Outage")
        cls.d.append_many(cls.d.user, "Outage", [(message(i), (), None) for i in range(MESSAGES)])

    def mount(self, *opts):
        proxy = FaultProxy(self.d)
        self.addCleanup(proxy.cleanup)
        m = Imapfs(self.d, proxy.opts(*opts))
        self.addCleanup(m.cleanup)
        m.mount()
        return proxy, m

    def wait_for_command(self, proxy, pattern, timeout=TIMEOUT):
        deadline = time.monotonic() + timeout
        while not proxy.commands(pattern):
            self.assertLess(time.monotonic(), deadline, f"no {pattern} command seen")
            time.sleep(0.005)

    def test_restart_during_grep_costs_no_error(self):
        """The server goes away for 5 s while grep -r reads: its connections
        drop and new ones are refused. grep still reads every file."""
        proxy, m = self.mount()
        box = os.path.join(m.mnt, "Outage")
        grep = subprocess.Popen(["grep", "-rl", NEEDLE.decode(), box], stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE)
        self.wait_for_command(proxy, r"BODY\.PEEK\[\]")
        proxy.set(["refuse", "close .*"])
        time.sleep(5)
        proxy.set([])
        out, err = grep.communicate(timeout=REQUEST_S + SLACK_S)
        self.assertEqual(grep.returncode, 0, err.decode())
        self.assertEqual(err, b"")
        hits = out.decode().split()
        self.assertIn(os.path.join(box, str(MESSAGES), "message.eml"), hits)
        self.assertEqual([h for h in hits if not h.startswith(os.path.join(box, str(MESSAGES)) + "/")],
                         [])
        self.assertTrue([e for e in proxy.events("refuse")], "the outage refused nothing")
        self.assertEqual(m.unmount(), 0, m.stderr())

    def test_unmount_ends_the_process_at_once(self):
        """Whatever its threads wait on (a stalled command, a refused
        reconnection), the process ends within 2 s of fusermount3 -u."""
        proxy, m = self.mount()
        os.listdir(os.path.join(m.mnt, "Outage"))
        proxy.set(["refuse", "stall .*"])
        readers = [subprocess.Popen(["cat", os.path.join(m.mnt, "Outage", str(uid), "message.eml")],
                                    stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
                   for uid in (1, 300, 599)]
        time.sleep(2)
        # The readers give up (their requests go on in imapfs, which still
        # waits on the server), so that nothing holds the mount busy.
        for r in readers:
            r.kill()
            r.wait(timeout=10)
        self.assertTrue(proxy.commands(r"BODY\.PEEK"), "nothing was waiting on the server")
        start = time.monotonic()
        subprocess.run(["fusermount3", "-u", m.mnt], check=True, timeout=10)
        rc = m.wait_exit(timeout=10)
        took = time.monotonic() - start
        self.assertIsNotNone(rc, "imapfs still runs 10 s after the unmount")
        self.assertLess(took, 2.0, m.stderr())
        self.assertFalse(is_mounted(m.mnt))
        self.assertIsNone(m.sanitizer_report(), m.stderr())

    def timed(self, argv, results, key):
        start = time.monotonic()
        r = subprocess.run(argv, capture_output=True, timeout=120)
        results[key] = (time.monotonic() - start, r.returncode, r.stderr.decode())

    def test_silence_ends_within_one_deadline(self):
        """A server that never answers a body FETCH, or a LIST, or sends a
        byte every 200 ms: each request ends within its one deadline, the
        retries and the kernel's second asks included."""
        mounts = {}
        for name, rules in (("fetch", [r"stall UID FETCH .*BODY\.PEEK"]),
                            ("list", [r"stall ^LIST"]),
                            ("trickle", [r"trickle=0.2 .*"])):
            proxy, m = self.mount()
            os.listdir(os.path.join(m.mnt, "Outage"))
            proxy.set(rules)
            mounts[name] = (proxy, m)
        time.sleep(2.2)  # past the listings' freshness: ls asks the server again
        jobs = {
            "fetch": ["cat", os.path.join(mounts["fetch"][1].mnt, "Outage", "7", "message.eml")],
            "list": ["ls", mounts["list"][1].mnt],
            "trickle": ["ls", "-la", os.path.join(mounts["trickle"][1].mnt, "Outage", "9")],
        }
        results = {}
        threads = [threading.Thread(target=self.timed, args=(argv, results, k))
                   for k, argv in jobs.items()]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        for name, (took, rc, err) in results.items():
            self.assertLess(took, REQUEST_S + SLACK_S, f"{name}: {took:.1f} s ({rc}, {err})")
        self.assertNotEqual(results["fetch"][1], 0, "a stalled fetch read something")
        self.assertIn("Input/output error", results["fetch"][2])
        # What was listed before is still shown.
        self.assertEqual(results["list"][1], 0, results["list"][2])
        for name, (proxy, m) in mounts.items():
            stalled = proxy.commands(r"BODY\.PEEK" if name == "fetch" else "^LIST")
            hit = proxy.commands() if name == "trickle" else stalled
            self.assertTrue([c for c in hit if c.action != "forward"],
                            f"{name}: the fault was never hit")
            # No retry after a timeout: the kernel asks once or twice, no more.
            if name == "fetch":
                self.assertLessEqual(len(stalled), 3, stalled)
            proxy.set([])
            self.assertIsNone(m.proc.poll(), m.stderr())
        # Requests fail at once for a while after a timeout (fs/source: 10 s),
        # then the mount serves again.
        deadline = time.monotonic() + REQUEST_S
        while True:
            try:
                self.assertIn(b"message 6,", read_file(os.path.join(
                    mounts["fetch"][1].mnt, "Outage", "7", "message.eml")))
                break
            except OSError:
                self.assertLess(time.monotonic(), deadline, "the mount did not recover")
                time.sleep(0.5)


if __name__ == "__main__":
    unittest.main()
