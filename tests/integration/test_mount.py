"""Integration tests: imapfs against a real Dovecot (tests/fixture/dovecot.py), per SPEC.md.

    IMAPFS_BIN=build/imapfs python3 -m unittest discover -s tests/integration -v
    IMAPFS_BIN=build/imapfs python3 -m unittest discover -s tests/integration -k TestBrowse
"""
import errno
import os
import re
import shutil
import socket
import subprocess
import time
import unicodedata
import unittest

from helpers import (IMAPFS_BIN, TIMEOUT, Imapfs, all_flags, client_fetch_commands, dovecot,
                     examine, fetch_item, fetch_meta, is_mounted, is_uid_name, mount_for_class,
                     readable_header,
                     parse_internaldate, rawlog_command_lines, rawlog_files,
                     rawlog_sessions_since, require_binary, seed, start_fixture, tls_opts, uids)
from mailstate import server_state


def read(path):
    with open(path, "rb") as f:
        return f.read()


def walk_files(top):
    """Every regular file below TOP, not following symlinks, skipping .search."""
    for dirpath, dirnames, filenames in os.walk(top):
        dirnames[:] = [d for d in dirnames if d != ".search"]
        for f in filenames:
            p = os.path.join(dirpath, f)
            if not os.path.islink(p):
                yield p


def non_loopback_address():
    """This machine's IPv4 address on its default route, or None. (A UDP connect
    sends nothing; it only picks the route.)"""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        try:
            s.connect(("192.0.2.1", 9))
            addr = s.getsockname()[0]
        except OSError:
            return None
    return None if addr.startswith("127.") or addr == "0.0.0.0" else addr


def nfc(s):
    return unicodedata.normalize("NFC", s)


class TestBrowse(unittest.TestCase):
    """Implicit TLS with a CA file, read-write mount, read-only use."""

    @classmethod
    def setUpClass(cls):
        require_binary()
        cls.d = start_fixture(cls)
        cls.m = mount_for_class(cls, cls.d, tls_opts(cls.d))
        cls.mnt = cls.m.mnt
        cls.c = cls.d.client()
        cls.addClassCleanup(cls.c.logout)

    def msgdir(self, mailbox, uid):
        return os.path.join(self.mnt, seed.DISPLAY[mailbox], str(uid))

    def uid_of(self, mailbox, message_id):
        found = uids(self.c, mailbox, "HEADER", "Message-ID", message_id)
        self.assertEqual(len(found), 1, message_id)
        return found[0]

    def test_mailboxes_are_directories(self):
        top = {nfc(n) for n in os.listdir(self.mnt)}
        for name in ["INBOX", "Trash", "Sent", "Thư mục", "收件箱", "Archive"]:
            self.assertIn(name, top)
            self.assertTrue(os.path.isdir(os.path.join(self.mnt, name)), name)
        self.assertTrue(os.path.isdir(os.path.join(self.mnt, "Archive", "Projects")))
        self.assertIn("Projects", os.listdir(os.path.join(self.mnt, "Archive")))

    def test_mailbox_name_escapes(self):
        top = set(os.listdir(self.mnt))
        for raw, shown in [("2026", "%32026"), (".old", "%2Eold"), ("100% done", "100%25 done")]:
            self.assertIn(shown, top)
            self.assertNotIn(raw, top)
            self.assertTrue(os.path.isdir(os.path.join(self.mnt, shown)), shown)
            self.assertEqual(len([n for n in os.listdir(os.path.join(self.mnt, shown))
                                  if is_uid_name(n)]), 1, shown)

    def test_message_dirs_are_uids(self):
        for mb in ["INBOX", "Archive/Projects", "Thư mục", "收件箱", "Sent"]:
            shown = [int(n) for n in os.listdir(os.path.join(self.mnt, seed.DISPLAY[mb]))
                     if is_uid_name(n)]
            self.assertEqual(sorted(shown), sorted(uids(self.c, mb)), mb)

    def test_message_and_header_match_server(self):
        for mb in ["INBOX", "Thư mục", "Archive/Projects", "100% done"]:
            for uid in uids(self.c, mb):
                d = self.msgdir(mb, uid)
                entries = os.listdir(d)
                self.assertIn("message.eml", entries)
                self.assertIn("header", entries)
                examine(self.c, mb)
                self.assertEqual(read(os.path.join(d, "message.eml")),
                                 fetch_item(self.c, uid, "BODY.PEEK[]"), (mb, uid))
                self.assertEqual(read(os.path.join(d, "header")),
                                 readable_header(fetch_item(self.c, uid, "BODY.PEEK[HEADER]")),
                                 (mb, uid))

    def test_sizes_are_exact(self):
        n = 0
        for p in walk_files(os.path.join(self.mnt, "INBOX")):
            data = read(p)
            self.assertEqual(os.stat(p).st_size, len(data), p)
            n += 1
        self.assertGreaterEqual(n, 2 * len(uids(self.c, "INBOX")))

    def test_grep_finds_word(self):
        r = subprocess.run(["grep", "-rl", seed.SEARCH_WORD, os.path.join(self.mnt, "INBOX")],
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=120)
        self.assertEqual(r.returncode, 0, r.stderr)
        hits = r.stdout.decode().split("\n")
        want = uids(self.c, "INBOX", "TEXT", seed.SEARCH_WORD)
        self.assertEqual(len(want), 1)
        got = {int(os.path.relpath(h, os.path.join(self.mnt, "INBOX")).split("/")[0])
               for h in hits if h}
        self.assertEqual(got, set(want))
        self.assertIn(os.path.join(self.msgdir("INBOX", want[0]), "message.eml"), hits)

    def test_xattrs(self):
        examine(self.c, "INBOX")
        for uid in uids(self.c, "INBOX"):
            d = self.msgdir("INBOX", uid)
            names = os.listxattr(d)
            for a in ("user.imap.flags", "user.imap.uid", "user.imap.size",
                      "user.imap.internaldate"):
                self.assertIn(a, names, (uid, names))
            meta = fetch_meta(self.c, uid)
            flags = set(os.getxattr(d, "user.imap.flags").decode().split()) - {"\\Recent"}
            self.assertEqual(flags, meta["flags"], uid)
            self.assertEqual(int(os.getxattr(d, "user.imap.uid")), uid)
            self.assertEqual(int(os.getxattr(d, "user.imap.size")), meta["size"])
            idate = os.getxattr(d, "user.imap.internaldate").decode()
            self.assertEqual(parse_internaldate(idate), meta["internaldate"], (uid, idate))

    def test_flagged_message_flags(self):
        uid = self.uid_of("INBOX", "<seed-6@imapfs.test>")
        flags = set(os.getxattr(self.msgdir("INBOX", uid), "user.imap.flags").decode().split())
        self.assertTrue({"\\Flagged", "\\Seen"} <= flags, flags)
        uid = self.uid_of("INBOX", "<seed-3@imapfs.test>")
        flags = set(os.getxattr(self.msgdir("INBOX", uid), "user.imap.flags").decode().split())
        self.assertIn("$Label1", flags)
        self.assertNotIn("\\Seen", flags)

    def test_mtime_is_internaldate(self):
        examine(self.c, "INBOX")
        for uid in uids(self.c, "INBOX"):
            st = os.stat(self.msgdir("INBOX", uid))
            self.assertEqual(int(st.st_mtime), fetch_meta(self.c, uid)["internaldate"], uid)

    def test_attachments_decoded(self):
        d = self.msgdir("INBOX", self.uid_of("INBOX", "<seed-4@imapfs.test>"))
        self.assertEqual(read(os.path.join(d, "2", seed.PDF_NAME)), seed.PDF_BYTES)
        self.assertEqual(read(os.path.join(d, "3", seed.ZIP_NAME)), seed.ZIP_BYTES)
        self.assertEqual(os.getxattr(os.path.join(d, "2", seed.PDF_NAME), "user.mime_type"),
                         b"application/pdf")
        self.assertIn(b"report and the archive", read(os.path.join(d, "1", "body.txt")))

    def test_quoted_printable_and_subject(self):
        d = self.msgdir("INBOX", self.uid_of("INBOX", "<seed-3@imapfs.test>"))
        text = read(os.path.join(d, "1", "body.txt")).decode("utf-8")
        self.assertEqual(text.replace("\r\n", "\n"), seed.QP_TEXT)
        self.assertEqual(os.getxattr(os.path.join(d, "message.eml"),
                                     "user.xdg.origin.email.subject").decode(), seed.UTF8_SUBJECT)

    def test_latin1_converted_and_names_safe(self):
        d = self.msgdir("INBOX", self.uid_of("INBOX", "<fixed-latin1@imapfs.test>"))
        self.assertIn("schöne Grüße aus München", read(os.path.join(d, "1", "body.txt")).decode())
        self.assertEqual([nfc(n) for n in os.listdir(os.path.join(d, "2"))],
                         ["Übersicht München.txt"])
        (bad,) = os.listdir(os.path.join(d, "3"))
        self.assertNotIn("/", bad)
        self.assertNotIn(bad, (".", ".."))
        self.assertFalse(bad.startswith("."), bad)
        self.assertTrue(bad.endswith("passwd"), bad)
        self.assertEqual(read(os.path.join(d, "3", bad)), b"harmless\n")

    def test_multipart_alternative_and_rfc822(self):
        d = self.msgdir("INBOX", self.uid_of("INBOX", "<seed-5@imapfs.test>"))
        self.assertEqual(os.listdir(os.path.join(d, "1")), ["body.txt"])
        self.assertEqual(os.listdir(os.path.join(d, "2")), ["body.html"])
        d = self.msgdir("INBOX", self.uid_of("INBOX", "<seed-7@imapfs.test>"))
        inner = os.listdir(os.path.join(d, "2"))
        self.assertIn("message.eml", inner)
        self.assertIn("header", inner)
        examine(self.c, "INBOX")
        uid = self.uid_of("INBOX", "<seed-7@imapfs.test>")
        self.assertEqual(read(os.path.join(d, "2", "message.eml")),
                         fetch_item(self.c, uid, "BODY.PEEK[2]"))
        self.assertEqual(read(os.path.join(d, "2", "header")),
                         readable_header(fetch_item(self.c, uid, "BODY.PEEK[2.HEADER]")))
        self.assertIn("1", inner)  # the embedded single-part message's body: 2/1/body.txt
        self.assertEqual(os.listdir(os.path.join(d, "2", "1")), ["body.txt"])
        self.assertIn(b"this is the first message.", read(os.path.join(d, "2", "1", "body.txt")))

    def run_tool(self, *argv):
        """stdout of a tool run on the mount (UTF-8 locale); skips the test if it is missing."""
        if not shutil.which(argv[0]):
            self.skipTest(f"{argv[0]} is not installed")
        r = subprocess.run(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=60,
                           env=dict(os.environ, LC_ALL="C.UTF-8"))
        self.assertEqual(r.returncode, 0, (argv, r.stderr))
        return r.stdout.decode("utf-8", "replace")

    def test_sample_pdf_is_real(self):
        d = self.msgdir("INBOX", self.uid_of("INBOX", "<seed-4@imapfs.test>"))
        out = self.run_tool("pdftotext", os.path.join(d, "2", seed.PDF_NAME), "-")
        self.assertIn(seed.PDF_TEXT, out)

    def test_sample_zip_is_real(self):
        d = self.msgdir("INBOX", self.uid_of("INBOX", "<seed-4@imapfs.test>"))
        out = nfc(self.run_tool("unzip", "-l", os.path.join(d, "3", seed.ZIP_NAME)))
        for name in seed.ZIP_MEMBERS:
            self.assertIn(name, out)

    def test_sample_png_is_real(self):
        d = self.msgdir("INBOX", self.uid_of("INBOX", "<seed-8@imapfs.test>"))
        (name,) = os.listdir(os.path.join(d, "2"))
        self.assertEqual(nfc(name), seed.PNG_NAME)
        out = self.run_tool("file", "-b", os.path.join(d, "2", name))
        self.assertIn("PNG image data, 64 x 48", out)

    def test_sample_vietnamese_and_chinese(self):
        """RFC 2047 subjects and names (UTF-8 and GB2312) decoded; the GB2312 body in UTF-8."""
        for mid, subject, name, text in (
                ("<seed-8@imapfs.test>", seed.VIET_SUBJECT, seed.VIET_FROM, seed.VIET_TEXT),
                ("<seed-9@imapfs.test>", seed.CHINESE_SUBJECT, seed.CHINESE_FROM,
                 seed.CHINESE_TEXT)):
            d = self.msgdir("INBOX", self.uid_of("INBOX", mid))
            eml = os.path.join(d, "message.eml")
            self.assertEqual(os.getxattr(eml, "user.xdg.origin.email.subject").decode(), subject)
            self.assertIn(name, os.getxattr(eml, "user.xdg.origin.email.from").decode())
            body = read(os.path.join(d, "1", "body.txt")).decode("utf-8")
            self.assertEqual(body.replace("\r\n", "\n"), text, mid)

    def test_no_message_id_no_attribute(self):
        """A message without Message-ID and Subject has no such origin xattrs (ENODATA,
        not listed), only From."""
        raw = (b"From: Carol <carol@example.org>\r\nTo: bob@example.org\r\n"
               b"Date: Mon, 1 Jan 2024 10:00:00 +0000\r\n\r\nNo Message-ID, no Subject.\r\n")
        uid = dovecot.append_with(self.c, "Archive", raw)
        d = os.path.join(self.mnt, "Archive", str(uid))
        for _ in range(100):  # new mail shows within about two seconds of looking
            if str(uid) in os.listdir(os.path.join(self.mnt, "Archive")):
                break
            time.sleep(0.1)
        for path in (os.path.join(d, "message.eml"), os.path.join(d, "1", "body.txt")):
            names = os.listxattr(path)
            self.assertIn("user.xdg.origin.email.from", names, path)
            self.assertIn("Carol", os.getxattr(path, "user.xdg.origin.email.from").decode())
            for attr in ("user.xdg.origin.email.message-id", "user.xdg.origin.email.subject"):
                self.assertNotIn(attr, names, path)
                with self.assertRaises(OSError) as cm:
                    os.getxattr(path, attr)
                self.assertEqual(cm.exception.errno, errno.ENODATA, (path, attr))

    def test_search_directory(self):
        want = uids(self.c, "INBOX", "TEXT", seed.SEARCH_WORD)
        sdir = os.path.join(self.mnt, "INBOX", ".search", "TEXT " + seed.SEARCH_WORD)
        entries = os.listdir(sdir)
        self.assertEqual(len(entries), len(want))
        for e in entries:
            p = os.path.join(sdir, e)
            self.assertTrue(os.path.islink(p), p)
            self.assertEqual(os.path.realpath(p),
                             os.path.realpath(self.msgdir("INBOX", want[0])))

    def test_missing_names(self):
        for p in ["NoSuchBox", "INBOX/999999", "INBOX/1/nope", "2026"]:
            with self.assertRaises(FileNotFoundError, msg=p):
                os.stat(os.path.join(self.mnt, p))


class TestReadingHasNoSideEffects(unittest.TestCase):
    """Reading everything changes no flag, and every FETCH imapfs sends is a PEEK."""

    @classmethod
    def setUpClass(cls):
        require_binary()
        cls.d = start_fixture(cls)

    def test_read_everything_then_compare(self):
        before = all_flags(self.d)
        m = Imapfs(self.d, tls_opts(self.d))
        self.addCleanup(m.cleanup)
        m.mount()
        for p in walk_files(m.mnt):
            read(p)
        r = subprocess.run(["grep", "-rlq", seed.SEARCH_WORD, m.mnt], timeout=120)
        self.assertEqual(r.returncode, 0)
        self.assertEqual(m.unmount(), 0, m.stderr())
        self.assertEqual(all_flags(self.d), before)
        self.assertTrue(any(k[0] == "INBOX" and "\\Seen" not in v for k, v in before.items()))
        bad = [l for l in client_fetch_commands(self.d)
               if re.search(r"\b(BODY|BINARY)\[|\bRFC822(?!\.SIZE|\.HEADER)\b", l, re.I)]
        self.assertEqual(bad, [])


class TestReadOnly(unittest.TestCase):
    """-o ro: every change is refused with EROFS and the server is untouched."""

    @classmethod
    def setUpClass(cls):
        require_binary()
        cls.d = start_fixture(cls)
        cls.d.create(cls.d.user, "Empty")
        cls.before_mount = rawlog_files(cls.d)
        cls.m = mount_for_class(cls, cls.d, tls_opts(cls.d, "ro"))
        cls.mnt = cls.m.mnt

    def assertErofs(self, fn, *args):
        with self.assertRaises(OSError) as cm:
            fn(*args)
        self.assertEqual(cm.exception.errno, errno.EROFS, f"{fn.__name__}{args}: {cm.exception}")

    def test_writes_fail(self):
        inbox = os.path.join(self.mnt, "INBOX")
        uid = sorted(int(n) for n in os.listdir(inbox) if is_uid_name(n))[0]
        msg = os.path.join(inbox, str(uid))
        path = lambda *names: os.path.join(self.mnt, *names)  # noqa: E731
        flags = os.getxattr(msg, "user.imap.flags")
        before = server_state(self.d)
        refused = [
            (os.mkdir, path("NewBox")),
            (os.mkdir, path("Báo cáo")),
            (os.mkdir, path("INBOX", "Sub")),
            (open, path("INBOX", "new.eml"), "wb"),
            (open, path("INBOX", str(uid), "message.eml"), "r+b"),
            (os.utime, path("INBOX", str(uid), "message.eml")),
            (os.unlink, path("INBOX", str(uid), "message.eml")),
            (os.rmdir, msg),
            (os.rename, msg, path("Trash", str(uid))),
            (os.rmdir, path("Empty")),
            (os.rmdir, path("%32026")),
            (os.rmdir, path("INBOX")),
            (os.rename, path("Archive"), path("Archive2")),
            (os.rename, path("Empty"), path("Archive", "Empty")),
            (os.rename, path("Thư mục"), path("Báo cáo")),
            (os.setxattr, msg, "user.imap.flags", b"\\Seen"),
            (os.setxattr, msg, "user.imap.flags", b""),
            (os.removexattr, msg, "user.imap.flags"),
        ]
        for fn, *args in refused:
            self.assertErofs(fn, *args)
            self.assertEqual(server_state(self.d), before, f"{fn.__name__}{tuple(args)}")
        r = subprocess.run(["touch", os.path.join(inbox, "x")], stderr=subprocess.PIPE,
                           timeout=TIMEOUT)
        self.assertNotEqual(r.returncode, 0)
        self.assertEqual(server_state(self.d), before)
        self.assertEqual(os.getxattr(msg, "user.imap.flags"), flags)
        self.assertIn("Archive", os.listdir(self.mnt))
        self.assertIn("Empty", os.listdir(self.mnt))
        # Nor did the mount send a change (its EXAMINEs, which imaplib's lack
        # CONDSTORE, show its sessions are there).
        lines = rawlog_command_lines(rawlog_sessions_since(self.d, self.before_mount))
        self.assertTrue([l for l in lines if re.search(r" EXAMINE .*\(CONDSTORE\)$", l)], lines)
        changes = r"^\S+ \S+ (UID )?(SELECT|CREATE|DELETE|RENAME|SUBSCRIBE|UNSUBSCRIBE|STORE|" \
                  r"APPEND|EXPUNGE|MOVE|COPY|CLOSE)\b"
        self.assertEqual([l for l in lines if re.search(changes, l, re.I)], [])


class TestTransports(unittest.TestCase):
    """STARTTLS, plaintext on loopback, tunnel, and the failures before mounting."""

    @classmethod
    def setUpClass(cls):
        require_binary()
        cls.d = start_fixture(cls)
        c = cls.d.client()
        cls.inbox = sorted(uids(c, "INBOX"))
        c.logout()

    def mount_and_list(self, opts, **kw):
        m = Imapfs(self.d, opts, **kw)
        self.addCleanup(m.cleanup)
        m.mount()
        got = sorted(int(n) for n in os.listdir(os.path.join(m.mnt, "INBOX")) if is_uid_name(n))
        self.assertEqual(got, self.inbox)
        uid = self.inbox[0]
        self.assertIn(b"Message-ID:", read(os.path.join(m.mnt, "INBOX", str(uid), "header")))
        rc = m.unmount()
        self.assertEqual(rc, 0, m.stderr())
        self.assertIsNone(m.sanitizer_report(), m.stderr())
        return m

    def fail_before_mount(self, opts, **kw):
        m = Imapfs(self.d, opts, **kw)
        self.addCleanup(m.cleanup)
        m.spawn()
        rc = m.wait_exit(TIMEOUT)
        self.assertIsNotNone(rc, "imapfs did not exit")
        self.assertNotEqual(rc, 0)
        self.assertFalse(is_mounted(m.mnt))
        self.assertIsNone(m.sanitizer_report(), m.stderr())
        return m.stderr()

    def test_implicit_tls(self):
        self.mount_and_list(tls_opts(self.d))

    def test_implicit_tls_host_port_syntax(self):
        self.mount_and_list([f"cafile={self.d.ca}"],
                            target=f"{self.d.user}@localhost:{self.d.port_tls}")

    def test_starttls(self):
        self.mount_and_list([f"tls=starttls,port={self.d.port_plain},cafile={self.d.ca}"])

    def test_tls_none_loopback(self):
        self.mount_and_list([f"tls=none,port={self.d.port_plain}"])

    def test_tunnel(self):
        self.mount_and_list(["tunnel=" + self.d.tunnel_command()])

    def test_connections_option(self):
        self.mount_and_list(tls_opts(self.d, "connections=1"))

    def test_user_option(self):
        self.mount_and_list(tls_opts(self.d, f"user={self.d.user}"), target=self.d.host)

    def test_password_command(self):
        self.mount_and_list(tls_opts(self.d, f"password_command=echo {self.d.password}"),
                            password="wrong")

    def test_untrusted_certificate_fails(self):
        err = self.fail_before_mount([f"tls=implicit,port={self.d.port_tls}"])
        self.assertIn("certificate", err.lower())

    def test_wrong_password_fails(self):
        err = self.fail_before_mount(tls_opts(self.d), password="not-the-password")
        self.assertIn("login", err.lower())

    def test_unreachable_server_fails(self):
        from dovecot import free_port
        port = free_port()
        err = self.fail_before_mount([f"tls=implicit,port={port},cafile={self.d.ca}"])
        self.assertIn(f"imapfs: cannot connect to {self.d.host}:{port}: Connection refused", err)

    def test_plaintext_refused_off_loopback(self):
        """Refused before any connection: a listener on this machine's own
        non-loopback address, where a connection would succeed at once, sees none."""
        host = non_loopback_address()
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as listener:
            if host:
                listener.bind((host, 0))
                listener.listen(8)
                port = listener.getsockname()[1]
            else:  # TEST-NET-1: connecting would hang until imapfs's 20 s limit
                host, port = "192.0.2.1", self.d.port_plain
            start = time.monotonic()
            err = self.fail_before_mount([f"tls=none,port={port}"], target=f"{self.d.user}@{host}")
            self.assertIn(f"imapfs: refusing tls=none to {host}: the password would cross the "
                          "network in clear text", err)
            self.assertLess(time.monotonic() - start, 10, err)
            if port != self.d.port_plain:
                listener.setblocking(False)
                with self.assertRaises(BlockingIOError, msg="imapfs connected"):
                    listener.accept()


class TestUnmount(unittest.TestCase):

    @classmethod
    def setUpClass(cls):
        require_binary()
        cls.d = start_fixture(cls)

    def test_background_daemon(self):
        """Without -f, as users run it: imapfs returns once mounted, serves from
        the background, and goes away at fusermount3 -u."""
        m = Imapfs(self.d, tls_opts(self.d))
        self.addCleanup(m.cleanup)
        argv = [a for a in m.argv if a != "-f"]
        r = subprocess.run(argv, env=m.env, stdin=subprocess.DEVNULL, capture_output=True,
                           timeout=TIMEOUT)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertTrue(is_mounted(m.mnt))
        daemon = subprocess.run(["pgrep", "-f", m.mnt], capture_output=True, text=True)
        pids = [int(p) for p in daemon.stdout.split()]
        self.assertEqual(len(pids), 1, daemon.stdout)
        inbox = os.path.join(m.mnt, "INBOX")
        uid = min(int(n) for n in os.listdir(inbox) if is_uid_name(n))
        self.assertIn(b"Message-ID:", read(os.path.join(inbox, str(uid), "header")))
        self.assertEqual(subprocess.run(["fusermount3", "-u", m.mnt]).returncode, 0)
        deadline = time.monotonic() + TIMEOUT
        while time.monotonic() < deadline and os.path.exists(f"/proc/{pids[0]}"):
            time.sleep(0.05)
        self.assertFalse(os.path.exists(f"/proc/{pids[0]}"), "the daemon did not exit")
        self.assertFalse(is_mounted(m.mnt))

    def test_clean_unmount(self):
        m = Imapfs(self.d, tls_opts(self.d))
        self.addCleanup(m.cleanup)
        m.mount()
        os.listdir(os.path.join(m.mnt, "INBOX"))
        for p in walk_files(os.path.join(m.mnt, "Archive")):
            read(p)
        r = subprocess.run(["fusermount3", "-u", m.mnt], stderr=subprocess.PIPE, timeout=TIMEOUT)
        self.assertEqual(r.returncode, 0, r.stderr)
        rc = m.wait_exit(TIMEOUT)
        err = m.stderr()
        self.assertEqual(rc, 0, err)
        self.assertNotIn("ERROR", err)
        self.assertIsNone(m.sanitizer_report(), err)
        self.assertFalse(is_mounted(m.mnt))


class TestNoBinary(unittest.TestCase):
    """A server that does not advertise BINARY: content still right, no BINARY sent."""

    @classmethod
    def setUpClass(cls):
        require_binary()
        cls.d = start_fixture(cls, no_binary=True)

    def test_messages_without_binary(self):
        m = Imapfs(self.d, tls_opts(self.d))
        self.addCleanup(m.cleanup)
        m.mount()
        c = self.d.client()
        self.addCleanup(c.logout)
        examine(c, "INBOX")
        for uid in uids(c, "INBOX"):
            self.assertEqual(read(os.path.join(m.mnt, "INBOX", str(uid), "message.eml")),
                             fetch_item(c, uid, "BODY.PEEK[]"), uid)
        self.assertEqual(m.unmount(), 0, m.stderr())
        sent = [l for l in client_fetch_commands(self.d) if re.search(r"\bBINARY", l, re.I)]
        self.assertEqual(sent, [])

    def test_parts_without_binary(self):
        m = Imapfs(self.d, tls_opts(self.d))
        self.addCleanup(m.cleanup)
        m.mount()
        c = self.d.client()
        self.addCleanup(c.logout)
        (uid,) = uids(c, "INBOX", "HEADER", "Message-ID", "<seed-4@imapfs.test>")
        d = os.path.join(m.mnt, "INBOX", str(uid))
        self.assertEqual(read(os.path.join(d, "2", seed.PDF_NAME)), seed.PDF_BYTES)
        self.assertEqual(m.unmount(), 0, m.stderr())
        sent = [l for l in client_fetch_commands(self.d) if re.search(r"\bBINARY", l, re.I)]
        self.assertEqual(sent, [])


if __name__ == "__main__":
    unittest.main()
