#!/usr/bin/env python3
"""A deterministic MIME corpus for the part-file tests (issue 3), with what imapfs must show.

    import corpus
    for m in corpus.messages():          # Message objects, built once per process
        m.mailbox, m.raw, m.message_id, m.subject, m.from_name, m.from_addr
        for p in m.leaves():             # every leaf part, depth first
            p.section, p.dirs            # "2.1", ("2", "1"): the part directory below the message
            p.name                       # exact expected file name, or None: then check p.name_ok(name)
            p.expected                   # bytes the content file must read: for text/* the text
                                         #   in UTF-8, else the original bytes
            p.mime_type, p.is_text
        m.layout()                       # {relative dir: set of entries} for the whole message
        m.embedded()                     # [(section, Message)] attached message/rfc822 parts
    corpus.message(key), corpus.part(key, label)

    python3 tests/data/corpus.py --write DIR   # every message as DIR/<key>.eml, expectations
                                               # as DIR/<key>.<section>.expected, DIR/manifest.json

Messages are written byte by byte here (not with the email package) so that every
encoded body, boundary and line ending is fixed: CRLF everywhere, as on the wire and
as Dovecot stores it. A text part's content file has LF line ends, so the expected
UTF-8 text has LF; nothing else is normalised. Non-ASCII text is in NFC
(glibc's iconv composes windows-1258's combining tone marks, so that is what a
conversion yields).

Name rules assumed (SPEC.md "Layout"; '/' and '\\' become '_', a leading '.' becomes
'_'): where the exact safe form is a judgement call, a part carries a predicate
instead of a name (see Leaf.name_ok).
"""
import base64
import hashlib
import io
import json
import os
import struct
import sys
import unicodedata
import zipfile
import zlib
from functools import lru_cache

CRLF = b"\r\n"
MAILBOX = "Parts"          # the corpus, except the big message
BIG_MAILBOX = "Big"        # only the 20 MB message, so grep -r over MAILBOX stays quick
BIG_SIZE = 20 * 1024 * 1024

# Words the tests grep for (in UTF-8) in the mount.
QP_WORD = "xylophonequasar"          # split by a QP soft line break in the message
VIET_WORD = "Việt"                   # only in the windows-1258 part (and the UTF-8 one)
CHINESE_WORD = "北京欢迎你"           # only in the GB2312 part
BIG5_WORD = "臺灣"                    # only in the Big5 part


# ---- encoders -------------------------------------------------------------------

def b64(data):
    """base64 in 76-character lines, each ended by CRLF."""
    enc = base64.b64encode(data)
    return b"".join(enc[i:i + 76] + CRLF for i in range(0, len(enc), 76))


def qp(data):
    """Quoted-printable of DATA whose lines end in CRLF (hard breaks stay CRLF)."""
    out = []
    lines = data.split(CRLF)
    for n, line in enumerate(lines):
        last = n == len(lines) - 1
        if last and line == b"":
            break
        enc = []
        for i, c in enumerate(line):
            ch = bytes([c])
            trailing_ws = c in (0x20, 0x09) and i == len(line) - 1
            if (33 <= c <= 126 and c != 0x3D) or (c in (0x20, 0x09) and not trailing_ws):
                enc.append(ch)
            else:
                enc.append(b"=%02X" % c)
        # soft breaks: at most 75 characters plus '=' per line, never inside =XX
        cur = b""
        for tok in enc:
            if len(cur) + len(tok) > 75:
                out.append(cur + b"=" + CRLF)
                cur = b""
            cur += tok
        out.append(cur + (b"" if last else CRLF))
    return b"".join(out)


def soft_break_in(encoded, word):
    """Put a QP soft line break in the middle of WORD's first occurrence."""
    w = word.encode()
    i = encoded.index(w)
    assert b"\r\n" not in encoded[i:i + len(w)]
    half = len(w) // 2
    return encoded[:i + half] + b"=" + CRLF + encoded[i + half:]


_TONES = "\u0300\u0301\u0303\u0309\u0323"


def cp1258(text):
    """windows-1258 as Vietnamese mail has it: precomposed letters where the code page
    has them, otherwise base letter + combining tone mark."""
    out = bytearray()
    for ch in text:
        try:
            out += ch.encode("cp1258")
            continue
        except UnicodeEncodeError:
            pass
        d = unicodedata.normalize("NFD", ch)
        tones = "".join(c for c in d if c in _TONES)
        rest = unicodedata.normalize("NFC", "".join(c for c in d if c not in _TONES))
        out += rest.encode("cp1258") + tones.encode("cp1258")
    return bytes(out)


def encode_charset(text, charset):
    return cp1258(text) if charset == "windows-1258" else text.encode(charset)


def rfc2047_b(text, charset="utf-8"):
    return "=?%s?B?%s?=" % (charset, base64.b64encode(text.encode(charset)).decode())


def rfc2047_q(text, charset):
    out = []
    for c in text.encode(charset):
        if c == 0x20:
            out.append("_")
        elif (0x30 <= c <= 0x39) or (0x41 <= c <= 0x5A) or (0x61 <= c <= 0x7A):
            out.append(chr(c))
        else:
            out.append("=%02X" % c)
    return "=?%s?Q?%s?=" % (charset, "".join(out))


def pct(text):
    """RFC 2231 percent-encoding of UTF-8."""
    return "".join(chr(c) if (c < 128 and (chr(c).isalnum() or chr(c) in "-_.")) else "%%%02X" % c
                   for c in text.encode("utf-8"))


# ---- binary payloads ------------------------------------------------------------

def blob(label, size):
    """Deterministic pseudo-random bytes."""
    return hashlib.shake_256(b"imapfs corpus " + label.encode()).digest(size)


def make_png(width=16, height=16, pixel=None):
    """An RGB PNG; pixel(x, y) gives (r, g, b), by default a gradient."""
    def chunk(kind, data):
        return (struct.pack(">I", len(data)) + kind + data
                + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF))
    pixel = pixel or (lambda x, y: ((x * 16) & 255, (y * 16) & 255, 128))
    rows = b"".join(b"\x00" + b"".join(bytes(pixel(x, y)) for x in range(width))
                    for y in range(height))
    return (b"\x89PNG\r\n\x1a\n"
            + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0))
            + chunk(b"IDAT", zlib.compress(rows, 9))
            + chunk(b"IEND", b""))


PDF_TEXT = "imapfs pdf probe"


def make_pdf(text=PDF_TEXT):
    """A one-page PDF 1.4 showing TEXT (ASCII, no parentheses or backslashes) in Helvetica."""
    stream = b"BT /F1 18 Tf 20 40 Td (" + text.encode("ascii") + b") Tj ET\n"
    objs = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 300 100] /Contents 4 0 R"
        b" /Resources << /Font << /F1 5 0 R >> >> >>",
        b"<< /Length %d >>\nstream\n" % len(stream) + stream + b"endstream",
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
    ]
    out = bytearray(b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n")
    offsets = []
    for i, o in enumerate(objs, 1):
        offsets.append(len(out))
        out += b"%d 0 obj\n" % i + o + b"\nendobj\n"
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objs) + 1)
    for off in offsets:
        out += b"%010d 00000 n \n" % off
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (len(objs) + 1, xref)
    return bytes(out)


ZIP_MEMBERS = {
    "readme.txt": b"Files packed for the imapfs part tests.\n" * 20,
    "data/numbers.csv": b"".join(b"%d,%d\n" % (i, i * i) for i in range(2000)),
    "Tiếng Việt.txt": "Xin chào, đây là một tệp trong kho nén.\n".encode(),
    "noise.bin": blob("zip noise", 40000),
}


def make_zip(members=None):
    """A ZIP of MEMBERS ({name: bytes}, default ZIP_MEMBERS); zipfile flags non-ASCII names
    as UTF-8."""
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        for name, data in (members or ZIP_MEMBERS).items():
            zi = zipfile.ZipInfo(name, date_time=(2024, 1, 2, 3, 4, 6))
            zi.compress_type = zipfile.ZIP_STORED if name.endswith(".bin") else zipfile.ZIP_DEFLATED
            zi.external_attr = 0o644 << 16
            z.writestr(zi, data)
    return buf.getvalue()


# ---- the part tree --------------------------------------------------------------

class Leaf:
    """A leaf part. headers: header lines (str, ASCII) without CRLF; body: the encoded body."""

    def __init__(self, label, headers, body, expected, mime_type, is_text, name=None,
                 name_endswith=None):
        self.label = label
        self.headers = headers
        self.body = body
        self.expected = expected
        self.mime_type = mime_type
        self.is_text = is_text
        self.name = name                    # exact expected name, or None
        self.name_endswith = name_endswith  # with name None: what the safe name must end in
        self.section = None
        self.message = None                 # the Message whose body holds this part

    @property
    def dirs(self):
        return tuple(self.section.split("."))

    def name_ok(self, name):
        """The properties every shown name has, plus the exact name or its ending."""
        if not name or "/" in name or name in (".", "..") or name.startswith("."):
            return False
        if any(ord(c) < 32 or ord(c) == 127 for c in name) or len(name.encode()) > 255:
            return False
        if self.name is not None:
            return unicodedata.normalize("NFC", name) == unicodedata.normalize("NFC", self.name)
        return name.endswith(self.name_endswith)

    def entity(self):
        return b"".join(h.encode() + CRLF for h in self.headers) + CRLF + self.body

    def __repr__(self):
        return f"<Leaf {self.label} {self.section}>"


class Multi:
    def __init__(self, subtype, boundary, children, preamble=b"This is a multi-part message.\r\n"):
        self.subtype = subtype
        self.boundary = boundary
        self.children = children
        self.preamble = preamble
        self.headers = [f'Content-Type: multipart/{subtype}; boundary="{boundary}"']

    def entity(self):
        return b"".join(h.encode() + CRLF for h in self.headers) + CRLF + self.content()

    def content(self):
        b = self.boundary.encode()
        out = self.preamble
        for c in self.children:
            out += CRLF + b"--" + b + CRLF + c.entity()
        return out + CRLF + b"--" + b + b"--" + CRLF


class Attached:
    """A message/rfc822 part holding MESSAGE."""

    def __init__(self, message, extra_headers=("Content-Disposition: attachment",)):
        self.message = message
        self.headers = ["Content-Type: message/rfc822", *extra_headers]

    def entity(self):
        return b"".join(h.encode() + CRLF for h in self.headers) + CRLF + self.message.raw


class Message:
    def __init__(self, key, subject, subject_raw, from_name, from_addr, from_raw, body,
                 mailbox=MAILBOX, day=1, extra_headers=()):
        self.key = key
        self.mailbox = mailbox
        self.subject = subject
        self.from_name = from_name
        self.from_addr = from_addr
        self.message_id = f"<corpus-{key}@imapfs.test>"
        self.body = body
        hdrs = [f"From: {from_raw} <{from_addr}>",
                "To: Alice Example <alice@example.org>",
                f"Subject: {subject_raw}",
                f"Date: Mon, {day:02d} Jan 2024 09:00:00 +0000",
                f"Message-ID: {self.message_id}",
                "MIME-Version: 1.0", *extra_headers]
        if isinstance(body, Multi):
            hdrs += body.headers
            content = body.content()
        else:
            hdrs += body.headers
            content = body.body
        self.header = b"".join(h.encode() + CRLF for h in hdrs) + CRLF
        self.raw = self.header + content
        self._number(body, "")

    def _number(self, node, prefix):
        """IMAP section numbers: the parts of a multipart are prefix.1, prefix.2...; a
        non-multipart body is prefix.1 (for the top level: "1")."""
        if isinstance(node, Multi):
            for i, c in enumerate(node.children, 1):
                sec = f"{prefix}.{i}" if prefix else str(i)
                self._assign(c, sec)
        else:
            self._assign(node, f"{prefix}.1" if prefix else "1")

    def _assign(self, node, sec):
        node.section = sec
        if isinstance(node, Leaf):
            node.message = self
        elif isinstance(node, Multi):
            self._number(node, sec)
        elif isinstance(node, Attached):
            node.message._renumber(sec)

    def _renumber(self, prefix):
        self._number(self.body, prefix)

    def _walk(self, node=None):
        node = self.body if node is None else node
        yield node
        if isinstance(node, Multi):
            for c in node.children:
                yield from self._walk(c)
        elif isinstance(node, Attached):
            yield from node.message._walk()

    def leaves(self):
        return [n for n in self._walk() if isinstance(n, Leaf)]

    def embedded(self):
        return [(n.section, n.message) for n in self._walk() if isinstance(n, Attached)]

    def leaf(self, label):
        (p,) = [p for p in self.leaves() if p.label == label]
        return p

    def layout(self):
        """{directory relative to the message dir ("" for itself): entries}, for the
        entries whose names are exact; leaf dirs with a predicate name map to None."""
        out = {"": {"message.eml", "header"}}

        def add_children(d, node):
            if isinstance(node, Multi):
                for c in node.children:
                    out[d].add(c.section.split(".")[-1])
                    visit(c)
            else:
                out[d].add(node.section.split(".")[-1])
                visit(node)

        def visit(node):
            d = "/".join(node.section.split("."))
            if isinstance(node, Leaf):
                out[d] = {node.name} if node.name is not None else None
            elif isinstance(node, Multi):
                out[d] = set()
                for c in node.children:
                    out[d].add(c.section.split(".")[-1])
                    visit(c)
            else:
                out[d] = {"message.eml", "header"}
                add_children(d, node.message.body)

        add_children("", self.body)
        return out

    def __repr__(self):
        return f"<Message {self.key}>"


def text_leaf(label, text, charset="utf-8", cte="8bit", subtype="plain", name=None,
              expected_text=None, declared=True, extra=(), name_endswith=None,
              content_type=True, body_charset=None):
    """A text part; TEXT uses LF, written with CRLF. charset is what is declared (None:
    no charset parameter); body_charset what the bytes are really in."""
    text = text.replace("\n", "\r\n")
    raw = encode_charset(text, body_charset or charset or "us-ascii")
    body = {"8bit": raw, "7bit": raw, "base64": b64(raw), "quoted-printable": qp(raw)}[cte]
    headers = []
    if content_type:
        ct = f"Content-Type: text/{subtype}"
        if charset and declared:
            ct += f"; charset={charset}"
        headers.append(ct)
    headers.append(f"Content-Transfer-Encoding: {cte}")
    headers += extra
    want = unicodedata.normalize("NFC", expected_text if expected_text is not None
                                 else text.replace("\r\n", "\n"))
    if name is None and name_endswith is None:
        name = "body.html" if subtype == "html" else "body.txt"
    return Leaf(label, headers, body, want.encode("utf-8"), f"text/{subtype}", True, name,
                name_endswith)


def bin_leaf(label, data, mime_type, params="", disposition=None, name=None, name_endswith=None,
             cte="base64"):
    headers = [f"Content-Type: {mime_type}{params}"]
    if disposition:
        headers.append(f"Content-Disposition: {disposition}")
    headers.append(f"Content-Transfer-Encoding: {cte}")
    body = b64(data) if cte == "base64" else data
    return Leaf(label, headers, body, data, mime_type, False, name, name_endswith)


# ---- the messages -------------------------------------------------------------------

UTF8_TEXT = ("Chào bạn,\n\nĐây là thư tiếng Việt bằng UTF-8: Việt Nam, Hà Nội, Thành phố Hồ Chí Minh.\n"
             "中文也可以：你好，世界。 Emoji: ✓ €\n")
VIET_TEXT = ("Kính gửi anh Bình,\n\nTiếng Việt trong bảng mã windows-1258: Việt Nam, thành phố "
             "Hồ Chí Minh,\nĐường phố, nghiêng, Sài Gòn, ước mơ, Nguyễn, Thủy, đẹp.\n")
GB2312_TEXT = "简体中文测试：北京欢迎你，数据与文件。\n第二行。\n"
GBK_TEXT = "朱镕基总理的镕字不在GB2312里。\n"
BIG5_TEXT = "繁體中文測試：臺灣，資料與檔案。\n"
MISLABELED_TEXT = "标为GB2312，其实是GBK：朱镕基。\n"
QP_TEXT = (f"The word {QP_WORD} is cut by a soft line break; this line is long enough to need "
           "more soft breaks, and the word must be found after decoding.\nÀ bientôt, naïve café — 100 € = «cent euros».\n"
           "Trailing space here \nend.\n")


def m_utf8_single():
    subject = "Tiếng Việt và 中文 — kiểm tra ✓"
    return Message("utf8-single", subject, rfc2047_b(subject), "Trần Thị Bình",
                   "binh@example.vn", rfc2047_b("Trần Thị Bình"),
                   text_leaf("text", UTF8_TEXT, "utf-8", "8bit"), day=1)


def m_charsets():
    subject = "中文邮件测试 数据"
    body = Multi("mixed", "=_charsets_b1", [
        text_leaf("cp1258", VIET_TEXT, "windows-1258", "8bit"),
        text_leaf("gb2312", GB2312_TEXT, "gb2312", "base64"),
        text_leaf("gbk", GBK_TEXT, "gbk", "8bit"),
        text_leaf("big5", BIG5_TEXT, "big5", "quoted-printable"),
        # declared gb2312 but holding a GBK character: read as GB18030
        text_leaf("gb2312-gbk", MISLABELED_TEXT, "gb2312", "8bit", body_charset="gbk"),
    ])
    return Message("charsets", subject, rfc2047_q(subject, "gb2312"), "张伟",
                   "zhang@example.cn", rfc2047_q("张伟", "gb2312"), body, day=2)


PDF_NAME = "Báo cáo tháng 1.pdf"
PNG_NAME = "图片 ảnh.png"
ZIP_NAME = "Tiếng Việt tài liệu 2024.zip"


def m_mixed_alternative():
    qp_leaf = text_leaf("qp", QP_TEXT, "utf-8", "quoted-printable")
    qp_leaf.body = soft_break_in(qp_leaf.body, QP_WORD)
    html = ("<html><body><p>Ch\u00e0o b\u1ea1n! HTML part in UTF-8, 8bit.</p>"
            "<p>Vi\u1ec7t Nam</p></body></html>\n")
    zip_name_1 = pct("Tiếng Việt ")
    zip_name_2 = pct("tài liệu")
    body = Multi("mixed", "=_outer_mixed", [
        Multi("alternative", "=_inner_alt", [
            qp_leaf,
            text_leaf("html", html, "utf-8", "8bit", subtype="html"),
        ]),
        # RFC 2047 in a Content-Type name parameter (common, tolerated)
        bin_leaf("pdf", make_pdf(), "application/pdf",
                 params=f'; name="{rfc2047_b(PDF_NAME)}"', name=PDF_NAME),
        # RFC 2231 extended value
        bin_leaf("png", make_png(), "image/png",
                 disposition=f"attachment; filename*=utf-8''{pct(PNG_NAME)}", name=PNG_NAME),
        # RFC 2231 continuations, mixing encoded and plain sections
        bin_leaf("zip", make_zip(), "application/zip",
                 disposition=(f"attachment;\r\n filename*0*=utf-8''{zip_name_1};\r\n"
                              f" filename*1*={zip_name_2};\r\n filename*2=\" 2024.zip\""),
                 name=ZIP_NAME),
    ])
    subject = "Báo cáo, ảnh và tệp nén"
    return Message("mixed-alternative", subject, rfc2047_b(subject), "Lê Văn Cường",
                   "cuong@example.vn", rfc2047_b("Lê Văn Cường"), body, day=3)


INNER_SUBJECT = "Thư gốc có tệp đính kèm"


def inner_message():
    body = Multi("mixed", "=_inner_fwd", [
        text_leaf("inner-text", "Nội dung thư gốc, mã base64.\n", "utf-8", "base64"),
        bin_leaf("inner-bin", blob("inner attachment", 5000), "application/octet-stream",
                 disposition='attachment; filename="inner-data.bin"', name="inner-data.bin"),
    ])
    return Message("inner", INNER_SUBJECT, rfc2047_b(INNER_SUBJECT), "Phạm Minh",
                   "minh@example.vn", rfc2047_b("Phạm Minh"), body, day=4)


def m_forward():
    body = Multi("mixed", "=_fwd_outer", [
        text_leaf("fwd-text", "Forwarding the original message below.\n", "us-ascii", "7bit"),
        Attached(inner_message()),
    ])
    return Message("forward", "Fwd: " + INNER_SUBJECT, rfc2047_b("Fwd: " + INNER_SUBJECT),
                   "Alice Example", "alice@example.org", "Alice Example", body, day=5)


def m_names():
    body = Multi("mixed", "=_names", [
        bin_leaf("passwd", b"root:x:0:0:not really:/root:/bin/sh\r\n", "application/octet-stream",
                 disposition='attachment; filename="../../etc/passwd"', name_endswith="passwd"),
        text_leaf("slash", "A text part named a/b.txt.\n", "us-ascii", "7bit",
                  extra=(), name="a_b.txt"),
        bin_leaf("empty-name", blob("empty name", 300), "application/octet-stream",
                 disposition='attachment; filename=""', name="body.bin"),
        bin_leaf("same-1", b"first of two parts named the same\r\n", "application/octet-stream",
                 disposition='attachment; filename="same.dat"', name="same.dat"),
        bin_leaf("same-2", b"second of two parts named the same\r\n", "application/octet-stream",
                 disposition='attachment; filename="same.dat"', name="same.dat"),
        # no Content-Type at all: text/plain; charset=us-ascii (RFC 2045)
        text_leaf("no-type", "This part has no Content-Type header.\n", "us-ascii", "7bit",
                  content_type=False, extra=("Content-Description: no type",)),
        # 8-bit text without a charset: UTF-8 when it is valid UTF-8...
        text_leaf("nocharset-utf8", "Không có charset, nhưng là UTF-8.\n", None, "8bit",
                  body_charset="utf-8"),
        # ... else windows-1252
        text_leaf("nocharset-1252", "Caf\u00e9 cr\u00e8me, na\u00efve \u2014 windows-1252.\n",
                  None, "8bit", body_charset="cp1252"),
        bin_leaf("dotfile", b"export PS1='$ '\r\n", "application/octet-stream",
                 disposition='attachment; filename=".bashrc"', name_endswith="bashrc"),
    ])
    # fix the a/b.txt part's Content-Type: the name goes in the Content-Type parameter
    slash = body.children[1]
    slash.headers[0] = 'Content-Type: text/plain; charset=us-ascii; name="a/b.txt"'
    return Message("names", "Awkward names", "Awkward names", "Mallory", "mallory@example.com",
                   "Mallory", body, day=6)


@lru_cache(maxsize=1)
def big_payload():
    return blob("big", BIG_SIZE)


BIG_NAME = "big.bin"


def m_big():
    body = Multi("mixed", "=_big", [
        text_leaf("big-text", "A 20 MB attachment follows.\n", "us-ascii", "7bit"),
        bin_leaf("big", big_payload(), "application/octet-stream",
                 disposition=f'attachment; filename="{BIG_NAME}"', name=BIG_NAME),
    ])
    return Message("big", "Twenty megabytes", "Twenty megabytes", "Alice Example",
                   "alice@example.org", "Alice Example", body, mailbox=BIG_MAILBOX, day=7)


@lru_cache(maxsize=1)
def messages():
    """Every corpus message in APPEND order (the big one last, in BIG_MAILBOX)."""
    return (m_utf8_single(), m_charsets(), m_mixed_alternative(), m_forward(), m_names(),
            m_big())


def message(key):
    for m in messages():
        if m.key == key:
            return m
    raise KeyError(key)


def part(key, label):
    return message(key).leaf(label)


def main(argv):
    if len(argv) != 3 or argv[1] != "--write":
        print(__doc__, file=sys.stderr)
        return 2
    d = argv[2]
    os.makedirs(d, exist_ok=True)
    manifest = []
    for m in messages():
        with open(os.path.join(d, f"{m.key}.eml"), "wb") as f:
            f.write(m.raw)
        for p in m.leaves():
            with open(os.path.join(d, f"{m.key}.{p.section}.expected"), "wb") as f:
                f.write(p.expected)
            manifest.append({"message": m.key, "mailbox": m.mailbox, "section": p.section,
                             "name": p.name, "name_endswith": p.name_endswith,
                             "mime_type": p.mime_type, "text": p.is_text,
                             "size": len(p.expected),
                             "sha256": hashlib.sha256(p.expected).hexdigest()})
    with open(os.path.join(d, "manifest.json"), "w") as f:
        json.dump(manifest, f, indent=1, ensure_ascii=False)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
