/* sluice: `sluice [--config server.properties] [--set key=value ...]`.
 * Loads the configuration (file, then --set overrides in order), starts the
 * broker, and runs it until SIGTERM or SIGINT, telling systemd (a
 * `Type=notify` unit) when it serves and when it stops. */
#include <errno.h>
#include <signal.h>
#ifdef SLUICE_JEMALLOC
#include <jemalloc/jemalloc.h>
#endif
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>

#include "core/broker.h"
#include "core/config.h"
#include "core/slog.h"
#include "io/sd_notify.h"

static struct broker the_broker;

static void main_on_signal(int sig)
{
	(void)sig;
	atomic_store(&the_broker.rt.stop_requested, 1);
}

static void main_usage(FILE *out)
{
	fprintf(out,
		"usage: sluice [--config FILE] [--set key=value ...]\n"
		"  --config FILE     a server.properties file (Kafka's key names)\n"
		"  --set key=value   override one setting; later ones win\n"
		"  --version         the version\n"
		"  --help            this text\n"
		"Defaults: listeners=PLAINTEXT://127.0.0.1:9092, log.dirs=/tmp/sluice-logs.\n");
}

/* Applies the command line; returns 0, 1 for --help or --version, or -1
 * after a message. */
static int main_parse_args(struct broker_config *cfg, int argc, char **argv)
{
	char err[512];
	for (int i = 1; i < argc; i++) {
		const char *arg = argv[i];
		if (strcmp(arg, "--help") == 0 || strcmp(arg, "-h") == 0) {
			main_usage(stdout);
			return 1;
		}
		if (strcmp(arg, "--version") == 0) {
			printf("sluice %s\n", SLUICE_VERSION);
			return 1;
		}
		bool takes_value = strcmp(arg, "--config") == 0 || strcmp(arg, "--set") == 0;
		if (!takes_value) {
			fprintf(stderr, "sluice: unknown argument '%s'\n", arg);
			main_usage(stderr);
			return -1;
		}
		if (i + 1 >= argc) {
			fprintf(stderr, "sluice: %s needs a value\n", arg);
			return -1;
		}
		const char *value = argv[++i];
		if (strcmp(arg, "--config") == 0) {
			if (config_load_file(cfg, value, err, sizeof(err)) != 0) {
				fprintf(stderr, "sluice: %s\n", err);
				return -1;
			}
			continue;
		}
		const char *eq = strchr(value, '=');
		if (!eq || eq == value) {
			fprintf(stderr, "sluice: --set needs key=value, got '%s'\n", value);
			return -1;
		}
		char key[256];
		size_t klen = (size_t)(eq - value);
		if (klen >= sizeof(key)) {
			fprintf(stderr, "sluice: --set key too long: '%s'\n", value);
			return -1;
		}
		memcpy(key, value, klen);
		key[klen] = '\0';
		if (config_set(cfg, key, eq + 1, err, sizeof(err)) != 0) {
			fprintf(stderr, "sluice: %s\n", err);
			return -1;
		}
	}
	if (config_finish(cfg, err, sizeof(err)) != 0) {
		fprintf(stderr, "sluice: %s\n", err);
		return -1;
	}
	return 0;
}

/* A failure to notify never stops the broker: systemd's start timeout
 * reports it, and the log says why. */
static void main_notify(const char *state)
{
	int rc = sd_notify_send(state);
	if (rc < 0)
		slog_warn("broker", "cannot notify systemd (%s): %s", state, strerror(-rc));
}

static void main_on_serving(void)
{
	main_notify("READY=1\nSTATUS=serving");
}

#ifdef SLUICE_JEMALLOC
/* Each shard allocates from its own jemalloc arena, so shards never contend
 * on an arena lock; memory a message carries to another shard is freed
 * there, which jemalloc returns to the owning arena. */
static void main_shard_arena(uint32_t shard)
{
	unsigned arena;
	size_t len = sizeof(arena);
	if (mallctl("arenas.create", &arena, &len, NULL, 0) != 0 ||
	    mallctl("thread.arena", NULL, NULL, &arena, sizeof(arena)) != 0)
		fprintf(stderr, "sluice: shard %u keeps the default allocator arena\n", shard);
}
#endif

/* Every connection, segment file and pipe is a descriptor: the soft limit
 * (often 1024) goes up to the hard limit, which only an administrator can
 * raise; the figure is logged, since the connections' reserve is cut from it. */
static void main_raise_fd_limit(void)
{
	struct rlimit rl;
	if (getrlimit(RLIMIT_NOFILE, &rl) != 0) {
		slog_warn("broker", "RLIMIT_NOFILE: cannot read it: %s", strerror(errno));
		return;
	}
	rlim_t was = rl.rlim_cur;
	if (rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		if (setrlimit(RLIMIT_NOFILE, &rl) != 0) {
			slog_warn("broker", "RLIMIT_NOFILE: cannot raise the soft limit %llu to the hard "
				  "limit %llu: %s", (unsigned long long)was,
				  (unsigned long long)rl.rlim_max, strerror(errno));
			return;
		}
	}
	if (was < rl.rlim_cur)
		slog_info("broker", "RLIMIT_NOFILE: %llu open files (the soft limit raised from %llu "
			  "to the hard limit)", (unsigned long long)rl.rlim_cur, (unsigned long long)was);
	else
		slog_info("broker", "RLIMIT_NOFILE: %llu open files (the hard limit)",
			  (unsigned long long)rl.rlim_cur);
}

int main(int argc, char **argv)
{
	struct broker *b = &the_broker;
#ifdef SLUICE_JEMALLOC
	b->rt.thread_init = main_shard_arena;
#endif
	b->rt.serving = main_on_serving;
	config_defaults(&b->rt.cfg);
	int rc = main_parse_args(&b->rt.cfg, argc, argv);
	if (rc != 0)
		return rc > 0 ? 0 : 2;
	config_log(&b->rt.cfg, stderr);
	main_raise_fd_limit();
	struct sigaction sa = { .sa_handler = main_on_signal };
	sigemptyset(&sa.sa_mask);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);
	if (broker_start(b) != 0) {
		broker_stop(b);
		return 1;
	}
	rc = broker_run(b);
	main_notify("STOPPING=1");
	broker_stop(b);
	return rc == 0 ? 0 : 1;
}
