/* Fuzz target: the broker's configuration as an operator (or a file someone
 * else wrote) gives it. The input up to the first NUL byte is a
 * server.properties file, read by config_load_file; each later NUL-separated
 * piece is one `--set key=value` argument, split as main.c splits it and
 * applied with config_set; then config_finish derives the rest (listeners,
 * ids, CPUs, time units) as at start. */
#include <assert.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "core/config.h"
#include "core/slog.h"

enum { FUZZ_SET_KEY_BYTES = 256 }; /* main.c's bound on a --set key */

static int properties_fd = -1;
static char properties_path[64];

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	/* Unknown keys warn; thousands of inputs a second would flood the output. */
	slog_set_level(SLOG_ERROR);
	properties_fd = memfd_create("fuzz-server.properties", 0);
	assert(properties_fd >= 0);
	snprintf(properties_path, sizeof(properties_path), "/proc/self/fd/%d", properties_fd);
	return 0;
}

/* One --set argument, NUL-terminated; rejected like main.c rejects it. */
static int fuzz_set(struct broker_config *cfg, const char *arg)
{
	const char *eq = strchr(arg, '=');
	if (!eq || eq == arg || (size_t)(eq - arg) >= FUZZ_SET_KEY_BYTES)
		return -1;
	char key[FUZZ_SET_KEY_BYTES];
	memcpy(key, arg, (size_t)(eq - arg));
	key[eq - arg] = '\0';
	char err[512];
	return config_set(cfg, key, eq + 1, err, sizeof(err));
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const uint8_t *nul = memchr(data, '\0', size);
	size_t file_len = nul ? (size_t)(nul - data) : size;
	if (ftruncate(properties_fd, 0) != 0 ||
	    pwrite(properties_fd, data, file_len, 0) != (ssize_t)file_len)
		abort();

	struct broker_config cfg;
	config_defaults(&cfg);
	char err[512];
	if (config_load_file(&cfg, properties_path, err, sizeof(err)) != 0)
		return 0;

	/* The --set pieces, each copied to its own exactly sized string. */
	size_t pos = nul ? file_len + 1 : size;
	while (pos < size) {
		const uint8_t *end = memchr(data + pos, '\0', size - pos);
		size_t len = end ? (size_t)(end - (data + pos)) : size - pos;
		char *arg = malloc(len + 1);
		assert(arg);
		memcpy(arg, data + pos, len);
		arg[len] = '\0';
		int rc = fuzz_set(&cfg, arg);
		free(arg);
		if (rc != 0)
			return 0;
		pos += len + 1;
	}
	config_finish(&cfg, err, sizeof(err));
	return 0;
}
