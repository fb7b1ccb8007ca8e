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
#include <stdio.h>
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
		summary_forget(&m->mbox[i]);
	}
	free(m->mbox);
	mbox_index_free(m->names);
	for (size_t i = 0; i < GONE_NAMES; i++)
		free(m->gone[i].path);
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
	summary_forget(b);
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

/* Which levels show: a level shows while it is listed or has a level below
 * it that is; the others become tombstones. */
static void show_levels(struct model *m)
{
	/* Each present level marks its way up, to the first already marked. */
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

/* Directory id and every level above it have new entries (or may show or
 * vanish with them). */
static void changed_up(struct model *m, uint32_t id)
{
	for (;; id = m->mbox[id].parent) {
		dir_changed(m, id);
		if (id == 0)
			break;
	}
}

void tree_apply(struct model *m)
{
	for (size_t i = 1; i < m->nmbox; i++) {
		struct mbox *b = &m->mbox[i];

		if (is_level(b) && b->present && !b->seen && clock_ms_since(&b->pinned_until) < 0)
			b->seen = true; /* made here lately: the server's list lags */
		if (!is_level(b) || b->present == b->seen)
			continue;
		b->present = b->seen;
		changed_up(m, b->parent);
	}
	show_levels(m);
}

/* ---- the writer's own changes (mailbox_write.c), shown at once ------------ */

/*
 * A LIST sent before such a change may answer without it: tree_gen tells
 * ensure_listed not to apply that answer. And a LIST sent after it may
 * still not show it: Dovecot's LIST in one session misses for seconds a
 * mailbox another session made (its list index; one time in 40 here). So
 * for PIN_MS a mailbox made or renamed here stays though a LIST lacks it
 * (mbox.pinned_until), and a path removed or renamed away stays away
 * though a LIST has it (model.gone); after that the server's list rules.
 */
#define PIN_MS 30000

static void gone_drop(struct model *m, const char *path)
{
	for (size_t i = 0; i < GONE_NAMES; i++) {
		if (m->gone[i].path && strcmp(m->gone[i].path, path) == 0) {
			free(m->gone[i].path);
			m->gone[i].path = NULL;
		}
	}
}

/* Notes path as removed here (nothing when out of memory: the next LIST
 * may show it again a while). */
static void gone_note(struct model *m, const char *path)
{
	struct gone_name *g = &m->gone[m->gone_next];

	free(g->path);
	g->path = strdup(path);
	clock_deadline(&g->until, PIN_MS);
	m->gone_next = (m->gone_next + 1) % GONE_NAMES;
}

bool tree_recently_gone(const struct model *m, const char *path)
{
	for (size_t i = 0; i < GONE_NAMES; i++) {
		const struct gone_name *g = &m->gone[i];
		size_t n = g->path ? strlen(g->path) : 0;

		if (g->path && clock_ms_since(&g->until) < 0 && strncmp(path, g->path, n) == 0 &&
		    (path[n] == 0 || path[n] == '/'))
			return true;
	}
	return false;
}

static void writer_changed(struct model *m, uint32_t id, bool present)
{
	m->mbox[id].present = m->mbox[id].seen = present;
	changed_up(m, m->mbox[id].parent);
	show_levels(m);
	m->tree_gen++;
}

int tree_add(struct model *m, const char *path, const char *wire, char delim, uint32_t *id)
{
	char *copy = strdup(wire);
	struct mbox *b;
	int rc;

	if (!copy)
		return -ENOMEM;
	rc = mbox_node(m, path, id);
	if (rc) {
		free(copy);
		return rc;
	}
	b = &m->mbox[*id];
	free(b->wire);
	b->wire = copy;
	b->delim = delim;
	b->attrs = 0;
	b->loaded = false;
	rights_forget(b);
	clock_deadline(&b->pinned_until, PIN_MS);
	gone_drop(m, path);
	writer_changed(m, *id, true);
	return 0;
}

void tree_remove(struct model *m, uint32_t id)
{
	bool below = false;

	for (uint32_t c = m->mbox[id].first_child; c; c = m->mbox[c].next_sibling)
		below = below || m->mbox[c].visible;
	if (!below)
		gone_note(m, m->mbox[id].path); /* not its children's names */
	m->mbox[id].pinned_until = (struct timespec){ 0 };
	writer_changed(m, id, false);
	if (!m->mbox[id].gone) {
		/* Still a level of its children's names, no longer a mailbox. */
		free(m->mbox[id].wire);
		m->mbox[id].wire = NULL;
	}
}

/* Level id and every level below it (not tombstones), id first: malloc'd. */
static uint32_t *subtree(const struct model *m, uint32_t id, size_t *n)
{
	size_t cap = 16;
	uint32_t *ids = malloc(cap * sizeof(*ids));

	if (!ids)
		return NULL;
	ids[0] = id;
	*n = 1;
	for (size_t i = 0; i < *n; i++) {
		for (uint32_t c = m->mbox[ids[i]].first_child; c; c = m->mbox[c].next_sibling) {
			if (m->mbox[c].gone)
				continue;
			if (*n == cap) {
				uint32_t *grown = realloc(ids, 2 * cap * sizeof(*ids));

				if (!grown) {
					free(ids);
					return NULL;
				}
				ids = grown;
				cap *= 2;
			}
			ids[(*n)++] = c;
		}
	}
	return ids;
}

/* The wire name of a level below a renamed one: its old name with the
 * renamed one's old name (from) at its start replaced by to. */
static char *rewire(const char *old, const char *from, const char *to)
{
	size_t n = from ? strlen(from) : 0;
	char *out;

	if (!old)
		return NULL;
	if (!from || strncmp(old, from, n) != 0)
		return strdup(old); /* not named after it: left as it is */
	out = malloc(strlen(to) + strlen(old + n) + 1);
	if (out)
		sprintf(out, "%s%s", to, old + n);
	return out;
}

/* Takes level id out of its parent's list of children. */
static void unlink_child(struct model *m, uint32_t id)
{
	struct mbox *up = &m->mbox[m->mbox[id].parent];
	uint32_t prev = 0;

	for (uint32_t c = up->first_child; c && c != id; c = m->mbox[c].next_sibling)
		prev = c;
	if (prev)
		m->mbox[prev].next_sibling = m->mbox[id].next_sibling;
	else
		up->first_child = m->mbox[id].next_sibling;
	if (up->last_child == id)
		up->last_child = prev;
	m->mbox[id].next_sibling = 0;
}

static void link_child(struct model *m, uint32_t parent, uint32_t id)
{
	struct mbox *up = &m->mbox[parent];

	if (up->last_child)
		m->mbox[up->last_child].next_sibling = id;
	else
		up->first_child = id;
	up->last_child = id;
	m->mbox[id].parent = parent;
}

static void free_names(char **paths, char **wires, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		free(paths[i]);
		free(wires[i]);
	}
	free(paths);
	free(wires);
}

/* New paths and wire names for the levels ids (ids[0] the renamed one). */
static int new_names(const struct model *m, const uint32_t *ids, size_t n, const char *path,
		     const char *wire, char **paths, char **wires)
{
	const struct mbox *top = &m->mbox[ids[0]];
	size_t old = strlen(top->path);

	for (size_t i = 0; i < n; i++) {
		const struct mbox *b = &m->mbox[ids[i]];

		paths[i] = malloc(strlen(path) + strlen(b->path + old) + 1);
		if (paths[i])
			sprintf(paths[i], "%s%s", path, b->path + old);
		wires[i] = i == 0 ? strdup(wire) : rewire(b->wire, top->wire, wire);
		if (!paths[i] || (b->wire || i == 0) != (wires[i] != NULL))
			return -ENOMEM;
	}
	return 0;
}

int tree_move(struct model *m, uint32_t id, uint32_t to, const char *path, const char *wire)
{
	size_t n = 0;
	uint32_t *ids = subtree(m, id, &n), from = m->mbox[id].parent, there;
	char **paths = ids ? calloc(n, sizeof(char *)) : NULL;
	char **wires = ids ? calloc(n, sizeof(char *)) : NULL;
	const char *leaf = strrchr(path, '/') ? strrchr(path, '/') + 1 : path;

	if (!paths || !wires || new_names(m, ids, n, path, wire, paths, wires)) {
		if (paths && wires)
			free_names(paths, wires, n);
		else {
			free(paths);
			free(wires);
		}
		free(ids);
		return -ENOMEM;
	}
	/* A level of that name that does not show (the caller refused a shown
	 * one) gives way. */
	there = mbox_index_get(m->names, to, leaf, strlen(leaf));
	if (there && there != id)
		vanish(m, there);
	gone_note(m, m->mbox[id].path);
	gone_drop(m, path);
	for (size_t i = 0; i < n; i++) {
		struct mbox *b = &m->mbox[ids[i]];
		size_t keep = strlen(b->leaf);

		/* The index borrows the leaf: out before the path goes. */
		mbox_index_del(m->names, b->parent, b->leaf);
		free(b->path);
		free(b->wire);
		b->path = paths[i];
		b->wire = wires[i];
		b->leaf = i == 0 ? b->path + (leaf - path) : b->path + strlen(b->path) - keep;
		b->dirty = b->dirty || b->loaded; /* its metadata go under the new name */
		clock_deadline(&b->pinned_until, PIN_MS);
	}
	unlink_child(m, id);
	link_child(m, to, id);
	/* Same count as taken out: the index does not grow, so cannot fail. */
	for (size_t i = 0; i < n; i++)
		mbox_index_put(m->names, m->mbox[ids[i]].parent, m->mbox[ids[i]].leaf, ids[i]);
	free(paths);
	free(wires);
	free(ids);
	changed_up(m, from);
	changed_up(m, to);
	show_levels(m);
	m->tree_gen++;
	return 0;
}
