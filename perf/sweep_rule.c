/* The sweep's rate series and its sustained-rate rule (sweep_rule.h). */
#include <math.h>

#include "sweep_rule.h"

/* The mantissas of the rate series, one decade: steps of at most 1.5x, so
 * the maximum found is within a factor 1.5 of the true one. */
static const double sweep_series[] = { 1, 1.5, 2, 3, 5, 7 };
enum { SWEEP_SERIES_STEPS = sizeof(sweep_series) / sizeof(sweep_series[0]) };

double sweep_next_rate(double rate)
{
	double decade = pow(10, floor(log10(rate)));
	for (int d = 0; d < 2; d++, decade *= 10)
		for (int i = 0; i < SWEEP_SERIES_STEPS; i++)
			if (sweep_series[i] * decade > rate * (1 + 1e-9))
				return sweep_series[i] * decade;
	return rate * 10;
}

bool sweep_sustained(double target, double produced, double consumed, uint64_t errors)
{
	return errors == 0 && produced >= SWEEP_SUSTAINED_FRACTION * target &&
	       consumed >= SWEEP_SUSTAINED_FRACTION * target;
}
