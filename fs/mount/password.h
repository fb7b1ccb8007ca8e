/*
 * password — where the login secret comes from, in SPEC.md's order:
 * -o password_command=CMD (first line of its stdout, via /bin/sh -c),
 * else $IMAPFS_PASSWORD, else a prompt on the terminal with echo off.
 *
 *   char *pw = password_get(o.password_command, "alice@mail.example.org", err, sizeof err);
 *   ...
 *   password_free(pw);   // wiped before freeing
 *
 * Returns NULL with err "no password: ..." when none can be had (no command,
 * no variable and no terminal), or "password command failed: exit status 1".
 * The command may run at most 60 s.
 */
#ifndef IMAPFS_PASSWORD_H
#define IMAPFS_PASSWORD_H

#include <stddef.h>

char *password_get(const char *command, const char *account, char *err, size_t errlen);
void password_free(char *pw);

#endif
