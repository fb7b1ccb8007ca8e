/*
 * mbox_names — mailbox names as the mount shows them (SPEC.md "Layout").
 *
 *   char *shown = names_escape("2026");        // "%32026"
 *   char *shown = names_escape("a/b");         // "a%2Fb"  (a '/' inside one level)
 *   char *shown = names_escape("a\x1b[2J");    // "a%1B[2J" (no control characters)
 *   char *level = names_unescape("%2Eold");    // ".old"
 *
 * Works on one hierarchy level (a path component), already decoded from
 * modified UTF-7 to UTF-8. '%' becomes %25, '/' %2F and every byte of a
 * control character %XX everywhere (C0 and DEL: a tab is %09; C1, U+0080 to
 * U+009F, both of its UTF-8 bytes: U+0085 is %C2%85); a name that is all
 * decimal digits or begins with '.' has its first character escaped
 * (%3X / %2E). Escapes use upper-case hex. The empty name cannot be shown:
 * names_escape returns NULL with errno EINVAL. names_unescape returns NULL with
 * errno EINVAL for a name that names_escape could not have produced (bad or
 * needless escapes, a bare '.' start, all digits), so lookups of made-up names
 * fail with ENOENT. Both return malloc'd strings (NULL/ENOMEM).
 */
#ifndef IMAPFS_MBOX_NAMES_H
#define IMAPFS_MBOX_NAMES_H

char *names_escape(const char *level);
char *names_unescape(const char *shown);

#endif
