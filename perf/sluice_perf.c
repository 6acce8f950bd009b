/* sluice-perf: a Kafka load generator with two engines.
 *
 *   sluice-perf produce|consume|e2e|sweep --brokers H:P --topic T [options]
 *   sluice-perf omb WORKLOAD.yaml --brokers H:P [options]
 *
 * The rdkafka engine is a real client (librdkafka): produce measures send ->
 * delivery report latency, consume reads by assignment or in a group, e2e
 * produces at a fixed rate with the intended send time in the payload and
 * measures it at a consumer in the same process; sweep runs e2e at rising
 * fixed rates and writes the latencies per rate as CSV (sweep.c); omb runs
 * an OpenMessaging Benchmark workload file (omb_run.c). The raw engine sends
 * pre-encoded Produce or Fetch requests over N connections with io_uring and
 * no per-message client work, so that the broker is what is measured.
 *
 * At a fixed --rate the clock starts at each message's intended send time, so
 * a stalled broker shows in the percentiles instead of slowing the load (no
 * coordinated omission). A progress line goes to stderr every second; the
 * summary to stdout, and with --json to a file. */
#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>

#include "engine.h"
#include "perf.h"
#include "run.h"

static void perf_on_signal(int sig)
{
	(void)sig;
	perf_stop = 1;
}

/* Usage message naming what was wrong; exits 2. */
static _Noreturn void perf_usage(const char *why)
{
	if (why)
		fprintf(stderr, "sluice-perf: %s\n", why);
	fprintf(stderr,
		"usage: sluice-perf produce|consume|e2e|sweep --brokers H:P --topic T [--count N] [--duration S]\n"
		"  --engine rdkafka|raw       rdkafka: a librdkafka client (default); raw: pre-encoded\n"
		"                             requests over io_uring (produce and consume only)\n"
		"  produce/e2e: [--size B] [--rate MSG_PER_S] [--acks 0|1|all] [--partitions N]\n"
		"               [--compression none|gzip|snappy|lz4|zstd] [--linger-ms MS] [--batch-bytes B]\n"
		"               [--idempotence true|false]\n"
		"  produce:     [--transactional-id ID [--txn-records N]]  transactions of N records\n"
		"               (default 100), each committed; rdkafka engine, --acks all\n"
		"               [--keys N] [--headers N]\n"
		"  consume:     [--from earliest|latest] [--group G] [--rewind true|false]\n"
		"               --rewind true: at a partition's end read it again from its start\n"
		"               (a hot fetch that lasts --duration)\n"
		"  raw:         [--connections N] [--request-bytes B] [--inflight N]\n"
		"  sweep:       --csv FILE [--rates R1,R2,...|--from R] [--step-seconds S] [--size B]\n"
		"               e2e at each rate (default from 1000 up until one is not sustained)\n"
		"  omb:         sluice-perf omb FILE.yaml --brokers H:P [--topic PREFIX]\n"
		"               [--minutes M|--duration-scale F] [--acks ..] [--linger-ms MS] [--batch-bytes B]\n"
		"  any:         [--json FILE] (not sweep)\n"
		"  --count and --duration may both be given: the run ends at whichever comes first.\n");
	exit(2);
}

static long perf_long(const char *flag, const char *v, long min, long max)
{
	char *end = NULL;
	errno = 0;
	long n = strtol(v, &end, 10);
	if (errno || !*v || *end || n < min || n > max) {
		char why[160];
		snprintf(why, sizeof(why), "%s: '%s' is not an integer from %ld to %ld", flag, v, min, max);
		perf_usage(why);
	}
	return n;
}

static double perf_double(const char *flag, const char *v)
{
	char *end = NULL;
	double d = strtod(v, &end);
	if (!*v || *end || d < 0) {
		char why[128];
		snprintf(why, sizeof(why), "%s: '%s' is not a non-negative number", flag, v);
		perf_usage(why);
	}
	return d;
}

/* --rates R1,R2,...: each a rate from 1 to PERF_RATE_MAX msg/s. */
static void perf_rates(const char *v, struct perf_args *a)
{
	char buf[PERF_ERR_BYTES];
	if (strlen(v) >= sizeof(buf))
		perf_usage("--rates: the list is too long");
	strcpy(buf, v);
	a->rates_count = 0;
	for (char *save = NULL, *r = strtok_r(buf, ",", &save); r; r = strtok_r(NULL, ",", &save)) {
		if (a->rates_count == PERF_SWEEP_RATES_MAX)
			perf_usage("--rates: more rates than a sweep runs");
		double d = perf_double("--rates", r);
		if (d < 1 || d > PERF_RATE_MAX)
			perf_usage("--rates: each rate is from 1 to 10000000 msg/s");
		a->rates[a->rates_count++] = d;
	}
	if (!a->rates_count)
		perf_usage("--rates: no rate given");
}

static bool perf_is(const char *s, const char *a, const char *b)
{
	return !strcmp(s, a) || (b && !strcmp(s, b));
}

static bool perf_bool(const char *flag, const char *v)
{
	if (!perf_is(v, "true", "false")) {
		char why[128];
		snprintf(why, sizeof(why), "%s: '%s' is not true or false", flag, v);
		perf_usage(why);
	}
	return !strcmp(v, "true");
}

static void perf_parse(int argc, char **argv, struct perf_args *a)
{
	*a = (struct perf_args){ .size = 1024, .acks = "1", .compression = "none", .linger_ms = -1,
				 .batch_bytes = 1000000, .from = "earliest", .engine = "rdkafka",
				 .connections = 4, .request_bytes = 1 << 20, .inflight = 2,
				 .step_s = PERF_STEP_SECONDS_DEFAULT, .rate_from = 1000 };
	if (argc < 2)
		perf_usage(NULL);
	a->mode = argv[1];
	if (!perf_is(a->mode, "produce", "consume") && !perf_is(a->mode, "e2e", "sweep") && strcmp(a->mode, "omb"))
		perf_usage("the first argument is produce, consume, e2e, sweep or omb");
	bool sweep = !strcmp(a->mode, "sweep"), omb = !strcmp(a->mode, "omb");
	if (omb && (argc < 3 || !strncmp(argv[2], "--", 2)))
		perf_usage("omb: the workload file comes first: sluice-perf omb FILE.yaml --brokers H:P");
	if (omb)
		a->workload = argv[2];
	for (int i = omb ? 3 : 2; i < argc; i++) {
		const char *f = argv[i];
		if (i + 1 >= argc) {
			char why[128];
			snprintf(why, sizeof(why), "%s needs a value", f);
			perf_usage(why);
		}
		const char *v = argv[++i];
		if (!strcmp(f, "--brokers")) a->brokers = v;
		else if (!strcmp(f, "--topic")) a->topic = v;
		else if (!strcmp(f, "--engine")) a->engine = v;
		else if (!strcmp(f, "--size")) a->size = perf_long(f, v, 0, PERF_SIZE_MAX);
		else if (!strcmp(f, "--count")) a->count = perf_long(f, v, 1, LONG_MAX);
		else if (!strcmp(f, "--duration")) a->duration_s = perf_double(f, v);
		else if (!strcmp(f, "--rate")) a->rate = perf_double(f, v);
		else if (!strcmp(f, "--acks")) a->acks = v;
		else if (!strcmp(f, "--compression")) a->compression = v;
		else if (!strcmp(f, "--linger-ms")) a->linger_ms = perf_long(f, v, 0, PERF_LINGER_MS_MAX);
		else if (!strcmp(f, "--idempotence")) a->idempotence = perf_bool(f, v);
		else if (!strcmp(f, "--rewind")) a->rewind = perf_bool(f, v);
		else if (!strcmp(f, "--transactional-id")) a->transactional_id = v;
		else if (!strcmp(f, "--txn-records")) a->txn_records = perf_long(f, v, 1, PERF_TXN_RECORDS_MAX);
		else if (!strcmp(f, "--batch-bytes")) a->batch_bytes = perf_long(f, v, 1, PERF_BATCH_BYTES_MAX);
		else if (!strcmp(f, "--partitions")) a->partitions = perf_long(f, v, 1, PERF_PARTITIONS_MAX);
		else if (!strcmp(f, "--keys")) a->keys = perf_long(f, v, 0, PERF_KEYS_MAX);
		else if (!strcmp(f, "--headers")) a->headers = perf_long(f, v, 0, PERF_HEADERS_MAX);
		else if (!strcmp(f, "--from") && sweep) a->rate_from = perf_long(f, v, 1, PERF_RATE_MAX);
		else if (!strcmp(f, "--from")) a->from = v;
		else if (!strcmp(f, "--rates")) perf_rates(v, a);
		else if (!strcmp(f, "--step-seconds")) a->step_s = (double)perf_long(f, v, 1, PERF_STEP_SECONDS_MAX);
		else if (!strcmp(f, "--csv")) a->csv = v;
		else if (!strcmp(f, "--minutes") && omb) a->minutes = perf_double(f, v);
		else if (!strcmp(f, "--duration-scale") && omb) a->duration_scale = perf_double(f, v);
		else if (!strcmp(f, "--group")) a->group = v;
		else if (!strcmp(f, "--connections")) a->connections = perf_long(f, v, 1, PERF_CONNECTIONS_MAX);
		else if (!strcmp(f, "--request-bytes")) a->request_bytes = perf_long(f, v, 1, PERF_REQUEST_BYTES_MAX);
		else if (!strcmp(f, "--inflight")) a->inflight = perf_long(f, v, 1, PERF_INFLIGHT_MAX);
		else if (!strcmp(f, "--json")) a->json = v;
		else {
			char why[128];
			snprintf(why, sizeof(why), "unknown flag %s", f);
			perf_usage(why);
		}
	}
	if (omb && !a->brokers)
		perf_usage("--brokers is required");
	if (omb && (a->count || a->duration_s > 0 || a->rate > 0 || a->partitions || a->group ||
		    strcmp(a->engine, "rdkafka")))
		perf_usage("omb: the workload file sets the counts, rates and partitions; --minutes or --duration-scale shorten it");
	if (omb && (a->minutes > OMB_RUN_MINUTES_MAX || a->duration_scale > OMB_RUN_MINUTES_MAX))
		perf_usage("--minutes/--duration-scale: at most 1440");
	if (!omb && (!a->brokers || !a->topic))
		perf_usage("--brokers and --topic are required");
	if (sweep && (a->count || a->duration_s > 0 || a->rate > 0 || a->json))
		perf_usage("sweep: each rate runs --step-seconds; --count, --duration, --rate and --json are not its");
	if (sweep && !a->csv)
		perf_usage("sweep needs --csv FILE");
	if (a->rewind && (strcmp(a->mode, "consume") || a->group || a->duration_s <= 0))
		perf_usage("--rewind: consume by assignment with --duration");
	if (!sweep && (a->csv || a->rates_count))
		perf_usage("--csv and --rates belong to sweep");
	if (!sweep && !omb && !a->count && a->duration_s <= 0)
		perf_usage("give --count or --duration");
	if (!perf_is(a->acks, "0", "1") && !perf_is(a->acks, "all", "-1"))
		perf_usage("--acks: 0, 1 or all");
	if (!perf_is(a->compression, "none", "gzip") && !perf_is(a->compression, "snappy", "lz4") &&
	    strcmp(a->compression, "zstd"))
		perf_usage("--compression: none, gzip, snappy, lz4 or zstd");
	if (!perf_is(a->from, "earliest", "latest"))
		perf_usage("--from: earliest or latest");
	if (!perf_is(a->engine, "rdkafka", "raw"))
		perf_usage("--engine: rdkafka or raw");
	if (!strcmp(a->engine, "raw") && perf_is(a->mode, "e2e", "sweep"))
		perf_usage("--engine raw: produce or consume (e2e and sweep need a real client)");
	if (!strcmp(a->mode, "e2e") && a->rate <= 0)
		perf_usage("e2e needs --rate");
	if (perf_is(a->mode, "e2e", "sweep") && a->size < (long)sizeof(uint64_t))
		perf_usage("--size: e2e needs at least 8 bytes for the send time");
	if (!strcmp(a->engine, "raw") && a->group)
		perf_usage("--group: the raw engine reads by assignment");
	if (!strcmp(a->engine, "raw") && strcmp(a->from, "earliest"))
		perf_usage("--from: the raw engine reads from the earliest offset");
	if (!strcmp(a->engine, "raw") && a->rate > 0)
		perf_usage("--rate: the raw engine sends as fast as the broker answers");
	if (!strcmp(a->engine, "raw") && (a->keys || a->headers))
		perf_usage("--keys/--headers: the raw engine sends values only");
	if (!strcmp(a->engine, "raw") && strcmp(a->compression, "none"))
		perf_usage("--compression: the raw engine sends uncompressed batches");
	if (!strcmp(a->engine, "raw") && a->idempotence)
		perf_usage("--idempotence: the raw engine sends no producer id");
	if (a->idempotence && !perf_is(a->acks, "all", "-1"))
		perf_usage("--idempotence: needs --acks all (as librdkafka does)");
	if (a->txn_records && !a->transactional_id)
		perf_usage("--txn-records: needs --transactional-id");
	if (a->transactional_id && (strcmp(a->mode, "produce") || strcmp(a->engine, "rdkafka")))
		perf_usage("--transactional-id: produce with the rdkafka engine");
	if (a->transactional_id && !perf_is(a->acks, "all", "-1"))
		perf_usage("--transactional-id: needs --acks all (as librdkafka does)");
	if (a->transactional_id && !a->txn_records)
		a->txn_records = PERF_TXN_RECORDS_DEFAULT;
	if (a->linger_ms < 0)
		a->linger_ms = perf_is(a->mode, "e2e", "sweep") ? 0 : omb ? OMB_LINGER_MS_DEFAULT : 5;
}

static const double perf_quantiles[] = { 0.5, 0.9, 0.99, 0.999, 0.9999 };
static const char *const perf_quantile_names[] = { "p50", "p90", "p99", "p99.9", "p99.99" };
enum { PERF_QUANTILES = sizeof(perf_quantiles) / sizeof(perf_quantiles[0]) };

/* One latency histogram of the report: as JSON members `key` (what it
 * measures) and `key`_us (its quantiles), or as a text line. */
static void perf_report_latency(FILE *out, bool json, const char *key, const char *what,
				const struct histogram *h)
{
	if (json)
		fprintf(out, ",\"%s\":\"%s\",\"%s_us\":{", key, what, key);
	else
		fprintf(out, "latency (%s, us):", what);
	for (int i = 0; i < PERF_QUANTILES; i++)
		fprintf(out, json ? "\"%s\":%" PRIu64 "," : " %s %" PRIu64, perf_quantile_names[i],
			histogram_quantile(h, perf_quantiles[i]));
	fprintf(out, json ? "\"max\":%" PRIu64 "}" : " max %" PRIu64 "\n", h->max);
}

static void perf_report(const struct perf_args *a, FILE *out, bool json)
{
	double s = perf_stats.seconds > 0 ? perf_stats.seconds : 1e-9;
	if (json) {
		fprintf(out, "{\"mode\":\"%s\",\"engine\":\"%s\",\"messages\":%" PRIu64 ",\"bytes\":%" PRIu64
			",\"requests\":%" PRIu64 ",\"seconds\":%.3f,\"msgs_per_s\":%.0f,\"mb_per_s\":%.2f"
			",\"errors\":%" PRIu64, a->mode, a->engine, perf_stats.messages, perf_stats.bytes,
			perf_stats.requests, s, (double)perf_stats.messages / s,
			(double)perf_stats.bytes / s / 1e6, perf_stats.errors);
		if (perf_stats.protocol[0])
			fprintf(out, ",\"protocol\":\"%s\"", perf_stats.protocol);
	} else {
		fprintf(out, "%s: %" PRIu64 " messages, %" PRIu64 " bytes in %.3f s: %.0f msg/s, %.2f MB/s, %" PRIu64 " errors",
			a->mode, perf_stats.messages, perf_stats.bytes, s, (double)perf_stats.messages / s,
			(double)perf_stats.bytes / s / 1e6, perf_stats.errors);
		if (perf_stats.protocol[0])
			fprintf(out, " (%s)", perf_stats.protocol);
		fputc('\n', out);
	}
	if (perf_stats.latency_what)
		perf_report_latency(out, json, "latency", perf_stats.latency_what, &perf_stats.latency_us);
	if (perf_stats.second_what)
		perf_report_latency(out, json, "second_latency", perf_stats.second_what, &perf_stats.second_us);
	if (json)
		fprintf(out, "}\n");
}

int main(int argc, char **argv)
{
	struct perf_args a;
	perf_parse(argc, argv, &a);
	signal(SIGINT, perf_on_signal);
	signal(SIGTERM, perf_on_signal);
	/* Paced sends sleep to their intended time: the default 50 us of timer
	 * slack would be counted as latency. Threads made later inherit it. */
	prctl(PR_SET_TIMERSLACK, PERF_TIMER_SLACK_NS, 0, 0, 0);
	bool raw = !strcmp(a.engine, "raw");
	int rc;
	if (!strcmp(a.mode, "sweep"))
		return perf_sweep(&a);
	if (!strcmp(a.mode, "omb"))
		return perf_omb(&a);
	if (!strcmp(a.mode, "produce") && a.transactional_id)
		rc = perf_rdkafka_txn_produce(&a);
	else if (!strcmp(a.mode, "produce"))
		rc = raw ? perf_raw_produce(&a) : perf_rdkafka_produce(&a);
	else if (!strcmp(a.mode, "consume"))
		rc = raw ? perf_raw_consume(&a) : perf_rdkafka_consume(&a);
	else
		rc = perf_rdkafka_e2e(&a);
	if (rc != 0)
		return rc;
	perf_report(&a, stdout, false);
	if (a.json) {
		FILE *f = fopen(a.json, "w");
		if (!f) {
			fprintf(stderr, "sluice-perf: --json %s: %s\n", a.json, strerror(errno));
			return 1;
		}
		perf_report(&a, f, true);
		fclose(f);
	}
	return perf_stats.errors ? 1 : 0;
}
