"""Deleting and moving messages (issue 9, SPEC.md "Changing mail"): rmdir and
rm -r of a message directory, files removed on their own, mv between mailboxes,
with MOVE and UIDPLUS offered or hidden, and a MOVE cut 100 times.

Each mount goes through tests/fake/faultproxy.py (no rule, or the test's), whose
log says which commands imapfs sent; a second IMAP client checks the server.

    IMAPFS_BIN=build/imapfs python3 -m unittest discover -s tests/integration -t tests/integration -k TestMessage
"""
import ctypes
import errno
import os
import re
import shutil
import subprocess
import tempfile
import time
import unittest
import uuid

from helpers import (TIMEOUT, FaultProxy, Imapfs, examine, fetch_item, fetch_meta, mount_for_class,
                     require_binary, seed, start_fixture, uids)

PLAIN_EXPUNGE = re.compile(r"^EXPUNGE\b", re.I)
CHANGES = r"(?i)^(UID )?(STORE|COPY|MOVE|EXPUNGE)\b"
CONTENT_FETCH = r"(?i)FETCH .*(BODY|BINARY)(\.PEEK)?\["


def new_message(attachments=False):
    """(bytes, Message-ID) of a message no other test has."""
    mid = f"<{uuid.uuid4().hex}@write-messages.test>"
    if attachments:
        data = seed.msg_attachments().replace(b"<seed-4@imapfs.test>", mid.encode())
    else:
        data = (f"From: Alice <alice@example.org>\r\nTo: Bob <bob@example.org>\r\n"
                f"Subject: note {mid}\r\nMessage-ID: {mid}\r\n"
                f"Date: Mon, 01 Jan 2024 10:00:00 +0000\r\n\r\nBody of {mid}.\r\n").encode()
    return data, mid


RENAME_EXCHANGE = 2
_libc = ctypes.CDLL(None, use_errno=True)


def renameat2(old, new, flags=0):
    """renameat2(2); OSError on failure."""
    if _libc.renameat2(-100, os.fsencode(old), -100, os.fsencode(new), flags) != 0:
        e = ctypes.get_errno()
        raise OSError(e, os.strerror(e), new)


def in_set(uid, text):
    """Whether UID is in the IMAP UID set TEXT ("3:5,9", "7:*")."""
    for part in text.split(","):
        lo, _, hi = part.partition(":")
        lo = int(lo)
        hi = lo if not hi else (1 << 32) if hi == "*" else int(hi)
        if min(lo, hi) <= uid <= max(lo, hi):
            return True
    return False


def run(*argv):
    return subprocess.run(list(argv), capture_output=True, timeout=TIMEOUT, text=True)


class MessageCase(unittest.TestCase):
    """A fixture with the given capabilities hidden, one mount through a proxy."""

    DROP = ()

    @classmethod
    def setUpClass(cls):
        require_binary()
        cls.d = start_fixture(cls, drop_caps=cls.DROP)
        cls.proxy = FaultProxy(cls.d)
        cls.addClassCleanup(cls.proxy.cleanup)
        cls.m = mount_for_class(cls, cls.d, cls.proxy.opts())
        cls.c = cls.d.client()
        cls.addClassCleanup(cls.c.logout)

    def path(self, *names):
        return os.path.join(self.m.mnt, *map(str, names))

    def add(self, mailbox="INBOX", attachments=False, flags=()):
        """Appends a new message (by another client) and waits until the mount sees it."""
        data, mid = new_message(attachments)
        uid = self.d.append(self.d.user, mailbox, data, flags)
        self.wait_seen(mailbox, uid)
        return uid, mid, data

    def wait_seen(self, mailbox, uid):
        """Until the mount's listing, which may be 2 s old, has the UID."""
        deadline = time.monotonic() + 10
        while not os.path.exists(self.path(mailbox, uid)):
            self.assertLess(time.monotonic(), deadline, f"{mailbox}/{uid} never showed")
            time.sleep(0.2)

    def where(self, mid, mailboxes=("INBOX", "Trash", "Archive")):
        """{mailbox: [UIDs]} of the message with Message-ID mid, as the server has it."""
        return {mb: uids(self.c, mb, "HEADER", "Message-ID", f'"{mid}"') for mb in mailboxes}

    def listed(self, mailbox):
        return {int(n) for n in os.listdir(self.path(mailbox)) if n.isdigit()}

    def changes_since(self, mark):
        """Commands that change messages imapfs sent after the log had mark entries."""
        return [c.line for c in self.proxy.commands(CHANGES)[mark:]]

    def mark(self):
        return len(self.proxy.commands(CHANGES))

    def assert_alive(self):
        self.assertIsNone(self.m.proc.poll(), self.m.stderr())
        self.assertIsNone(self.m.sanitizer_report(), self.m.stderr())


class TestMessageWrites(MessageCase):
    """MOVE and UIDPLUS offered."""

    def test_rmdir_moves_to_trash(self):
        uid, mid, data = self.add()
        before_trash = self.listed("Trash")
        self.assertIn(uid, self.listed("INBOX"))
        os.rmdir(self.path("INBOX", uid))
        where = self.where(mid)
        self.assertEqual(where["INBOX"], [], where)
        self.assertEqual(len(where["Trash"]), 1, where)
        new = where["Trash"][0]
        # Shown at once: gone from INBOX, there in Trash, its content the same.
        self.assertNotIn(uid, self.listed("INBOX"))
        self.assertEqual(self.listed("Trash"), before_trash | {new})
        with open(self.path("Trash", new, "message.eml"), "rb") as f:
            self.assertEqual(f.read(), data)
        self.assertTrue(any(re.match(rf"UID MOVE {uid} ", l) for l in self.changes_since(0)))
        self.assert_alive()

    def test_rm_r_deletes_once(self):
        uid, mid, _ = self.add(attachments=True)
        mark = self.mark()
        r = run("rm", "-r", self.path("INBOX", uid))
        self.assertEqual(r.returncode, 0, r.stderr)
        where = self.where(mid)
        self.assertEqual(where["INBOX"], [], where)
        self.assertEqual(len(where["Trash"]), 1, where)
        sent = self.changes_since(mark)
        self.assertEqual(len(sent), 1, sent)
        self.assertRegex(sent[0], rf'^UID MOVE {uid} "?Trash"?$')
        self.assertNotIn(uid, self.listed("INBOX"))
        self.assert_alive()

    def test_rmdir_in_trash_expunges_only_that_uid(self):
        uid, mid, _ = self.add("Trash")
        other, other_mid, _ = self.add("Trash", flags=("\\Deleted",))
        mark = self.mark()
        os.rmdir(self.path("Trash", uid))
        self.assertEqual(self.where(mid), {"INBOX": [], "Trash": [], "Archive": []})
        # Another client's \Deleted message stays: no plain EXPUNGE went out.
        self.assertEqual(self.where(other_mid)["Trash"], [other])
        examine(self.c, "Trash")
        self.assertIn("\\Deleted", fetch_meta(self.c, other)["flags"])
        sent = self.changes_since(mark)
        self.assertFalse([l for l in sent if PLAIN_EXPUNGE.match(l)], sent)
        self.assertIn(f"UID EXPUNGE {uid}", sent)
        self.assertNotIn(uid, self.listed("Trash"))
        self.assert_alive()

    def test_attachment_moved_out_keeps_the_message(self):
        uid, mid, _ = self.add(attachments=True)
        out = tempfile.mkdtemp(prefix="imapfs-out-")
        self.addCleanup(shutil.rmtree, out, True)
        mark = self.mark()
        src = self.path("INBOX", uid, 2, seed.PDF_NAME)
        r = run("mv", src, out + "/")
        self.assertEqual(r.returncode, 0, r.stderr)
        with open(os.path.join(out, seed.PDF_NAME), "rb") as f:
            self.assertEqual(f.read(), seed.PDF_BYTES)
        self.assertEqual(self.where(mid), {"INBOX": [uid], "Trash": [], "Archive": []})
        examine(self.c, "INBOX")
        self.assertNotIn("\\Deleted", fetch_meta(self.c, uid)["flags"])
        self.assertEqual(self.changes_since(mark), [])
        # The file shows again at the next look.
        self.assertTrue(os.path.exists(src))
        self.assert_alive()

    def test_single_file_unlinked_deletes_nothing(self):
        uid, mid, data = self.add(attachments=True)
        mark = self.mark()
        os.unlink(self.path("INBOX", uid, "message.eml"))
        os.unlink(self.path("INBOX", uid, "1", "body.txt"))
        os.rmdir(self.path("INBOX", uid, "2"))
        self.assertEqual(self.where(mid), {"INBOX": [uid], "Trash": [], "Archive": []})
        self.assertEqual(self.changes_since(mark), [])
        with open(self.path("INBOX", uid, "message.eml"), "rb") as f:
            self.assertEqual(f.read(), data)
        self.assertEqual(os.listdir(self.path("INBOX", uid, "2")), [seed.PDF_NAME])
        self.assert_alive()

    def test_mv_into_archive(self):
        uid, mid, data = self.add(flags=("\\Flagged", "$Label1"))
        # Archive holds a message under the same UID: mv's name for the new
        # one; it must not be touched.
        have = uids(self.c, "Archive")
        more = uid - max(have, default=0)
        if more > 0:
            got = self.d.append_many(self.d.user, "Archive",
                                     [(new_message()[0], (), None) for _ in range(more)])
            self.wait_seen("Archive", got[-1])
        self.assertIn(uid, uids(self.c, "Archive"))
        same_mid = self.where_uid("Archive", uid)
        inbox, archive = self.listed("INBOX"), self.listed("Archive")  # the kernel keeps these
        self.assertIn(uid, inbox)
        fetches = len(self.proxy.commands(CONTENT_FETCH))
        r = run("mv", self.path("INBOX", uid), self.path("Archive") + "/")
        self.assertEqual(r.returncode, 0, r.stderr)
        where = self.where(mid)
        self.assertEqual(where["INBOX"], [], where)
        self.assertEqual(where["Trash"], [], where)
        self.assertEqual(len(where["Archive"]), 1, where)
        new = where["Archive"][0]
        self.assertNotEqual(new, uid)
        self.assertEqual(self.listed("Archive"), archive | {new})
        self.assertEqual(self.listed("INBOX"), inbox - {uid})
        # Its flags, date and size shown at once under the new UID.
        examine(self.c, "Archive")
        meta = fetch_meta(self.c, new)
        self.assertEqual(meta["flags"], {"\\Flagged", "$Label1"})
        st = os.stat(self.path("Archive", new))
        self.assertEqual(int(st.st_mtime), meta["internaldate"])
        self.assertEqual(set(os.getxattr(self.path("Archive", new), "user.imap.flags")
                             .decode().split()), meta["flags"])
        self.assertEqual(int(os.getxattr(self.path("Archive", new), "user.imap.size")),
                         meta["size"])
        # Nothing of its content was fetched for the move or the listings.
        self.assertEqual(self.proxy.commands(CONTENT_FETCH)[fetches:], [])
        with open(self.path("Archive", new, "message.eml"), "rb") as f:
            self.assertEqual(f.read(), data)
        # The message that had that UID in Archive is untouched, and the
        # name mv made shows it again, not the moved one.
        self.assertEqual(self.where_uid("Archive", uid), same_mid)
        with open(self.path("Archive", uid, "message.eml"), "rb") as f:
            self.assertEqual(f.read(), fetch_item(self.c, uid, "BODY.PEEK[]"))
        examine(self.c, "Archive")
        self.assertNotIn("\\Deleted", fetch_meta(self.c, uid)["flags"])
        self.assert_alive()

    def test_mv_keeps_cached_content(self):
        uid, mid, data = self.add()
        with open(self.path("INBOX", uid, "message.eml"), "rb") as f:
            self.assertEqual(f.read(), data)  # now in the content cache
        r = run("mv", self.path("INBOX", uid), self.path("Archive") + "/")
        self.assertEqual(r.returncode, 0, r.stderr)
        new = self.where(mid)["Archive"]
        self.assertEqual(len(new), 1)
        with open(self.path("Archive", new[0], "message.eml"), "rb") as f:
            self.assertEqual(f.read(), data)
        with open(self.path("Archive", new[0], "header"), "rb") as f:
            self.assertIn(mid.encode(), f.read())
        self.assertEqual(self.content_fetches("Archive", new[0]), [])
        self.assertTrue(self.content_fetches("INBOX", uid))  # what the test looks for is seen
        self.assert_alive()

    def content_fetches(self, mailbox, uid):
        """Content fetches imapfs sent naming uid while mailbox was selected."""
        selected, out = {}, []
        for f in self.proxy.log_lines():
            if len(f) < 5 or f[2] != "cmd":
                continue
            m = re.match(r'(?:SELECT|EXAMINE) "?([^" ]+)"?', f[4])
            if m:
                selected[f[1]] = m.group(1)
                continue
            m = re.match(r"UID FETCH ([0-9:,*]+) .*(BODY|BINARY)(\.PEEK)?\[", f[4])
            if m and selected.get(f[1]) == mailbox and in_set(uid, m.group(1)):
                out.append(f[4])
        return out

    def where_uid(self, mailbox, uid):
        examine(self.c, mailbox)
        return fetch_item(self.c, uid, "BODY.PEEK[HEADER.FIELDS (MESSAGE-ID)]")

    def test_refused_renames(self):
        uid, mid, _ = self.add()
        other, other_mid, _ = self.add()
        # A level with no mailbox of its own (\Noselect): Dovecot lists Lvl
        # as \NonExistent once only Lvl/Sub was created.
        self.assertEqual(self.c.create("Lvl/Sub")[0], "OK")
        deadline = time.monotonic() + 10
        while "Lvl" not in os.listdir(self.m.mnt):
            self.assertLess(time.monotonic(), deadline, "Lvl never showed")
            time.sleep(0.2)
        mark = self.mark()
        cases = [
            (self.path("INBOX", 999999), 0),       # within its mailbox
            (self.path(uid), 0),                   # the root: not a mailbox
            (self.path("INBOX", other, "x"), 0),   # into a message
            (self.path("Lvl", uid), 0),            # a level that holds no messages
            (self.path("Archive", "Projects"), RENAME_EXCHANGE),
            (self.path("INBOX", other), RENAME_EXCHANGE),
        ]
        for target, flags in cases:
            with self.subTest(target=target, flags=flags):
                with self.assertRaises(OSError) as cm:
                    renameat2(self.path("INBOX", uid), target, flags)
                self.assertEqual(cm.exception.errno, errno.EINVAL)
        self.assertEqual(self.where(mid), {"INBOX": [uid], "Trash": [], "Archive": []})
        self.assertEqual(self.where(other_mid), {"INBOX": [other], "Trash": [], "Archive": []})
        self.assertEqual(self.changes_since(mark), [])
        self.assertIn(uid, self.listed("INBOX"))
        self.assert_alive()


    def test_read_only_mount_refuses(self):
        uid, mid, _ = self.add()
        ro = Imapfs(self.d, self.proxy.opts("ro"))
        self.addCleanup(ro.cleanup)
        ro.mount()
        mark = self.mark()
        box = os.path.join(ro.mnt, "INBOX")
        for op in (lambda: os.rmdir(os.path.join(box, str(uid))),
                   lambda: os.rename(os.path.join(box, str(uid)),
                                     os.path.join(ro.mnt, "Archive", str(uid)))):
            with self.assertRaises(OSError) as cm:
                op()
            self.assertEqual(cm.exception.errno, errno.EROFS)
        self.assertEqual(self.where(mid), {"INBOX": [uid], "Trash": [], "Archive": []})
        self.assertEqual(self.changes_since(mark), [])


class TestMessageWritesNoMove(TestMessageWrites):
    """MOVE hidden: UID COPY + \\Deleted + UID EXPUNGE, the same results."""

    DROP = ("MOVE",)

    def test_rmdir_moves_to_trash(self):
        uid, mid, _ = self.add()
        mark = self.mark()
        os.rmdir(self.path("INBOX", uid))
        where = self.where(mid)
        self.assertEqual((where["INBOX"], len(where["Trash"])), ([], 1), where)
        sent = self.changes_since(mark)
        self.assertEqual(len(sent), 3, sent)
        self.assertRegex(sent[0], rf'^UID COPY {uid} "?Trash"?$')
        self.assertRegex(sent[1], rf"^UID STORE {uid} \+FLAGS\.SILENT \(\\Deleted\)$")
        self.assertEqual(sent[2], f"UID EXPUNGE {uid}")
        self.assertNotIn(uid, self.listed("INBOX"))
        self.assertIn(where["Trash"][0], self.listed("Trash"))
        self.assert_alive()

    def test_rm_r_deletes_once(self):
        uid, mid, _ = self.add(attachments=True)
        r = run("rm", "-r", self.path("INBOX", uid))
        self.assertEqual(r.returncode, 0, r.stderr)
        where = self.where(mid)
        self.assertEqual((where["INBOX"], len(where["Trash"])), ([], 1), where)
        self.assert_alive()


class TestMessageWritesNoUidplus(MessageCase):
    """MOVE and UIDPLUS hidden: moves and expunges refused with EPERM, nothing sent."""

    DROP = ("MOVE", "UIDPLUS")

    def test_all_refused(self):
        uid, mid, _ = self.add()
        tuid, tmid, _ = self.add("Trash")
        mark = self.mark()
        for op, path in ((os.rmdir, self.path("INBOX", uid)), (os.rmdir, self.path("Trash", tuid))):
            with self.subTest(path=path):
                with self.assertRaises(OSError) as cm:
                    op(path)
                self.assertEqual(cm.exception.errno, errno.EPERM)
        with self.assertRaises(OSError) as cm:
            os.rename(self.path("INBOX", uid), self.path("Archive", uid))
        self.assertEqual(cm.exception.errno, errno.EPERM)
        r = run("mv", self.path("INBOX", uid), self.path("Archive") + "/")
        self.assertNotEqual(r.returncode, 0)
        self.assertEqual(self.where(mid), {"INBOX": [uid], "Trash": [], "Archive": []})
        self.assertEqual(self.where(tmid), {"INBOX": [], "Trash": [tuid], "Archive": []})
        self.assertEqual(self.changes_since(mark), [])
        self.assertIn(uid, self.listed("INBOX"))
        self.assertIn(tuid, self.listed("Trash"))
        self.assert_alive()


class TestMessageWritesMoveNoUidplus(MessageCase):
    """UIDPLUS hidden, MOVE offered: moves work (to Trash too), an expunge is
    refused with EPERM and nothing sent."""

    DROP = ("UIDPLUS",)

    def test_moves_but_no_expunge(self):
        uid, mid, _ = self.add()
        os.rmdir(self.path("INBOX", uid))
        where = self.where(mid)
        self.assertEqual((where["INBOX"], len(where["Trash"])), ([], 1), where)
        self.assertIn(where["Trash"][0], self.listed("Trash"))
        other, other_mid, _ = self.add()
        r = run("mv", self.path("INBOX", other), self.path("Archive") + "/")
        self.assertEqual(r.returncode, 0, r.stderr)
        where = self.where(other_mid)
        self.assertEqual((where["INBOX"], len(where["Archive"])), ([], 1), where)
        self.assertIn(where["Archive"][0], self.listed("Archive"))

        tuid, tmid, _ = self.add("Trash")
        mark = self.mark()
        with self.assertRaises(OSError) as cm:
            os.rmdir(self.path("Trash", tuid))
        self.assertEqual(cm.exception.errno, errno.EPERM)
        self.assertEqual(self.where(tmid), {"INBOX": [], "Trash": [tuid], "Archive": []})
        self.assertEqual(self.changes_since(mark), [])
        self.assertIn(tuid, self.listed("Trash"))
        self.assert_alive()


class TestMessageMoveCut(MessageCase):
    """UID MOVE cut 100 times in a row at random points (faultproxy cut/once):
    afterwards each message is there exactly once, in Archive (mv succeeded),
    and a move was sent again only when the server had not made it."""

    ROUNDS = 100
    CUTS = ("^UID MOVE",)       # round i cuts the first command matching CUTS[i % len]
    SENT = r"^UID MOVE "        # the change whose resends are counted

    def test_move_cut(self):
        items = [new_message() for _ in range(self.ROUNDS)]
        first = self.d.append_many(self.d.user, "INBOX", [(b, (), None) for b, _ in items])
        self.assertEqual(len(first), self.ROUNDS)
        self.wait_seen("INBOX", first[-1])
        failed = []
        for i, uid in enumerate(first):
            if i == self.ROUNDS // 2:
                # Their structures read (this one's and the next ones', in
                # a batch): the check looks for a copy by Message-ID from
                # now on; before, by size and INTERNALDATE.
                os.listdir(self.path("INBOX", uid))
            self.proxy.set([f"cut/once {self.CUTS[i % len(self.CUTS)]}"])
            r = run("mv", self.path("INBOX", uid), self.path("Archive") + "/")
            if r.returncode != 0:
                failed.append((uid, r.stderr))
        self.proxy.set([])
        kinds = [e[2] for e in self.proxy.events() if e[2].startswith("cut-")]
        self.assertEqual(len(kinds), self.ROUNDS, kinds)
        counts = {}
        for _, mid in items:
            where = self.where(mid, ("INBOX", "Archive"))
            counts[mid] = (len(where["INBOX"]), len(where["Archive"]))
        twice = {k: v for k, v in counts.items() if sum(v) != 1}
        self.assertEqual(twice, {}, "messages lost or duplicated")
        # mv said done: each is in Archive (a failed mv would keep it in INBOX).
        self.assertEqual(failed, [])
        self.assertEqual(self.listed("INBOX") & set(first), set())
        self.assertEqual(self.listed("Archive"), set(uids(self.c, "Archive")))
        # Sent again after a cut before the server had any of it, never
        # after a lost answer (it was made); after the rest, as the check found.
        cuts, sent = self.cuts_and_sends()
        self.assertEqual(len(cuts), self.ROUNDS, cuts)
        for uid, kind in cuts.items():
            with self.subTest(uid=uid, kind=kind):
                if kind == "cut-answer":
                    self.assertEqual(sent.get(uid), 1)
                elif kind == "cut-none":
                    self.assertGreaterEqual(sent.get(uid), 2)
        cut = {k: kinds.count(k) for k in ("cut-none", "cut-part", "cut-all", "cut-answer")}
        resent = sum(sent.values()) - len(sent)
        self.checks = {
            "by Message-ID": len(self.proxy.commands(r"^UID SEARCH .*HEADER Message-ID")),
            "by size and date": len(self.proxy.commands(
                r"^UID FETCH \d+:\* \(UID INTERNALDATE RFC822\.SIZE\)$")),
        }
        # Either way of finding a copy was used (P(not) ~ 1e-6 each).
        self.assertGreater(min(self.checks.values()), 0, self.checks)
        print(f"\n{type(self).__name__}: cuts {cut}, sent again {resent}, copies looked "
              f"for {self.checks}")
        self.assert_alive()

    def cuts_and_sends(self):
        """{(verb, uid): cut kind} of the commands cut, {(verb, uid): times sent} of SENT."""
        cuts, sent, cut_uid = {}, {}, {}
        for f in self.proxy.log_lines():
            if len(f) < 4:
                continue
            if f[2] == "cmd" and len(f) > 4 and re.match(self.SENT, f[4]):
                uid = tuple(f[4].split()[1:3])  # ("MOVE", "12")
                sent[uid] = sent.get(uid, 0) + 1
                if f[3] == "cut":
                    cut_uid[f[1]] = uid
            elif f[2] == "event" and f[3].startswith("cut-") and f[1] in cut_uid:
                cuts[cut_uid.pop(f[1])] = f[3]
        return cuts, sent


class TestMessageCopyCut(TestMessageMoveCut):
    """MOVE hidden: UID COPY and UID EXPUNGE cut in turn, 100 times."""

    DROP = ("MOVE",)
    CUTS = ("^UID COPY", "^UID EXPUNGE")
    SENT = r"^UID (COPY|EXPUNGE) "


if __name__ == "__main__":
    unittest.main()
