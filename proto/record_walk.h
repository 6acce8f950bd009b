/* The one walk over the records of a v2 batch, shared by Produce validation
 * (plain and compressed batches) and time lookups in stored batches.
 *
 * Records come from a source: the plain records region, or a compressed
 * payload inflated through a small window that is refilled as the walk goes.
 * The walk pulls varints byte by byte across refills and skips keys, values
 * and headers without copying them, so a record that straddles two windows
 * needs no carry buffer and nothing is allocated per record. Every length is
 * checked against what is left of its record, and every record against what
 * the source still has. */
#ifndef SLUICE_PROTO_RECORD_WALK_H
#define SLUICE_PROTO_RECORD_WALK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "proto/compression.h"

enum {
	/* Bytes inflated at a time: small enough to stay in L2 while the walk
	 * reads what the decoder just wrote. */
	RECORD_WALK_WINDOW_BYTES = 64 << 10,
	/* The smallest possible record: length, attributes, timestamp delta,
	 * offset delta, key length, value length, header count. */
	RECORD_MIN_BYTES = 7,
};

struct record_source {
	const uint8_t *pos;
	const uint8_t *end;
	struct inflate_stream *inflate; /* NULL: [pos, end) is all there is */
	uint8_t *window;                /* where inflate writes */
	size_t window_bytes;
	int err;                        /* the decoder's first error */
};

struct record_walk {
	struct record_source src;
	int32_t count;           /* records the batch claims */
	int32_t index;           /* records walked so far */
	int64_t timestamp_delta; /* of the record just walked */
	int32_t offset_delta;
	bool key_null;           /* the record just walked has a null key */
	const char *why;         /* why the walk failed: static text */
};

/* A walk over `count` records in the plain region [recs, recs + len). */
void record_walk_plain(struct record_walk *w, const uint8_t *recs, size_t len, int32_t count);

/* A walk over `count` records inflated from `in` through `window`. */
void record_walk_inflating(struct record_walk *w, struct inflate_stream *in, uint8_t *window,
			   size_t window_bytes, int32_t count);

/* Walks the next record. Returns 1 with its timestamp_delta and offset_delta
 * set; 0 once all `count` records were walked and the bytes ended exactly
 * there (the whole payload decoded); -EINVAL for a malformed record, offset
 * deltas other than 0..count-1, fewer records than claimed or bytes after the
 * last; -EBADMSG for a payload that does not decode; -EMSGSIZE when it
 * inflates beyond its bound; -ENOMEM. On failure `why` says what. */
int record_walk_next(struct record_walk *w);

#endif
