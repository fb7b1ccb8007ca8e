"""Integration tests: a small message's files handed to the kernel's page cache ahead of
their reads (FUSE notify_store, fs/fuse/ops.c push_files), and the FLUSH a read-only mount
stops. The counts come from the line imapfs logs at unmount ("served N requests: ...").

    IMAPFS_BIN=build/imapfs python3 -m unittest discover -s tests/integration -k TestPush
"""
import os
import re
import shutil
import tempfile
import unittest
from email.message import EmailMessage

from helpers import Imapfs, require_binary, start_fixture, tls_opts


def messages():
    """Small messages of several shapes: plain UTF-8, Latin-1 quoted-printable (converted
    to UTF-8 when read), an attachment in base64, a forwarded message/rfc822."""
    out = []
    for i in range(4):
        m = EmailMessage()
        m["From"] = f"Ann <ann{i}@imapfs.test>"
        m["To"] = "alice@imapfs.test"
        m["Subject"] = f"plain {i} \u00e9t\u00e9"
        m["Message-ID"] = f"<push-plain-{i}@imapfs.test>"
        m.set_content(f"body {i}\n" + "caf\u00e9 line\n" * (50 + 300 * i))
        out.append(m)
    latin = EmailMessage()
    latin["From"] = "bob@imapfs.test"
    latin["Subject"] = "latin"
    latin.set_content("d\u00e9j\u00e0 vu\n" * 40, charset="iso-8859-1", cte="quoted-printable")
    out.append(latin)
    for i in range(3):
        m = EmailMessage()
        m["From"] = "carol@imapfs.test"
        m["Subject"] = f"with attachment {i}"
        m.set_content(f"see the attachment {i}\n")
        m.add_attachment(bytes((k * 7 + i) % 256 for k in range(5000 + 9000 * i)),
                         maintype="application", subtype="octet-stream", filename=f"a{i}.bin")
        out.append(m)
    fwd = EmailMessage()
    fwd["From"] = "dave@imapfs.test"
    fwd["Subject"] = "forwarded"
    fwd.set_content("forwarding\n")
    fwd.add_attachment(out[0])
    out.append(fwd)
    return [m.as_bytes().replace(b"\r\n", b"\n").replace(b"\n", b"\r\n") for m in out]


def served(m):
    """(requests by kind, files pushed ahead) from the line logged at unmount."""
    lines = [x for x in m.stderr().splitlines() if "served" in x and "requests:" in x]
    if not lines:
        raise AssertionError("no request counts logged:\n" + m.stderr()[-2000:])
    body = lines[-1].split("requests:", 1)[1].split(";")[0]
    counts = {k: int(v) for k, v in re.findall(r"([A-Za-z]+) (\d+)", body)}
    pushed = int(re.search(r"content of (\d+) files ahead", lines[-1]).group(1))
    return counts, pushed


class TestPush(unittest.TestCase):

    @classmethod
    def setUpClass(cls):
        require_binary()
        cls.d = start_fixture(cls, seeded=False)
        cls.d.create("alice", "Push")
        cls.raw = {}
        for msg in messages():
            cls.raw[str(cls.d.append("alice", "Push", msg))] = msg

    def mount(self, cache, *extra):
        m = Imapfs(self.d, tls_opts(self.d, f"cache_dir={cache}", *extra))
        self.addCleanup(m.cleanup)
        return m.mount()

    def walk(self, top):
        """Lists each directory, then reads its files (as grep -r does): path -> bytes."""
        got = {}
        names = sorted(os.listdir(top))
        for name in names:
            p = os.path.join(top, name)
            if os.path.isfile(p):
                with open(p, "rb") as f:
                    got[p] = f.read()
        for name in names:
            p = os.path.join(top, name)
            if os.path.isdir(p):
                got.update(self.walk(p))
        return got

    def test_pushed_content_equals_content_read(self):
        cache = tempfile.mkdtemp(prefix="imapfs-push-")
        self.addCleanup(shutil.rmtree, cache, True)
        # Whole copies into the cache first, without listing any message directory.
        m = self.mount(cache)
        for uid, raw in self.raw.items():
            with open(os.path.join(m.mnt, "Push", uid, "message.eml"), "rb") as f:
                self.assertEqual(f.read(), raw)
        self.assertEqual(m.unmount(), 0, m.stderr())

        m = self.mount(cache)
        walked = {}
        for uid in sorted(os.listdir(os.path.join(m.mnt, "Push"))):
            if uid in self.raw:  # message directories (not .summary)
                walked.update({os.path.relpath(p, m.mnt): data for p, data in
                               self.walk(os.path.join(m.mnt, "Push", uid)).items()})
        self.assertEqual(m.unmount(), 0, m.stderr())
        counts, pushed = served(m)
        for uid, raw in self.raw.items():
            self.assertEqual(walked[os.path.join("Push", uid, "message.eml")], raw)
        self.assertGreater(len(walked), 3 * len(self.raw))
        self.assertEqual(pushed, len(walked), counts)
        self.assertEqual(counts.get("READ", 0), 0, counts)

        # The same files read with no listing (so nothing pushed): READ answers them.
        m = self.mount(tempfile.mkdtemp(dir=cache))
        for rel, data in walked.items():
            with open(os.path.join(m.mnt, rel), "rb") as f:
                self.assertEqual(f.read(), data, rel)
        self.assertEqual(m.unmount(), 0, m.stderr())
        counts, pushed = served(m)
        self.assertEqual(pushed, 0, counts)
        self.assertGreaterEqual(counts.get("READ", 0), len(walked), counts)

    def test_read_only_mount_stops_flush(self):
        cache = tempfile.mkdtemp(prefix="imapfs-push-")
        self.addCleanup(shutil.rmtree, cache, True)
        for opts, flushes in ((("ro",), lambda n: n == 1), ((), lambda n: n >= len(self.raw))):
            m = self.mount(cache, *opts)
            for uid, raw in self.raw.items():
                with open(os.path.join(m.mnt, "Push", uid, "message.eml"), "rb") as f:
                    self.assertEqual(f.read(), raw)
            self.assertEqual(m.unmount(), 0, m.stderr())
            counts, _ = served(m)
            self.assertTrue(flushes(counts.get("FLUSH", 0)), (opts, counts))


if __name__ == "__main__":
    unittest.main()
