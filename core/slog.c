/* The logger behind log.h: formats a whole line, then writes it with one call so
 * that lines from different shards never interleave.
 *
 * Messages carry peer-supplied strings (group, member, client and topic ids),
 * so the formatted message is escaped before it is written, here and not at
 * the call sites, which could forget: a peer can neither end a line nor send
 * terminal escapes. sluice's own format strings contain no control characters.
 * Escaped: every C0 control byte and DEL (\n, \r, \t by name, the rest as
 * \xNN), the backslash itself (\\, so that an escape seen in the log was made
 * here), bytes that are not part of well-formed UTF-8 (overlong forms,
 * surrogates, code points past U+10FFFF, stray continuation bytes: \xNN each)
 * and the C1 controls U+0080..U+009F (their two bytes as \xNN, since some
 * terminals act on them). Well-formed UTF-8 text is kept as it is. The
 * overlong two-byte NUL (C0 80, Java's modified UTF-8 for U+0000) is printed
 * as \x00: it is how slog_str passes a NUL of a peer's string through the
 * formatting, where a NUL would end the message. */
#include "core/slog.h"

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

enum {
	SLOG_MESSAGE_BYTES = 2048,
	SLOG_TIME_LEVEL_BYTES = 64,
	SLOG_COMPONENT_BYTES = 32,
	SLOG_ESCAPE_MAX_BYTES = 4, /* one input byte becomes at most \xNN */
	/* One write(2) of at most PIPE_BUF bytes is atomic on a pipe too. */
	SLOG_LINE_BYTES = 4096,
};

/* The overlong form of U+0000 that slog_str writes for a NUL byte. */
static const uint8_t SLOG_NUL_LEAD = 0xc0, SLOG_NUL_TRAIL = 0x80;

static enum slog_level slog_min_level = SLOG_INFO;

void slog_set_level(enum slog_level min_level)
{
	slog_min_level = min_level;
}

/* The length of the well-formed UTF-8 sequence (RFC 3629) starting at p, or 0
 * when the bytes there are not one. */
static size_t slog_utf8_length(const uint8_t *p, size_t n)
{
	uint8_t c = p[0];
	size_t len;
	uint8_t lo = 0x80, hi = 0xbf; /* the allowed range of the second byte */
	if (c >= 0xc2 && c <= 0xdf) {
		len = 2;
	} else if (c >= 0xe0 && c <= 0xef) {
		len = 3;
		lo = c == 0xe0 ? 0xa0 : 0x80; /* no overlong forms */
		hi = c == 0xed ? 0x9f : 0xbf; /* no surrogates */
	} else if (c >= 0xf0 && c <= 0xf4) {
		len = 4;
		lo = c == 0xf0 ? 0x90 : 0x80; /* no overlong forms */
		hi = c == 0xf4 ? 0x8f : 0xbf; /* nothing past U+10FFFF */
	} else {
		return 0;
	}
	if (n < len || p[1] < lo || p[1] > hi)
		return 0;
	for (size_t i = 2; i < len; i++)
		if (p[i] < 0x80 || p[i] > 0xbf)
			return 0;
	return len;
}

static size_t slog_put_hex(char *out, uint8_t c)
{
	static const char digits[] = "0123456789abcdef";
	out[0] = '\\';
	out[1] = 'x';
	out[2] = digits[c >> 4];
	out[3] = digits[c & 0xf];
	return 4;
}

/* Writes the escaped form of in[0..n) to out[0..cap), never splitting an
 * escape or a UTF-8 sequence; returns the bytes written and sets *all when
 * the whole input fitted. */
static size_t slog_escape(char *out, size_t cap, const uint8_t *in, size_t n, bool *all)
{
	size_t o = 0;
	size_t i = 0;
	while (i < n) {
		uint8_t c = in[i];
		char esc[SLOG_ESCAPE_MAX_BYTES * 4];
		size_t esc_len = 0;
		size_t used = 1;
		const char *named = c == '\\' ? "\\\\" : c == '\n' ? "\\n" : c == '\r' ? "\\r"
				  : c == '\t' ? "\\t" : NULL;
		if (c >= 0x20 && c < 0x7f && c != '\\') {
			esc[esc_len++] = (char)c;
		} else if (c == SLOG_NUL_LEAD && i + 1 < n && in[i + 1] == SLOG_NUL_TRAIL) {
			esc_len += slog_put_hex(esc, 0);
			used = 2;
		} else if (named) {
			esc[esc_len++] = named[0];
			esc[esc_len++] = named[1];
		} else {
			size_t len = c >= 0x80 ? slog_utf8_length(in + i, n - i) : 0;
			bool c1_control = len == 2 && c == 0xc2 && in[i + 1] <= 0x9f;
			used = len ? len : 1;
			for (size_t k = 0; k < used; k++) {
				if (len == 0 || c1_control)
					esc_len += slog_put_hex(esc + esc_len, in[i + k]);
				else
					esc[esc_len++] = (char)in[i + k];
			}
		}
		if (o + esc_len > cap)
			break;
		memcpy(out + o, esc, esc_len);
		o += esc_len;
		i += used;
	}
	*all = i == n;
	return o;
}

void slog(enum slog_level level, const char *component, const char *fmt, ...)
{
	static const char *const names[] = { "DEBUG", "INFO", "WARN", "ERROR" };
	if (level < slog_min_level)
		return;
	char msg[SLOG_MESSAGE_BYTES];
	va_list ap;
	va_start(ap, fmt);
	int m = vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	bool msg_cut = m < 0 || (size_t)m >= sizeof(msg);
	size_t msg_len = m < 0 ? 0 : msg_cut ? sizeof(msg) - 1 : (size_t)m;
	char line[SLOG_LINE_BYTES];
	struct timespec ts;
	struct tm tm;
	clock_gettime(CLOCK_REALTIME, &ts);
	gmtime_r(&ts.tv_sec, &tm);
	int p = snprintf(line, SLOG_TIME_LEVEL_BYTES, "%04d-%02d-%02dT%02d:%02d:%02d.%03ldZ %s ",
			 tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min,
			 tm.tm_sec, ts.tv_nsec / 1000000, names[level]);
	size_t n = p < 0 ? 0 : (size_t)p < SLOG_TIME_LEVEL_BYTES ? (size_t)p : SLOG_TIME_LEVEL_BYTES - 1;
	/* The component is one of our own names, but nothing reaches the log
	 * unescaped. Room is kept for the marker of a cut message and the
	 * newline. */
	static const char cut[] = "...";
	size_t cap = SLOG_LINE_BYTES - (sizeof(cut) - 1) - 1;
	bool all = true;
	n += slog_escape(line + n, cap - n, (const uint8_t *)component,
			 strnlen(component, SLOG_COMPONENT_BYTES), &all);
	line[n++] = ':';
	line[n++] = ' ';
	n += slog_escape(line + n, cap - n, (const uint8_t *)msg, msg_len, &all);
	if (!all || msg_cut) {
		memcpy(line + n, cut, sizeof(cut) - 1);
		n += sizeof(cut) - 1;
	}
	line[n++] = '\n';
	ssize_t w = write(STDERR_FILENO, line, n);
	(void)w;
}

const char *slog_str(char *buf, size_t cap, const char *ptr, int32_t len)
{
	static const char null_text[] = "null", cut[] = "...";
	if (len < 0) {
		snprintf(buf, cap, "%s", null_text);
		return buf;
	}
	size_t o = 0;
	size_t room = cap - sizeof(cut); /* for the cut marker and the final NUL */
	int32_t i = 0;
	for (; i < len; i++) {
		size_t need = ptr[i] == '\0' ? 2 : 1;
		if (o + need > room)
			break;
		if (ptr[i] == '\0') {
			buf[o++] = (char)SLOG_NUL_LEAD;
			buf[o++] = (char)SLOG_NUL_TRAIL;
		} else {
			buf[o++] = ptr[i];
		}
	}
	if (i < len) {
		memcpy(buf + o, cut, sizeof(cut) - 1);
		o += sizeof(cut) - 1;
	}
	buf[o] = '\0';
	return buf;
}
