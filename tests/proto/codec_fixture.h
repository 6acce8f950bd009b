/* What the generated-codec tests share: encoding a message into a buffer of
 * exactly its computed size, and checking that every shorter prefix of an
 * encoding fails to decode, each prefix in an exactly sized copy so that
 * ASan sees any read past it. */
#ifndef SLUICE_TESTS_PROTO_CODEC_FIXTURE_H
#define SLUICE_TESTS_PROTO_CODEC_FIXTURE_H

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "proto/arena.h"
#include "proto/cursor.h"

enum { CODEC_FIXTURE_ARENA_BYTES = 1 << 20 };

#define EXPECT_PREFIXES_FAIL(type, buf, len, version)                                 \
	do {                                                                           \
		for (size_t cut = 0; cut < (len); cut++) {                             \
			uint8_t *copy = malloc(cut ? cut : 1);                         \
			assert_non_null(copy);                                         \
			memcpy(copy, (buf), cut);                                      \
			struct rcursor c;                                              \
			struct arena a;                                                \
			struct type tmp;                                               \
			arena_init(&a, CODEC_FIXTURE_ARENA_BYTES);                     \
			rc_init(&c, copy, cut);                                        \
			assert_int_equal(type##_decode(&c, (version), &a, &tmp), -1); \
			arena_release(&a);                                             \
			free(copy);                                                    \
		}                                                                      \
	} while (0)

/* Encodes msg into a malloc'd buffer of exactly its computed size. */
#define ENCODE(type, msg, version, buf, len)                 \
	do {                                                 \
		len = type##_size((msg), (version));         \
		buf = malloc(len ? len : 1);                 \
		assert_non_null(buf);                        \
		struct wcursor w;                            \
		wc_init(&w, buf, len, NULL, 0);              \
		type##_encode(&w, (version), (msg));         \
		assert_false(w.overflow);                    \
		assert_int_equal(w.pos - w.start, len);      \
	} while (0)

#endif
