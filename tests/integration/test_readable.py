"""Integration tests of greppable mail: `header` files are readable (RFC 2047 decoded, LF),
text content files have LF line ends, message.eml and other parts stay byte-exact.

TestReadable runs against Dovecot with BINARY, TestReadableNoBinary without it (a large
message's text part is then fetched as stored and decoded by imapfs).

    IMAPFS_BIN=build/imapfs python3 -m unittest discover -s tests/integration -t tests/integration -k TestReadable
"""
import base64
import hashlib
import os
import shutil
import subprocess
import unittest

from helpers import (examine, fetch_item, mount_for_class, readable_header, require_binary,
                     start_fixture, tls_opts)

BOX = "Readable"
CRLF = b"\r\n"
HOA_DON = "Hóa đơn tháng"
NGUYEN = "Nguyễn"
BEIJING = "北京"
PDF = (b"%PDF-1.4\r\n%\xe2\xe3\xcf\xd3\r\n1 0 obj << /Type /Catalog >> endobj\r\n"
       + bytes(range(256)) + b"\r\n\r\n\n\r%%EOF\r\n")
TEXT = "Chào anh,\nHóa đơn đính kèm.\nCan we meet on Friday?\nThanks\n"


def b_word(text, charset="utf-8"):
    return "=?%s?B?%s?=" % (charset, base64.b64encode(text.encode(charset)).decode())


def q_word(text, charset="utf-8"):
    return "=?%s?Q?%s?=" % (charset, "".join(
        "_" if b == 0x20 else chr(b) if chr(b).isalnum() and b < 0x80 else "=%02X" % b
        for b in text.encode(charset)))


def lines(*hdrs):
    return b"".join(h.encode() + CRLF for h in hdrs)


def split_b_words(text):
    """Two base64 words cutting a character in two, on two lines (a fold between them)."""
    raw = text.encode()
    cut = raw.index("đ".encode()) + 1
    return ("=?utf-8?B?%s?=\r\n =?utf-8?B?%s?=" % (base64.b64encode(raw[:cut]).decode(),
                                                   base64.b64encode(raw[cut:]).decode()))


def invoice_b():
    """Subject in base64 words split inside a character across a fold; a PDF; and an
    attached message whose Subject is GB2312; text with CRLF on the wire."""
    inner = (lines("From: " + b_word("赵磊", "gb2312") + " <zhao@example.cn>",
                   "Subject: " + b_word("北京会议", "gb2312"), "MIME-Version: 1.0",
                   "Content-Type: text/plain; charset=utf-8") + CRLF + b"inner\r\n")
    text = TEXT.replace("\n", "\r\n").encode()
    return (lines("From: " + q_word("Nguyễn Văn An") + " <an@example.vn>",
                  "To: alice@example.org",
                  "Subject: " + split_b_words(HOA_DON + " 11 (B)"),
                  "Message-ID: <readable-b@imapfs.test>", "MIME-Version: 1.0",
                  'Content-Type: multipart/mixed; boundary="b1"') + CRLF
            + b"--b1\r\nContent-Type: text/plain; charset=utf-8\r\n"
              b"Content-Transfer-Encoding: 8bit\r\n\r\n" + text
            + b"\r\n--b1\r\nContent-Type: application/pdf; name=hoadon.pdf\r\n"
              b"Content-Transfer-Encoding: base64\r\n\r\n"
            + base64.encodebytes(PDF).replace(b"\n", CRLF)
            + b"\r\n--b1\r\nContent-Type: message/rfc822\r\n\r\n" + inner
            + b"\r\n--b1--\r\n")


def invoice_q():
    return (lines("From: " + b_word("Nguyễn Thị Bình") + " <binh@example.vn>",
                  "Subject: " + q_word(HOA_DON + " 12 (Q)"),
                  "Message-ID: <readable-q@imapfs.test>", "MIME-Version: 1.0",
                  "Content-Type: text/plain; charset=windows-1258",
                  "Content-Transfer-Encoding: quoted-printable") + CRLF
            + b"H=F3a=0D =F0=F5n\r\nFriday?\r\n")


def chinese():
    return (lines("From: Li <li@example.cn>",
                  "Subject: =?GB18030?Q?=B1=B1=BE=A9?= " + b_word("欢迎你", "gb2312"),
                  "Message-ID: <readable-zh@imapfs.test>",
                  "Content-Type: text/plain; charset=gb2312") + CRLF
            + "北京欢迎你\r\n".encode("gb2312"))


def big():
    """Over 1 MiB (fetched in parts, not whole): a text part whose CRLF at 1 MiB falls
    between two of imapfs's 1 MiB fetches, and a header fetched on its own."""
    body = b"y" * 63 + CRLF + (b"x" * 62 + CRLF) * 20000 + b"Friday?\r\n"
    assert body[1048575:1048577] == CRLF
    return (lines("From: " + b_word("Nguyễn Big") + " <big@example.vn>",
                  "Subject: " + b_word(HOA_DON + " lớn"),
                  "Message-ID: <readable-big@imapfs.test>", "MIME-Version: 1.0",
                  'Content-Type: multipart/mixed; boundary="b2"') + CRLF
            + b"--b2\r\nContent-Type: text/plain; charset=us-ascii\r\n\r\n" + body
            + b"\r\n--b2--\r\n"), body


def run(argv):
    return subprocess.run(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=120)


def read(path):
    with open(path, "rb") as f:
        return f.read()


class ReadableTests:
    NO_BINARY = False

    @classmethod
    def setUpClass(cls):
        require_binary()
        cls.d = start_fixture(cls, seeded=False, no_binary=cls.NO_BINARY)
        cls.d.create(cls.d.user, BOX)
        cls.big_raw, cls.big_text = big()
        cls.msgs = {"b": invoice_b(), "q": invoice_q(), "zh": chinese(), "big": cls.big_raw}
        cls.uid = {k: cls.d.append(cls.d.user, BOX, raw) for k, raw in cls.msgs.items()}
        cls.m = mount_for_class(cls, cls.d, tls_opts(cls.d))
        cls.c = cls.d.client()
        cls.addClassCleanup(cls.c.logout)
        examine(cls.c, BOX)

    def path(self, key, *names):
        return os.path.join(self.m.mnt, BOX, str(self.uid[key]), *names)

    def grep_hits(self, argv):
        r = run(argv)
        self.assertEqual(r.returncode, 0, r.stderr)
        hits = {os.path.relpath(os.fsdecode(h), os.path.join(self.m.mnt, BOX))
                for h in r.stdout.split(b"\n") if h}
        return {h for h in hits if not os.path.basename(h).startswith(".")}

    def test_header_is_readable(self):
        """Every header reads as the server's header with its words decoded and LF line
        ends; its size is what it reads; no CR is left."""
        for key in self.msgs:
            raw = fetch_item(self.c, self.uid[key], "BODY.PEEK[HEADER]")
            data = read(self.path(key, "header"))
            self.assertEqual(data, readable_header(raw), key)
            self.assertEqual(os.stat(self.path(key, "header")).st_size, len(data), key)
            self.assertNotIn(b"\r", data, key)
            self.assertNotIn(b"=?", data, key)
            self.assertTrue(data.endswith(b"\n\n"), key)
        text = read(self.path("b", "header")).decode()
        self.assertIn("Subject: %s 11 (B)\n" % HOA_DON, text)
        self.assertIn("From: Nguyễn Văn An <an@example.vn>\n", text)
        self.assertIn("Subject: 北京欢迎你\n", read(self.path("zh", "header")).decode())

    def test_attached_message_header(self):
        d = self.path("b", "3")
        raw = fetch_item(self.c, self.uid["b"], "BODY.PEEK[3.HEADER]")
        data = read(os.path.join(d, "header"))
        self.assertEqual(data, readable_header(raw))
        self.assertEqual(os.stat(os.path.join(d, "header")).st_size, len(data))
        self.assertIn("Subject: 北京会议\n".encode(), data)
        self.assertIn("From: 赵磊 <zhao@example.cn>\n".encode(), data)
        self.assertEqual(read(os.path.join(d, "message.eml")),
                         fetch_item(self.c, self.uid["b"], "BODY.PEEK[3]"))

    def test_grep_finds_decoded_subjects_and_senders(self):
        box = os.path.join(self.m.mnt, BOX)
        want = {f"{self.uid[k]}/header" for k in ("b", "q", "big")}
        self.assertEqual(self.grep_hits(["grep", "-rl", HOA_DON, box]), want)
        self.assertEqual(self.grep_hits(["grep", "-rl", "--include=header", NGUYEN, box]), want)
        zh = self.grep_hits(["grep", "-rl", "--include=header", BEIJING, box])
        self.assertEqual(zh, {f"{self.uid['zh']}/header", f"{self.uid['b']}/3/header"})
        if shutil.which("rg"):
            self.assertEqual(self.grep_hits(["rg", "-l", "--no-messages", HOA_DON, box]), want)
            self.assertEqual(self.grep_hits(["rg", "-l", "-g", "header", BEIJING, box]), zh)

    def check_text(self, path, want, friday=True):
        data = read(path)
        self.assertEqual(data, want, path)
        self.assertEqual(os.stat(path).st_size, len(data), path)
        self.assertNotIn(b"\r\n", data, path)
        r = run(["grep", "-c", "Friday?$", path])
        self.assertEqual(r.stdout.strip(), b"1" if friday else b"0", (path, r.stderr))
        if shutil.which("file"):
            r = run(["file", "-b", path])
            self.assertNotIn(b"CRLF", r.stdout, path)

    def test_text_has_lf_line_ends(self):
        self.check_text(self.path("b", "1", "body.txt"), TEXT.encode())
        r = subprocess.run(["diff", "-", self.path("b", "1", "body.txt")], input=TEXT.encode(),
                           stdout=subprocess.PIPE, timeout=60)
        self.assertEqual((r.returncode, r.stdout), (0, b""))
        # quoted-printable windows-1258; the =0D is a lone CR: it stays
        self.check_text(self.path("q", "1", "body.txt"), "Hóa\r đơn\nFriday?\n".encode())
        self.check_text(self.path("zh", "1", "body.txt"), "北京欢迎你\n".encode(), friday=False)

    def test_large_text_cut_between_fetches(self):
        self.check_text(self.path("big", "1", "body.txt"), self.big_text.replace(CRLF, b"\n"))

    def test_binary_parts_and_message_eml_exact(self):
        self.assertEqual(read(self.path("b", "2", "hoadon.pdf")), PDF)
        self.assertEqual(os.stat(self.path("b", "2", "hoadon.pdf")).st_size, len(PDF))
        for key, raw in self.msgs.items():
            data = read(self.path(key, "message.eml"))
            self.assertEqual(hashlib.sha256(data).hexdigest(),
                             hashlib.sha256(fetch_item(self.c, self.uid[key], "BODY.PEEK[]"))
                             .hexdigest(), key)
            self.assertEqual(data, raw, key)


class TestReadable(ReadableTests, unittest.TestCase):
    pass


class TestReadableNoBinary(ReadableTests, unittest.TestCase):
    NO_BINARY = True


if __name__ == "__main__":
    unittest.main()
