/*
 * The mailbox tree: ids, levels found by name (mbox_index), which levels
 * show, and what happens to a mailbox that vanishes.
 *
 * A mailbox id is never given to another mailbox within a mount. The kernel
 * may still hold inodes carrying a vanished mailbox's id (an open directory,
 * a working directory, message names it keeps for a day), and they would
 * show the other mailbox's messages. So a vanished mailbox stays a
 * tombstone: its id answers ENOENT, its strings and messages are freed and
 * only its table entry stays; a mailbox created again under the same name
 * gets a new id. A mount thus hands out INO_MAX_MBOX ids in its life (views
 * of changed UIDVALIDITYs included); mailboxes past that are not shown.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "inode.h"
#include "mbox_index.h"
#include "model_int.h"

#define FIRST_MBOXES 16

int tree_init(struct model *m)
{
	m->mbox = calloc(FIRST_MBOXES, sizeof(*m->mbox));
	m->names = mbox_index_new();
	if (!m->mbox || !m->names)
		return -ENOMEM;
	m->capmbox = FIRST_MBOXES;
	m->nmbox = 1; /* [0]: the root */
	return 0;
}

void tree_free(struct model *m)
{
	for (size_t i = 1; i < m->nmbox; i++) {
		free(m->mbox[i].path);
		free(m->mbox[i].wire);
		msgs_free(m->mbox[i].msgs, m->mbox[i].nmsgs);
	}
	free(m->mbox);
	mbox_index_free(m->names);
}

/* A new, zeroed entry; the table doubles when full (it may move). */
static int id_new(struct model *m, uint32_t *id)
{
	if (m->nmbox > INO_MAX_MBOX)
		return -ENOSPC;
	if (m->nmbox == m->capmbox) {
		size_t cap = m->capmbox * 2 > INO_MAX_MBOX + 1 ? INO_MAX_MBOX + 1 : m->capmbox * 2;
		struct mbox *grown = realloc(m->mbox, cap * sizeof(*m->mbox));

		if (!grown)
			return -ENOMEM;
		m->mbox = grown;
		m->capmbox = cap;
	}
	memset(&m->mbox[m->nmbox], 0, sizeof(*m->mbox));
	*id = (uint32_t)m->nmbox++;
	return 0;
}

/* A new level: the first upto bytes of path, the last level starting at
 * leaf, below parent, after its other children. */
static int level_new(struct model *m, uint32_t parent, const char *path, size_t leaf,
		     size_t upto, uint32_t *id)
{
	struct mbox *b, *up;
	int rc = id_new(m, id);

	if (rc)
		return rc;
	b = &m->mbox[*id];
	b->path = strndup(path, upto);
	b->parent = parent;
	b->view = *id;
	if (b->path) {
		b->leaf = b->path + leaf;
		rc = mbox_index_put(m->names, parent, b->leaf, *id);
	}
	if (!b->path || rc) {
		free(b->path);
		m->nmbox--; /* the last entry, known to no one yet */
		return -ENOMEM;
	}
	up = &m->mbox[parent];
	if (up->last_child)
		m->mbox[up->last_child].next_sibling = *id;
	else
		up->first_child = *id;
	up->last_child = *id;
	dir_changed(m, *id);
	return 0;
}

int mbox_node(struct model *m, const char *path, uint32_t *id)
{
	uint32_t parent = 0, child;
	size_t at = 0, len;
	int rc;

	*id = 0;
	for (;;) {
		len = strcspn(path + at, "/");
		child = mbox_index_get(m->names, parent, path + at, len);
		if (!child && (rc = level_new(m, parent, path, at, at + len, &child)) != 0)
			return rc;
		if (!path[at + len])
			break;
		parent = child;
		at += len + 1;
	}
	*id = child;
	return 0;
}

uint32_t mbox_child(const struct model *m, uint32_t parent, const char *name)
{
	uint32_t id = mbox_index_get(m->names, parent, name, strlen(name));

	return id && m->mbox[id].visible ? id : 0;
}

bool mbox_visible(const struct model *m, uint32_t id)
{
	return m->mbox[id].visible;
}

int mbox_new_view(struct model *m, uint32_t id)
{
	uint32_t v;
	int rc = id_new(m, &v);

	if (rc)
		return rc;
	/* In no list and no index: never shown, never found by name. */
	m->mbox[v].view_of = id;
	m->mbox[id].view = v;
	return 0;
}

/* A level of the tree, not a tombstone or a view. */
static bool is_level(const struct mbox *b)
{
	return !b->gone && !b->view_of;
}

/* Makes a level that is no longer listed a tombstone. Its id stays out of
 * use and its links stay, so the lists it is in need no search. */
static void vanish(struct model *m, uint32_t id)
{
	struct mbox *b = &m->mbox[id];

	mbox_index_del(m->names, b->parent, b->leaf);
	/* The kernel keeps names below it for a day: they go with it. (1 is
	 * the root's inode, FUSE_ROOT_ID.) */
	inval_entry(m->inval, b->parent ? ino_make(INO_MBOX, b->parent, 0, 0) : 1, b->leaf);
	for (size_t i = 0; i < b->nmsgs; i++)
		if (b->msgs[i].header)
			m->header_bytes -= b->msgs[i].header_len;
	msgs_free(b->msgs, b->nmsgs);
	free(b->path);
	free(b->wire);
	b->path = b->wire = NULL;
	b->leaf = NULL;
	b->msgs = NULL;
	b->nmsgs = 0;
	b->present = b->seen = b->visible = b->loaded = b->dirty = false;
	b->view = 0;              /* msg_mbox finds none of its message inodes */
	b->uidvalidity = 0;       /* a fetch under way finds another generation */
	b->gone = true;
}

void tree_apply(struct model *m)
{
	for (size_t i = 1; i < m->nmbox; i++) {
		struct mbox *b = &m->mbox[i];

		if (!is_level(b) || b->present == b->seen)
			continue;
		b->present = b->seen;
		/* Every level above may appear or vanish with it. */
		for (uint32_t up = b->parent; ; up = m->mbox[up].parent) {
			dir_changed(m, up);
			if (up == 0)
				break;
		}
	}
	/* A level shows while it is listed or has a level below it that is:
	 * each present one marks its way up, to the first already marked. */
	for (size_t i = 1; i < m->nmbox; i++)
		m->mbox[i].visible = false;
	for (size_t i = 1; i < m->nmbox; i++) {
		if (!is_level(&m->mbox[i]) || !m->mbox[i].present)
			continue;
		for (uint32_t up = (uint32_t)i; up && !m->mbox[up].visible; up = m->mbox[up].parent)
			m->mbox[up].visible = true;
	}
	for (size_t i = 1; i < m->nmbox; i++)
		if (is_level(&m->mbox[i]) && !m->mbox[i].visible)
			vanish(m, (uint32_t)i);
}
