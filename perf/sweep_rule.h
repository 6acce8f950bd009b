/* The sweep's rules, apart from the runs they judge: which rate comes next
 * in the series, and whether a step kept up with its target. */
#ifndef SLUICE_PERF_SWEEP_RULE_H
#define SLUICE_PERF_SWEEP_RULE_H

#include <stdbool.h>
#include <stdint.h>

/* A step keeps up when both its rates reach this share of the target. */
#define SWEEP_SUSTAINED_FRACTION 0.95

/* The smallest rate of the series 1, 1.5, 2, 3, 5, 7 x 10^k above `rate`. */
double sweep_next_rate(double rate);
/* Whether a step at `target` msg/s was sustained: nothing lost (`errors`
 * counts lost and failed messages) and both the producer's acknowledged rate
 * and the consumer's rate at least SWEEP_SUSTAINED_FRACTION of the target. */
bool sweep_sustained(double target, double produced, double consumed, uint64_t errors);

#endif
