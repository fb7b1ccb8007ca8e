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

char *cache_key_part(const char *kind, const char *mailbox, uint32_t uidvalidity, uint32_t uid,
		     const char *section)
{
	char *key;

	if (asprintf(&key, "v1\n%s\n%s\n%u\n%u\n%s", kind, mailbox, uidvalidity, uid,
		     section) < 0)
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
