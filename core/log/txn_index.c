/* The .txnindex entry layout and its checked parse; see txn_index.h. */
#include "core/log/txn_index.h"

#include <stdlib.h>

#include "proto/cursor.h"

void txn_index_encode(uint8_t out[TXN_INDEX_ENTRY_BYTES], const struct aborted_txn *t)
{
	struct wcursor w;
	wc_init(&w, out, TXN_INDEX_ENTRY_BYTES, NULL, 0);
	wc_int16(&w, TXN_INDEX_VERSION);
	wc_int64(&w, t->producer_id);
	wc_int64(&w, t->first_offset);
	wc_int64(&w, t->last_offset);
	wc_int64(&w, t->last_stable_offset);
}

/* Why entry t (after one whose last offset was prev_last) cannot be. */
static const char *txn_index_entry_invalid(int16_t version, const struct aborted_txn *t,
					   int64_t base, int64_t prev_last)
{
	if (version != TXN_INDEX_VERSION)
		return "an entry has an unknown version";
	if (t->producer_id < 0 || t->first_offset < 0 || t->first_offset > t->last_offset)
		return "an entry's producer id or offsets are impossible";
	if (t->last_offset < base)
		return "an entry's last offset is below the segment's base offset";
	if (t->last_offset <= prev_last)
		return "the entries are not in offset order";
	/* Another producer's earlier transaction may hold it below first. The
	 * bound is written as lso - 1 > last: last + 1 overflows at INT64_MAX. */
	if (t->last_stable_offset < 0 || t->last_stable_offset - 1 > t->last_offset)
		return "an entry's last stable offset is impossible";
	return NULL;
}

const char *txn_index_parse(const uint8_t *buf, size_t len, int64_t base, struct aborted_txn **out,
			    uint32_t *n)
{
	*out = NULL;
	*n = 0;
	if (len % TXN_INDEX_ENTRY_BYTES != 0)
		return "its length is not a whole number of entries";
	if (len / TXN_INDEX_ENTRY_BYTES > UINT32_MAX)
		return "it has too many entries";
	uint32_t count = (uint32_t)(len / TXN_INDEX_ENTRY_BYTES);
	if (count == 0)
		return NULL;
	struct aborted_txn *v = malloc((size_t)count * sizeof(*v));
	if (!v)
		return "out of memory";
	struct rcursor c;
	/* The cursor only reads: the const is cast away for its init alone. */
	rc_init(&c, (uint8_t *)buf, len);
	int64_t prev_last = -1;
	for (uint32_t k = 0; k < count; k++) {
		struct aborted_txn t;
		int16_t version = rc_int16(&c);
		t.producer_id = rc_int64(&c);
		t.first_offset = rc_int64(&c);
		t.last_offset = rc_int64(&c);
		t.last_stable_offset = rc_int64(&c);
		const char *why = c.err ? "it is cut short" : txn_index_entry_invalid(version, &t, base,
										       prev_last);
		if (why) {
			free(v);
			return why;
		}
		prev_last = t.last_offset;
		v[k] = t;
	}
	*out = v;
	*n = count;
	return NULL;
}
