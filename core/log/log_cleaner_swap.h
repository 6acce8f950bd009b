/* Putting cleaned segments in place of the ones they replace, so that a
 * crash at any step leaves a complete log, as Kafka's replaceSegments does:
 *   1. the pass wrote and synced `<base>.log.cleaned` (+ indexes, the
 *      .txnindex among them);
 *   2. `.cleaned` -> `.swap` (indexes first, the log last);
 *   3. each replaced segment's files -> `.deleted` (unlinked later, off the
 *      loop);
 *   4. `.swap` -> the final names (the log first).
 * At open, before the segments are listed, log_cleaner_recover finishes or
 * undoes what a crash interrupted: `.cleaned` files are removed (step 2 never
 * began: the old segments are whole), and so are `.deleted` ones (step 3 was
 * done: they are replaced); a `.log.swap` is completed (the
 * segments whose base offsets fall in its offset range are removed and it
 * takes its final name); stray `.index.swap`/`.timeindex.swap`/`.txnindex.swap` files
 * go (indexes are rebuilt from the segment when missing). In memory the
 * cleaned segment takes the run's aborted transactions. */
#ifndef SLUICE_CORE_LOG_LOG_CLEANER_SWAP_H
#define SLUICE_CORE_LOG_LOG_CLEANER_SWAP_H

#include "core/log/log_cleaner_pass.h"
#include "core/log/partition_log.h"

/* Owner's thread: swaps every run of a successful pass whose segments are
 * still there as the pass saw them (a run whose segments changed meanwhile
 * has its `.cleaned` files removed instead). Fills p->doomed. Returns how
 * many runs were swapped. */
uint32_t log_cleaner_swap(struct partition_log *l, struct log_cleaner_pass *p);

/* At open (before the loop runs): resolves leftover `.cleaned`/`.swap`/
 * `.deleted` files in dir. Returns 0 or -errno. */
int log_cleaner_recover(const char *dir);

#endif
