#!/usr/bin/env python3
"""Deterministic bulk mailboxes (hundreds of messages) for the cache and prefetch
tests (issue 4), with what imapfs must show for each message.

    import bulk
    msgs = bulk.mailbox("p", 500, bigs=(97, 251))   # [BulkMessage], built in well under 1 s
    uids = bulk.load(fixture, "Bulk", msgs)          # CREATE + MULTIAPPEND; UIDs in order
    m.raw, m.header, m.token, m.flags, m.date, m.kind, m.has_word
    for p in m.leaves:                               # every leaf part
        p.section, p.dirs                            # "1.2", ("1", "2")
        p.expected                                   # what its content file reads: text/* in
                                                     #   UTF-8 with LF line ends, else the bytes
        p.name                                       # exact file name, or None (body.<ext>)
        p.is_text, p.mime_type

    python3 tests/data/bulk.py --write DIR [N]       # the messages as DIR/NNNN.eml

Sizes are spread over 1-50 KB; about a third are multipart (text + base64
attachments, some with a multipart/alternative text/html part); text parts are
UTF-8 or ISO-8859-1, in 8bit, quoted-printable or base64. Messages listed in
`bigs` get a 1.3 MB attachment (about 1.8 MB on the wire: above imapfs's 1 MiB
whole-message limit). `seed` fixes sizes and structure, `label` the content:
two mailboxes with the same seed and labels of equal length have messages of
identical sizes and layout but different bytes.

Every message carries a unique token (`bulk-<label>-NNNN`) in its subject and
text, and every seventh one the word WORD in its first text part.
"""
import datetime
import hashlib
import os
import random
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from corpus import b64, qp  # noqa: E402

CRLF = b"\r\n"
WORD = "marzipanheron"
BIG_ATTACHMENT = 1300 * 1024

_WORDS = ("alpha bravo charlie delta echo foxtrot golf hotel india juliet kilo lima "
          "mike november oscar papa quebec romeo sierra tango uniform victor whiskey "
          "xray yankee zulu ledger invoice meeting report quarterly budget harbour "
          "lantern meadow orchard pebble quartz ribbon saddle timber velvet willow").split()
_UTF8_WORDS = ("Grüße", "café", "naïve", "Ελληνικά", "日本語", "Việt", "€100", "Ærø")
_LATIN1_WORDS = ("Grüße", "café", "naïve", "Ærø", "señor", "déjà")


def blob(label, size):
    """Deterministic pseudo-random bytes."""
    return hashlib.shake_256(b"imapfs bulk " + label.encode()).digest(size)


class Leaf:
    def __init__(self, headers, body, expected, mime_type, is_text, name=None):
        self.headers = headers      # bytes: the part's MIME header lines, each ended by CRLF
        self.body = body            # bytes: encoded, as in the message
        self.expected = expected
        self.mime_type = mime_type
        self.is_text = is_text
        self.name = name
        self.section = None

    @property
    def dirs(self):
        return tuple(self.section.split("."))

    def entity(self):
        return self.headers + CRLF + self.body

    def __repr__(self):
        return f"<Leaf {self.section} {self.mime_type} {len(self.expected)}>"


class Multi:
    def __init__(self, subtype, boundary, children):
        self.subtype = subtype
        self.boundary = boundary
        self.children = children

    @property
    def headers(self):
        return (f'Content-Type: multipart/{self.subtype}; boundary="{self.boundary}"'
                .encode() + CRLF)

    def content(self):
        b = self.boundary.encode()
        out = b"This is a multi-part message in MIME format." + CRLF
        for ch in self.children:
            out += b"--" + b + CRLF + ch.entity() + CRLF
        return out + b"--" + b + b"--" + CRLF

    def entity(self):
        return self.headers + CRLF + self.content()


class BulkMessage:
    def __init__(self, index, label, token, kind, top_headers, body_node, flags, date,
                 has_word):
        self.index = index
        self.label = label
        self.token = token
        self.kind = kind
        self.flags = flags
        self.date = date
        self.has_word = has_word
        if isinstance(body_node, Multi):
            self.header = top_headers + body_node.headers + CRLF
            self.raw = self.header + body_node.content()
        else:
            self.header = top_headers + body_node.headers + CRLF
            self.raw = self.header + body_node.body
        self.leaves = []
        self._number(body_node, "")

    def _number(self, node, prefix):
        if isinstance(node, Multi):
            for i, ch in enumerate(node.children, 1):
                self._number(ch, f"{prefix}.{i}" if prefix else str(i))
        else:
            node.section = prefix or "1"
            self.leaves.append(node)

    def __repr__(self):
        return f"<BulkMessage {self.token} {self.kind} {len(self.raw)}>"


def _text(rng, size, token, word, charset):
    """Lines of words, CRLF-ended, about SIZE bytes, starting with the token."""
    extra = _UTF8_WORDS if charset == "utf-8" else _LATIN1_WORDS
    lines = [f"Token {token} in this message.", ""]
    if word:
        lines.append(f"The secret word is {word}, say it twice.")
    n = sum(len(x) + 2 for x in lines)
    # a pool of lines, drawn from in a deterministic order: cheap for 20 MB of text
    pool = []
    for _ in range(24):
        ws = [rng.choice(_WORDS) for _ in range(9)] + [rng.choice(extra)]
        rng.shuffle(ws)
        pool.append(" ".join(ws))
    sizes = [len(p.encode(charset)) + 2 for p in pool]
    k = rng.randrange(len(pool))
    step = rng.choice((5, 7, 11, 13))
    count = 0
    while n < size:
        lines.append(pool[k] if count % 9 else f"{pool[k]} {count}")
        n += sizes[k] + (0 if count % 9 else len(f" {count}"))
        k = (k + step) % len(pool)
        count += 1
    return "\r\n".join(lines) + "\r\n"


def _text_leaf(rng, size, token, word, subtype="plain"):
    charset = "utf-8" if rng.random() < 0.7 else "iso-8859-1"
    text = _text(rng, size, token, word, charset)
    if subtype == "html":
        text = ("<html><body><pre>\r\n" + text.replace("&", "&amp;").replace("<", "&lt;")
                + "</pre></body></html>\r\n")
    raw = text.encode(charset)
    r = rng.random()
    if r < 0.5:
        cte, body = "8bit", raw
    elif r < 0.8:
        cte, body = "quoted-printable", qp(raw)
    else:
        cte, body = "base64", b64(raw)
    headers = (f"Content-Type: text/{subtype}; charset={charset}\r\n"
               f"Content-Transfer-Encoding: {cte}\r\n").encode()
    return Leaf(headers, body, text.replace("\r\n", "\n").encode("utf-8"), f"text/{subtype}",
                True)


def _bin_leaf(label, size, name, mime_type="application/octet-stream"):
    data = blob(label, size)
    headers = (f'Content-Type: {mime_type}; name="{name}"\r\n'
               f"Content-Transfer-Encoding: base64\r\n"
               f'Content-Disposition: attachment; filename="{name}"\r\n').encode()
    return Leaf(headers, b64(data), data, mime_type, False, name=name)


def make_message(label, seed, i, size_range=(1024, 50 * 1024), big=False, multipart_ratio=0.33):
    rng = random.Random(f"imapfs bulk {seed} {i}")
    token = f"bulk-{label}-{i:04d}"
    has_word = i % 7 == 0
    word = WORD if has_word else None
    size = rng.randint(*size_range)
    r = rng.random()
    kind = "plain" if r >= multipart_ratio else ("mixed" if r < multipart_ratio * 0.6
                                                 else "alternative")
    if big:
        kind = "big"
    bnd = f"=_bulk_{label}_{i:04d}"
    if kind == "plain":
        node = _text_leaf(rng, size, token, word)
    elif kind == "mixed":
        text_size = max(200, size // 3)
        att = max(64, (size - text_size) * 3 // 4)
        children = [_text_leaf(rng, text_size, token, word),
                    _bin_leaf(f"{label}-{i}-a", att, f"att-{label}-{i:04d}.bin")]
        if rng.random() < 0.3:
            children.append(_bin_leaf(f"{label}-{i}-b", max(64, att // 3),
                                      f"pic-{label}-{i:04d}.png", "image/png"))
        node = Multi("mixed", bnd, children)
    elif kind == "alternative":
        text_size = max(200, size // 4)
        att = max(64, (size - 2 * text_size) * 3 // 4)
        alt = Multi("alternative", bnd + "_alt",
                    [_text_leaf(rng, text_size, token, word),
                     _text_leaf(rng, text_size, token, None, "html")])
        node = Multi("mixed", bnd, [alt, _bin_leaf(f"{label}-{i}-a", att,
                                                   f"att-{label}-{i:04d}.bin")])
    else:
        node = Multi("mixed", bnd, [_text_leaf(rng, 2000, token, word),
                                    _bin_leaf(f"{label}-{i}-big", BIG_ATTACHMENT,
                                              f"big-{label}-{i:04d}.bin")])
    date = datetime.datetime(2024, 3, 1, tzinfo=datetime.timezone.utc) + \
        datetime.timedelta(minutes=37 * i)
    top = (f"From: Sender {i % 17} <sender{i % 17}@example.org>\r\n"
           f"To: Alice <alice@imapfs.test>\r\n"
           f"Subject: bulk message {i} {token}\r\n"
           f"Date: {date.strftime('%a, %d %b %Y %H:%M:%S +0000')}\r\n"
           f"Message-ID: <{token}@imapfs.test>\r\n"
           f"MIME-Version: 1.0\r\n").encode()
    flags = ()
    if i % 10 == 3:
        flags = ("\\Flagged",)
    elif i % 13 == 5:
        flags = ("\\Seen",)
    elif i % 11 == 7:
        flags = ("\\Answered", "$Label1")
    return BulkMessage(i, label, token, kind, top, node, flags, date, has_word)


def mailbox(label, n, bigs=(), seed=None, size_range=(1024, 50 * 1024), multipart_ratio=0.33):
    """N messages (see the module's doc); indexes in BIGS get a 1.3 MB attachment."""
    seed = label if seed is None else seed
    return [make_message(label, seed, i, size_range, i in bigs, multipart_ratio)
            for i in range(n)]


def load(fixture, mailbox_name, msgs, user=None, flags=None):
    """CREATE the mailbox (if needed) and APPEND MSGS with MULTIAPPEND; their UIDs.
    FLAGS, when given, replaces every message's own flags."""
    sys.path.insert(0, os.path.join(HERE, "..", "fixture"))
    import dovecot as dv
    user = user or fixture.user
    fixture.create(user, mailbox_name)
    c = fixture.client(user)
    try:
        return dv.multiappend_with(
            c, mailbox_name,
            [(m.raw, m.flags if flags is None else flags, m.date) for m in msgs])
    finally:
        c.logout()


def main(argv):
    if len(argv) not in (3, 4) or argv[1] != "--write":
        print(__doc__, file=sys.stderr)
        return 2
    os.makedirs(argv[2], exist_ok=True)
    for m in mailbox("demo", int(argv[3]) if len(argv) == 4 else 500):
        with open(os.path.join(argv[2], f"{m.index:04d}.eml"), "wb") as f:
            f.write(m.raw)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
