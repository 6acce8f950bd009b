/* Command-line options of one sub-command: a table of the flags it takes,
 * parsed once, generically, with usage errors that name the flag. */
#ifndef SLUICE_ADMIN_ARGS_H
#define SLUICE_ADMIN_ARGS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Repeats of one flag (--topic a --topic b) kept; more is a usage error. */
#define ARGS_REPEATS_MAX 64
/* Flags one sub-command may declare, the global ones included. */
#define ARGS_SPECS_MAX 24
#define ARGS_ERROR_BYTES 320

enum arg_kind {
	ARG_FLAG,   /* --execute */
	ARG_VALUE,  /* --topic NAME, the last one wins */
	ARG_REPEAT, /* --config k=v, every one kept */
};

struct arg_spec {
	const char *name; /* with its leading dashes: "--topic" */
	enum arg_kind kind;
	const char *metavar;
	const char *help;
};

struct arg_values {
	size_t count;
	const char *values[ARGS_REPEATS_MAX];
};

struct args {
	const struct arg_spec *specs;
	size_t spec_count;
	struct arg_values got[ARGS_SPECS_MAX];
	char error[ARGS_ERROR_BYTES];
};

/* The options every sub-command takes, listed after its own. */
extern const struct arg_spec args_global_specs[];
extern const size_t args_global_spec_count;

/* Parses argv[0..argc) against specs (ended by a NULL name; the global
 * ones are added). 0, or -1 with
 * a->error naming the offending flag. */
int args_parse(struct args *a, const struct arg_spec *specs, int argc, char **argv);
bool args_has(const struct args *a, const char *name);
/* The last value given for name, or NULL. */
const char *args_value(const struct args *a, const char *name);
const struct arg_values *args_values(const struct args *a, const char *name);
/* Reads name as a whole number in [min, max]; absent gives dflt. 0, or -1
 * with a->error naming the flag. */
int args_int64(struct args *a, const char *name, int64_t min, int64_t max, int64_t dflt,
	       int64_t *out);
/* -1 with a->error saying that name is required, when it is absent. */
int args_require(struct args *a, const char *name);
/* -1 with a->error when more than one of names[0..n) is given, or (when
 * need_one) none is. */
int args_one_of(struct args *a, const char *const *names, size_t n, bool need_one);
/* Prints the options table of specs (and the global ones) to stdout. */
void args_print_help(const struct arg_spec *specs);

#endif
