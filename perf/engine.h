/* The engines' entry points, one per mode each engine runs: main picks one
 * from --engine and the mode; each fills perf_stats (run.h) and returns the
 * exit code, 0 when the run could start. */
#ifndef SLUICE_PERF_ENGINE_H
#define SLUICE_PERF_ENGINE_H

#include "perf.h"

int perf_rdkafka_produce(const struct perf_args *a);
int perf_rdkafka_consume(const struct perf_args *a);
int perf_rdkafka_e2e(const struct perf_args *a);
int perf_rdkafka_txn_produce(const struct perf_args *a);
int perf_raw_produce(const struct perf_args *a);
int perf_raw_consume(const struct perf_args *a);
/* sweep (sweep.c): e2e at each rate of the sweep, one CSV row per rate. */
int perf_sweep(const struct perf_args *a);
/* omb (omb_run.c): an OpenMessaging Benchmark workload file; reports itself. */
int perf_omb(const struct perf_args *a);

#endif
