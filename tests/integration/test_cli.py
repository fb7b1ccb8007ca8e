"""Integration tests of the command line: accounts from the config file, and every
check that must fail before a password is asked or the server contacted.

    IMAPFS_BIN=build/imapfs python3 -m unittest discover -s tests/integration -k test_cli

"What was checked before the password" is proved with a password_command that
writes a marker file; "before the server" with a listener of our own that must
see no connection.
"""
import errno
import os
import shlex
import shutil
import signal
import socket
import subprocess
import tempfile
import time
import unittest

from helpers import (IMAPFS_BIN, TIMEOUT, Imapfs, is_mounted, is_uid_name, require_binary,
                     start_fixture, uids)
from test_mount import non_loopback_address

HINT = "Try 'imapfs --help' for more information."


def run_imapfs(*args, env=None):
    return subprocess.run([IMAPFS_BIN, *args], stdin=subprocess.DEVNULL, capture_output=True,
                          text=True, timeout=TIMEOUT, env=env)


class Listener:
    """A TCP listener on loopback that only counts: a check that happens before
    the server is contacted leaves it without a connection."""

    def __init__(self, host="127.0.0.1"):
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.sock.bind((host, 0))
        self.sock.listen(8)
        self.sock.setblocking(False)
        self.host = host
        self.port = self.sock.getsockname()[1]

    def contacted(self):
        try:
            conn, _ = self.sock.accept()
        except BlockingIOError:
            return False
        conn.close()
        return True

    def close(self):
        self.sock.close()


class CliCase(unittest.TestCase):

    @classmethod
    def setUpClass(cls):
        require_binary()
        cls.d = start_fixture(cls)
        c = cls.d.client()
        cls.inbox = sorted(uids(c, "INBOX"))
        c.logout()

    def setUp(self):
        self.tmp = tempfile.mkdtemp(prefix="imapfs-cli-")
        self.addCleanup(shutil.rmtree, self.tmp, ignore_errors=True)
        self.xdg = os.path.join(self.tmp, "xdg")
        os.makedirs(os.path.join(self.xdg, "imapfs"))
        self.config = os.path.join(self.xdg, "imapfs", "config")
        self.marker = os.path.join(self.tmp, "password-asked")

    def password_command(self):
        """A password_command that leaves the marker behind."""
        return (f"touch {shlex.quote(self.marker)}; "
                f"echo {shlex.quote(self.d.password)}")

    def write_config(self, text, mode=0o600):
        with open(self.config, "w") as f:
            f.write(text)
        os.chmod(self.config, mode)

    def account(self, name="work", **keys):
        """A [name] section for the fixture over implicit TLS, with KEYS added or replaced."""
        values = {"host": self.d.host, "port": self.d.port_tls, "user": self.d.user,
                  "cafile": self.d.ca, "password_command": self.password_command()}
        values.update(keys)
        lines = [f"[{name}]"] + [f"{k} = {v}" for k, v in values.items() if v is not None]
        return "\n".join(lines) + "\n"

    def imapfs(self, opts=(), target="work", **kw):
        env = {"XDG_CONFIG_HOME": self.xdg}
        env.update(kw.pop("env", {}))
        m = Imapfs(self.d, opts, target=target, env=env, **kw)
        self.addCleanup(m.cleanup)
        return m

    def list_inbox(self, m):
        inbox = os.path.join(m.mnt, "INBOX")
        return sorted(int(n) for n in os.listdir(inbox) if is_uid_name(n))

    def fails_early(self, m, status=None):
        """Runs M, which must fail before asking the password or mounting; its stderr."""
        m.spawn()
        rc = m.wait_exit(TIMEOUT)
        err = m.stderr()
        self.assertIsNotNone(rc, "imapfs did not exit")
        self.assertNotEqual(rc, 0, err)
        if status is not None:
            self.assertEqual(rc, status, err)
        self.assertFalse(os.path.exists(self.marker), "the password was asked:\n" + err)
        self.assertIsNone(m.sanitizer_report(), err)
        self.assertTrue(err.startswith("imapfs: "), err)
        return err

    def listener(self):
        lst = Listener()
        self.addCleanup(lst.close)
        return lst


class TestConfigAccounts(CliCase):

    def test_account_mounts_and_lists_inbox(self):
        self.write_config("# two accounts\n" + self.account("home", host="192.0.2.1") + "\n" +
                          self.account("work"))
        m = self.imapfs(password="not-the-password")
        m.mount()
        self.assertEqual(self.list_inbox(m), self.inbox)
        # The file's password_command was used (the environment's password is wrong).
        self.assertTrue(os.path.exists(self.marker))
        self.assertEqual(m.unmount(), 0, m.stderr())

    def test_password_from_private_file(self):
        self.write_config(self.account(password_command=None, password=self.d.password))
        m = self.imapfs(password="not-the-password")
        m.mount()
        self.assertEqual(self.list_inbox(m), self.inbox)

    def test_option_beats_file(self):
        lst = self.listener()
        self.write_config(self.account(port=lst.port))
        m = self.imapfs([f"port={self.d.port_tls}"])
        m.mount()
        self.assertEqual(self.list_inbox(m), self.inbox)
        self.assertFalse(lst.contacted())

    def test_ro_in_file_and_rw_over_it(self):
        self.write_config(self.account(ro="yes"))
        m = self.imapfs()
        m.mount()
        with self.assertRaises(OSError) as cm:
            os.mkdir(os.path.join(m.mnt, "NewBox"))
        self.assertEqual(cm.exception.errno, errno.EROFS)
        self.assertEqual(m.unmount(), 0, m.stderr())
        m2 = self.imapfs(["rw"])
        m2.mount()
        with open("/proc/self/mountinfo") as f:
            line = next(l for l in f if l.split()[4] == os.path.realpath(m2.mnt))
        self.assertTrue(line.split()[5].startswith("rw"), line)

    def test_config_option_names_the_file(self):
        other = os.path.join(self.tmp, "accounts.ini")
        with open(other, "w") as f:
            f.write(self.account("elsewhere"))
        m = self.imapfs([f"config={other}"], target="elsewhere")
        m.mount()
        self.assertEqual(self.list_inbox(m), self.inbox)

    def test_syntax_error_names_file_and_line(self):
        lst = self.listener()
        self.write_config(self.account(host="127.0.0.1", port=lst.port, tls="none") +
                          "this line is wrong\n")
        err = self.fails_early(self.imapfs(), status=2)
        self.assertTrue(err.startswith(f"imapfs: {self.config}:8: expected KEY = VALUE or "
                                       "[ACCOUNT]\n"), err)
        self.assertIn(HINT, err)
        self.assertFalse(lst.contacted())

    def test_unknown_key_and_bad_value(self):
        self.write_config(self.account() + "colour = blue\n")
        err = self.fails_early(self.imapfs(), status=2)
        self.assertIn(f"imapfs: {self.config}:7: unknown key 'colour'", err)
        self.write_config(self.account(tls="ssl"))
        err = self.fails_early(self.imapfs(), status=2)
        self.assertIn(f"imapfs: {self.config}:7: unknown tls mode 'ssl'", err)

    def test_password_in_readable_file_refused(self):
        lst = self.listener()
        self.write_config(self.account(password_command=None, password=self.d.password,
                                       host="127.0.0.1", port=lst.port, tls="none"),
                          mode=0o644)
        err = self.fails_early(self.imapfs(), status=2)
        self.assertIn(f"imapfs: {self.config}:6: refusing 'password': the file must be yours "
                      f"and private (mode 0644 now; chmod 600 {self.config})", err)
        self.assertFalse(lst.contacted())

    def test_file_others_can_change_refused(self):
        # Its password_command would run as us: it must not run at all.
        lst = self.listener()
        self.write_config(self.account(host="127.0.0.1", port=lst.port, tls="none"),
                          mode=0o646)
        err = self.fails_early(self.imapfs(), status=2)
        self.assertIn(f"imapfs: {self.config}: refusing a file another user can change", err)
        self.assertFalse(lst.contacted())


class TestChecksBeforePassword(CliCase):
    """Each check fails before the password_command runs and before the server is
    contacted (the account points at a listener that must see nothing)."""

    def setUp(self):
        super().setUp()
        self.lst = self.listener()
        self.write_config(self.account(host="127.0.0.1", port=self.lst.port, tls="none"))

    def tearDown(self):
        self.assertFalse(self.lst.contacted(), "the server was contacted")

    def test_missing_mountpoint(self):
        m = self.imapfs()
        os.rmdir(m.mnt)
        err = self.fails_early(m)
        self.assertIn(f"imapfs: {m.mnt}: No such file or directory", err)

    def test_regular_file_mountpoint(self):
        m = self.imapfs()
        os.rmdir(m.mnt)
        open(m.mnt, "w").close()
        err = self.fails_early(m)
        self.assertIn(f"imapfs: {m.mnt}: Not a directory", err)

    def test_nonempty_directory_is_fine(self):
        """fuse3 mounts over a directory that holds files."""
        self.write_config(self.account())
        m = self.imapfs()
        open(os.path.join(m.mnt, "a-file"), "w").close()
        m.mount()
        self.assertEqual(self.list_inbox(m), self.inbox)

    def test_already_mounted(self):
        first = Imapfs(self.d, [f"port={self.d.port_tls}", f"cafile={self.d.ca}"])
        self.addCleanup(first.cleanup)
        first.mount()
        m = self.imapfs()
        m.mnt = first.mnt
        err = self.fails_early(m)
        self.assertIn(f"imapfs: {first.mnt}: already a mount point", err)
        # The first mount is untouched.
        self.assertEqual(self.list_inbox(first), self.inbox)

    def test_stale_mount_gets_a_hint(self):
        dead = Imapfs(self.d, [f"port={self.d.port_tls}", f"cafile={self.d.ca}"])
        self.addCleanup(dead.cleanup)
        dead.mount()
        os.killpg(dead.proc.pid, signal.SIGKILL)
        dead.proc.wait(TIMEOUT)
        with self.assertRaises(OSError) as cm:
            os.statvfs(dead.mnt)  # stat may still answer from the kernel's cache
        self.assertEqual(cm.exception.errno, errno.ENOTCONN)
        m = self.imapfs()
        m.mnt = dead.mnt
        err = self.fails_early(m)
        self.assertIn(f"imapfs: {dead.mnt}: Transport endpoint is not connected (a crashed "
                      f"mount? run: fusermount3 -u {dead.mnt})", err)

    def test_unknown_option(self):
        err = self.fails_early(self.imapfs(["no_such_option"]), status=2)
        self.assertEqual(err, "imapfs: unknown option(s): `-o no_such_option'\n" + HINT + "\n")

    def test_bad_option_value(self):
        err = self.fails_early(self.imapfs(["connections=0"]), status=2)
        self.assertEqual(err, "imapfs: connections must be 1..64\n" + HINT + "\n")

    def test_offline_refused(self):
        err = self.fails_early(self.imapfs(["offline"]), status=2)
        self.assertIn("imapfs: -o offline is not in this version", err)

    def test_generic_mount_options_accepted(self):
        """What mount(8) and mount.fuse3 hand on from fstab is no error."""
        self.write_config(self.account())
        m = self.imapfs(["rw,dev,suid,exec,atime,async,defaults,relatime,noauto,_netdev,"
                         "nofail,user,x-systemd.automount,comment=x,nonempty"])
        m.mount()
        self.assertEqual(self.list_inbox(m), self.inbox)

    def test_plaintext_off_loopback_refused(self):
        host = non_loopback_address() or "192.0.2.1"
        try:
            lst = Listener(host)
        except OSError:
            lst = None
        self.addCleanup(lambda: lst and lst.close())
        self.write_config(self.account(host=host, port=lst.port if lst else 143, tls="none"))
        err = self.fails_early(self.imapfs(), status=2)
        self.assertIn(f"imapfs: refusing tls=none to {host}: the password would cross the "
                      "network in clear text", err)
        if lst:
            self.assertFalse(lst.contacted())


class TestUsage(unittest.TestCase):
    """What a mistyped command line prints: imapfs's words, a hint, status 2."""

    @classmethod
    def setUpClass(cls):
        require_binary()

    def env(self):
        tmp = tempfile.mkdtemp(prefix="imapfs-cli-")
        self.addCleanup(shutil.rmtree, tmp, ignore_errors=True)
        return dict(os.environ, XDG_CONFIG_HOME=tmp, HOME=tmp, USER="tester")

    def assertUsage(self, r, what):
        self.assertEqual(r.returncode, 2, r.stderr)
        self.assertEqual(r.stderr, f"imapfs: {what}\n{HINT}\n")
        self.assertEqual(r.stdout, "")

    def test_no_arguments(self):
        self.assertUsage(run_imapfs(env=self.env()),
                         "missing ACCOUNT or [USER@]HOST, and MOUNTPOINT")

    def test_missing_mountpoint(self):
        self.assertUsage(run_imapfs("mail.example.org", env=self.env()), "missing mountpoint")

    def test_too_many_arguments(self):
        self.assertUsage(run_imapfs("h", "/tmp", "extra", env=self.env()),
                         "unexpected argument 'extra'")

    def test_unknown_option(self):
        r = run_imapfs("--frobnicate", "h", "/tmp", env=self.env())
        self.assertUsage(r, "unknown option(s): `--frobnicate'")

    def test_version_first(self):
        r = run_imapfs("--version", env=self.env())
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertTrue(r.stdout.startswith("imapfs "), r.stdout)

    def test_help_tells_accounts(self):
        r = run_imapfs("--help", env=self.env())
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertTrue(r.stdout.startswith("usage: imapfs "), r.stdout)
        for text in ("ACCOUNT MOUNTPOINT", "-o config=PATH", "-o offline"):
            self.assertIn(text, r.stdout)
        self.assertNotIn("does not have yet", r.stdout)


if __name__ == "__main__":
    unittest.main()
