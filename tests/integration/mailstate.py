"""The server side of the writes, as a second IMAP client sees it: mailboxes
(LIST), subscriptions (LSUB), and every message's UID and flags.

    names = list_names(client)            # {wire name: delimiter}, e.g. {"B&AOE-o c&AOE-o": "/"}
    names, subs = server_names(fixture)   # the same from a new session (see there)
    state = server_state(fixture)         # everything above, to compare before/after
    store_lines(fixture, uid)             # the UID STORE commands for uid in the rawlog
"""
import re
import time

from helpers import fetch_meta, rawlog_command_lines, rawlog_files

LIST_LINE = re.compile(r'^\((?P<attrs>[^)]*)\) (?P<delim>"(?:\\.|[^"])*"|NIL) (?P<name>.*)$')


def _unquote(s):
    if s.startswith('"') and s.endswith('"'):
        return re.sub(r'\\(.)', r'\1', s[1:-1])
    return s


def _parse(data):
    out = {}
    for d in data:
        if d is None:
            continue
        if isinstance(d, tuple):  # a name sent as a literal
            m = LIST_LINE.match(re.sub(r"\{\d+\}$", "x", d[0].decode()))
            out[d[1].decode()] = _unquote(m.group("delim"))
            continue
        m = LIST_LINE.match(d.decode())
        assert m, d
        out[_unquote(m.group("name"))] = _unquote(m.group("delim"))
    return out


def list_names(client):
    """{wire name: delimiter} of LIST "" "*"."""
    typ, data = client.list('""', "*")
    assert typ == "OK", data
    return _parse(data)


def lsub_names(client):
    """Wire names of LSUB "" "*" (the subscriptions)."""
    typ, data = client.lsub('""', "*")
    assert typ == "OK", data
    return set(_parse(data))


def server_names(fixture):
    """(LIST as list_names, LSUB as lsub_names) seen by a new session. A session
    that listed before may miss for seconds a mailbox another session just
    made (Dovecot's list index): each look here is a session of its own."""
    c = fixture.client()
    try:
        return list_names(c), lsub_names(c)
    finally:
        c.logout()


def mailbox_messages(client, wire):
    """{uid: frozenset of flags} of mailbox WIRE (EXAMINEd: nothing changes)."""
    typ, data = client.select('"' + wire.replace("\\", "\\\\").replace('"', '\\"') + '"',
                              readonly=True)
    if typ != "OK":
        return None  # \Noselect
    typ, data = client.uid("SEARCH", None, "ALL")
    assert typ == "OK", data
    out = {}
    for u in b" ".join(d for d in data if d).split():
        out[int(u)] = frozenset(fetch_meta(client, int(u))["flags"])
    return out


def server_state(fixture):
    """(LIST, LSUB, {mailbox: {uid: flags}}) of the fixture's user."""
    c = fixture.client()
    try:
        names = list_names(c)
        subs = lsub_names(c)
        msgs = {n: mailbox_messages(c, n) for n in sorted(names)}
        return names, subs, msgs
    finally:
        c.logout()


def command_lines(fixture, pattern, settle=0.5):
    """Every command line any session sent (rawlog) that matches PATTERN (re.search)."""
    time.sleep(settle)  # let the imap processes flush their rawlog
    sessions = [(p, p[:-3] + ".out") for p in sorted(rawlog_files(fixture)) if p.endswith(".in")]
    return [l for l in rawlog_command_lines(sessions) if re.search(pattern, l)]


def store_lines(fixture, uid):
    """The UID STORE commands sent for UID (by anyone)."""
    return command_lines(fixture, rf"(?i)\bUID STORE {uid} ")
