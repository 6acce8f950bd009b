/* Structured log lines on stderr: `<UTC time> <LEVEL> <component>: message`.
 * One line per event; callers name the key, file or peer involved. */
#ifndef SLUICE_CORE_SLOG_H
#define SLUICE_CORE_SLOG_H

#include <stddef.h>
#include <stdint.h>

enum slog_level { SLOG_DEBUG, SLOG_INFO, SLOG_WARN, SLOG_ERROR };

void slog_set_level(enum slog_level min_level);
void slog(enum slog_level level, const char *component, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

enum { SLOG_STR_BYTES = 256 };

/* A peer's string view (ptr, len; len -1: null) as text for a "%s" of a log
 * line, written into buf: a NUL byte, which would end a C string, is
 * written as Java's two-byte form of U+0000 (C0 80), which the logger prints
 * as \x00; a longer string is cut and ends in "...". Returns buf. */
const char *slog_str(char *buf, size_t cap, const char *ptr, int32_t len);
/* slog_str of a struct kstr into a buffer that lives until the end of the
 * statement (the slog call). */
#define SLOG_STR(s) slog_str((char[SLOG_STR_BYTES]){ 0 }, SLOG_STR_BYTES, (s).ptr, (s).len)

#define slog_debug(comp, ...) slog(SLOG_DEBUG, comp, __VA_ARGS__)
#define slog_info(comp, ...) slog(SLOG_INFO, comp, __VA_ARGS__)
#define slog_warn(comp, ...) slog(SLOG_WARN, comp, __VA_ARGS__)
#define slog_error(comp, ...) slog(SLOG_ERROR, comp, __VA_ARGS__)

#endif
