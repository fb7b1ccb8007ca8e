#!/usr/bin/env python3
"""Deterministic sample mail for the integration tests and the demo.

    import seed; seed.seed(dovecot)        # load into a running fixture (all users get nothing but USER)
    seed.seed_shared(dovecot)              # Dovecot(shared=True): bob shares two mailboxes, a public one
    python3 tests/data/seed.py --write DIR # dump the generated messages as .eml files

Everything is generated here with the email package (fixed dates, boundaries and
Message-IDs), plus the hand-written .eml files next to this script. Attachments are
real files (a PDF with text, a ZIP with Unicode member names, a PNG), made by corpus.py's
makers, so that pdftotext, unzip, file and image viewers work on them in the mount.
"""
import base64
import datetime
import email.encoders
import email.policy
import email.utils
import glob
import os
import sys
from email.message import EmailMessage
from email.mime.application import MIMEApplication
from email.mime.base import MIMEBase
from email.mime.multipart import MIMEMultipart
from email.mime.text import MIMEText
from email.mime.message import MIMEMessage
from email.header import Header
from email import charset as _charset

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import corpus  # noqa: E402  (the PDF, ZIP and PNG makers)
POLICY = email.policy.SMTP  # CRLF line endings, as on the wire

SEARCH_WORD = "zanzibarquokka"

# Mailboxes created besides INBOX/Trash/Sent, with how imapfs must show them (SPEC.md).
MAILBOXES = ["Thư mục", "收件箱", "Archive", "Archive/Projects", "2026", ".old", "100% done"]
DISPLAY = {
    "INBOX": "INBOX", "Trash": "Trash", "Sent": "Sent",
    "Thư mục": "Thư mục", "收件箱": "收件箱", "Archive": "Archive",
    "Archive/Projects": "Archive/Projects",
    "2026": "%32026", ".old": "%2Eold", "100% done": "100%25 done",
}

PDF_NAME = "report.pdf"
ZIP_NAME = "archive 2024.zip"
UTF8_SUBJECT = "Chào bạn — báo cáo tháng 1 ✓"
QP_TEXT = ("Xin chào! Đây là nội dung được mã hoá quoted-printable.\n"
           "Giá: 100€ — naïve café.\n")


# Real files, so that pdftotext, unzip, file and image viewers work on them.
PDF_TEXT = "Quarterly report 2024"
PDF_BYTES = corpus.make_pdf(PDF_TEXT)
ZIP_MEMBERS = {
    "Báo cáo.txt": "Báo cáo tháng 1: mọi thứ đều ổn.\n".encode(),
    "报告.txt": "一月份报告：一切正常。\n".encode(),
    "numbers.csv": b"".join(b"%d,%d\n" % (i, i * i) for i in range(200)),
}
ZIP_BYTES = corpus.make_zip(ZIP_MEMBERS)


def _sunset(x, y):
    """A 64x48 picture: a yellow sun over a sea, under an orange sky."""
    if (x - 32) ** 2 + (y - 26) ** 2 < 100:
        return (255, 220, 60)
    if y >= 30:
        return (20, 60 + y, 140 + y)
    return (250, 120 + 3 * y, 60)


PNG_NAME = "Biên lai.png"
PNG_BYTES = corpus.make_png(64, 48, _sunset)

# The Vietnamese and the Chinese message (RFC 2047 subjects and names).
VIET_SUBJECT = "Hóa đơn tháng 11"
VIET_FROM = "Nguyễn Văn An"
VIET_TEXT = ("Chào anh Bob,\n\nEm gửi anh Hóa đơn tháng 11 và ảnh biên lai đính kèm.\n"
             "Tổng cộng: 1.250.000 đồng.\n\nNguyễn Văn An\n")
CHINESE_SUBJECT = "北京会议通知"
CHINESE_FROM = "李明"
CHINESE_TEXT = "各位同事：\n\n北京会议定于下周一上午九点在三楼会议室举行，请准时参加。\n\n李明\n"


def _date(day, hour=10):
    return datetime.datetime(2024, 1, day, hour, 0, 0, tzinfo=datetime.timezone.utc)


def _hdr(msg, n, subject, frm="Alice Example <alice@example.org>",
         to="Bob Example <bob@example.org>", day=1):
    msg["From"] = frm
    msg["To"] = to
    if subject is not None:
        msg["Subject"] = subject
    msg["Date"] = email.utils.format_datetime(_date(day))
    msg["Message-ID"] = f"<seed-{n}@imapfs.test>"


def _bytes(msg):
    return msg.as_bytes(policy=POLICY)


def _plain(n, subject, body, day, **kw):
    m = MIMEText(body, "plain", "us-ascii" if body.isascii() else "utf-8")
    if not subject.isascii():
        subject = Header(subject, "utf-8").encode()
    _hdr(m, n, subject, day=day, **kw)
    return _bytes(m)


def msg_welcome():
    return _plain(1, "Welcome to imapfs", "Hello Bob,\n\nthis is the first message.\n", 1)


def msg_searchable():
    return _plain(2, "Lunch plans",
                  f"Shall we meet at the {SEARCH_WORD} place on Friday?\n\n-- \nAlice\n", 2)


def msg_utf8_qp():
    cs = _charset.Charset("utf-8")
    cs.body_encoding = _charset.QP
    m = MIMEText(QP_TEXT, "plain", cs)
    _hdr(m, 3, Header(UTF8_SUBJECT, "utf-8").encode(), day=3,
         frm="=?utf-8?q?Nguy=E1=BB=85n_V=C4=83n_A?= <nguyen@example.vn>")
    return _bytes(m)


def msg_attachments():
    m = MIMEMultipart("mixed", boundary="=====seed-mixed-4=====")
    _hdr(m, 4, "Report and archive", day=4)
    m.attach(MIMEText("Please find the report and the archive attached.\n", "plain", "us-ascii"))
    pdf = MIMEApplication(PDF_BYTES, "pdf")
    pdf.add_header("Content-Disposition", "attachment", filename=PDF_NAME)
    m.attach(pdf)
    z = MIMEApplication(ZIP_BYTES, "zip")
    z.add_header("Content-Disposition", "attachment", filename=ZIP_NAME)
    m.attach(z)
    return _bytes(m)


def msg_alternative():
    m = MIMEMultipart("alternative", boundary="=====seed-alt-5=====")
    _hdr(m, 5, "Newsletter", frm="News <news@example.com>", day=5)
    m.attach(MIMEText("Plain text version.\n", "plain", "us-ascii"))
    m.attach(MIMEText("<html><body><p>HTML version.</p></body></html>\n", "html", "us-ascii"))
    return _bytes(m)


def msg_flagged():
    return _plain(6, "Important: read me", "This one is flagged and already read.\n", 6)


def msg_forward():
    m = MIMEMultipart("mixed", boundary="=====seed-fwd-7=====")
    _hdr(m, 7, "Fwd: Welcome to imapfs", day=7)
    m.attach(MIMEText("Forwarding this.\n", "plain", "us-ascii"))
    inner = email.message_from_bytes(msg_welcome(), policy=POLICY)
    m.attach(MIMEMessage(inner))
    return _bytes(m)


def msg_vietnamese():
    m = MIMEMultipart("mixed", boundary="=====seed-viet-8=====")
    _hdr(m, 8, _word(VIET_SUBJECT, "utf-8"), day=15,
         frm=f"{_word(VIET_FROM, 'utf-8')} <an@example.vn>")
    m.attach(MIMEText(VIET_TEXT, "plain", "utf-8"))
    png = MIMEBase("image", "png")
    png.set_payload(PNG_BYTES)
    email.encoders.encode_base64(png)
    png.add_header("Content-Disposition", "attachment", filename=("utf-8", "", PNG_NAME))
    m.attach(png)
    return _bytes(m)


def _word(text, charset):
    """One RFC 2047 B encoded-word (Header() would spell gb2312 as eucgb2312_cn)."""
    return f"=?{charset}?b?{base64.b64encode(text.encode(charset)).decode()}?="


def msg_chinese():
    m = MIMEText(CHINESE_TEXT, "plain", "gb2312")  # base64, as Chinese mailers send it
    _hdr(m, 9, _word(CHINESE_SUBJECT, "gb2312"), day=16,
         frm=f"{_word(CHINESE_FROM, 'gb2312')} <liming@example.cn>")
    return _bytes(m)


def msg_simple(n, mailbox, day):
    return _plain(n, f"Note in {mailbox}", f"A note filed in {mailbox}.\n", day)


def fixed_emls():
    """Hand-written .eml files in tests/data (sorted by name), CRLF-normalised."""
    out = []
    for p in sorted(glob.glob(os.path.join(HERE, "*.eml"))):
        with open(p, "rb") as f:
            data = f.read()
        data = data.replace(b"\r\n", b"\n").replace(b"\n", b"\r\n")
        out.append((os.path.basename(p), data))
    return out


def messages():
    """[(mailbox, bytes, flags, internaldate)] in APPEND order."""
    inbox = [
        (msg_welcome(), ()),
        (msg_searchable(), ()),
        (msg_utf8_qp(), ("$Label1",)),
        (msg_attachments(), ()),
        (msg_alternative(), ()),
        (msg_flagged(), ("\\Flagged", "\\Seen")),
        (msg_forward(), ()),
    ]
    out = [("INBOX", b, f, _date(i + 1)) for i, (b, f) in enumerate(inbox)]
    for j, (_, data) in enumerate(fixed_emls()):
        out.append(("INBOX", data, (), _date(10 + j)))
    out.append(("INBOX", msg_vietnamese(), (), _date(15)))
    out.append(("INBOX", msg_chinese(), (), _date(16)))
    for k, mb in enumerate(MAILBOXES):
        if mb == "Archive":
            continue
        out.append((mb, msg_simple(100 + k, mb, 20 + k), (), _date(20 + k)))
    out.append(("Sent", _plain(200, "Re: Lunch plans", "Friday works.\n", 9,
                               frm="Bob Example <bob@example.org>",
                               to="Alice Example <alice@example.org>"), ("\\Seen",), _date(9)))
    return out


def seed(fixture, user=None):
    """Create the mailboxes and append the messages for USER (default: the fixture's first)."""
    sys.path.insert(0, os.path.join(HERE, "..", "fixture"))
    import dovecot as dv
    user = user or fixture.user
    c = fixture.client(user)
    try:
        for mb in MAILBOXES:
            typ, data = c.create(dv.imap_quote(dv.mutf7_encode(mb)))
            if typ != "OK":
                raise RuntimeError(f"CREATE {mb!r}: {data}")
            c.subscribe(dv.imap_quote(dv.mutf7_encode(mb)))
        for mb, data, flags, date in messages():
            dv.append_with(c, mb, data, flags, date)
    finally:
        c.logout()


def seed_shared(fixture, user=None, owner="bob"):
    """For a fixture started with shared=True: OWNER shares Projects with USER
    read-only and Team read-write, each with a message, and a public folder
    Announcements that everybody reads and USER may also write."""
    user = user or fixture.user
    when = datetime.datetime(2026, 11, 20, 9, 30, tzinfo=datetime.timezone.utc)
    fixture.share(owner, "Projects", user, "lr")
    fixture.share(owner, "Team", user, "lrswipkxte")
    for mb, subject in (("Projects", "Roadmap 2027"), ("Team", "Standup notes")):
        m = EmailMessage(policy=POLICY)
        m["From"] = f"{owner.capitalize()} <{owner}@example.org>"
        m["To"] = f"{user}@example.org"
        m["Subject"] = subject
        m["Date"] = email.utils.format_datetime(when)
        m["Message-ID"] = f"<{mb.lower()}-1@example.org>"
        m.set_content(f"{subject}: shared by {owner}.\n")
        fixture.append(owner, mb, m.as_bytes(), date=when)
    fixture.public_mailbox("Announcements", f"anyone lr\nuser={user} lrwsipkxte")
    m = EmailMessage(policy=POLICY)
    m["From"] = "IT <it@example.org>"
    m["Subject"] = "Maintenance on Saturday"
    m["Date"] = email.utils.format_datetime(when)
    m["Message-ID"] = "<announce-1@example.org>"
    m.set_content("The mail server restarts on Saturday at 06:00.\n")
    fixture.append(user, "Public/Announcements", m.as_bytes(), date=when)


def main(argv):
    if len(argv) != 3 or argv[1] != "--write":
        print(__doc__, file=sys.stderr)
        return 2
    os.makedirs(argv[2], exist_ok=True)
    for i, (mb, data, flags, date) in enumerate(messages()):
        name = f"{i + 1:02d}-{mb.replace('/', '_')}.eml"
        with open(os.path.join(argv[2], name), "wb") as f:
            f.write(data)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
