#!/usr/bin/env python3
"""A scripted fake IMAP server for fault injection and parser edge cases.

It is never a stand-in for the real Dovecot the integration tests use; it
plays exact, possibly broken, conversations that a real server will not.

    imapfs ... -o tunnel='python3 tests/fake/fakeimap.py script.txt'
    transport_tunnel("python3 tests/fake/fakeimap.py script.txt", ...)

It talks on stdin/stdout. The script is read line by line:

    S: <text>     send <text> + CRLF; {TAG} becomes the tag of the last C: line
    R: <text>     send <text> raw, with \\r \\n \\\\ and \\xNN escapes, no CRLF added
    C: <regex>    read one client line (CRLF stripped) and require a full match;
                  the first word of the line becomes {TAG}. A literal the
                  client announces ({n} or {n+}) is read as part of the line
                  (a "+ go" is sent first for a synchronising one).
    H: <regex>    read one client line (CRLF stripped) and require a full match,
                  as C: does, but leave the literal it announces unread and
                  send no "+ go": a server that answers NO instead of "+", or
                  that breaks off in the middle of a literal
    READ <n>      read n bytes from the client and throw them away
    SLEEP <sec>   wait
    TRICKLE <sec> <text>  send <text> + CRLF one byte at a time, waiting <sec>
                  before each (a server that is slow but never quite silent)
    CLOSE         close the connection and exit 0
    # ...         comment

On a mismatch it writes the expected and actual line to stderr and exits 1,
so a test sees the conversation diverge.
"""
import re
import sys
import time


def read_client_line(inp, out):
    line = b""
    while True:
        chunk = inp.readline()
        if not chunk:
            return None
        line += chunk
        m = re.search(rb"\{(\d+)(\+?)\}\r\n$", line)
        if not m:
            return line.rstrip(b"\r\n")
        if not m.group(2):
            out.write(b"+ go\r\n")
            out.flush()
        line += inp.read(int(m.group(1)))


def unescape(text):
    return text.encode("latin-1").decode("unicode_escape").encode("latin-1")


def main():
    inp = sys.stdin.buffer
    out = sys.stdout.buffer
    tag = b"*"
    with open(sys.argv[1], "r", encoding="utf-8") as f:
        script = f.read().splitlines()
    for raw in script:
        if not raw.strip() or raw.startswith("#"):
            continue
        if raw.startswith("S: "):
            out.write(raw[3:].encode("utf-8").replace(b"{TAG}", tag) + b"\r\n")
            out.flush()
        elif raw.startswith("R: "):
            out.write(unescape(raw[3:]).replace(b"{TAG}", tag))
            out.flush()
        elif raw.startswith("C: "):
            line = read_client_line(inp, out)
            if line is None:
                sys.stderr.write("fakeimap: client closed, expected %r\n" % raw[3:])
                sys.exit(1)
            tag = line.split(b" ", 1)[0]
            if not re.fullmatch(raw[3:].encode("utf-8"), line, re.S):
                sys.stderr.write("fakeimap: expected %r got %r\n" % (raw[3:], line))
                sys.exit(1)
        elif raw.startswith("H: "):
            line = inp.readline()
            if not line:
                sys.stderr.write("fakeimap: client closed, expected %r\n" % raw[3:])
                sys.exit(1)
            line = line.rstrip(b"\r\n")
            tag = line.split(b" ", 1)[0]
            if not re.fullmatch(raw[3:].encode("utf-8"), line, re.S):
                sys.stderr.write("fakeimap: expected %r got %r\n" % (raw[3:], line))
                sys.exit(1)
        elif raw.startswith("READ "):
            inp.read(int(raw[5:]))
        elif raw.startswith("SLEEP "):
            time.sleep(float(raw[6:]))
        elif raw.startswith("TRICKLE "):
            pause, text = raw[8:].split(" ", 1)
            for byte in text.encode("utf-8").replace(b"{TAG}", tag) + b"\r\n":
                time.sleep(float(pause))
                out.write(bytes([byte]))
                out.flush()
        elif raw.strip() == "CLOSE":
            return
        else:
            sys.stderr.write("fakeimap: bad script line %r\n" % raw)
            sys.exit(2)
    # Script ended: hold the connection until the client closes it.
    while inp.readline():
        pass


if __name__ == "__main__":
    main()
