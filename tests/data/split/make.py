#!/usr/bin/env python3
"""Captures how Dovecot cuts BODY[section] for test_split (run by hand, not by the tests).

    python3 tests/fixture/dovecot.py start /tmp/split-fx
    python3 tests/data/split/make.py /tmp/split-fx/env     # rewrites tests/data/split/
    python3 tests/fixture/dovecot.py stop /tmp/split-fx

APPENDs the corpus messages (tests/data/corpus.py, but the 20 MB one) and edge cases
of our own to a fresh mailbox, then stores per message KEY:
    KEY.eml   BODY.PEEK[] as Dovecot sends it
    KEY.bs    the FETCH response line carrying BODYSTRUCTURE, literals inline
and in expected.txt one line per cut, "KEY SECTION WHAT OFF LEN": Dovecot's bytes
for BODY.PEEK[SECTION] (WHAT body; SECTION "-" is TEXT) or BODY.PEEK[SECTION.HEADER]
(WHAT header; "-" is HEADER) are KEY.eml's bytes OFF..OFF+LEN (the same content:
the test compares bytes, not offsets). Dovecot bytes found nowhere in BODY[] are
stored as KEY.SECTION.WHAT and listed with OFF "file".
"""
import imaplib
import os
import shlex
import ssl
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, ".."))
import corpus  # noqa: E402

MAILBOX = "SplitData"


def msg(headers, body):
    return "".join(h + "\r\n" for h in headers).encode() + b"\r\n" + body


H = ["From: a@example.org", "To: b@example.org", "Subject: split edge", "MIME-Version: 1.0"]


def edge_cases():
    c = {}
    c["pre-epi"] = msg(H + ['Content-Type: multipart/mixed; boundary="pe"'],
                       b"Preamble line 1\r\nPreamble line 2\r\n\r\n--pe\r\nContent-Type: text/plain\r\n\r\none\r\n"
                       b"--pe\r\n\r\ntwo, no header\r\n\r\n--pe--\r\nEpilogue text\r\nmore\r\n")
    c["padding"] = msg(H + ["Content-Type: multipart/mixed; boundary=pad"],
                       b"--pad \t \r\nContent-Type: text/plain\r\n\r\nfirst\r\n--pad\t\r\n\r\nsecond\r\n"
                       b"--pad garbage after\r\n\r\nthird\r\n--pad--  \r\n")
    c["quoted-space"] = msg(H + ['Content-Type: multipart/alternative;\r\n\tboundary="a b  c"'],
                            b"--a b  c\r\nContent-Type: text/plain\r\n\r\nplain\r\n--a b  c\r\n"
                            b"Content-Type: text/html\r\n\r\n<p>html</p>\r\n--a b  c--\r\n")
    deep = (b"--L1\r\nContent-Type: multipart/alternative; boundary=L2\r\n\r\npre2\r\n"
            b"--L2\r\nContent-Type: text/plain\r\n\r\nalt plain\r\n"
            b"--L2\r\nContent-Type: multipart/related; boundary=L3\r\n\r\n"
            b"--L3\r\nContent-Type: text/html\r\n\r\n<img src=cid:x>\r\n"
            b"--L3\r\nContent-Type: image/gif\r\nContent-Transfer-Encoding: base64\r\n\r\nR0lGODlhAQABAAAAACw=\r\n"
            b"--L3--\r\nepi3\r\n--L2--\r\n\r\n--L1\r\nContent-Type: application/octet-stream\r\n\r\nxyz\r\n--L1--\r\n")
    c["deep3"] = msg(H + ["Content-Type: multipart/mixed; boundary=L1"], deep)
    inner_single = msg(["From: c@example.org", "Subject: inner single", "Content-Type: text/plain"],
                       b"inner body line\r\n")
    c["rfc822-single"] = msg(H + ["Content-Type: multipart/mixed; boundary=r1"],
                             b"--r1\r\nContent-Type: text/plain\r\n\r\nsee attached\r\n"
                             b"--r1\r\nContent-Type: message/rfc822\r\n\r\n" + inner_single +
                             b"--r1--\r\n")
    c["empty-parts"] = msg(H + ["Content-Type: multipart/mixed; boundary=e"],
                           b"--e\r\n--e\r\nContent-Type: text/plain\r\n\r\n--e\r\n"
                           b"Content-Type: text/plain\r\n--e\r\n\r\n\r\n--e--\r\n")
    c["bare-lf"] = msg(H + ["Content-Type: multipart/mixed; boundary=lf"],
                       b"--lf\r\nContent-Type: text/plain\r\n\r\nunix\r\nlines\r\n--lf--\r\n").replace(b"\r\n", b"\n")
    c["no-close"] = msg(H + ["Content-Type: multipart/mixed; boundary=nc"],
                        b"--nc\r\n\r\none\r\n--nc\r\n\r\ntruncated here\r\n")
    c["inner-no-close"] = msg(H + ["Content-Type: multipart/mixed; boundary=out"],
                              b"--out\r\nContent-Type: multipart/alternative; boundary=in\r\n\r\n"
                              b"--in\r\n\r\na\r\n--in\r\n\r\nb\r\n--out\r\n\r\nlast\r\n--out--\r\n")
    c["prefix-bounds"] = msg(H + ["Content-Type: multipart/mixed; boundary=abc"],
                             b"--abc\r\nContent-Type: multipart/mixed; boundary=abcdef\r\n\r\n"
                             b"--abcdef\r\n\r\nx\r\n--abcdef\r\n\r\ny\r\n--abcdef--\r\n"
                             b"--abc\r\n\r\nz\r\n--abc--\r\n")
    c["same-bound"] = msg(H + ["Content-Type: multipart/mixed; boundary=same"],
                          b"--same\r\nContent-Type: multipart/alternative; boundary=same\r\n\r\n"
                          b"--same\r\n\r\nin1\r\n--same\r\n\r\nin2\r\n--same--\r\n"
                          b"--same\r\n\r\nout2\r\n--same--\r\n")
    c["equals-bound"] = msg(H + ["Content-Type: multipart/mixed; boundary=----=_Part_7_1.2"],
                            b"------=_Part_7_1.2\r\n\r\nq1\r\n------=_Part_7_1.2\r\n\r\nq2\r\n"
                            b"------=_Part_7_1.2--\r\n")
    lb = "L" * 100
    c["long-bound"] = msg(H + [f'Content-Type: multipart/mixed; boundary="{lb}"'],
                          f"--{lb}\r\n\r\nlong1\r\n--{lb}\r\n\r\nlong2\r\n--{lb}--\r\n".encode())
    c["folded-ct"] = msg(H[:3] + ["Content-type :  Multipart/Mixed (comment; boundary=no)\r\n"
                                  "   ; charset=us-ascii;\r\n BOUNDARY = \"fo\\\"ld\"",
                                  "Content-Type: multipart/mixed; boundary=second"],
                         b"--fo\"ld\r\n\r\nf1\r\n--second\r\n\r\nstill f1\r\n--fo\"ld--\r\n")
    c["digest"] = msg(H + ["Content-Type: multipart/digest; boundary=dg"],
                      b"--dg\r\n\r\n" + msg(["Subject: d1"], b"digest one\r\n") +
                      b"\r\n--dg\r\nContent-Type: text/plain\r\n\r\nnot a message\r\n--dg--\r\n")
    c["inner-nomv"] = msg(H + ["Content-Type: multipart/mixed; boundary=o"],
                          b"--o\r\nContent-Type: message/rfc822\r\n\r\n" +
                          msg(["Subject: no mime-version", "Content-Type: multipart/mixed; boundary=i"],
                              b"--i\r\n\r\ni1\r\n--i\r\nContent-Type: image/png\r\n\r\nPNG\r\n--i--\r\n") +
                          b"--o--\r\n")
    c["no-preamble-close"] = msg(H + ["Content-Type: multipart/mixed; boundary=z"],
                                 b"--z--\r\nonly epilogue\r\n")
    c["top-rfc822"] = msg(H + ["Content-Type: message/rfc822"],
                          msg(["Subject: wrapped", "MIME-Version: 1.0", "Content-Type: multipart/mixed; boundary=w"],
                              b"--w\r\n\r\nw1\r\n--w\r\n\r\nw2\r\n--w--\r\n"))
    c["header-only"] = b"From: a@example.org\r\nSubject: no body\r\n"
    c["no-final-crlf"] = msg(H + ["Content-Type: multipart/mixed; boundary=nf"],
                             b"--nf\r\n\r\nlast line without CRLF\r\n--nf--")
    c["prefix-in-preamble"] = msg(H + ["Content-Type: multipart/mixed; boundary=b"],
                                  b"--bogus line in the preamble\r\nstill\r\n--b\r\n\r\npart\r\n--b--\r\n")
    return c


def parse_sexp(data):
    """IMAP values: lists as Python lists, strings/atoms as bytes, NIL as None."""
    pos = 0

    def value():
        nonlocal pos
        while data[pos:pos + 1] == b" ":
            pos += 1
        ch = data[pos:pos + 1]
        if ch == b"(":
            pos += 1
            out = []
            while True:
                while data[pos:pos + 1] == b" ":
                    pos += 1
                if data[pos:pos + 1] == b")":
                    pos += 1
                    return out
                out.append(value())
        if ch == b'"':
            pos += 1
            s = bytearray()
            while data[pos:pos + 1] != b'"':
                if data[pos:pos + 1] == b"\\":
                    pos += 1
                s += data[pos:pos + 1]
                pos += 1
            pos += 1
            return bytes(s)
        if ch == b"{":
            end = data.index(b"}", pos)
            n = int(data[pos + 1:end])
            pos = end + 3
            s = data[pos:pos + n]
            pos += n
            return s
        start = pos
        while data[pos:pos + 1] not in (b" ", b")", b""):
            pos += 1
        a = data[start:pos]
        return None if a.upper() == b"NIL" else a
    return value()


def sections(bs, prefix="", top=True):
    """(section, is_message) for every part below bs, as mime/part.c numbers them."""
    out = []

    def sec(i):
        return f"{prefix}.{i}" if prefix else str(i)

    if isinstance(bs[0], list):
        n = 0
        while n < len(bs) and isinstance(bs[n], list):
            n += 1
        for i, child in enumerate(bs[:n], 1):
            out += one(child, sec(i))
    elif top:
        out += one(bs, "1")
    return out


def one(bs, s):
    if isinstance(bs[0], list):
        return [(s, False)] + sections(bs, s, top=False)
    t = (bs[0] or b"").lower(), (bs[1] or b"").lower()
    if t in ((b"message", b"rfc822"), (b"message", b"global")) and len(bs) > 8 \
            and isinstance(bs[8], list) and bs[8]:
        inner = bs[8]
        if isinstance(inner[0], list):
            return [(s, True)] + sections(inner, s, top=False)
        return [(s, True)] + one(inner, s + ".1")
    return [(s, False)]


def fetch_line(c, uid, item):
    typ, data = c.uid("FETCH", str(uid), f"({item})")
    assert typ == "OK", data
    out = b""
    for d in data:
        if isinstance(d, tuple):
            out += d[0] + b"\r\n" + d[1]
        else:
            out += d
    seq, rest = out.split(b" ", 1)    # imaplib drops the FETCH keyword
    return b"* " + seq + b" FETCH " + rest + b"\r\n"


def fetch_body(c, uid, sec):
    typ, data = c.uid("FETCH", str(uid), f"(BODY.PEEK[{sec}])")
    assert typ == "OK", data
    for d in data:
        if isinstance(d, tuple):
            return d[1]
    return b""   # "" sent quoted, or NIL


def main(argv):
    env = {}
    for line in open(argv[1]):
        if "=" in line and not line.startswith("export"):
            k, v = line.rstrip("\n").split("=", 1)
            env[k] = shlex.split(v)[0] if v else ""
    ctx = ssl.create_default_context(cafile=env["IMAP_CA"])
    c = imaplib.IMAP4_SSL(env["IMAP_HOST"], int(env["IMAP_PORT_TLS"]), ssl_context=ctx)
    c.login(env["IMAP_USER"], env["IMAP_PASS"])
    c.delete(MAILBOX)
    c.create(MAILBOX)
    msgs = [(m.key, m.raw) for m in corpus.messages() if m.key != "big"]
    msgs += sorted(edge_cases().items())
    for f in os.listdir(HERE):
        if f.endswith((".eml", ".bs", ".body", ".header")) or f == "expected.txt":
            os.unlink(os.path.join(HERE, f))
    lines = []
    for key, raw in msgs:
        typ, data = c.append(MAILBOX, None, None, raw)
        assert typ == "OK", data
        c.select(MAILBOX)
        uid = int(data[0].split(b"APPENDUID", 1)[1].split()[1].rstrip(b"]"))
        whole = fetch_body(c, uid, "")
        bsline = fetch_line(c, uid, "BODYSTRUCTURE")
        bs = parse_sexp(bsline[bsline.index(b"BODYSTRUCTURE ") + 14:])
        open(os.path.join(HERE, key + ".eml"), "wb").write(whole)
        open(os.path.join(HERE, key + ".bs"), "wb").write(bsline)
        cuts = [("-", "body", "TEXT"), ("-", "header", "HEADER")]
        for s, is_msg in sections(bs):
            cuts.append((s, "body", s))
            if is_msg:
                cuts.append((s, "header", s + ".HEADER"))
        for s, what, item in cuts:
            want = fetch_body(c, uid, item)
            off = whole.find(want)
            if off < 0:
                name = f"{key}.{s}.{what}"
                open(os.path.join(HERE, name), "wb").write(want)
                lines.append(f"{key} {s} {what} file {name}")
                print(f"{key} {item}: not a substring of BODY[]", file=sys.stderr)
            else:
                lines.append(f"{key} {s} {what} {off} {len(want)}")
    with open(os.path.join(HERE, "expected.txt"), "w") as f:
        f.write("\n".join(lines) + "\n")
    c.logout()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
