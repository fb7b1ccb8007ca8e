#include "eml.h"

#include <string.h>

enum {
	LINE_START,   /* a header line begins */
	NAME,         /* in a field name */
	NAME_WSP,     /* whitespace after a name, before its colon (obsolete syntax) */
	VALUE,        /* in a field's value */
	END_CR,       /* the CR of the empty line that ends the header */
	BODY,         /* past the header */
};

void eml_scan_init(struct eml_scan *s)
{
	memset(s, 0, sizeof(*s));
	s->state = LINE_START;
}

static bool name_char(unsigned char ch)
{
	return ch >= 33 && ch <= 126 && ch != ':';
}

static void id_add(struct eml_scan *s, char ch)
{
	if (s->id_len < EML_ID_MAX && !(s->id_len == 0 && (ch == ' ' || ch == '\t')))
		s->message_id[s->id_len++] = ch;
}

/* The first Message-ID field's value is kept while it lasts. */
static void field_ends(struct eml_scan *s)
{
	if (!s->in_id)
		return;
	s->in_id = false;
	while (s->id_len && (s->message_id[s->id_len - 1] == ' ' ||
			     s->message_id[s->id_len - 1] == '\t' ||
			     s->message_id[s->id_len - 1] == '\r'))
		s->id_len--;
	s->message_id[s->id_len] = 0;
}

static void at_line_start(struct eml_scan *s, unsigned char ch)
{
	if (ch == ' ' || ch == '\t') {
		s->bad = s->fields == 0; /* a continuation of nothing */
		s->state = VALUE;
		if (s->in_id)
			id_add(s, (char)ch);
		return;
	}
	field_ends(s);
	if (ch == '\r' || ch == '\n') {
		s->bad = s->fields == 0; /* no header at all */
		s->state = ch == '\r' ? END_CR : BODY;
	} else if (name_char(ch)) {
		s->state = NAME;
		s->name_len = 0;
		s->name[s->name_len++] = (char)(ch >= 'A' && ch <= 'Z' ? ch | 0x20 : ch);
	} else {
		s->bad = true;
	}
}

static void in_name(struct eml_scan *s, unsigned char ch)
{
	if (ch == ':') {
		s->fields++;
		s->state = VALUE;
		s->name[s->name_len < sizeof(s->name) ? s->name_len : sizeof(s->name) - 1] = 0;
		s->in_id = s->id_len == 0 && strcmp(s->name, "message-id") == 0;
	} else if (ch == ' ' || ch == '\t') {
		s->state = NAME_WSP;
	} else if (s->state == NAME && name_char(ch)) {
		if (s->name_len < sizeof(s->name) - 1)
			s->name[s->name_len++] = (char)(ch >= 'A' && ch <= 'Z' ? ch | 0x20 : ch);
		else
			s->name_len = sizeof(s->name); /* too long to be one we look for */
	} else {
		s->bad = true;
	}
}

static void scan_byte(struct eml_scan *s, unsigned char ch)
{
	switch (s->state) {
	case LINE_START:
		at_line_start(s, ch);
		break;
	case NAME:
	case NAME_WSP:
		in_name(s, ch);
		break;
	case VALUE:
		if (ch == '\n')
			s->state = LINE_START;
		else if (ch == 0)
			s->bad = true;
		else if (s->in_id && ch != '\r')
			id_add(s, (char)ch);
		break;
	case END_CR:
		s->bad = ch != '\n';
		s->state = BODY;
		break;
	}
	if (s->state == BODY && !s->bad && s->header_crlf == 0)
		s->header_crlf = s->size_crlf + 1 + (ch == '\n' && s->prev != '\r');
}

void eml_scan_feed(struct eml_scan *s, const char *buf, size_t len)
{
	for (size_t i = 0; i < len; i++) {
		unsigned char ch = (unsigned char)buf[i];

		if (!s->bad && s->state != BODY)
			scan_byte(s, ch);
		if (ch == '\n' && s->prev != '\r') {
			s->bare_lf++;
			s->size_crlf++;
		}
		s->size_crlf++;
		s->size++;
		s->prev = (char)ch;
	}
}

bool eml_scan_end(struct eml_scan *s)
{
	if (s->bad || s->fields == 0)
		return false;
	switch (s->state) {
	case LINE_START:
	case VALUE:
		field_ends(s);
		s->header_crlf = s->size_crlf; /* a header alone is the message */
		return true;
	case BODY:
		field_ends(s);
		return true;
	default:
		return false; /* ends inside a name, or in a lone CR */
	}
}

size_t eml_crlf(struct eml_crlf *c, const char *in, size_t len, char *out)
{
	size_t n = 0;

	for (size_t i = 0; i < len; i++) {
		if (in[i] == '\n' && c->prev != '\r')
			out[n++] = '\r';
		out[n++] = in[i];
		c->prev = in[i];
	}
	return n;
}
