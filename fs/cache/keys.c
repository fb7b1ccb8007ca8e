#include "keys.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include <openssl/evp.h>

char *cache_key_message(const char *mailbox, uint32_t uidvalidity, uint32_t uid)
{
	char *key;

	if (asprintf(&key, "v1\nmessage\n%s\n%u\n%u", mailbox, uidvalidity, uid) < 0)
		return NULL;
	return key;
}

/* v2 of "content": text with LF line ends, where v1 kept the CRLF. A raw
 * copy is the server's bytes in every version. */
static const char *kind_version(const char *kind)
{
	return strcmp(kind, "content") == 0 ? "v2" : "v1";
}

char *cache_key_part(const char *kind, const char *mailbox, uint32_t uidvalidity, uint32_t uid,
		     const char *section)
{
	char *key;

	if (asprintf(&key, "%s\n%s\n%s\n%u\n%u\n%s", kind_version(kind), kind, mailbox,
		     uidvalidity, uid, section) < 0)
		return NULL;
	return key;
}

int cache_file_name(const char *key, char name[CACHE_NAME_LEN + 1])
{
	unsigned char md[CACHE_NAME_LEN / 2];
	unsigned int n = 0;

	if (!EVP_Digest(key, strlen(key), md, &n, EVP_sha256(), NULL) || n != sizeof(md))
		return -EIO;
	for (unsigned i = 0; i < sizeof(md); i++)
		snprintf(name + 2 * i, 3, "%02x", md[i]);
	return 0;
}
