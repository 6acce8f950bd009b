/* Kafka's transaction index (TransactionIndex, `<base>.txnindex` beside
 * each segment): one 34-byte big-endian entry per aborted transaction whose
 * ABORT marker is in the segment, in marker order: int16 version 0, int64
 * producer id, int64 first offset, int64 last offset (the marker's),
 * int64 last stable offset when the marker was written. Encoding, and
 * parsing a file's bytes, which come from disk and are trusted for
 * nothing. */
#ifndef SLUICE_CORE_LOG_TXN_INDEX_H
#define SLUICE_CORE_LOG_TXN_INDEX_H

#include <stddef.h>
#include <stdint.h>

enum {
	TXN_INDEX_ENTRY_BYTES = 34,
	TXN_INDEX_VERSION = 0,
};

struct aborted_txn {
	int64_t producer_id;
	int64_t first_offset;
	int64_t last_offset;
	int64_t last_stable_offset;
};

void txn_index_encode(uint8_t out[TXN_INDEX_ENTRY_BYTES], const struct aborted_txn *t);

/* Parses the len bytes of the index of the segment based at `base`: whole
 * entries of version 0, producer ids >= 0, 0 <= first <= last, last >=
 * base and strictly increasing, 0 <= last stable offset <= last + 1. Returns
 * NULL with *out (malloc'd, NULL when empty) and *n set, or the reason the
 * bytes are not an index (then nothing is allocated); "out of memory" too. */
const char *txn_index_parse(const uint8_t *buf, size_t len, int64_t base, struct aborted_txn **out,
			    uint32_t *n);

#endif
