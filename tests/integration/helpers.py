"""Shared pieces of the integration tests: the fixture, a mounted imapfs, IMAP helpers.

Environment:
    IMAPFS_BIN         the imapfs binary to test (default: build/imapfs)
    IMAPFS_TIMEOUT     seconds to wait for a mount / an exit (default 30)
"""
import collections
import datetime
import os
import re
import shlex
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.abspath(os.path.join(HERE, "..", ".."))
sys.path.insert(0, os.path.join(ROOT, "tests", "fixture"))
sys.path.insert(0, os.path.join(ROOT, "tests", "data"))
sys.path.insert(0, os.path.join(ROOT, "tests", "fake"))

import dovecot  # noqa: E402
import faultproxy  # noqa: E402
import seed  # noqa: E402

IMAPFS_BIN = os.path.abspath(os.environ.get("IMAPFS_BIN", os.path.join(ROOT, "build", "imapfs")))
TIMEOUT = float(os.environ.get("IMAPFS_TIMEOUT", "30"))
SANITIZER_MARKS = ("AddressSanitizer", "LeakSanitizer", "UndefinedBehaviorSanitizer",
                   "runtime error:", "ThreadSanitizer")


def is_mounted(path):
    """True if PATH is a mount point in /proc/self/mountinfo (also when the
    filesystem's process died and os.path.ismount fails with ENOTCONN)."""
    path = os.path.realpath(path)
    try:
        with open("/proc/self/mountinfo") as f:
            for line in f:
                mp = line.split()[4]
                mp = re.sub(r"\\([0-7]{3})", lambda m: chr(int(m.group(1), 8)), mp)
                if mp == path:
                    return True
    except OSError:
        return os.path.ismount(path)
    return False


def require_binary():
    if not os.access(IMAPFS_BIN, os.X_OK):
        raise unittest.SkipTest(f"no imapfs binary at {IMAPFS_BIN} (set IMAPFS_BIN)")
    if not os.path.exists("/dev/fuse"):
        raise unittest.SkipTest("no /dev/fuse")


def start_fixture(testcase_cls, seeded=True, **kw):
    """Start a Dovecot for a test class; stopped by the class cleanup (also on failure)."""
    d = dovecot.Dovecot(rawlog=True, **kw)
    testcase_cls.addClassCleanup(d.cleanup)
    d.start()
    if seeded:
        seed.seed(d)
    return d


# libfuse 3.14 queues an INTERRUPT whose request was already answered (a reader
# killed as its answer went out) on the session's interrupt list, which
# fuse_session_destroy never frees: one struct fuse_req (128 bytes) allocated
# by libfuse's own receive loop, with no imapfs frame. A report made only of
# such leaks is libfuse's, not imapfs's; any other leak or error still counts.
_LIBFUSE_REQ_LEAK = re.compile(
    r"Direct leak of 128 byte\(s\) in 1 object\(s\) allocated from:\n"
    r"\s+#0 0x[0-9a-f]+ in __interceptor_calloc [^\n]*\n"
    r"\s+#1 0x[0-9a-f]+ +\(/[^)]*libfuse3\.so\.3\+0x[0-9a-f]+\)\n")


def without_libfuse_interrupt_leak(err):
    if "LeakSanitizer" not in err:
        return err
    rest = _LIBFUSE_REQ_LEAK.sub("", err)
    leaks = re.findall(r"^(?:Direct|Indirect) leak of", rest, re.M)
    if leaks or "ERROR: AddressSanitizer" in rest or "runtime error" in rest:
        return err
    return re.sub(r"=+\n==\d+==ERROR: LeakSanitizer.*?SUMMARY: AddressSanitizer: [^\n]*\n", "",
                  rest, flags=re.S)


class Imapfs:
    """One imapfs process, run in the foreground (-f) with its output in files."""

    def __init__(self, fixture, opts=(), target=None, password=None, env=None, workdir=None,
                 args=()):
        self.fixture = fixture
        self.dir = workdir or tempfile.mkdtemp(prefix="imapfs-mnt-")
        self.mnt = os.path.join(self.dir, "mnt")
        os.makedirs(self.mnt, exist_ok=True)
        self.stderr_path = os.path.join(self.dir, "stderr")
        self.stdout_path = os.path.join(self.dir, "stdout")
        self.target = target or f"{fixture.user}@{fixture.host}"
        self.opts = list(opts)
        self.args = list(args)
        self.env = dict(os.environ)
        self.env["IMAPFS_PASSWORD"] = fixture.password if password is None else password
        self.env["XDG_CACHE_HOME"] = os.path.join(self.dir, "cache")
        self.env["HOME"] = self.dir
        self.env.update(env or {})
        self.proc = None
        self.returncode = None

    @property
    def argv(self):
        argv = [IMAPFS_BIN, "-f"] + self.args
        for o in self.opts:
            argv += ["-o", o]
        return argv + [self.target, self.mnt]

    def spawn(self):
        out = open(self.stdout_path, "wb")
        err = open(self.stderr_path, "wb")
        self.proc = subprocess.Popen(self.argv, stdin=subprocess.DEVNULL, stdout=out,
                                     stderr=err, env=self.env, start_new_session=True)
        out.close()
        err.close()
        return self

    def mount(self, timeout=TIMEOUT):
        """Start and wait until the mount is live; raise with imapfs's output otherwise."""
        self.spawn()
        deadline = time.monotonic() + timeout
        while not (is_mounted(self.mnt) and os.path.ismount(self.mnt)):
            if self.proc.poll() is not None:
                raise AssertionError(f"imapfs exited with {self.proc.returncode} before mounting:"
                                     f"\n{' '.join(self.argv)}\n{self.stderr()}")
            if time.monotonic() > deadline:
                self.kill()
                raise AssertionError(f"imapfs did not mount within {timeout}s:\n{self.stderr()}")
            time.sleep(0.05)
        return self

    def wait_exit(self, timeout=TIMEOUT):
        """Wait for the process to end on its own; returns its exit status or None."""
        try:
            self.returncode = self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            return None
        return self.returncode

    def stderr(self):
        try:
            with open(self.stderr_path, errors="replace") as f:
                return f.read()
        except OSError:
            return ""

    def unmount(self, timeout=TIMEOUT):
        """fusermount3 -u and wait for the process; kill it if it hangs. Returns its status."""
        if self.proc is None:
            return None
        if is_mounted(self.mnt):
            subprocess.run(["fusermount3", "-u", self.mnt], stdout=subprocess.DEVNULL,
                           stderr=subprocess.DEVNULL, timeout=timeout)
        rc = self.wait_exit(timeout)
        if rc is None:
            self.kill()
        if rc != 0 or self.sanitizer_report():
            sys.stderr.write(f"\n--- imapfs {' '.join(self.argv)} ended with {rc}; its stderr:\n"
                             f"{self.stderr()[-4000:]}\n---\n")
        return rc

    def kill(self):
        if self.proc is not None and self.proc.poll() is None:
            try:
                os.killpg(self.proc.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                pass
        if is_mounted(self.mnt):
            subprocess.run(["fusermount3", "-u", "-z", self.mnt], stdout=subprocess.DEVNULL,
                           stderr=subprocess.DEVNULL, timeout=10)

    def cleanup(self):
        """Unmount, kill, remove the directory; fails (as a test cleanup does) on a
        sanitizer report, so no test can miss one by not looking."""
        self.unmount()
        self.kill()
        report = self.sanitizer_report()
        shutil.rmtree(self.dir, ignore_errors=True)
        if report is not None:
            raise AssertionError(f"sanitizer report from imapfs:\n{report[-8000:]}")

    def sanitizer_report(self):
        err = without_libfuse_interrupt_leak(self.stderr())
        return err if any(m in err for m in SANITIZER_MARKS) else None


def mount_for_class(testcase_cls, fixture, opts, **kw):
    m = Imapfs(fixture, opts, **kw)

    def done():
        m.unmount()
        m.kill()
        report = m.sanitizer_report()
        if report is None:
            shutil.rmtree(m.dir, ignore_errors=True)
        else:
            raise AssertionError(f"sanitizer report from imapfs:\n{report[-8000:]}")
    testcase_cls.addClassCleanup(done)
    m.mount()
    return m


def fake_server_mount(testcase, prefix, script=None, env=None):
    """An imapfs (not mounted yet) whose server is tests/fake/fakeimap.py playing
    SCRIPT (the script's text; None: the caller writes the file at m.script),
    over a tunnel on one connection; cleaned up with the test."""
    work = tempfile.mkdtemp(prefix=prefix)
    path = os.path.join(work, "script")
    if script is not None:
        with open(path, "w") as f:
            f.write(script)
    fake = " ".join(shlex.quote(a) for a in (
        sys.executable, os.path.join(ROOT, "tests", "fake", "fakeimap.py"), path))
    fixture = type("Fake", (), {"user": "alice", "host": "127.0.0.1", "password": "x"})()
    m = Imapfs(fixture, ["tunnel=" + fake.replace("\\", "\\\\").replace(",", "\\,"),
                         "connections=1"], workdir=work, env=env)
    m.script = path
    testcase.addCleanup(m.cleanup)
    return m


def tls_opts(fixture, *extra):
    return [f"tls=implicit,port={fixture.port_tls},cafile={fixture.ca}", *extra]


class FaultProxy:
    """tests/fake/faultproxy.py between imapfs and the fixture's pre-authenticated
    tunnel: a real Dovecot whose answers to chosen commands a test can break.

        p = FaultProxy(fixture)              # removed by p.cleanup()
        m = Imapfs(fixture, p.opts()).mount()
        p.set(["no UID FETCH .* BODY.PEEK\\[HEADER\\]"])   # takes effect at the next command
        p.set([])                            # back to relaying everything
        p.commands()                         # [Command(time, conn, action, line)], oldest first
        p.commands(r"^SELECT|^EXAMINE")      # only those whose line matches (re.search)
    """

    SCRIPT = os.path.join(ROOT, "tests", "fake", "faultproxy.py")

    Command = collections.namedtuple("Command", "time conn action line")

    def __init__(self, fixture, rules=(), user=None):
        self.dir = tempfile.mkdtemp(prefix="imapfs-faults-")
        self.rules_path = os.path.join(self.dir, "rules")
        self.log_path = os.path.join(self.dir, "log")
        self.tunnel = fixture.tunnel_command(user)
        self.set(rules)

    def command(self):
        """The shell command imapfs runs for each connection."""
        return " ".join(shlex.quote(a) for a in (sys.executable, self.SCRIPT, self.rules_path,
                                                  self.log_path, self.tunnel))

    def opts(self, *extra):
        """imapfs -o options for a mount through the proxy (fuse_opt wants ',' and '\\'
        escaped)."""
        cmd = self.command().replace("\\", "\\\\").replace(",", "\\,")
        return ["tunnel=" + cmd, *extra]

    def set(self, rules):
        """Replace the rules (a list of lines, or one string); atomic, so a proxy reads
        either the old rules or the new ones."""
        text = rules if isinstance(rules, str) else "\n".join(rules)
        faultproxy.parse_rules(text)  # a bad rule fails here, not in the middle of a mount
        tmp = self.rules_path + ".new"
        with open(tmp, "w", encoding="utf-8") as f:
            f.write(text + "\n")
        os.replace(tmp, self.rules_path)

    def log_lines(self):
        try:
            with open(self.log_path, encoding="utf-8", errors="replace") as f:
                return [l.rstrip("\n").split(" ", 4) for l in f]
        except FileNotFoundError:
            return []

    def commands(self, pattern=None):
        out = []
        for f in self.log_lines():
            if len(f) >= 4 and f[2] == "cmd":
                line = f[4] if len(f) > 4 else ""
                if pattern is None or re.search(pattern, line):
                    out.append(self.Command(float(f[0]), int(f[1]), f[3], line))
        return out

    def events(self, name=None):
        """[(time, conn, event)]: connect, refuse, eof-client, eof-server, error."""
        return [(float(f[0]), int(f[1]), f[3]) for f in self.log_lines()
                if len(f) >= 4 and f[2] == "event" and name in (None, f[3])]

    def cleanup(self):
        # A proxy whose imapfs was killed may still wait on its server side;
        # its tunnel's processes end with it (their stdin closes).
        subprocess.run(["pkill", "-KILL", "-f", self.rules_path], stdout=subprocess.DEVNULL,
                       stderr=subprocess.DEVNULL)
        shutil.rmtree(self.dir, ignore_errors=True)


# ---- IMAP side ---------------------------------------------------------------

def examine(client, mailbox):
    typ, data = client.select(dovecot.imap_quote(dovecot.mutf7_encode(mailbox)), readonly=True)
    if typ != "OK":
        raise AssertionError(f"EXAMINE {mailbox}: {data}")


def uids(client, mailbox, *criteria):
    examine(client, mailbox)
    typ, data = client.uid("SEARCH", None, *(criteria or ("ALL",)))
    assert typ == "OK", data
    return [int(x) for x in b" ".join(d for d in data if d).split()]


def fetch_item(client, uid, item):
    """Bytes of one literal item (e.g. BODY.PEEK[]) of message UID in the selected mailbox."""
    typ, data = client.uid("FETCH", str(uid), f"({item})")
    assert typ == "OK", data
    for d in data:
        if isinstance(d, tuple):
            return d[1]
    raise AssertionError(f"no literal in FETCH {uid} {item}: {data}")


def fetch_meta(client, uid):
    """{'flags': set, 'internaldate': epoch, 'size': int} of UID in the selected mailbox."""
    typ, data = client.uid("FETCH", str(uid), "(FLAGS INTERNALDATE RFC822.SIZE)")
    assert typ == "OK", data
    line = b" ".join(d if isinstance(d, bytes) else d[0] for d in data if d).decode()
    flags = set(re.search(r"FLAGS \(([^)]*)\)", line).group(1).split())
    idate = re.search(r'INTERNALDATE "([^"]+)"', line).group(1)
    size = int(re.search(r"RFC822\.SIZE (\d+)", line).group(1))
    return {"flags": flags - {"\\Recent"}, "internaldate": parse_internaldate(idate),
            "size": size}


def parse_internaldate(text):
    """Epoch seconds of an IMAP date-time ("22-Nov-2026 10:15:00 +0000", the day may be
    space-padded); ValueError if TEXT is not one."""
    if not re.fullmatch(r"[ \d]\d-[A-Z][a-z]{2}-\d{4} \d\d:\d\d:\d\d [+-]\d{4}", text):
        raise ValueError(f"not an IMAP date-time: {text!r}")
    return int(datetime.datetime.strptime(text.strip(), "%d-%b-%Y %H:%M:%S %z").timestamp())


def all_flags(fixture):
    """{(mailbox, uid): flags} for every message of the fixture's user."""
    c = fixture.client()
    try:
        out = {}
        for mb in ["INBOX", "Sent", "Trash"] + [m for m in seed.MAILBOXES]:
            for u in uids(c, mb):
                out[(mb, u)] = fetch_meta(c, u)["flags"]
        return out
    finally:
        c.logout()


def client_fetch_commands(fixture):
    """Every FETCH command line the server received from any session (rawlog)."""
    time.sleep(0.5)  # let the last imap processes flush their rawlog
    lines = []
    for user in fixture.users:
        d = fixture.rawlog_dir(user)
        if not os.path.isdir(d):
            continue
        for name in sorted(os.listdir(d)):
            if name.endswith(".in"):
                with open(os.path.join(d, name), "rb") as f:
                    for line in f.read().split(b"\n"):
                        if re.search(rb"\bFETCH\b", line, re.I):
                            lines.append(line.decode("utf-8", "replace").strip())
    return lines


def is_uid_name(name):
    return name.isdigit()


def entries(path):
    """os.listdir(PATH) less the .summary file and .search directory every mailbox
    directory has (.search: the root too)."""
    return [n for n in os.listdir(path) if n not in (".summary", ".search")]


# ---- rawlog (what imapfs sent and received) ----------------------------------------

def rawlog_files(fixture):
    """Paths of every rawlog file (.in: what clients sent, .out: what they received)."""
    out = set()
    for user in fixture.users:
        d = fixture.rawlog_dir(user)
        if os.path.isdir(d):
            out.update(os.path.join(d, n) for n in os.listdir(d))
    return out


def rawlog_sessions_since(fixture, before, settle=0.5):
    """[(in_path, out_path)] of the IMAP sessions whose rawlog appeared after BEFORE
    (a rawlog_files() snapshot): the sessions of a mount made since."""
    time.sleep(settle)  # let the imap processes flush
    new = sorted(rawlog_files(fixture) - set(before))
    return [(p, p[:-3] + ".out") for p in new if p.endswith(".in")]


def rawlog_command_lines(sessions):
    """The command lines the client sent in SESSIONS (literal data comes along as lines too)."""
    lines = []
    for path, _ in sessions:
        try:
            with open(path, "rb") as f:
                data = f.read()
        except OSError:
            continue
        lines += [l.decode("utf-8", "replace").strip() for l in data.split(b"\n")]
    return lines


def fresh_mount(test, fixture):
    """A new imapfs (implicit TLS, empty cache) unmounted by TEST's cleanup; the rawlog
    sessions made since .before (rawlog_sessions_since) are its own."""
    mnt = Imapfs(fixture, tls_opts(fixture))
    test.addCleanup(mnt.cleanup)
    mnt.before = rawlog_files(fixture)
    mnt.mount()
    return mnt


def binary_commands(sessions):
    """The lines of SESSIONS that name BINARY (none may, on a server without it)."""
    return [l for l in rawlog_command_lines(sessions) if re.search(r"\bBINARY", l, re.I)]


def rawlog_received_bytes(sessions):
    """Bytes the server sent to the client in SESSIONS."""
    total = 0
    for _, path in sessions:
        try:
            total += os.path.getsize(path)
        except OSError:
            pass
    return total


_ENCODED_WORD = re.compile(rb"=\?([^?\s]{1,63})\?([bBqQ])\?([^?\s]*)\?=")
_WIDER = {"gb2312": "gb18030", "gbk": "gb18030", "iso-8859-1": "cp1252", "us-ascii": "cp1252"}


def _word_bytes(m):
    enc, text = m.group(2).lower(), m.group(3)
    if enc == b"b":
        return __import__("base64").b64decode(text + b"=" * (-len(text) % 4))
    text = text.replace(b"_", b" ")
    return re.sub(rb"=([0-9A-Fa-f]{2})", lambda h: bytes([int(h.group(1), 16)]), text)


def readable_header(raw):
    """What imapfs's `header` file shows for the header block RAW (README "Files"):
    encoded words decoded (adjacent ones joined, the whitespace and folds between them
    dropped), CRLF as LF. An oracle for the tests' own well-formed headers: no control
    characters, raw 8-bit text only in UTF-8."""
    out, pos, words, charset = [], 0, b"", None

    def flush():
        nonlocal words
        if words:
            cs = charset.split(b"*")[0].decode().lower()
            out.append(words.decode(_WIDER.get(cs, cs), "replace").encode("utf-8"))
            words = b""

    for m in _ENCODED_WORD.finditer(raw):
        between = raw[pos:m.start()]
        if not (words and re.fullmatch(rb"[ \t\r\n]*", between)):
            flush()
            out.append(between)
        elif m.group(1).lower() != charset.lower():
            flush()
        charset = m.group(1)
        words += _word_bytes(m)
        pos = m.end()
    flush()
    out.append(raw[pos:])
    return b"".join(out).replace(b"\r\n", b"\n")
