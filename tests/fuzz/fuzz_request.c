/* Fuzz target: a request frame as a peer sends it (the bytes after the 4-byte
 * size), through the steps request_dispatch takes before a handler runs: the
 * fixed header, the dispatch table's key and version check, the rest of the
 * header, then the API's generated request decoder with the table's arena
 * bound. Every API the schema files declare is reached (PROTO_APIS), so a new
 * API is fuzzed without an edit here.
 *
 * A body that decodes is also encoded again and decoded once more: the
 * encoder must fill exactly the size its *_size function computed, and the
 * re-encoding must reproduce the same bytes, else the codecs disagree on the
 * wire format. */
#include <assert.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/api/handlers.h"
#include "core/net/request.h"
#include "proto/arena.h"
#include "proto/header.h"
#include "proto/messages.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const struct api_table *fuzz_apis;

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	fuzz_apis = api_table_init();
	return 0;
}

/* Encodes m at `version` into an exactly sized buffer; returns it (caller
 * frees) with its length, after checking the encoder filled it exactly. */
#define FUZZ_ENCODER(key, prefix)                                                        \
	static uint8_t *fuzz_encode_##prefix(const struct prefix##_request *m,          \
					     int16_t version, size_t *len)               \
	{                                                                                \
		*len = prefix##_request_size(m, version);                                \
		uint8_t *buf = malloc(*len ? *len : 1);                                  \
		assert(buf);                                                             \
		struct wcursor w;                                                        \
		wc_init(&w, buf, *len, NULL, 0);                                         \
		prefix##_request_encode(&w, version, m);                                 \
		assert(!w.overflow);                                                     \
		assert(w.pos == w.end);                                                  \
		return buf;                                                              \
	}
PROTO_APIS(FUZZ_ENCODER)

/* Decodes a body; when it decodes, checks the encode/decode round trip. */
#define FUZZ_DECODER(key, prefix)                                                        \
	static void fuzz_decode_##prefix(struct rcursor *body, int16_t version,         \
					 size_t arena_bytes)                             \
	{                                                                                \
		struct arena a;                                                          \
		arena_init(&a, arena_bytes);                                             \
		struct prefix##_request m;                                               \
		if (prefix##_request_decode(body, version, &a, &m) == 0) {              \
			size_t len1, len2;                                               \
			uint8_t *enc1 = fuzz_encode_##prefix(&m, version, &len1);        \
			struct arena a2;                                                 \
			arena_init(&a2, arena_bytes);                                    \
			struct rcursor again;                                            \
			rc_init(&again, enc1, len1);                                     \
			struct prefix##_request m2;                                      \
			int rc = prefix##_request_decode(&again, version, &a2, &m2);     \
			assert(rc == 0);                                                 \
			assert(rc_left(&again) == 0);                                    \
			uint8_t *enc2 = fuzz_encode_##prefix(&m2, version, &len2);       \
			assert(len1 == len2);                                            \
			assert(memcmp(enc1, enc2, len1) == 0);                           \
			free(enc2);                                                      \
			free(enc1);                                                      \
			arena_release(&a2);                                              \
		}                                                                        \
		arena_release(&a);                                                       \
	}
PROTO_APIS(FUZZ_DECODER)

static void fuzz_decode_body(int16_t key, struct rcursor *body, int16_t version,
			     size_t arena_bytes)
{
	switch (key) {
#define FUZZ_CASE(k, prefix)                                                             \
	case k:                                                                          \
		fuzz_decode_##prefix(body, version, arena_bytes);                       \
		return;
		PROTO_APIS(FUZZ_CASE)
#undef FUZZ_CASE
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	/* An exactly sized copy: ASan sees any read past the frame. */
	uint8_t *frame = malloc(size ? size : 1);
	assert(frame);
	memcpy(frame, data, size);
	struct rcursor rc;
	rc_init(&rc, frame, size);
	struct request_header h;
	request_header_read_fixed(&rc, &h);
	const struct api_entry *api = rc.err == RC_OK ? api_lookup(fuzz_apis, h.api_key) : NULL;
	if (api && h.api_version >= api->min_version && h.api_version <= api->max_version) {
		request_header_read_rest(&rc, h.api_version >= api->flexible_from, &h);
		if (rc.err == RC_OK)
			fuzz_decode_body(h.api_key, &rc, h.api_version, api->arena_bytes_max);
	}
	free(frame);
	return 0;
}
