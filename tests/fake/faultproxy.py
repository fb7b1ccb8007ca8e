#!/usr/bin/env python3
"""A fault-injecting tunnel between imapfs and a real IMAP server.

Where fakeimap.py plays a fixed conversation, this one relays a real one (the
Dovecot fixture's pre-authenticated tunnel) and breaks only the commands a
rule names, so a test keeps a real server and still gets its faults:

    imapfs ... -o tunnel='python3 tests/fake/faultproxy.py RULES LOG "TUNNEL CMD"'
    FaultProxy(fixture).opts()              # the same, from tests/integration/helpers.py

It runs TUNNEL CMD (with /bin/sh -c) as a child and relays stdin -> child and
child -> stdout, one client command (with its {n}/{n+} literals) and one server
response (with its literals) at a time. Each connection imapfs opens is its own
faultproxy process.

RULES is a file, re-read whenever it changes (so a test can change the faults
while mounted); a missing file means no rules. One rule a line, '#' comments:

    ACTION REGEX        REGEX is searched (Python re.search, case-sensitive; write
                        (?i) for not) in the client's command without its tag,
                        literals inline; the first matching rule wins
    refuse              new connections fail: the proxy exits 1 at once,
                        before starting the child (a server that is down)

    ACTION          what happens to a matching command
    no              answered "TAG NO [UNAVAILABLE] injected", not forwarded
    empty           answered "TAG OK injected", not forwarded (a FETCH that finds nothing)
    esearch=SET     answered '* ESEARCH (TAG "TAG") UID ALL SET' and "TAG OK injected",
                    not forwarded (a search's hits as a hostile server may give them)
    stall           never answered and not forwarded. Later commands on the
                    connection are still relayed and answered; but imapfs waits for
                    each answer before it sends the next command on a connection,
                    so in practice that connection is stuck until imapfs's wait
                    limit (20 s) runs out; imapfs then drops it (this proxy sees
                    EOF and exits) and opens a new one (a new proxy, same rules)
    trickle=SECONDS forwarded; everything the server sends while the command is
                    in flight (its untagged data and its tagged answer) reaches
                    the client one byte every SECONDS
    close           the connection ends there (the proxy exits without answering)
    count           forwarded; logged with action "count" instead of "forward"
    lose            forwarded, so the server does it; its untagged answers are relayed
                    but the connection ends when its tagged answer arrives, which is
                    never relayed (a change whose answer was lost)
    cut             the connection ends at a random point of the command (event
                    cut-KIND): before any byte is forwarded (KIND none), after a
                    random part of it (part), right after all of it (all: whether
                    the server did it is a race), or as lose (answer)

    Any action may end in /once ("cut/once ^APPEND"): it then hits one command
    of one connection for each version of the rules file (the proxies share a
    marker file beside it); every later match is forwarded. A test sets the
    rules again for the next hit.

LOG gets one line for every command and event, appended with a single write,
so the proxies of all connections can share one file:

    TIME PID cmd ACTION COMMAND     ACTION: forward, no, empty, esearch, stall, trickle, close, count
    TIME PID event EVENT            EVENT: connect, refuse, eof-client, eof-server, error

TIME is time.time(), PID identifies the connection. COMMAND is the command
without its tag, CR/LF shown as \\r\\n and literals over 200 bytes as {N bytes}.

A synchronising literal ({n}) is answered with "+ go" by the proxy itself, so
the whole command is known before a rule is applied, and is forwarded as
non-synchronising ({n+}): the server must offer LITERAL+ (Dovecot does).
A line without a space (IDLE's DONE, a SASL response) is forwarded as is.
"""
import os
import re
import signal
import subprocess
import sys
import threading
import time

CLIENT_LITERAL = re.compile(rb"\{(\d+)(\+?)\}\r\n$")
SERVER_LITERAL = re.compile(rb"\{(\d+)\}\r\n$")
STATUS = re.compile(rb"^(\+|\S+ (OK|NO|BAD|BYE|PREAUTH)\b)", re.I)
ACTIONS = ("no", "empty", "stall", "close", "count", "lose", "cut")
CUT_KINDS = ("none", "part", "all", "answer")


def parse_rules(text):
    """[(action, seconds, compiled regex)] and whether 'refuse' is set."""
    rules, refuse = [], False
    for raw in text.splitlines():
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        if line == "refuse":
            refuse = True
            continue
        action, _, regex = line.partition(" ")
        once = action.endswith("/once")
        action = action[:-len("/once")] if once else action
        seconds = 0.0
        if action.startswith("trickle="):
            action, seconds = "trickle", float(action[len("trickle="):])
        elif action.startswith("esearch=") and re.fullmatch(r"[0-9:,*]+", action[8:]):
            action, seconds = "esearch", action[len("esearch="):]
        elif action not in ACTIONS:
            raise ValueError(f"faultproxy: bad rule {raw!r}")
        rules.append((action, seconds, re.compile(regex.strip()), once))
    return rules, refuse


class Rules:
    """The rules file, re-read when its inode, size or mtime changes."""

    def __init__(self, path):
        self.path = path
        self.stamp = None
        self.rules, self.refuse = [], False

    def current(self):
        try:
            st = os.stat(self.path)
            stamp = (st.st_ino, st.st_size, st.st_mtime_ns)
        except FileNotFoundError:
            stamp = None
        if stamp != self.stamp:
            text = ""
            if stamp is not None:
                with open(self.path, encoding="utf-8") as f:
                    text = f.read()
            self.rules, self.refuse = parse_rules(text)
            self.stamp = stamp
        return self

    def match(self, command):
        for i, (action, seconds, regex, once) in enumerate(self.current().rules):
            if regex.search(command) and (not once or self.first_hit(i)):
                return action, seconds
        return "forward", 0.0

    def first_hit(self, index):
        """Whether this proxy is the first to hit rule INDEX of this rules version."""
        ino, _, mtime = self.stamp or (0, 0, 0)
        marker = f"{self.path}.hit-{ino}-{mtime}-{index}"
        try:
            os.close(os.open(marker, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644))
            return True
        except FileExistsError:
            return False


class Proxy:
    def __init__(self, rules_path, log_path, cmd):
        self.rules = Rules(rules_path)
        self.log_path = log_path
        self.cmd = cmd
        self.child = None
        self.out_lock = threading.Lock()    # one response at a time to the client
        self.trickled = {}                  # tag -> seconds per byte, while in flight
        self.trickle_lock = threading.Lock()
        self.exiting = threading.Lock()     # the first thread to end the proxy says why
        self.losing = None                  # tag whose tagged answer ends the connection

    # ---- output ------------------------------------------------------------
    def log(self, kind, what, text=""):
        line = f"{time.time():.6f} {os.getpid()} {kind} {what}"
        if text:
            line += " " + text
        fd = os.open(self.log_path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
        try:
            os.write(fd, (line + "\n").encode("utf-8", "replace"))
        finally:
            os.close(fd)

    def to_client(self, data, delay=0.0):
        with self.out_lock:
            if not delay:
                write_all(1, data)
                return
            for i in range(len(data)):
                write_all(1, data[i:i + 1])
                time.sleep(delay)

    def exit(self, status, event=None):
        if not self.exiting.acquire(blocking=False):
            threading.Event().wait()        # the other thread is ending the process
        if event:
            self.log("event", event)
        if self.child is not None:
            try:
                self.child.stdin.close()
            except OSError:
                pass
            try:
                self.child.wait(timeout=2)
            except subprocess.TimeoutExpired:
                pass
            try:
                os.killpg(self.child.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        os._exit(status)

    # ---- client -> server --------------------------------------------------
    def read_command(self, inp):
        """(bytes to forward, text for rules and the log), or None at EOF."""
        fwd, shown = b"", b""
        while True:
            line = inp.readline()
            if not line:
                return None
            m = CLIENT_LITERAL.search(line)
            if not m:
                fwd += line
                shown += line
                return fwd, shown.rstrip(b"\r\n").decode("utf-8", "replace")
            n = int(m.group(1))
            if not m.group(2):
                self.to_client(b"+ go\r\n")
            data = inp.read(n)
            if len(data) < n:
                return None
            fwd += line[:m.start()] + b"{%d+}\r\n" % n + data
            shown += line + (data if n <= 200 else b"{%d bytes}" % n)

    def client_loop(self):
        inp = sys.stdin.buffer
        while True:
            got = self.read_command(inp)
            if got is None:
                self.exit(0, "eof-client")
            fwd, text = got
            tag, sep, command = text.partition(" ")
            if not sep:
                write_all(self.child.stdin.fileno(), fwd)
                continue
            action, seconds = self.rules.match(command)
            self.log("cmd", action, command.replace("\r\n", "\\r\\n"))
            if action == "no":
                self.to_client(f"{tag} NO [UNAVAILABLE] injected\r\n".encode())
            elif action == "empty":
                self.to_client(f"{tag} OK injected\r\n".encode())
            elif action == "esearch":
                self.to_client(f'* ESEARCH (TAG "{tag}") UID ALL {seconds}\r\n'
                               f"{tag} OK injected\r\n".encode())
            elif action == "close":
                self.exit(0)
            elif action == "stall":
                pass
            elif action in ("lose", "cut"):
                self.cut(action, tag, fwd)
            else:
                if action == "trickle":
                    with self.trickle_lock:
                        self.trickled[tag.encode()] = seconds
                write_all(self.child.stdin.fileno(), fwd)

    def cut(self, action, tag, fwd):
        import random
        kind = "answer" if action == "lose" else random.choice(CUT_KINDS)
        self.log("event", "cut-" + kind)
        if kind == "answer":
            self.losing = tag.encode() + b" "
            write_all(self.child.stdin.fileno(), fwd)
        elif kind == "part":
            write_all(self.child.stdin.fileno(), fwd[:random.randrange(len(fwd))])
            self.exit(0)
        elif kind == "all":
            write_all(self.child.stdin.fileno(), fwd)
            self.exit(0)
        else:
            self.exit(0)

    # ---- server -> client --------------------------------------------------
    def server_loop(self):
        inp = self.child.stdout
        while True:
            line = inp.readline()
            if not line:
                self.exit(0, "eof-server")
            unit = line
            # status responses carry text, never literals
            while not STATUS.match(unit) and SERVER_LITERAL.search(line):
                n = int(SERVER_LITERAL.search(line).group(1))
                data = inp.read(n)
                line = inp.readline()
                unit += data + line
                if len(data) < n or not line:
                    self.to_client(unit)
                    self.exit(0, "eof-server")
            tag = unit.split(b" ", 1)[0]
            if self.losing and unit.startswith(self.losing):
                self.exit(0, "answer-lost")
            with self.trickle_lock:
                delay = max(self.trickled.values(), default=0.0)
            self.to_client(unit, delay)
            if delay:
                with self.trickle_lock:
                    self.trickled.pop(tag, None)

    def run(self):
        if self.rules.current().refuse:
            self.log("event", "refuse")
            sys.stderr.write("faultproxy: connection refused (rule 'refuse')\n")
            os._exit(1)
        self.log("event", "connect")
        self.child = subprocess.Popen(["/bin/sh", "-c", self.cmd], stdin=subprocess.PIPE,
                                      stdout=subprocess.PIPE, start_new_session=True)
        threading.Thread(target=self.guarded, args=(self.server_loop,), daemon=True).start()
        self.guarded(self.client_loop)

    def guarded(self, loop):
        try:
            loop()
        except Exception as e:  # a bad rules file, above all: say so, end the connection
            sys.stderr.write(f"faultproxy: {e!r}\n")
            self.exit(2, "error")


def write_all(fd, data):
    view = memoryview(data)
    while view:
        try:
            n = os.write(fd, view)
        except BrokenPipeError:
            os._exit(0)
        view = view[n:]


def main(argv):
    if len(argv) != 4:
        sys.stderr.write("usage: faultproxy.py RULES LOG 'TUNNEL COMMAND'\n")
        return 2
    Proxy(argv[1], argv[2], argv[3]).run()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
