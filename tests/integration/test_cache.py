"""Integration tests of the speed machinery (issue 4) against a real Dovecot: prefetch and
pipelining return byte-identical content, the persistent cache (cache_dir) is used across
mounts and stays correct when another client changed the mailbox in between (QRESYNC and
the fallback without QRESYNC/CONDSTORE), a UIDVALIDITY change discards it, and the content
cache never exceeds cache_size.

    IMAPFS_BIN=build/imapfs python3 -m unittest discover -s tests/integration \\
        -t tests/integration -k TestPrefetchIdentical -k TestCacheAcrossMounts \\
        -k TestUidvalidityChange -k TestCacheSize
"""
import collections
import email
import os
import re
import shutil
import subprocess
import sys
import tempfile
import threading
import time
import unittest

from helpers import (Imapfs, entries, examine, rawlog_command_lines, rawlog_files, readable_header,
                     require_binary,
                     start_fixture, tls_opts)

import bulk

MiB = 1024 * 1024
SMALL_MAX = MiB   # messages up to this size are fetched whole (prefetch)


def read(path):
    with open(path, "rb") as f:
        return f.read()


def uid_set(text, top):
    """The UIDs of an IMAP sequence set ('*' stands for TOP)."""
    out = set()
    for r in text.split(","):
        a, _, b = r.partition(":")
        a = top if a == "*" else int(a)
        b = a if not b else (top if b == "*" else int(b))
        lo, hi = sorted((a, b))
        out.update(range(lo, hi + 1))
    return out


FETCH_RE = re.compile(r"\bUID FETCH ([0-9:,*]+) \((.*)\)", re.I)
WHOLE_RE = re.compile(r"BODY\.PEEK\[\](?!<)", re.I)
CONTENT_RE = re.compile(r"(BODY|BINARY)\.PEEK\[[^\]]*\]", re.I)
SECTION_RE = re.compile(r"(BODY|BINARY)\.PEEK\[\d[^\]]*\]", re.I)
# a listing with facts (sizes, dates) of the whole mailbox: what a remount must not redo
FULL_LISTING_RE = re.compile(r"\bUID FETCH 1:\* \([^)]*(INTERNALDATE|RFC822\.SIZE)", re.I)
FLAGS_ONLY_RE = re.compile(r"\bUID FETCH 1:\* \((UID )?FLAGS( UID)?\)", re.I)


def fetches(lines, top):
    """[(uids, items, line)] of every UID FETCH command in LINES."""
    out = []
    for line in lines:
        m = FETCH_RE.search(line)
        if m:
            out.append((uid_set(m.group(1), top), m.group(2), line))
    return out


def content_fetch_uids(lines, top):
    """{uid: [lines]} of every UID named by a fetch of content (BODY/BINARY.PEEK[...])."""
    out = collections.defaultdict(list)
    for u, items, line in fetches(lines, top):
        if CONTENT_RE.search(items):
            for x in u:
                out[x].append(line)
    return out


def parse_literals(data):
    """{item name: bytes} of an imaplib FETCH answer for one message."""
    out = {}
    for d in data:
        if isinstance(d, tuple):
            m = re.search(rb"((?:BODY|BINARY)\[[^\]]*\](?:<\d+>)?) \{\d+\}$", d[0])
            if m:
                out[m.group(1).decode()] = d[1]
    return out


def server_all(client, item):
    """{uid: bytes} of one literal ITEM (e.g. BODY.PEEK[]) of every message in the
    selected mailbox, in one command."""
    typ, data = client.uid("FETCH", "1:*", f"(UID {item})")
    assert typ == "OK", data
    out = {}
    for d in data:
        if isinstance(d, tuple):
            out[int(re.search(rb"UID (\d+)", d[0]).group(1))] = d[1]
    return out


def server_flags(client):
    """{uid: set of flags} of the selected mailbox (without \\Recent)."""
    typ, data = client.uid("FETCH", "1:*", "(UID FLAGS)")
    assert typ == "OK", data
    out = {}
    for d in data:
        if not d:
            continue
        line = (d[0] if isinstance(d, tuple) else d).decode()
        m = re.search(r"UID (\d+)", line)
        f = re.search(r"FLAGS \(([^)]*)\)", line)
        if m and f:
            out[int(m.group(1))] = set(f.group(1).split()) - {"\\Recent"}
    return out


def server_uids(client):
    typ, data = client.uid("SEARCH", None, "ALL")
    assert typ == "OK", data
    return sorted(int(x) for x in b" ".join(d for d in data if d).split())


def server_leaves(client, uid, msg):
    """{section: bytes} of every leaf of MSG as the server's parts decode (Python's email
    package on BODY.PEEK[sec.MIME] + BODY.PEEK[sec]; text/* converted to UTF-8)."""
    single = len(msg.leaves) == 1 and msg.leaves[0].section == "1" and msg.kind == "plain"
    items = []
    for p in msg.leaves:
        items += ["BODY.PEEK[HEADER]" if single else f"BODY.PEEK[{p.section}.MIME]",
                  f"BODY.PEEK[{p.section}]"]
    typ, data = client.uid("FETCH", str(uid), "(" + " ".join(items) + ")")
    assert typ == "OK", data
    lit = parse_literals(data)
    out = {}
    for p in msg.leaves:
        mime = lit["BODY[HEADER]" if single else f"BODY[{p.section}.MIME]"]
        part = email.message_from_bytes(mime + lit[f"BODY[{p.section}]"])
        raw = part.get_payload(decode=True)
        if part.get_content_maintype() == "text":
            raw = (raw.decode(part.get_content_charset() or "us-ascii")
                   .replace("\r\n", "\n").encode("utf-8"))
        out[p.section] = raw
    return out


def message_uids(path):
    return sorted(int(n) for n in os.listdir(path) if n.isdigit())


def content_file(msgdir, leaf):
    """The one content file of LEAF's part directory."""
    d = os.path.join(msgdir, *leaf.dirs)
    entries = os.listdir(d)
    assert len(entries) == 1, (d, entries)
    return os.path.join(d, entries[0])


def store_usage(content_dir):
    """(total bytes, entry bytes, other bytes, files) of every regular file under the
    content store's directory."""
    total = entries = files = 0
    for root, _, names in os.walk(content_dir):
        for n in names:
            try:
                st = os.lstat(os.path.join(root, n))
            except FileNotFoundError:
                continue
            files += 1
            total += st.st_size
            if re.fullmatch(r"[0-9a-f]{64}", n):
                entries += st.st_size
    return total, entries, total - entries, files


class CacheTestBase(unittest.TestCase):
    """Mounting with rawlog bookkeeping: the sessions of one mount are the rawlog files
    that appeared between its start and its unmount, so that a second client's sessions
    (opened before the mount, or after its unmount) never count as imapfs's."""

    def cache_dir(self):
        d = tempfile.mkdtemp(prefix="imapfs-cache-")
        self.addCleanup(shutil.rmtree, d, True)
        return d

    def mount(self, *opts):
        m = Imapfs(self.d, tls_opts(self.d, *opts))
        self.addCleanup(m.cleanup)
        m.before = rawlog_files(self.d)
        m.mount()
        return m

    def finish(self, m):
        """Unmount; m.lines are the command lines imapfs sent during that mount."""
        self.assertEqual(m.unmount(), 0, m.stderr()[-4000:])
        self.assertIsNone(m.sanitizer_report(), m.stderr()[-8000:])
        time.sleep(0.5)  # let the imap processes flush their rawlog
        sessions = sorted(rawlog_files(self.d) - set(m.before))
        m.sessions = [(p, p[:-3] + ".out") for p in sessions if p.endswith(".in")]
        m.lines = [l for l in rawlog_command_lines(m.sessions) if l]
        return m

    def client(self, mailbox=None):
        c = self.d.client()
        self.addCleanup(c.logout)
        if mailbox:
            examine(c, mailbox)
        return c

    def assert_flags(self, box, c, where):
        """user.imap.flags of every message directory equal the server's flags
        (\\Recent, a per-session flag, left out as in test_mount)."""
        want = server_flags(c)
        got = {}
        for u in message_uids(box):
            got[u] = set(os.getxattr(os.path.join(box, str(u)), "user.imap.flags")
                         .decode().split()) - {"\\Recent"}
        self.assertEqual(got, want, where)

    def assert_message(self, box, uid, msg, c, where=""):
        """message.eml and header equal the server's; every part equals the server's
        decoding and the generator's expectation; every file's size is what it reads."""
        d = os.path.join(box, str(uid))
        lit = {}
        typ, data = c.uid("FETCH", str(uid), "(BODY.PEEK[] BODY.PEEK[HEADER])")
        self.assertEqual(typ, "OK", data)
        lit = parse_literals(data)
        self.assertEqual(read(os.path.join(d, "message.eml")), lit["BODY[]"], (where, uid))
        self.assertEqual(read(os.path.join(d, "header")), readable_header(lit["BODY[HEADER]"]),
                         (where, uid))
        if msg is not None:
            self.assertEqual(lit["BODY[]"], msg.raw, ("server copy differs", uid))
            srv = server_leaves(c, uid, msg)
            for p in msg.leaves:
                data = read(content_file(d, p))
                self.assertEqual(data, srv[p.section], (where, uid, p.section, p.mime_type))
                self.assertEqual(data, p.expected, (where, uid, p.section))
        self.assert_sizes(d, where)

    def assert_sizes(self, d, where=""):
        for root, _, names in os.walk(d):
            for n in names:
                path = os.path.join(root, n)
                self.assertEqual(os.stat(path).st_size, len(read(path)), (where, path))


# ---- 1. prefetch returns byte-identical content ----------------------------------------

class TestPrefetchIdentical(CacheTestBase):
    """grep -r over a 500-message mailbox with 4 connections (prefetch in batches), then
    every file compared with a second client's fetch."""

    MAILBOX = "Bulk"
    BIGS = (97, 251, 409)

    @classmethod
    def setUpClass(cls):
        require_binary()
        cls.d = start_fixture(cls, seeded=False)
        cls.msgs = bulk.mailbox("p", 500, bigs=cls.BIGS)
        cls.uids = bulk.load(cls.d, cls.MAILBOX, cls.msgs)

    def test_grep_then_every_file_identical(self):
        c = self.client(self.MAILBOX)
        flags_before = server_flags(c)
        bodies = server_all(c, "BODY.PEEK[]")
        headers = server_all(c, "BODY.PEEK[HEADER]")
        by_uid = dict(zip(self.uids, self.msgs))
        for u, msg in by_uid.items():
            self.assertEqual(bodies[u], msg.raw, ("fixture: server copy differs", u))
        big = {u for u, msg in by_uid.items() if len(msg.raw) > SMALL_MAX}
        self.assertEqual(len(big), len(self.BIGS))

        m = self.mount("connections=4")
        box = os.path.join(m.mnt, self.MAILBOX)
        t0 = time.monotonic()
        r = subprocess.run(["grep", "-rl", "--", bulk.WORD, box], stdout=subprocess.PIPE,
                           stderr=subprocess.PIPE, timeout=120)
        grep_secs = time.monotonic() - t0
        self.assertEqual(r.returncode, 0, r.stderr)
        hits = {os.path.relpath(h, box) for h in os.fsdecode(r.stdout).split("\n") if h}
        for u, msg in by_uid.items():
            first = msg.leaves[0]
            text = os.path.relpath(content_file(os.path.join(box, str(u)), first), box)
            self.assertEqual(text in hits, msg.has_word, (u, text))
        self.assertEqual(message_uids(box), sorted(self.uids))

        for u, msg in by_uid.items():
            d = os.path.join(box, str(u))
            self.assertEqual(read(os.path.join(d, "message.eml")), bodies[u], u)
            self.assertEqual(read(os.path.join(d, "header")), readable_header(headers[u]), u)
            self.assert_sizes(d)
            for p in msg.leaves:
                self.assertEqual(read(content_file(d, p)), p.expected, (u, p.section))
        # every part of the multipart messages against the server's own decoding
        sample = [u for u, msg in by_uid.items() if msg.kind != "plain"]
        sample += [u for u, msg in by_uid.items() if msg.kind == "plain"][::10]
        for u in sample:
            srv = server_leaves(c, u, by_uid[u])
            d = os.path.join(box, str(u))
            for p in by_uid[u].leaves:
                self.assertEqual(read(content_file(d, p)), srv[p.section],
                                 (u, p.section, p.mime_type))
        self.finish(m)
        self.assertEqual(server_flags(c), flags_before, "reading changed flags")

        top = max(self.uids)
        whole = [(u, line) for u, items, line in fetches(m.lines, top) if WHOLE_RE.search(items)]
        self.assertTrue(whole, "no whole-message BODY.PEEK[] fetch at all")
        batched = [line for u, line in whole if len(u) > 1]
        self.assertTrue(batched, "whole-message fetches not batched: "
                        + "; ".join(line for _, line in whole[:5]))
        count = collections.Counter(x for u, _ in whole for x in u)
        again = {x: n for x, n in count.items() if n > 1}
        self.assertEqual(again, {}, "messages fetched whole more than once in one mount")
        self.assertEqual(big & set(count), set(), "a message > 1 MiB fetched whole")
        small = set(self.uids) - big
        parts_fetched = collections.defaultdict(list)
        for named, items, line in fetches(m.lines, top):
            if SECTION_RE.search(items):
                for x in named & small:
                    parts_fetched[x].append(line)
        parts_fetched = dict(parts_fetched)
        self.assertEqual(parts_fetched, {}, "parts of small messages fetched from the server "
                         "instead of cut from the whole copy")
        # Structures come in batches, ahead of the reader, each message's once.
        structs = [u for u, items, _ in fetches(m.lines, top) if "BODYSTRUCTURE" in items.upper()]
        self.assertGreater(len(structs), 1, "no batched structure fetches")
        seen = collections.Counter(x for u in structs for x in u)
        self.assertEqual({x: n for x, n in seen.items() if n > 1}, {},
                         "a message's structure fetched more than once in one mount")
        self.assertEqual(set(seen), set(self.uids))
        sys.stderr.write(f"\n[measured] grep -rl over {len(self.uids)} messages: "
                         f"{grep_secs:.2f} s; {len(whole)} whole-message fetches for "
                         f"{len(count)} of {len(small)} small messages; UIDs per fetch: "
                         f"{sorted(collections.Counter(len(u) for u, _ in whole).items())}\n")


# ---- 2. the cache across mounts --------------------------------------------------------

class CacheAcrossMounts(CacheTestBase):
    """A listing and content cached by one mount are used by the next, and are right
    after another client changed flags, expunged and appended in between."""

    DROP = ()
    QRESYNC = True

    @classmethod
    def setUpClass(cls):
        require_binary()
        cls.d = start_fixture(cls, seeded=False, drop_caps=cls.DROP)
        cls.box_msgs = bulk.mailbox("box", 30)
        cls.box_uids = bulk.load(cls.d, "Box", cls.box_msgs)
        cls.still_msgs = bulk.mailbox("still", 12)
        cls.still_uids = bulk.load(cls.d, "Still", cls.still_msgs)

    def assert_listing_sync(self, lines, box):
        """The remount synced BOX's listing without a full listing with facts."""
        full = [l for l in lines if FULL_LISTING_RE.search(l)]
        self.assertEqual(full, [], "the remount fetched the whole listing again")
        if self.QRESYNC:
            self.assertTrue(any(re.search(r"\bENABLE\b.*\bQRESYNC\b", l, re.I) for l in lines),
                            "QRESYNC not enabled")
        else:
            sent = [l for l in lines if re.search(r"QRESYNC|CONDSTORE|CHANGEDSINCE", l, re.I)]
            self.assertEqual(sent, [], "QRESYNC/CONDSTORE used although not advertised")
        self.assertTrue(any(re.search(rf'\b(EXAMINE|SELECT) "?{box}"?', l, re.I) for l in lines),
                        f"no EXAMINE of {box}")

    def test_changes_between_mounts(self):
        cache = self.cache_dir()
        by_uid = dict(zip(self.box_uids, self.box_msgs))
        u = self.box_uids
        c = self.client("Box")
        m1 = self.mount(f"cache_dir={cache}")
        box = os.path.join(m1.mnt, "Box")
        self.assertEqual(message_uids(box), server_uids(c))
        read_uids = u[:6] + u[20:22]
        for x in read_uids:
            self.assert_message(box, x, by_uid[x], c, "first mount")
        self.assert_flags(box, c, "first mount")
        self.finish(m1)
        first_whole = set(content_fetch_uids(
            [l for l in m1.lines if WHOLE_RE.search(l)], max(u)))

        # another client, while nothing is mounted
        w = self.d.client()
        self.assertEqual(w.select('"Box"')[0], "OK")
        flagged, relabelled = u[1], u[10]
        gone = [u[3], u[15]]
        self.assertEqual(w.uid("STORE", str(flagged), "+FLAGS", "(\\Flagged $Label2)")[0], "OK")
        self.assertEqual(w.uid("STORE", str(relabelled), "FLAGS", "(\\Seen \\Answered)")[0],
                         "OK")
        self.assertEqual(w.uid("STORE", ",".join(map(str, gone)), "+FLAGS", "(\\Deleted)")[0],
                         "OK")
        self.assertEqual(w.expunge()[0], "OK")
        w.logout()
        new_msgs = bulk.mailbox("new", 2, seed="box-new", multipart_ratio=1.0)
        new_uids = self.d.append_many(self.d.user, "Box",
                                      [(x.raw, x.flags, x.date) for x in new_msgs])
        c2 = self.client("Box")

        m2 = self.mount(f"cache_dir={cache}")
        box = os.path.join(m2.mnt, "Box")
        want = server_uids(c2)
        self.assertEqual(sorted(set(u) - set(gone) | set(new_uids)), want)
        self.assertEqual(message_uids(box), want, "listing after the remount")
        self.assert_flags(box, c2, "after the remount")
        for x in gone:
            for p in (os.path.join(box, str(x)), os.path.join(box, str(x), "message.eml")):
                with self.assertRaises(FileNotFoundError, msg=p):
                    os.stat(p)
        for x, msg in zip(new_uids, new_msgs):
            self.assert_message(box, x, msg, c2, "appended")
        kept_read = [x for x in read_uids if x not in gone]
        for x in kept_read:
            self.assert_message(box, x, by_uid[x], c2, "read in the first mount")
        self.finish(m2)

        self.assert_listing_sync(m2.lines, "Box")
        if self.QRESYNC:
            self.assertTrue(any("CHANGEDSINCE" in l.upper() for l in m2.lines),
                            "no CHANGEDSINCE fetch on the remount")
        else:
            self.assertTrue(any(FLAGS_ONLY_RE.search(l) for l in m2.lines),
                            "no UID FETCH 1:* (FLAGS) on the remount")
        again = content_fetch_uids(m2.lines, max(want))
        refetched = {x: again[x] for x in kept_read if x in again}
        self.assertEqual(refetched, {}, "content read in the first mount fetched again")
        refetched = {x: again[x] for x in sorted(first_whole - set(gone)) if x in again}
        self.assertEqual(refetched, {}, "messages fetched whole in the first mount "
                         "fetched again")

    def test_nothing_changed(self):
        cache = self.cache_dir()
        c = self.client("Still")
        m1 = self.mount(f"cache_dir={cache}")
        box = os.path.join(m1.mnt, "Still")
        self.assertEqual(message_uids(box), server_uids(c))
        self.assert_message(box, self.still_uids[0], self.still_msgs[0], c, "first mount")
        self.assert_flags(box, c, "first mount")
        self.finish(m1)

        m2 = self.mount(f"cache_dir={cache}")
        box = os.path.join(m2.mnt, "Still")
        self.assertEqual(message_uids(box), server_uids(c))
        self.assert_flags(box, c, "remount")
        self.finish(m2)
        self.assert_listing_sync(m2.lines, "Still")
        if self.QRESYNC:
            self.assertEqual([l for l in m2.lines if re.search(r"\bFETCH\b", l, re.I)], [],
                             "FETCH on a remount with nothing changed")
        else:
            self.assertTrue(any(FLAGS_ONLY_RE.search(l) for l in m2.lines),
                            "no UID FETCH 1:* (FLAGS) on the remount")


class TestCacheAcrossMountsQresync(CacheAcrossMounts):
    """Dovecot as it is: CONDSTORE and QRESYNC advertised."""
    DROP = ()
    QRESYNC = True


class TestCacheAcrossMountsFallback(CacheAcrossMounts):
    """QRESYNC and CONDSTORE removed from the capability list: UID FETCH 1:* (FLAGS)."""
    DROP = ("QRESYNC", "CONDSTORE")
    QRESYNC = False


del CacheAcrossMounts  # only its two variants run


# ---- 3. a UIDVALIDITY change discards the cache -------------------------------------------

class TestUidvalidityChange(CacheTestBase):

    @classmethod
    def setUpClass(cls):
        require_binary()
        cls.d = start_fixture(cls, seeded=False)

    def uidvalidity(self, c, mailbox):
        typ, data = c.status(f'"{mailbox}"', "(UIDVALIDITY)")
        self.assertEqual(typ, "OK", data)
        return int(re.search(rb"UIDVALIDITY (\d+)", data[0]).group(1))

    def test_recreated_mailbox(self):
        # same sizes and layout, other bytes: a cache keyed by UID alone would not show
        old = bulk.mailbox("vold", 8, seed="vol", multipart_ratio=0.5)
        new = bulk.mailbox("vnew", 8, seed="vol", multipart_ratio=0.5)
        self.assertEqual([len(m.raw) for m in old], [len(m.raw) for m in new])
        old_uids = bulk.load(self.d, "Vol", old, flags=("\\Flagged",))
        cache = self.cache_dir()
        c = self.client()
        v_old = self.uidvalidity(c, "Vol")

        m1 = self.mount(f"cache_dir={cache}")
        box = os.path.join(m1.mnt, "Vol")
        examine(c, "Vol")
        for x, msg in zip(old_uids, old):
            self.assert_message(box, x, msg, c, "first mount")
        self.assert_flags(box, c, "first mount")
        self.finish(m1)

        self.assertEqual(c.close()[0], "OK")  # Dovecot ends sessions that have it open
        w = self.d.client()
        self.assertEqual(w.delete('"Vol"')[0], "OK")
        w.logout()
        new_uids = bulk.load(self.d, "Vol", new, flags=())
        self.assertEqual(new_uids, old_uids, "fixture: the new messages should reuse the UIDs")
        v_new = self.uidvalidity(c, "Vol")
        self.assertNotEqual(v_new, v_old, "fixture: UIDVALIDITY did not change")

        c2 = self.client("Vol")
        m2 = self.mount(f"cache_dir={cache}")
        box = os.path.join(m2.mnt, "Vol")
        self.assertEqual(message_uids(box), server_uids(c2))
        self.assert_flags(box, c2, "after the UIDVALIDITY change")
        for x, msg in zip(new_uids, new):
            self.assert_message(box, x, msg, c2, "after the UIDVALIDITY change")
        r = subprocess.run(["grep", "-rl", "--", "bulk-vold-", box], stdout=subprocess.PIPE,
                           stderr=subprocess.PIPE, timeout=60)
        self.assertEqual(r.returncode, 1, ("old content shows", r.stdout, r.stderr))
        self.finish(m2)

    def test_recreated_while_mounted(self):
        """The mailbox is deleted and made again with other messages under the same
        UIDs while mounted, after every file was read (kernel pages, names and
        attributes, the open-file and whole-message caches all hold the old ones):
        once the listing notices, every file reads the new message."""
        old = bulk.mailbox("wold", 6, seed="wol", multipart_ratio=0.5)
        new = bulk.mailbox("wnew", 6, seed="wol", multipart_ratio=0.5)
        self.assertEqual([len(m.raw) for m in old], [len(m.raw) for m in new])
        uids = bulk.load(self.d, "Live", old, flags=("\\Flagged",))
        c = self.client()
        m = self.mount()
        box = os.path.join(m.mnt, "Live")
        examine(c, "Live")
        for x, msg in zip(uids, old):
            self.assert_message(box, x, msg, c, "before")
        self.assertEqual(c.close()[0], "OK")
        w = self.d.client()
        self.assertEqual(w.delete('"Live"')[0], "OK")
        w.logout()
        self.assertEqual(bulk.load(self.d, "Live", new, flags=()), uids,
                         "fixture: the new messages should reuse the UIDs")
        time.sleep(2.2)  # past the listing's freshness: the next look asks the server
        self.assertEqual(message_uids(box), sorted(uids))
        c2 = self.client("Live")
        for x, msg in zip(uids, new):
            self.assert_message(box, x, msg, c2, "after the UIDVALIDITY change")
        self.assert_flags(box, c2, "after the UIDVALIDITY change")
        r = subprocess.run(["grep", "-rl", "--", "bulk-wold-", box], stdout=subprocess.PIPE,
                           stderr=subprocess.PIPE, timeout=60)
        self.assertEqual(r.returncode, 1, ("old content shows", r.stdout, r.stderr))
        self.finish(m)


# ---- 4. the content cache never exceeds cache_size --------------------------------------------

class TestCacheSize(CacheTestBase):

    LIMIT = 200 * 1024

    @classmethod
    def setUpClass(cls):
        require_binary()
        cls.d = start_fixture(cls, seeded=False)
        cls.msgs = bulk.mailbox("size", 60, size_range=(12 * 1024, 36 * 1024),
                                multipart_ratio=0.5)
        cls.uids = bulk.load(cls.d, "Many", cls.msgs)

    def test_content_bounded(self):
        cache = self.cache_dir()
        content = os.path.join(cache, "content")
        c = self.client("Many")
        bodies = server_all(c, "BODY.PEEK[]")

        # also sampled in the background, between reads (reported, not asserted)
        peak = {"total": 0, "usage": None}
        stop = threading.Event()

        def sample():
            while not stop.is_set():
                usage = store_usage(content)
                if usage[0] > peak["total"]:
                    peak["total"], peak["usage"] = usage[0], usage
                time.sleep(0.002)
        t = threading.Thread(target=sample, daemon=True)

        m = self.mount(f"cache_dir={cache}", "cache_size=200K")
        box = os.path.join(m.mnt, "Many")
        self.assertEqual(message_uids(box), sorted(self.uids))
        t.start()
        self.addCleanup(stop.set)
        total_read = 0
        worst = (0, None, None)

        def check(path):
            nonlocal worst
            usage = store_usage(content)
            if usage[0] > worst[0]:
                worst = (usage[0], usage, path)
            self.assertLessEqual(
                usage[0], self.LIMIT,
                f"content store over cache_size after reading {path}: {usage[0]} bytes "
                f"({usage[1]} in entries, {usage[2]} in other files, {usage[3]} files)")

        for x, msg in zip(self.uids, self.msgs):
            d = os.path.join(box, str(x))
            data = read(os.path.join(d, "message.eml"))
            self.assertEqual(data, bodies[x], x)
            total_read += len(data)
            check(os.path.join(d, "message.eml"))
            for p in msg.leaves:
                path = content_file(d, p)
                data = read(path)
                self.assertEqual(data, p.expected, (x, p.section))
                total_read += len(data)
                check(path)
        self.assertGreater(total_read, MiB)
        # the first ones were evicted long ago: still right
        for x, msg in list(zip(self.uids, self.msgs))[:5]:
            self.assertEqual(read(os.path.join(box, str(x), "message.eml")), bodies[x], x)
            for p in msg.leaves:
                self.assertEqual(read(content_file(os.path.join(box, str(x)), p)), p.expected)
        check("the re-reads")
        stop.set()
        t.join(5)
        self.finish(m)
        final = store_usage(content)
        sys.stderr.write(f"\n[measured] cache_size=200K, read {total_read} bytes: largest store "
                         f"after a read {worst[0]} bytes ({worst[2]}), in the background "
                         f"{peak['total']} bytes {peak['usage']}, after unmount {final[0]}\n")
        self.assertLessEqual(final[0], self.LIMIT, f"after unmount: {final}")
        self.assertIn("content cache: cache_size=204800 ", m.stderr())
        self.assertNotIn("by default", m.stderr())

    def test_default_from_free_space(self):
        """Without cache_size the bound is a tenth of cache_dir's free space (plus what the
        cache holds: nothing here), 1 GiB to 64 GiB, as the log says."""
        cache = self.cache_dir()
        sv = os.statvfs(cache)
        free_before = sv.f_bavail * sv.f_frsize
        m = self.mount(f"cache_dir={cache}")
        x = self.uids[0]
        read(os.path.join(m.mnt, "Many", str(x), "message.eml"))  # serving: sized by now
        sv = os.statvfs(cache)
        free_after = sv.f_bavail * sv.f_frsize
        self.finish(m)
        found = re.search(r"content cache: cache_size=(\d+) \(.*\) by default: a tenth of "
                          r"room=(\d+) \(.* free in (.*) \+ 0\.0 GiB held\)", m.stderr())
        self.assertIsNotNone(found, m.stderr()[-4000:])
        size, room, where = int(found.group(1)), int(found.group(2)), found.group(3)
        self.assertEqual(where, cache)
        # other processes write to this disk meanwhile: a margin, far below what
        # counting the blocks only root may use (f_bfree) adds on most disks
        margin = 256 * MiB
        self.assertGreaterEqual(room, min(free_before, free_after) - margin, m.stderr())
        self.assertLessEqual(room, max(free_before, free_after) + margin, m.stderr())
        self.assertEqual(size, min(max(room // 10, 1 << 30), 64 << 30))
        sys.stderr.write(f"\n[measured] default cache_size {size / (1 << 30):.1f} GiB from "
                         f"{room / (1 << 30):.1f} GiB free in {cache}\n")


# ---- 5. a large first listing is split between two connections ---------------------------

SEQ_FETCH_RE = re.compile(r"^(?:[0-9.]+ )?\S+ FETCH ([0-9:*]+) \(UID FLAGS INTERNALDATE RFC822\.SIZE\)", re.I)


class TestSplitListing(CacheTestBase):
    """A first listing of 4,096 messages or more is fetched in two halves by sequence
    number, on two connections when one is idle, else one after the other: either way the
    directory holds exactly the server's messages with their dates."""
    MAILBOX = "Many"
    COUNT = 4200

    @classmethod
    def setUpClass(cls):
        require_binary()
        cls.d = start_fixture(cls, seeded=False)
        base = time.time() - 86400 * 30
        items = [(b"Subject: n%d\r\n\r\nbody %d\r\n" % (i, i), (), base + i * 60)
                 for i in range(cls.COUNT)]
        cls.d.create("alice", cls.MAILBOX)
        cls.uids = cls.d.append_many("alice", cls.MAILBOX, items)
        cls.dates = {u: int(base + i * 60) for i, u in enumerate(cls.uids)}

    def halves(self, m):
        """{session: [sequence sets]} of the listing FETCHes m sent."""
        out = {}
        for path, _ in m.sessions:
            lines = rawlog_command_lines([(path, None)])
            sets = [mm.group(1) for mm in map(SEQ_FETCH_RE.match, lines) if mm]
            if sets:
                out[path] = sets
        return out

    def check(self, connections):
        m = self.mount("connections=%d" % connections, "cache_dir=" + self.cache_dir())
        box = os.path.join(m.mnt, self.MAILBOX)
        names = entries(box)
        self.assertEqual(sorted(map(int, names)), sorted(self.uids))
        for u in self.uids[::500] + self.uids[-1:]:
            self.assertEqual(int(os.stat(os.path.join(box, str(u))).st_mtime), self.dates[u], u)
        return self.finish(m)

    def test_two_connections(self):
        m = self.check(4)
        halves = self.halves(m)
        self.assertEqual(sorted(s for sets in halves.values() for s in sets),
                         ["1:2100", "2101:*"], m.lines)
        self.assertEqual(len(halves), 2, halves)

    def test_one_connection(self):
        m = self.check(1)
        self.assertEqual(list(self.halves(m).values()), [["1:2100", "2101:*"]], m.lines)


if __name__ == "__main__":
    unittest.main()
