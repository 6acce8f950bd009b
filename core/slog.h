/* Structured log lines on stderr: `<UTC time> <LEVEL> <component>: message`.
 * One line per event; callers name the key, file or peer involved. */
#ifndef SLUICE_CORE_SLOG_H
#define SLUICE_CORE_SLOG_H

enum slog_level { SLOG_DEBUG, SLOG_INFO, SLOG_WARN, SLOG_ERROR };

void slog_set_level(enum slog_level min_level);
void slog(enum slog_level level, const char *component, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

#define slog_debug(comp, ...) slog(SLOG_DEBUG, comp, __VA_ARGS__)
#define slog_info(comp, ...) slog(SLOG_INFO, comp, __VA_ARGS__)
#define slog_warn(comp, ...) slog(SLOG_WARN, comp, __VA_ARGS__)
#define slog_error(comp, ...) slog(SLOG_ERROR, comp, __VA_ARGS__)

#endif
