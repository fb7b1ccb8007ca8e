/*
 * config — named accounts in ~/.config/imapfs/config, so that
 * `imapfs work ~/mail` needs no options. The file:
 *
 *   # comments start with '#' or ';' on a line of their own
 *   [work]                         an account: letters, digits, '.', '_', '-'
 *   host = mail.example.org
 *   user = alice@example.org       every value runs to the end of its line, blanks trimmed;
 *   password_command = pass show work   "double quotes" keep blanks (\" and \\ inside)
 *   ro = yes                       flags (ro, allow_plaintext) are yes or no
 *
 * Keys are the -o options: host port user tls cafile tls_verify allow_plaintext
 * password_command password auth tunnel connections cache_dir cache_size ro.
 * A leading "~/" in cafile and cache_dir means $HOME. `password` is refused
 * unless the file is the user's own with no access for group or others;
 * a file another user can change is refused whole (it runs commands).
 * Errors read "PATH:LINE: what is wrong"; values are checked by options.c.
 *
 *   struct config *c;
 *   if (config_load(path, false, &c, err, sizeof err) < 0) die(err);
 *   const struct config_account *a = config_account(c, "work");
 *   for (size_t i = 0; a && i < config_entries(a); i++) config_entry(a, i, &key, &val, &line);
 *   config_free(c);
 */
#ifndef IMAPFS_CONFIG_H
#define IMAPFS_CONFIG_H

#include <stdbool.h>
#include <stddef.h>

struct config;
struct config_account;

/* The default file: $XDG_CONFIG_HOME/imapfs/config (an absolute value only),
 * else $HOME/.config/imapfs/config. malloc'd; NULL when neither is set. */
char *config_default_path(void);

/* Reads and checks PATH. A missing file is an empty config unless must_exist.
 * 0 with *out set, or -1 with *out NULL and err "PATH:LINE: ..." or "PATH: ...". */
int config_load(const char *path, bool must_exist, struct config **out, char *err,
		size_t errlen);
void config_free(struct config *c);

const char *config_path(const struct config *c);
/* The account called NAME, or NULL. */
const struct config_account *config_account(const struct config *c, const char *name);
/* The line of the account's [NAME]. */
unsigned config_account_line(const struct config_account *a);
size_t config_entries(const struct config_account *a);
/* The i-th KEY = VALUE of the account, in file order, and its line. */
void config_entry(const struct config_account *a, size_t i, const char **key,
		  const char **value, unsigned *line);

#endif
