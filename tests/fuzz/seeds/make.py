#!/usr/bin/env python3
"""Writes the fuzz seeds (tests/fuzz/seeds/<target>/) from the test data.

Run from anywhere: python3 tests/fuzz/seeds/make.py. The seeds are committed;
run it again only when the test data or a target's input layout changes.
Each target's input layout is described at the top of its fuzz_<target>.c.
"""
import hashlib
import pathlib
import re
import shutil
import struct

HERE = pathlib.Path(__file__).resolve().parent
ROOT = HERE.parents[2]
FAKE = ROOT / "tests/fake/client"
SPLIT = ROOT / "tests/data/split"


def unescape(text):
    return text.encode("latin-1").decode("unicode_escape").encode("latin-1")


def server_bytes(script):
    """What tests/fake/fakeimap.py sends for a script: S: lines and R: bytes."""
    out = b""
    for raw in script.read_text(encoding="utf-8").splitlines():
        if raw.startswith("S: "):
            out += raw[3:].encode("utf-8").replace(b"{TAG}", b"A1") + b"\r\n"
        elif raw.startswith("R: "):
            out += unescape(raw[3:]).replace(b"{TAG}", b"A1")
    return out


def write(target, name, data):
    d = HERE / target
    d.mkdir(exist_ok=True)
    (d / name).write_bytes(data)


def parser():
    # flags, then 8 split sizes (fuzz_parser.c)
    heads = [
        bytes([0, 0, 1, 2, 3, 5, 8, 13, 21]),          # no divert, small pieces
        bytes([2, 255, 7, 0, 64, 3, 1, 9, 30]),         # divert >= 1 byte
        bytes([4 | 8, 3, 3, 3, 3, 3, 3, 3, 3]),         # divert >= 16 after BODY[
        bytes([6, 100, 0, 0, 0, 200, 1, 1, 1]),         # divert >= 256
        bytes([1, 0, 0, 0, 0, 0, 0, 0, 0]),             # small limits, byte at a time
    ]
    scripts = ["list", "fetch_bodies", "fetch_meta", "fetch_part", "fetch_binary",
               "changes", "examine_condstore", "enable_refused", "reject", "fetch_part_to"]
    for i, name in enumerate(scripts):
        write("parser", name, heads[i % len(heads)] + server_bytes(FAKE / (name + ".txt")))


def bodystructure_of(line):
    m = re.search(rb"BODYSTRUCTURE (.*)\)\r?\n?$", line, re.S)
    return m.group(1)


SPLIT_NAMES = ["forward", "digest", "deep3", "names", "charsets", "empty-parts",
               "no-close", "prefix-bounds", "top-rfc822", "header-only", "bare-lf",
               "long-bound"]


def bodystructure():
    for name in SPLIT_NAMES:
        write("bodystructure", name, bodystructure_of((SPLIT / (name + ".bs")).read_bytes()))
    meta = server_bytes(FAKE / "fetch_meta.txt").split(b"\r\n")[1]
    write("bodystructure", "fetch_meta", bodystructure_of(meta))


def split():
    for name in SPLIT_NAMES:
        bs = (SPLIT / (name + ".bs")).read_bytes()
        if not bs.endswith(b"\r\n"):
            bs = bs.rstrip(b"\n") + b"\r\n"
        write("split", name, bs + (SPLIT / (name + ".eml")).read_bytes())


def names():
    text = [
        b"=?utf-8?B?VGjGsCBt4bulYw==?=",
        b"=?iso-8859-1?q?Gr=FC=DFe_aus_M=FCnchen?=",
        b"=?utf-8?q?a?= =?utf-8?q?b?= plain \xe9t\xe9",
        b"=?gb2312?B?1tDOxA==?=.txt",
        b"../../etc/passwd\xe2\x80\xaefdp.exe",
    ]
    for i, t in enumerate(text):
        write("names", "text%d" % i, b"\x00\x00" + t)
    files = [
        (1, [b"application", b"pdf", b"filename*", b"utf-8''B%C3%A1o%20c%C3%A1o.pdf"]),
        (2, [b"text", b"plain", b"filename*0*", b"utf-8''%C3%9Cber", b"filename*1",
             b"sicht.txt", b"name", b"=?utf-8?q?Notizen_=C3=BCber.txt?="]),
        (0, [b"application", b"octet-stream", b"name", b"../../etc/passwd"]),
        (1, [b"image", b"png", b"filename", b"." * 250 + b".png"]),
    ]
    for i, (how, strs) in enumerate(files):
        write("names", "file%d" % i, bytes([1, how]) + b"\x00".join(strs))
    splits = bytes([0, 2, 5, 1, 17, 3, 0, 64])
    # how: encoding (0 7bit, 1 base64, 2 qp, 3 uuencode) | 8 text | limit << 5
    decoders = [
        (1 | 8, b"utf-8", b"w5xiZXJzaWNodDogTcO8bmNoZW4sIEJlcmxpbiwgSGFtYnVyZy4K\r\n"),
        (2 | 8, b"iso-8859-1", b"sch=F6ne Gr=FC=DFe aus M=FCnchen. =A3 / =80=\r\nx\r\n"),
        (0 | 8 | 2 << 5, b"gb2312", "中文 mail".encode("gb18030")),
        (0 | 8, b"utf-16le", "Thư mục".encode("utf-16le")),
        (3, b"", b"begin 644 x\n#86)C\n`\nend\n"),
        (1, b"", b"AAECAwQFBgcICQoLDA0ODw==\r\n"),
        (0 | 8 | 1 << 5, b"", "caf\u00e9 na\u00efve".encode("utf-8")),
    ]
    for i, (how, cs, body) in enumerate(decoders):
        write("names", "decode%d" % i, bytes([2, how]) + splits + cs + b"\x00" + body)


def meta_payload(uidvalidity, uidnext, modseq, msgs):
    def s(v):
        return struct.pack("<I", 0xFFFFFFFF) if v is None else struct.pack("<I", len(v)) + v
    out = struct.pack("<IIQQ", uidvalidity, uidnext, modseq, len(msgs))
    for uid, date, size, flags, bs, subj, frm, mid in msgs:
        out += struct.pack("<IqQ", uid, date, size) + s(flags) + s(bs) + s(subj) + s(frm) + s(mid)
    return out


def meta_cache():
    fwd = bodystructure_of((SPLIT / "forward.bs").read_bytes())
    payloads = [
        meta_payload(1700000000, 60, 12400, [
            (4, 1704358800, 7508, b"\\Seen", fwd, "Thư gốc".encode(), b"Minh <minh@example.vn>",
             b"<corpus-inner@imapfs.test>"),
            (7, 1704358801, 10, b"", None, None, None, None),
            (9, -1, 0, b"\\Flagged \\Seen", b"(\"text\" \"plain\" NIL NIL NIL \"7bit\" 3 1)",
             b"", b"", b""),
        ]),
        meta_payload(1, 1, 0, []),
    ]
    for i, p in enumerate(payloads):
        # odd first byte: the payload behind a correct header
        write("meta_cache", "payload%d" % i, b"\x01" + p)
        # even: a whole file, as meta_cache_save writes it
        head = b"IMFSMETA" + struct.pack("<IQ", 1, len(p)) + hashlib.sha256(p).digest()
        write("meta_cache", "file%d" % i, b"\x00" + head + p)


def mailbox():
    for i, n in enumerate([b"INBOX", b"Th&AbA- m&HuU-c", b"&ZTZO9nux-", b"a/b", b"%2Eold",
                           b"%32026", b"Tom &- Jerry", "Thư mục".encode(), b"&AOQA9g-",
                           b"&2D3eAA-"]):
        write("mailbox", "name%d" % i, n)


def header():
    blocks = []
    for eml in sorted(SPLIT.glob("*.eml")):
        raw = eml.read_bytes()
        end = raw.find(b"\r\n\r\n")
        blocks.append(raw[:end + 4] if end >= 0 else raw)
    blocks += [
        b"Subject: =?utf-8?B?SMOzYSDE?=\r\n =?utf-8?B?kQ==?=\r\nFrom: =?utf-8?Q?Nguy=E1=BB=85n?="
        b" <n@example.vn>\r\n\r\n",
        b"Subject: =?gb2312?B?sbG+qQ==?= \xb1\xb1\r\nContent-Type: text/plain; charset=gb2312\r\n\r\n",
        b"X: a\x00b\rc\x1b\r\r\n\t=?utf-8?q?=0A?= =?x?b?!!?=\n\n",
    ]
    for i, b in enumerate(blocks):
        write("header", "block%d" % i, bytes([i % 5]) + b)


def search_keys():
    names = ["FROM alice UNSEEN", "SUBJECT \"hóa đơn\" SINCE 1-Nov-2026", "OR FROM a FROM b",
             "BODY 北京", "NOT SEEN", "LARGER 1000000", "HEADER X-Spam yes", "UID 100:200,5:*",
             "(FROM a OR SEEN FLAGGED) NOT (LARGER 10)", "KEYWORD $Junk SENTON 29-feb-2024",
             "OLDER 60 MODSEQ 7 1:5", "FROM \"a\\\"b\\\\c\"", "ALL\r\nA1 DELETE INBOX"]
    for i, n in enumerate(names):
        write("search_keys", "name%d" % i, n.encode("utf-8"))


def b64map():
    """Two bytes (where to read), then a base64 part: line lengths, last lines, paddings,
    small (head and tail one fetch) and large, and a few irregular ones."""
    import base64
    import random
    r = random.Random(12)
    cases = [(76, True, 570), (76, False, 571), (64, True, 5000), (72, False, 5002),
             (4, True, 1001), (100, False, 75), (76, True, 0)]
    for i, (line, crlf, n) in enumerate(cases):
        s = base64.b64encode(r.randbytes(n)).decode()
        body = "\r\n".join(s[k:k + line] for k in range(0, len(s), line))
        body += "\r\n" if crlf and body else ""
        write("b64map", "part%d" % i, bytes([i * 37 % 256, i * 91 % 256]) + body.encode())
        if n > 1000:
            odd = body.replace("\r\n", "\n", 3)
            write("b64map", "odd%d" % i, bytes([200, 3]) + odd.encode())


if __name__ == "__main__":
    for t in ["parser", "bodystructure", "split", "names", "header", "meta_cache", "mailbox",
              "search_keys", "b64map"]:
        shutil.rmtree(HERE / t, ignore_errors=True)
    parser()
    bodystructure()
    split()
    names()
    header()
    meta_cache()
    mailbox()
    search_keys()
    b64map()
