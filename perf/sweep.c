/* sluice-perf sweep: latency at every rate. Runs the e2e mode (one producer,
 * one consumer in this process) at fixed rates, one step of --step-seconds
 * each, and writes per rate the end-to-end and the produce-ack latency
 * percentiles to a CSV file, both timed from each message's intended send
 * time (no coordinated omission).
 *
 * Which rates: the --rates list as given (every one runs), or from --from
 * (1000) up the series 1, 1.5, 2, 3, 5, 7 x 10^k until a step is not
 * sustained (sweep_rule.h): it lost nothing and both the producer's
 * acknowledged rate (acks over the producer's time, its final flush
 * included) and the consumer's rate (messages over the time from the first
 * intended send to the last arrival, so a backlog that grows during the step
 * lowers it) reach SWEEP_SUSTAINED_FRACTION (95%) of the target. The maximum
 * sustainable rate is the highest sustained step. */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "engine.h"
#include "perf.h"
#include "run.h"
#include "sweep_rule.h"

static const double sweep_quantiles[] = { 0.5, 0.99, 0.999, 0.9999 };
enum { SWEEP_QUANTILES = sizeof(sweep_quantiles) / sizeof(sweep_quantiles[0]) };

static const char SWEEP_CSV_HEADER[] =
	"rate_target_msgs_per_s,produced_msgs_per_s,consumed_msgs_per_s,messages,errors,sustained,"
	"e2e_p50_us,e2e_p99_us,e2e_p99_9_us,e2e_p99_99_us,e2e_max_us,"
	"ack_p50_us,ack_p99_us,ack_p99_9_us,ack_p99_99_us,ack_max_us,load_average_1m\n";

/* The 1-minute load average, beside each step: on a shared machine it says
 * how far to trust the step's tail. -1 when /proc does not say. */
static double sweep_load_average(void)
{
	double load = -1;
	FILE *f = fopen("/proc/loadavg", "r");
	if (f) {
		if (fscanf(f, "%lf", &load) != 1)
			load = -1;
		fclose(f);
	}
	return load;
}

static void sweep_csv_latency(FILE *csv, const struct histogram *h)
{
	for (int i = 0; i < SWEEP_QUANTILES; i++)
		fprintf(csv, "%" PRIu64 ",", histogram_quantile(h, sweep_quantiles[i]));
	fprintf(csv, "%" PRIu64 ",", h->max);
}

/* Runs one step at `rate`; writes its row and returns whether it was
 * sustained, or -1 when the run could not start. */
static int sweep_step(const struct perf_args *a, double rate, FILE *csv)
{
	struct perf_args step = *a;
	step.rate = rate;
	step.duration_s = a->step_s;
	step.count = 0;
	perf_stats = (struct perf_stats){ 0 };
	if (perf_rdkafka_e2e(&step) != 0)
		return -1;
	const struct perf_stats *s = &perf_stats;
	double produced = s->seconds > 0 ? (double)s->second_us.total / s->seconds : 0;
	double drain_s = s->last_arrival_ns > s->start_ns ? (double)(s->last_arrival_ns - s->start_ns) / 1e9 : 0;
	double consumed = drain_s > 0 ? (double)s->messages / drain_s : 0;
	bool sustained = sweep_sustained(rate, produced, consumed, s->errors);
	fprintf(csv, "%.0f,%.0f,%.0f,%" PRIu64 ",%" PRIu64 ",%d,", rate, produced, consumed, s->messages,
		s->errors, sustained);
	sweep_csv_latency(csv, &s->latency_us);
	sweep_csv_latency(csv, &s->second_us);
	fprintf(csv, "%.2f\n", sweep_load_average());
	fflush(csv);
	printf("sweep: %.0f msg/s: produced %.0f, consumed %.0f msg/s, %" PRIu64 " errors; "
	       "e2e p50 %" PRIu64 " p99 %" PRIu64 " p99.9 %" PRIu64 " us; ack p50 %" PRIu64 " p99 %" PRIu64
	       " us; %s\n",
	       rate, produced, consumed, s->errors, histogram_quantile(&s->latency_us, 0.5),
	       histogram_quantile(&s->latency_us, 0.99), histogram_quantile(&s->latency_us, 0.999),
	       histogram_quantile(&s->second_us, 0.5), histogram_quantile(&s->second_us, 0.99),
	       sustained ? "sustained" : "not sustained");
	fflush(stdout);
	return sustained;
}

int perf_sweep(const struct perf_args *a)
{
	FILE *csv = fopen(a->csv, "w");
	if (!csv) {
		perror(a->csv);
		return 1;
	}
	fputs(SWEEP_CSV_HEADER, csv);
	double best = 0, rate = a->rates_count ? a->rates[0] : a->rate_from;
	int rc = 0;
	for (int i = 0; i < PERF_SWEEP_RATES_MAX && rate <= PERF_RATE_MAX && !perf_stop; i++) {
		int sustained = sweep_step(a, rate, csv);
		if (sustained < 0) {
			rc = 1;
			break;
		}
		if (sustained && rate > best)
			best = rate;
		if (a->rates_count) {
			if (i + 1 == a->rates_count)
				break;
			rate = a->rates[i + 1];
		} else if (!sustained) {
			break;
		} else {
			rate = sweep_next_rate(rate);
		}
	}
	fclose(csv);
	if (best > 0)
		printf("sweep: maximum sustained rate %.0f msg/s (produced and consumed >= %.0f%% of the target, nothing lost)\n",
		       best, SWEEP_SUSTAINED_FRACTION * 100);
	else
		printf("sweep: no rate was sustained\n");
	return rc;
}
