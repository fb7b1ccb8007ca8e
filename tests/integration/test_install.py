"""Integration test: what `meson install` puts in place works as README.md says.

The build that made IMAPFS_BIN is installed with `meson install --destdir` into a
temporary folder; each check then runs in a private mount namespace where that
folder's /usr/local is bind-mounted over /usr/local, so that the installed files
sit exactly where a real install puts them and nothing on this machine changes.
That is needed for the fstab mount: mount(8) clears PATH before it runs
mount.fuse3, whose /bin/sh then finds `imapfs` in its default PATH
(/usr/local/bin among others), never in a PATH a test could give.

    IMAPFS_BIN=build/imapfs python3 -m unittest discover -s tests/integration -k TestInstall
"""
import json
import os
import re
import shutil
import signal
import subprocess
import tempfile
import unittest

from helpers import IMAPFS_BIN, TIMEOUT, is_mounted, require_binary, start_fixture, uids

PREFIX = "/usr/local"


def build_dir():
    """The meson build folder IMAPFS_BIN comes from, or None."""
    d = os.path.dirname(IMAPFS_BIN)
    return d if os.path.isdir(os.path.join(d, "meson-private")) else None


def build_options(build):
    out = subprocess.run(["meson", "introspect", "--buildoptions", build], check=True,
                         capture_output=True, text=True, timeout=60).stdout
    return {o["name"]: o["value"] for o in json.loads(out)}


def pids_with_arg(arg):
    """PIDs whose command line has ARG (a unique temporary path) as one argument."""
    found = []
    for p in os.listdir("/proc"):
        if not p.isdigit():
            continue
        try:
            with open(f"/proc/{p}/cmdline", "rb") as f:
                args = f.read().split(b"\0")
        except OSError:
            continue
        if any(arg.encode() in a for a in args):
            found.append(int(p))
    return found


class TestInstall(unittest.TestCase):
    """meson install: binary, man page and systemd unit in place; an fstab line mounts."""

    @classmethod
    def setUpClass(cls):
        require_binary()
        cls.build = build_dir()
        if cls.build is None:
            raise unittest.SkipTest(f"{IMAPFS_BIN} is not in a meson build folder")
        opts = build_options(cls.build)
        if opts["prefix"] != PREFIX:
            raise unittest.SkipTest(f"the build's prefix is {opts['prefix']}, not {PREFIX}")
        if shutil.which("unshare") is None:
            raise unittest.SkipTest("no unshare(1)")
        cls.opts = opts
        cls.tmp = tempfile.mkdtemp(prefix="imapfs-install-")
        cls.addClassCleanup(shutil.rmtree, cls.tmp, ignore_errors=True)
        cls.dest = os.path.join(cls.tmp, "dest")
        # --no-rebuild: install the very binary under test, as it is.
        r = subprocess.run(["meson", "install", "-C", cls.build, "--destdir", cls.dest,
                            "--no-rebuild"], capture_output=True, text=True, timeout=300)
        if r.returncode != 0:
            raise AssertionError(f"meson install failed:\n{r.stdout}\n{r.stderr}")
        cls.root = cls.dest + PREFIX

    def in_installed(self, script, env=None, timeout=TIMEOUT * 4):
        """Run sh SCRIPT in a private mount namespace with the install on PREFIX."""
        full = f"set -u\nmount --bind {self.root} {PREFIX} || exit 99\n{script}"
        e = dict(os.environ)
        e.pop("MANPATH", None)
        e.update(env or {})
        r = subprocess.run(["unshare", "--mount", "--propagation", "private", "sh", "-c", full],
                           capture_output=True, text=True, env=e, timeout=timeout)
        self.assertNotEqual(r.returncode, 99, f"bind mount failed: {r.stderr}")
        return r

    def test_files_in_place(self):
        binary = os.path.join(self.dest + self.opts["prefix"], self.opts["bindir"], "imapfs")
        man = os.path.join(self.dest + self.opts["prefix"], self.opts["mandir"], "man1",
                           "imapfs.1")
        self.assertTrue(os.access(binary, os.X_OK), binary)
        self.assertTrue(os.path.isfile(man), man)
        with open(binary, "rb") as a, open(IMAPFS_BIN, "rb") as b:
            self.assertTrue(a.read() == b.read(), "the installed binary is not IMAPFS_BIN")
        r = self.in_installed("command -v imapfs && imapfs --version")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(r.stdout.splitlines()[0], f"{PREFIX}/bin/imapfs")
        self.assertIn("imapfs ", r.stdout)

    def test_man_page_renders_without_warnings(self):
        # `man imapfs`, not `man -l`: man-db finds it where it was installed.
        r = self.in_installed("MANWIDTH=80 man --warnings imapfs")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(r.stderr, "")
        self.assertIn("imapfs - mount an IMAP account as a folder", r.stdout)
        for section in ("SYNOPSIS", "OPTIONS", "CONFIGURATION", "LAYOUT", "EXTENDED ATTRIBUTES",
                        "CHANGING MAIL", "OFFLINE", "ERRORS", "FILES", "ENVIRONMENT",
                        "EXAMPLES", "SEE ALSO"):
            self.assertIn(f"\n{section}\n", r.stdout)
        man = os.path.join(self.root, "share", "man", "man1", "imapfs.1")
        g = subprocess.run(["groff", "-ww", "-z", "-man", man], capture_output=True, text=True,
                           timeout=60)
        self.assertEqual((g.returncode, g.stderr), (0, ""))

    def test_man_page_lists_every_option(self):
        """Every -o option of `imapfs --help` has its entry in the man page."""
        help_text = subprocess.run([IMAPFS_BIN, "--help"], capture_output=True, text=True,
                                   timeout=60).stdout.split("FUSE options:")[0]
        # The entries of its option list: "    -o NAME..." or "    -d, -o NAME".
        names = set(re.findall(r"^ {4}(?:-\w, )?-o (\w+)", help_text, re.M))
        self.assertIn("password_command", names)
        r = self.in_installed("MANWIDTH=200 man imapfs")
        for name in names:
            self.assertTrue(re.search(rf"\n {{7}}(-\w, )?-o {name}\b", r.stdout),
                            f"-o {name} is not in the man page's OPTIONS")

    def test_systemd_unit(self):
        unit = os.path.join(self.root, "lib", "systemd", "user", "imapfs@.service")
        self.assertTrue(os.path.isfile(unit), unit)
        with open(unit) as f:
            text = f.read()
        self.assertIn(f"\nExecStart={PREFIX}/bin/imapfs -f %i %h/mail/%i\n", text)
        if shutil.which("systemd-analyze") is None:
            self.skipTest("no systemd-analyze to verify the unit with")
        # An instance of it, verified where the install put imapfs and its man page.
        d = os.path.join(self.tmp, "unit")
        os.makedirs(os.path.join(d, "run"), exist_ok=True)
        shutil.copy(unit, os.path.join(d, "imapfs@work.service"))
        r = self.in_installed(f"systemd-analyze verify --user {d}/imapfs@work.service",
                              env={"XDG_RUNTIME_DIR": os.path.join(d, "run")})
        self.assertEqual((r.returncode, r.stderr), (0, ""))

    def fixture(self):
        """The Dovecot fixture (one per class), a client of it, and a password file."""
        cls = type(self)
        if not hasattr(cls, "d"):
            cls.d = start_fixture(cls)
            cls.pw = os.path.join(self.tmp, "pw")
            with open(cls.pw, "w") as f:
                f.write(cls.d.password + "\n")
            os.chmod(cls.pw, 0o600)
        c = cls.d.client()
        self.addCleanup(c.logout)
        return cls.d, c

    def mount_by_fstab(self, name, source, opts, env=None):
        """Mount MOUNTPOINT through a fstab line `SOURCE MOUNTPOINT fuse.imapfs OPTS 0 0`
        with `mount -T`, list INBOX, `umount`; returns the UIDs listed."""
        work = os.path.join(self.tmp, name)
        mnt = os.path.join(work, "mail")
        os.makedirs(mnt)
        fstab = os.path.join(work, "fstab")
        with open(fstab, "w") as f:
            f.write(f"# as in README.md\n{source}  {mnt}  fuse.imapfs  {opts}  0 0\n")
        self.addCleanup(self.stop_leftover, mnt)
        script = f"""
mount -T {fstab} {mnt} || {{ echo "mount failed: $?"; exit 1; }}
grep -F ' {mnt} ' /proc/self/mountinfo
ls -1 {mnt}/INBOX > {work}/inbox || echo "ls failed"
umount {mnt} || echo "umount failed"
grep -F ' {mnt} ' /proc/self/mountinfo && echo "still mounted"
exit 0
"""
        r = self.in_installed(script, env=env)
        self.assertEqual(r.returncode, 0, f"{r.stdout}\n{r.stderr}")
        lines = r.stdout.splitlines()
        self.assertTrue(lines and " - fuse.imapfs " in lines[0], r.stdout)
        self.assertNotIn("failed", r.stdout)
        self.assertNotIn("still mounted", r.stdout)
        self.assertFalse(is_mounted(mnt))
        with open(os.path.join(work, "inbox")) as f:
            return sorted(int(n) for n in f.read().split() if n.isdigit())

    def test_fstab_line_mounts(self):
        """README's fstab line, with the fixture's port and CA: `mount MOUNTPOINT` mounts
        through mount.fuse3, which runs the installed imapfs; `umount` ends it."""
        d, c = self.fixture()
        cache = os.path.join(self.tmp, "cache-server")
        opts = (f"noauto,user,_netdev,port={d.port_tls},tls=implicit,cafile={d.ca},"
                f"cache_dir={cache},password_command=cat\\040{self.pw}")
        listed = self.mount_by_fstab("server", f"{d.user}@{d.host}", opts)
        self.assertEqual(listed, sorted(uids(c, "INBOX")))
        self.assertGreater(len(listed), 0)

    def test_fstab_account_line_mounts(self):
        """README's other fstab line: an account of the configuration file, found through
        XDG_CONFIG_HOME, which mount(8) passes on (it does not pass HOME)."""
        help_text = subprocess.run([IMAPFS_BIN, "--help"], capture_output=True, text=True,
                                   timeout=60).stdout
        if "config=" not in help_text:
            self.skipTest("this imapfs has no configuration file (-o config=PATH)")
        d, c = self.fixture()
        config = os.path.join(self.tmp, "config")
        os.makedirs(os.path.join(config, "imapfs"))
        path = os.path.join(config, "imapfs", "config")
        with open(path, "w") as f:
            f.write(f"[work]\nhost = {d.host}\nport = {d.port_tls}\nuser = {d.user}\n"
                    f"tls = implicit\ncafile = {d.ca}\npassword_command = cat {self.pw}\n"
                    f"cache_dir = {self.tmp}/cache-account\n")
        os.chmod(path, 0o600)
        listed = self.mount_by_fstab("account", "work", "noauto,user,_netdev",
                                     env={"XDG_CONFIG_HOME": config})
        self.assertEqual(listed, sorted(uids(c, "INBOX")))
        self.assertGreater(len(listed), 0)

    @staticmethod
    def stop_leftover(mnt):
        """An imapfs left behind by a failed run: killed by its PID (the mount
        goes with its namespace)."""
        for pid in pids_with_arg(mnt):
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass


if __name__ == "__main__":
    unittest.main()
