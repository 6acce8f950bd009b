/* Kafka 4.4's consumer-group metadata hash (core/group/cgroup_hash.c), bit
 * for bit. XXH3-64 against xxHash's published sanity vectors and hash4j's
 * values at every size class boundary, streamed in pieces as well as one
 * shot; the hash4j encodings against the bytes they stand for; and topic and
 * group hashes against Kafka 4.4.0's own Utils.computeTopicHash /
 * computeGroupHash.
 *
 * The tables marked "from Kafka 4.4.0" were printed by
 * tests/core/group/CgroupHashVectors.java (how to run it is at its top)
 * against the jars of ~/.cache/sluice/kafka/4.4.0/libs (kafka-group-
 * coordinator-4.4.0, hash4j-0.22.0), which builds the same cases by the same
 * rules as rack_of() and big_name() here. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/group/cgroup_hash.h"

enum {
	SANITY_LEN_MAX = 5000,
	RACKS_PER_PARTITION_MAX = 4,
	BIG_GROUP = 600,
	BIG_NAME_BYTES = 8,
};

/* xxHash's sanity buffer (cli/xsum_sanity_check.c). */
static uint8_t sanity[SANITY_LEN_MAX];

static void fill_sanity(void)
{
	uint64_t gen = 2654435761u;
	for (size_t i = 0; i < sizeof(sanity); i++) {
		sanity[i] = (uint8_t)(gen >> 56);
		gen *= 11400714785074694797ull;
	}
}

struct xxh3_vector {
	size_t len;
	uint64_t expected;
};

/* XSUM_XXH3_testdata of xxHash v0.8.3, seed 0: one per code path. */
static const struct xxh3_vector published[] = {
	{ 0, 0x2D06800538D394C2ull },    { 1, 0xC44BDFF4074EECDBull },    { 6, 0x27B56A84CD2D7325ull },
	{ 12, 0xA713DAF0DFBB77E7ull },   { 24, 0xA3FE70BF9D3510EBull },   { 48, 0x397DA259ECBA1F11ull },
	{ 80, 0xBCDEFBBB2C47C90Aull },   { 195, 0xCD94217EE362EC3Aull },  { 403, 0xCDEB804D65C6DEA4ull },
	{ 512, 0x617E49599013CB6Bull },  { 2048, 0xDD59E2C3A5F038E0ull }, { 2099, 0xC6B9D9B3FC9AC765ull },
	{ 2240, 0x6E73A90539CF2948ull }, { 2367, 0xCB37AEB9E5D361EDull },
};

/* From Kafka 4.4.0's hash4j (Hashing.xxh3_64().hashBytesToLong). */
static const struct xxh3_vector from_hash4j[] = {
	{ 0, 0x2d06800538d394c2ULL },
	{ 1, 0xc44bdff4074eecdbULL },
	{ 2, 0x7a9978044cb8a8bbULL },
	{ 3, 0x54247382a8d6b94dULL },
	{ 4, 0xe5dc74bc51848a51ULL },
	{ 5, 0xe4243f00720306bbULL },
	{ 6, 0x27b56a84cd2d7325ULL },
	{ 8, 0x24ccc9acaa9f65e4ULL },
	{ 9, 0x14d5001c15dd3f2bULL },
	{ 12, 0xa713daf0dfbb77e7ULL },
	{ 15, 0x45556d4d6e1798bcULL },
	{ 16, 0x981b17d36c7498c9ULL },
	{ 17, 0x796f5acd3a60f862ULL },
	{ 24, 0xa3fe70bf9d3510ebULL },
	{ 31, 0x5d516692ca764c50ULL },
	{ 32, 0x9feaddbdbf57eed3ULL },
	{ 48, 0x397da259ecba1f11ULL },
	{ 64, 0x9cb48487720ec49dULL },
	{ 80, 0xbcdefbbb2c47c90aULL },
	{ 96, 0x935a769a7f94776fULL },
	{ 127, 0x2408ed71323d6096ULL },
	{ 128, 0xfcff24126754d861ULL },
	{ 129, 0x98f1b0a679a2ca29ULL },
	{ 195, 0xcd94217ee362ec3aULL },
	{ 200, 0xbddca58935d7c038ULL },
	{ 239, 0x16ce2b9d3b28805dULL },
	{ 240, 0x81c3c2b67f568ccfULL },
	{ 241, 0xc5a639ecd2030e5eULL },
	{ 255, 0xe98f979f4ed8a197ULL },
	{ 256, 0x55de574ad89d0ac5ULL },
	{ 403, 0xcdeb804d65c6dea4ULL },
	{ 512, 0x617e49599013cb6bULL },
	{ 1023, 0x87a8f7b2f2e22496ULL },
	{ 1024, 0xdd85c9b5c1109c5cULL },
	{ 1025, 0xd870c0fa13211c6aULL },
	{ 2047, 0xb36ece19fca2197fULL },
	{ 2048, 0xdd59e2c3a5f038e0ULL },
	{ 2099, 0xc6b9d9b3fc9ac765ULL },
	{ 2240, 0x6e73a90539cf2948ULL },
	{ 2367, 0xcb37aeb9e5d361edULL },
	{ 4096, 0xe91206429d1f48f9ULL },
	{ 5000, 0x1c246c7bfe003a78ULL },
};

static void check_xxh3(const struct xxh3_vector *v, size_t n)
{
	static const size_t pieces[] = { 1, 3, 7, 64, 255, 1000 };
	for (size_t i = 0; i < n; i++) {
		assert_true(v[i].len <= sizeof(sanity));
		assert_int_equal(cgroup_xxh3_64(sanity, v[i].len), v[i].expected);
		for (size_t p = 0; p < sizeof(pieces) / sizeof(pieces[0]); p++) {
			struct cgroup_hash_stream s;
			cgroup_hash_stream_init(&s);
			for (size_t at = 0; at < v[i].len; at += pieces[p]) {
				size_t take = v[i].len - at < pieces[p] ? v[i].len - at : pieces[p];
				cgroup_hash_put_bytes(&s, sanity + at, take);
			}
			assert_int_equal((uint64_t)cgroup_hash_stream_get(&s), v[i].expected);
		}
	}
}

static void test_xxh3_vectors(void **state)
{
	(void)state;
	check_xxh3(published, sizeof(published) / sizeof(published[0]));
	check_xxh3(from_hash4j, sizeof(from_hash4j) / sizeof(from_hash4j[0]));
}

static struct kstr ks(const char *s)
{
	return (struct kstr){ s, (int32_t)strlen(s) };
}

/* putByte, putInt, putLong and putString stand for these bytes. */
static void test_stream_encodings(void **state)
{
	(void)state;
	static const uint8_t bytes[] = {
		0xab,                                           /* putByte(0xab) */
		0xfe, 0xff, 0xff, 0xff,                         /* putInt(-2) */
		0x08, 0x07, 0x06, 0x05, 0x04, 0x03, 0x02, 0x81, /* putLong */
		'a', 0, 0xe9, 0, 0x00, 0xe0, 0x3d, 0xd8, 0x00, 0xde, /* "aé\ue000😀" */
		5, 0, 0, 0,                                     /* its length */
		0xfd, 0xff, 'b', 0, 2, 0, 0, 0,                 /* "\xff" "b" */
		0, 0, 0, 0,                                     /* "" */
	};
	struct cgroup_hash_stream s;
	cgroup_hash_stream_init(&s);
	cgroup_hash_put_byte(&s, 0xab);
	cgroup_hash_put_int(&s, -2);
	cgroup_hash_put_long(&s, (int64_t)0x8102030405060708ull);
	cgroup_hash_put_string(&s, ks("a\303\251\356\200\200\360\237\230\200"));
	cgroup_hash_put_string(&s, ks("\377b"));
	cgroup_hash_put_string(&s, (struct kstr){ NULL, 0 });
	assert_int_equal((uint64_t)cgroup_hash_stream_get(&s), cgroup_xxh3_64(bytes, sizeof(bytes)));

	assert_int_equal(cgroup_hash_utf16_len(ks("a\303\251\356\200\200\360\237\230\200")), 5);
	/* Overlong, surrogate, truncated: one U+FFFD per byte. */
	assert_int_equal(cgroup_hash_utf16_len(ks("\300\200\355\240\200\360\237")), 7);
}

/* A name longer than a stack chunk: the chunking must not show. */
static void test_long_string(void **state)
{
	(void)state;
	char text[1000];
	uint8_t bytes[2 * sizeof(text) + 4];
	for (size_t i = 0; i < sizeof(text); i++) {
		text[i] = (char)('a' + i % 26);
		bytes[2 * i] = (uint8_t)text[i];
		bytes[2 * i + 1] = 0;
	}
	memcpy(bytes + 2 * sizeof(text), (uint8_t[]){ 0xe8, 0x03, 0, 0 }, 4);
	struct cgroup_hash_stream s;
	cgroup_hash_stream_init(&s);
	cgroup_hash_put_string(&s, (struct kstr){ text, (int32_t)sizeof(text) });
	assert_int_equal((uint64_t)cgroup_hash_stream_get(&s), cgroup_xxh3_64(bytes, sizeof(bytes)));
}

/* The generator's rack rules: mode 0 no racks; mode 1 "rack-N", none to
 * three per partition; mode 2 one to three of odd_racks, with duplicates,
 * the empty rack, and strings whose Java order is not their UTF-8 order. */
static const char *const odd_racks[] = {
	"", "z", "a", "a", "\303\251", "\360\237\230\200", "rack,,", "\356\200\200",
};
static const char *const plain_racks[] = {
	"rack-0", "rack-1", "rack-2", "rack-3", "rack-4", "rack-5", "rack-6",
};

static int32_t rack_count(int mode, int32_t p)
{
	return mode == 1 ? p % 4 : mode == 2 ? p % 3 + 1 : 0;
}

static const char *rack_of(int mode, int32_t p, int32_t k)
{
	return mode == 1 ? plain_racks[(p * 5 + k * 3) % 7] : odd_racks[(p * 3 + k * 5) % 8];
}

struct topic_case {
	int64_t msb, lsb;
	const char *name;
	int32_t partitions;
	int mode;
	int64_t expected;
};

/* From Kafka 4.4.0: Utils.computeTopicHash. */
static const struct topic_case topics[] = {
	{ (int64_t)0x0000000000000000ULL, (int64_t)0x0000000000000000ULL, "b", 0, 0, (int64_t)0x84ae0a2e806c4e58ULL },
	{ (int64_t)0x0123456789abcdefULL, (int64_t)0xfedcba9876543210ULL, "b", 1, 1, (int64_t)0xcdd8f8670cb43cb9ULL },
	{ (int64_t)0x8000000000000001ULL, (int64_t)0x7fffffffffffffffULL, "b", 7, 2, (int64_t)0x7a1c22f0b1cbd6c2ULL },
	{ (int64_t)0xc4a1b2d3e4f50617ULL, (int64_t)0x2839aabbccddeeffULL, "b", 1000, 0, (int64_t)0x1a795c89f397f288ULL },
	{ (int64_t)0x0000000000000000ULL, (int64_t)0x0000000000000000ULL, "cj", 0, 1, (int64_t)0xf742edbdb93cb0e3ULL },
	{ (int64_t)0x0123456789abcdefULL, (int64_t)0xfedcba9876543210ULL, "cj", 1, 2, (int64_t)0xd957c3b356762fb0ULL },
	{ (int64_t)0x8000000000000001ULL, (int64_t)0x7fffffffffffffffULL, "cj", 7, 0, (int64_t)0x5aae6a474ef40884ULL },
	{ (int64_t)0xc4a1b2d3e4f50617ULL, (int64_t)0x2839aabbccddeeffULL, "cj", 1000, 1, (int64_t)0x46bffed7484aab8dULL },
	{ (int64_t)0x0000000000000000ULL, (int64_t)0x0000000000000000ULL, "dkr", 0, 2, (int64_t)0xc5ec5629ef180042ULL },
	{ (int64_t)0x0123456789abcdefULL, (int64_t)0xfedcba9876543210ULL, "dkr", 1, 0, (int64_t)0x1040ee386b0a716aULL },
	{ (int64_t)0x8000000000000001ULL, (int64_t)0x7fffffffffffffffULL, "dkr", 7, 1, (int64_t)0xf671d35cef7aff6dULL },
	{ (int64_t)0xc4a1b2d3e4f50617ULL, (int64_t)0x2839aabbccddeeffULL, "dkr", 1000, 2, (int64_t)0x3fa7d85fa963c0ccULL },
	{ (int64_t)0x0000000000000000ULL, (int64_t)0x0000000000000000ULL, "fmt07", 0, 0, (int64_t)0x9f7a47be9f31ad4eULL },
	{ (int64_t)0x0123456789abcdefULL, (int64_t)0xfedcba9876543210ULL, "fmt07", 1, 1, (int64_t)0x8fad88852768fb39ULL },
	{ (int64_t)0x8000000000000001ULL, (int64_t)0x7fffffffffffffffULL, "fmt07", 7, 2, (int64_t)0x0204e0d7dd6af0abULL },
	{ (int64_t)0xc4a1b2d3e4f50617ULL, (int64_t)0x2839aabbccddeeffULL, "fmt07", 1000, 0, (int64_t)0x8ae0ff81ae1e686dULL },
	{ (int64_t)0x0000000000000000ULL, (int64_t)0x0000000000000000ULL, "ipw3.els", 0, 1, (int64_t)0x762460e9b59ca5e8ULL },
	{ (int64_t)0x0123456789abcdefULL, (int64_t)0xfedcba9876543210ULL, "ipw3.els", 1, 2, (int64_t)0xa122ca5d266cbf4aULL },
	{ (int64_t)0x8000000000000001ULL, (int64_t)0x7fffffffffffffffULL, "ipw3.els", 7, 0, (int64_t)0x437c8107c209297aULL },
	{ (int64_t)0xc4a1b2d3e4f50617ULL, (int64_t)0x2839aabbccddeeffULL, "ipw3.els", 1000, 1, (int64_t)0xb122ae43cc966a43ULL },
	{ (int64_t)0x0000000000000000ULL, (int64_t)0x0000000000000000ULL, "nu18cjqx4_fmt", 0, 2, (int64_t)0x4fe8ff5e1b0b37e4ULL },
	{ (int64_t)0x0123456789abcdefULL, (int64_t)0xfedcba9876543210ULL, "nu18cjqx4_fmt", 1, 0, (int64_t)0xf4af43c5c62c8f81ULL },
	{ (int64_t)0x8000000000000001ULL, (int64_t)0x7fffffffffffffffULL, "nu18cjqx4_fmt", 7, 1, (int64_t)0xeab1a7fe46d8972eULL },
	{ (int64_t)0xc4a1b2d3e4f50617ULL, (int64_t)0x2839aabbccddeeffULL, "nu18cjqx4_fmt", 1000, 2, (int64_t)0xf37e5e45a265f3d5ULL },
	{ (int64_t)0x0000000000000000ULL, (int64_t)0x0000000000000000ULL, "qx4_fmt07bipw3.e", 0, 0, (int64_t)0x6e115bce96b22d94ULL },
	{ (int64_t)0x0123456789abcdefULL, (int64_t)0xfedcba9876543210ULL, "qx4_fmt07bipw3.e", 1, 1, (int64_t)0xfd6fc61a35c4ecedULL },
	{ (int64_t)0x8000000000000001ULL, (int64_t)0x7fffffffffffffffULL, "qx4_fmt07bipw3.e", 7, 2, (int64_t)0x97769961e5268754ULL },
	{ (int64_t)0xc4a1b2d3e4f50617ULL, (int64_t)0x2839aabbccddeeffULL, "qx4_fmt07bipw3.e", 1000, 0, (int64_t)0x4ae8fa201e50b5d8ULL },
	{ (int64_t)0x0000000000000000ULL, (int64_t)0x0000000000000000ULL, "ry5-gnu18cjqx4_fm", 0, 1, (int64_t)0xc6539066b4136608ULL },
	{ (int64_t)0x0123456789abcdefULL, (int64_t)0xfedcba9876543210ULL, "ry5-gnu18cjqx4_fm", 1, 2, (int64_t)0x998551fa24e09d0eULL },
	{ (int64_t)0x8000000000000001ULL, (int64_t)0x7fffffffffffffffULL, "ry5-gnu18cjqx4_fm", 7, 0, (int64_t)0x35f87cbf17f1c954ULL },
	{ (int64_t)0xc4a1b2d3e4f50617ULL, (int64_t)0x2839aabbccddeeffULL, "ry5-gnu18cjqx4_fm", 1000, 1, (int64_t)0x3004bb78c499464fULL },
	{ (int64_t)0x0000000000000000ULL, (int64_t)0x0000000000000000ULL, "5-gnu18cjqx4_fmt07bipw3.elsz6ah", 0, 2, (int64_t)0x836245af3be30d83ULL },
	{ (int64_t)0x0123456789abcdefULL, (int64_t)0xfedcba9876543210ULL, "5-gnu18cjqx4_fmt07bipw3.elsz6ah", 1, 0, (int64_t)0xa4349b229fabcdafULL },
	{ (int64_t)0x8000000000000001ULL, (int64_t)0x7fffffffffffffffULL, "5-gnu18cjqx4_fmt07bipw3.elsz6ah", 7, 1, (int64_t)0x8053aee20cff31baULL },
	{ (int64_t)0xc4a1b2d3e4f50617ULL, (int64_t)0x2839aabbccddeeffULL, "5-gnu18cjqx4_fmt07bipw3.elsz6ah", 1000, 2, (int64_t)0x40dbe32049c5d349ULL },
	{ (int64_t)0x0000000000000000ULL, (int64_t)0x0000000000000000ULL, "z6ahov29dkry5-gnu18cjqx4_fmt07bipw3.elsz6ahov29dkry5-gnu18cjqx4_", 0, 0, (int64_t)0x7c1aacc27c706d1bULL },
	{ (int64_t)0x0123456789abcdefULL, (int64_t)0xfedcba9876543210ULL, "z6ahov29dkry5-gnu18cjqx4_fmt07bipw3.elsz6ahov29dkry5-gnu18cjqx4_", 1, 1, (int64_t)0x2691612f895deebbULL },
	{ (int64_t)0x8000000000000001ULL, (int64_t)0x7fffffffffffffffULL, "z6ahov29dkry5-gnu18cjqx4_fmt07bipw3.elsz6ahov29dkry5-gnu18cjqx4_", 7, 2, (int64_t)0x126748f02e893b25ULL },
	{ (int64_t)0xc4a1b2d3e4f50617ULL, (int64_t)0x2839aabbccddeeffULL, "z6ahov29dkry5-gnu18cjqx4_fmt07bipw3.elsz6ahov29dkry5-gnu18cjqx4_", 1000, 0, (int64_t)0xd70d795eee958988ULL },
	{ (int64_t)0x0000000000000000ULL, (int64_t)0x0000000000000000ULL, "w3.elsz6ahov29dkry5-gnu18cjqx4_fmt07bipw3.elsz6ahov29dkry5-gnu18cjqx4_fmt07bipw3.elsz6ahov29dkry5-gn", 0, 1, (int64_t)0x59b3ec33bd6e268eULL },
	{ (int64_t)0x0123456789abcdefULL, (int64_t)0xfedcba9876543210ULL, "w3.elsz6ahov29dkry5-gnu18cjqx4_fmt07bipw3.elsz6ahov29dkry5-gnu18cjqx4_fmt07bipw3.elsz6ahov29dkry5-gn", 1, 2, (int64_t)0x7c311c0d6db1d9e3ULL },
	{ (int64_t)0x8000000000000001ULL, (int64_t)0x7fffffffffffffffULL, "w3.elsz6ahov29dkry5-gnu18cjqx4_fmt07bipw3.elsz6ahov29dkry5-gnu18cjqx4_fmt07bipw3.elsz6ahov29dkry5-gn", 7, 0, (int64_t)0x211f3ea67c99923eULL },
	{ (int64_t)0xc4a1b2d3e4f50617ULL, (int64_t)0x2839aabbccddeeffULL, "w3.elsz6ahov29dkry5-gnu18cjqx4_fmt07bipw3.elsz6ahov29dkry5-gnu18cjqx4_fmt07bipw3.elsz6ahov29dkry5-gn", 1000, 1, (int64_t)0xf92bdb214b0ccb10ULL },
	{ (int64_t)0x0000000000000000ULL, (int64_t)0x0000000000000000ULL, "kry5-gnu18cjqx4_fmt07bipw3.elsz6ahov29dkry5-gnu18cjqx4_fmt07bipw3.elsz6ahov29dkry5-gnu18cjqx4_fmt07bipw3.elsz6ahov29dkry5-gnu18", 0, 2, (int64_t)0xfedff160cbc10362ULL },
	{ (int64_t)0x0123456789abcdefULL, (int64_t)0xfedcba9876543210ULL, "kry5-gnu18cjqx4_fmt07bipw3.elsz6ahov29dkry5-gnu18cjqx4_fmt07bipw3.elsz6ahov29dkry5-gnu18cjqx4_fmt07bipw3.elsz6ahov29dkry5-gnu18", 1, 0, (int64_t)0x372c3b8a3a83f729ULL },
	{ (int64_t)0x8000000000000001ULL, (int64_t)0x7fffffffffffffffULL, "kry5-gnu18cjqx4_fmt07bipw3.elsz6ahov29dkry5-gnu18cjqx4_fmt07bipw3.elsz6ahov29dkry5-gnu18cjqx4_fmt07bipw3.elsz6ahov29dkry5-gnu18", 7, 1, (int64_t)0xcae30c38c121af3eULL },
	{ (int64_t)0xc4a1b2d3e4f50617ULL, (int64_t)0x2839aabbccddeeffULL, "kry5-gnu18cjqx4_fmt07bipw3.elsz6ahov29dkry5-gnu18cjqx4_fmt07bipw3.elsz6ahov29dkry5-gnu18cjqx4_fmt07bipw3.elsz6ahov29dkry5-gnu18", 1000, 2, (int64_t)0x9bfb52563c78e9b2ULL },
	{ (int64_t)0x0000000000000000ULL, (int64_t)0x0000000000000000ULL, "lsz6ahov29dkry5-gnu18cjqx4_fmt07bipw3.elsz6ahov29dkry5-gnu18cjqx4_fmt07bipw3.elsz6ahov29dkry5-gnu18cjqx4_fmt07bipw3.elsz6ahov29d", 0, 0, (int64_t)0x68c11c411db9caefULL },
	{ (int64_t)0x0123456789abcdefULL, (int64_t)0xfedcba9876543210ULL, "lsz6ahov29dkry5-gnu18cjqx4_fmt07bipw3.elsz6ahov29dkry5-gnu18cjqx4_fmt07bipw3.elsz6ahov29dkry5-gnu18cjqx4_fmt07bipw3.elsz6ahov29d", 1, 1, (int64_t)0xe769c706352c3d33ULL },
	{ (int64_t)0x8000000000000001ULL, (int64_t)0x7fffffffffffffffULL, "lsz6ahov29dkry5-gnu18cjqx4_fmt07bipw3.elsz6ahov29dkry5-gnu18cjqx4_fmt07bipw3.elsz6ahov29dkry5-gnu18cjqx4_fmt07bipw3.elsz6ahov29d", 7, 2, (int64_t)0x9676a0381a51eaddULL },
	{ (int64_t)0xc4a1b2d3e4f50617ULL, (int64_t)0x2839aabbccddeeffULL, "lsz6ahov29dkry5-gnu18cjqx4_fmt07bipw3.elsz6ahov29dkry5-gnu18cjqx4_fmt07bipw3.elsz6ahov29dkry5-gnu18cjqx4_fmt07bipw3.elsz6ahov29d", 1000, 0, (int64_t)0x69fd97ec9bd29537ULL },
	{ (int64_t)0x0000000000000000ULL, (int64_t)0x0000000000000000ULL, "mt07bipw3.elsz6ahov29dkry5-gnu18cjqx4_fmt07bipw3.elsz6ahov29dkry5-gnu18cjqx4_fmt07bipw3.elsz6ahov29dkry5-gnu18cjqx4_fmt07bipw3.el", 0, 1, (int64_t)0xeac82c99c0359d9cULL },
	{ (int64_t)0x0123456789abcdefULL, (int64_t)0xfedcba9876543210ULL, "mt07bipw3.elsz6ahov29dkry5-gnu18cjqx4_fmt07bipw3.elsz6ahov29dkry5-gnu18cjqx4_fmt07bipw3.elsz6ahov29dkry5-gnu18cjqx4_fmt07bipw3.el", 1, 2, (int64_t)0x376a44a45b24efa3ULL },
	{ (int64_t)0x8000000000000001ULL, (int64_t)0x7fffffffffffffffULL, "mt07bipw3.elsz6ahov29dkry5-gnu18cjqx4_fmt07bipw3.elsz6ahov29dkry5-gnu18cjqx4_fmt07bipw3.elsz6ahov29dkry5-gnu18cjqx4_fmt07bipw3.el", 7, 0, (int64_t)0xd0f93ab85b8336fcULL },
	{ (int64_t)0xc4a1b2d3e4f50617ULL, (int64_t)0x2839aabbccddeeffULL, "mt07bipw3.elsz6ahov29dkry5-gnu18cjqx4_fmt07bipw3.elsz6ahov29dkry5-gnu18cjqx4_fmt07bipw3.elsz6ahov29dkry5-gnu18cjqx4_fmt07bipw3.el", 1000, 1, (int64_t)0x852011e7b03f4e10ULL },
	{ (int64_t)0x0000000000000000ULL, (int64_t)0x0000000000000000ULL, "fmt07bipw3.elsz6ahov29dkry5-gnu18cjqx4_fmt07bipw3.elsz6ahov29dkry5-gnu18cjqx4_fmt07bipw3.elsz6ahov29dkry5-gnu18cjqx4_fmt07bipw3.elsz6ahov29dkry5-gnu18cjqx4_fmt07bipw3.elsz6ahov29dkry5-gnu18cjqx4_fmt07", 0, 2, (int64_t)0xeda46d336a397004ULL },
	{ (int64_t)0x0123456789abcdefULL, (int64_t)0xfedcba9876543210ULL, "fmt07bipw3.elsz6ahov29dkry5-gnu18cjqx4_fmt07bipw3.elsz6ahov29dkry5-gnu18cjqx4_fmt07bipw3.elsz6ahov29dkry5-gnu18cjqx4_fmt07bipw3.elsz6ahov29dkry5-gnu18cjqx4_fmt07bipw3.elsz6ahov29dkry5-gnu18cjqx4_fmt07", 1, 0, (int64_t)0x104c4ccc643cff00ULL },
	{ (int64_t)0x8000000000000001ULL, (int64_t)0x7fffffffffffffffULL, "fmt07bipw3.elsz6ahov29dkry5-gnu18cjqx4_fmt07bipw3.elsz6ahov29dkry5-gnu18cjqx4_fmt07bipw3.elsz6ahov29dkry5-gnu18cjqx4_fmt07bipw3.elsz6ahov29dkry5-gnu18cjqx4_fmt07bipw3.elsz6ahov29dkry5-gnu18cjqx4_fmt07", 7, 1, (int64_t)0x293fbea3a8010405ULL },
	{ (int64_t)0xc4a1b2d3e4f50617ULL, (int64_t)0x2839aabbccddeeffULL, "fmt07bipw3.elsz6ahov29dkry5-gnu18cjqx4_fmt07bipw3.elsz6ahov29dkry5-gnu18cjqx4_fmt07bipw3.elsz6ahov29dkry5-gnu18cjqx4_fmt07bipw3.elsz6ahov29dkry5-gnu18cjqx4_fmt07bipw3.elsz6ahov29dkry5-gnu18cjqx4_fmt07", 1000, 2, (int64_t)0x357cdb2bce18ed84ULL },
	{ (int64_t)0x0123456789abcdefULL, (int64_t)0xfedcba9876543210ULL, "orders", 3, 0, (int64_t)0x7d22da17ec1a2b53ULL },
	{ (int64_t)0x8000000000000001ULL, (int64_t)0x7fffffffffffffffULL, "orders", 3, 0, (int64_t)0xc232a5f317872041ULL },
	{ (int64_t)0x0123456789abcdefULL, (int64_t)0xfedcba9876543210ULL, "orders", 4, 0, (int64_t)0x0d8f4aee783144c1ULL },
	{ (int64_t)0x0123456789abcdefULL, (int64_t)0xfedcba9876543210ULL, "orders", 3, 1, (int64_t)0x8caecb7a697bb8c5ULL },
	{ (int64_t)0xc4a1b2d3e4f50617ULL, (int64_t)0x2839aabbccddeeffULL, "\303\251t\303\251-\360\237\230\200", 7, 2, (int64_t)0x55dd84b2a3f0eec1ULL },
};

static struct kuuid uuid_of(int64_t msb, int64_t lsb)
{
	struct kuuid id;
	for (int k = 0; k < 8; k++) {
		id.b[k] = (uint8_t)((uint64_t)msb >> (56 - 8 * k));
		id.b[8 + k] = (uint8_t)((uint64_t)lsb >> (56 - 8 * k));
	}
	return id;
}

static int64_t hash_case(const struct topic_case *c)
{
	if (c->mode == 0)
		return cgroup_topic_hash(uuid_of(c->msb, c->lsb), ks(c->name), c->partitions, NULL);
	struct kstr *store = calloc((size_t)c->partitions * (RACKS_PER_PARTITION_MAX + 1) + 1, sizeof(*store));
	const struct kstr **per = calloc((size_t)c->partitions + 1, sizeof(*per));
	assert_non_null(store);
	assert_non_null(per);
	for (int32_t p = 0; p < c->partitions; p++) {
		struct kstr *r = store + (size_t)p * (RACKS_PER_PARTITION_MAX + 1);
		int32_t n = rack_count(c->mode, p);
		assert_true(n <= RACKS_PER_PARTITION_MAX);
		for (int32_t k = 0; k < n; k++)
			r[k] = ks(rack_of(c->mode, p, k));
		r[n] = (struct kstr){ NULL, -1 };
		/* An empty list and NULL mean the same. */
		per[p] = n == 0 && p % 2 ? NULL : r;
	}
	int64_t h = cgroup_topic_hash(uuid_of(c->msb, c->lsb), ks(c->name), c->partitions, per);
	free(per);
	free(store);
	return h;
}

static void test_topic_hash_matches_kafka(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(topics) / sizeof(topics[0]); i++) {
		int64_t h = hash_case(&topics[i]);
		if (h != topics[i].expected)
			fail_msg("case %zu (%.20s, %d partitions, racks %d): %016llx, Kafka %016llx", i,
			         topics[i].name, topics[i].partitions, topics[i].mode,
			         (unsigned long long)h, (unsigned long long)topics[i].expected);
	}
}

/* Every field counts: a changed id, partition count or rack changes it. */
static void test_topic_hash_changes(void **state)
{
	(void)state;
	struct kuuid id = uuid_of(1, 2), other = uuid_of(1, 3);
	const struct kstr racks_a[] = { ks("r1"), ks("r2"), { NULL, -1 } };
	const struct kstr racks_b[] = { ks("r2"), ks("r1"), { NULL, -1 } };
	const struct kstr racks_c[] = { ks("r1"), ks("r1"), { NULL, -1 } };
	const struct kstr *per_a[] = { racks_a }, *per_b[] = { racks_b }, *per_c[] = { racks_c };
	int64_t base = cgroup_topic_hash(id, ks("t"), 1, per_a);
	assert_int_equal(cgroup_topic_hash(id, ks("t"), 1, per_b), base); /* racks are sorted */
	assert_int_not_equal(cgroup_topic_hash(id, ks("t"), 1, per_c), base);
	assert_int_not_equal(cgroup_topic_hash(other, ks("t"), 1, per_a), base);
	assert_int_not_equal(cgroup_topic_hash(id, ks("u"), 1, per_a), base);
	assert_int_not_equal(cgroup_topic_hash(id, ks("t"), 1, NULL), base);
	assert_int_not_equal(cgroup_topic_hash(id, ks("t"), 2, NULL), cgroup_topic_hash(id, ks("t"), 1, NULL));
}

struct group_case {
	int32_t n;
	const char *names[8];
	int64_t hashes[8];
	int64_t expected;
};

/* From Kafka 4.4.0: Utils.computeGroupHash of a map in the order given. */
static const struct group_case groups[] = {
	{ 1, { "b#0", }, { (int64_t)0x84ae0a2e806c4e58ULL, }, (int64_t)0xcf9a8e1b126398bdULL },
	{ 2, { "cj#5", "b#1", }, { (int64_t)0xd957c3b356762fb0ULL, (int64_t)0xcdd8f8670cb43cb9ULL, }, (int64_t)0x2d3eba9f7fe1af11ULL },
	{ 4, { "b#3", "t40", "t39", "b#2", }, { (int64_t)0x1a795c89f397f288ULL, (int64_t)0x7d22da17ec1a2b53ULL, (int64_t)0xc232a5f317872041ULL, (int64_t)0x7a1c22f0b1cbd6c2ULL, }, (int64_t)0xa789cb9df8f4fbbeULL },
	{ 5, { "\356\200\200x", "\360\237\230\200y", "t38", "t39", "t40", }, { (int64_t)0x55dd84b2a3f0eec1ULL, (int64_t)0x8caecb7a697bb8c5ULL, (int64_t)0x0d8f4aee783144c1ULL, (int64_t)0xc232a5f317872041ULL, (int64_t)0x7d22da17ec1a2b53ULL, }, (int64_t)0xef09a300618013b1ULL },
	{ 7, { "dkr#10", "nu18cjqx4_fmt#20", "ry5-gnu18cjqx4_fm#30", "w3.elsz6ahov29dkry5-gnu18cjqx4_fmt07bipw3.elsz6ahov29dkry5-gnu18cjqx4_fmt07bipw3.elsz6ahov29dkry5-gn#40", "lsz6ahov29dkry5-gnu18cjqx4_fmt07bipw3.elsz6ahov29dkry5-gnu18cjqx4_fmt07bipw3.elsz6ahov29dkry5-gnu18cjqx4_fmt07bipw3.elsz6ahov29d#50", "fmt07bipw3.elsz6ahov29dkry5-gnu18cjqx4_fmt07bipw3.elsz6ahov29dkry5-gnu18cjqx4_fmt07bipw3.elsz6ahov29dkry5-gnu18cjqx4_fmt07bipw3.elsz6ahov29dkry5-gnu18cjqx4_fmt07bipw3.elsz6ahov29dkry5-gnu18cjqx4_fmt07#59", "fmt07bipw3.elsz6ahov29dkry5-gnu18cjqx4_fmt07bipw3.elsz6ahov29dkry5-gnu18cjqx4_fmt07bipw3.elsz6ahov29dkry5-gnu18cjqx4_fmt07bipw3.elsz6ahov29dkry5-gnu18cjqx4_fmt07bipw3.elsz6ahov29dkry5-gnu18cjqx4_fmt07#58", }, { (int64_t)0xf671d35cef7aff6dULL, (int64_t)0x4fe8ff5e1b0b37e4ULL, (int64_t)0x35f87cbf17f1c954ULL, (int64_t)0x59b3ec33bd6e268eULL, (int64_t)0x9676a0381a51eaddULL, (int64_t)0x357cdb2bce18ed84ULL, (int64_t)0x293fbea3a8010405ULL, }, (int64_t)0xe335b63500fce4feULL },
};

static int64_t group_hash(const struct group_case *g, const int32_t *order)
{
	struct kstr names[8];
	int64_t hashes[8];
	for (int32_t i = 0; i < g->n; i++) {
		names[i] = ks(g->names[order[i]]);
		hashes[i] = g->hashes[order[i]];
	}
	return cgroup_group_hash(names, hashes, g->n);
}

static void test_group_hash_matches_kafka(void **state)
{
	(void)state;
	for (size_t c = 0; c < sizeof(groups) / sizeof(groups[0]); c++) {
		const struct group_case *g = &groups[c];
		int32_t given[8], reversed[8];
		for (int32_t i = 0; i < g->n; i++) {
			given[i] = i;
			reversed[i] = g->n - 1 - i;
		}
		assert_int_equal(group_hash(g, given), g->expected);
		assert_int_equal(group_hash(g, reversed), g->expected);
	}
	assert_int_equal(cgroup_group_hash(NULL, NULL, 0), 0);
}

/* From Kafka 4.4.0: ModernGroup.computeMetadataHash over subscriptions to
 * "b", "c" and "missing" with only "b" and "c" in the image equals
 * computeGroupHash of "b" and "c" alone: a name without a topic is left
 * out. The hash of topic "b" is the second case of topics[]. */
static void test_missing_topic_is_left_out(void **state)
{
	(void)state;
	const struct kstr names[] = { ks("c"), ks("b") };
	const int64_t hashes[] = { (int64_t)0xa3603d18425aebe5ULL, topics[1].expected };
	assert_string_equal(topics[1].name, "b");
	assert_int_equal(cgroup_group_hash(names, hashes, 2), (int64_t)0xded662476883e691ULL);
	const struct kstr with_zero[] = { ks("c"), ks("b"), ks("missing") };
	const int64_t zero_hashes[] = { hashes[0], hashes[1], 0 };
	assert_int_not_equal(cgroup_group_hash(with_zero, zero_hashes, 3), (int64_t)0xded662476883e691ULL);
}

static void big_name(char *out, int32_t i)
{
	snprintf(out, BIG_NAME_BYTES, "g%d", (int)(i * 37 % BIG_GROUP));
}

/* More topics than one sorting pass holds; Kafka's value for the names
 * "g<(i*37)%600>" with hash i * 0x9E3779B97F4A7C15, in i order. */
static void test_group_hash_many_topics(void **state)
{
	(void)state;
	static char text[BIG_GROUP][BIG_NAME_BYTES];
	struct kstr names[BIG_GROUP];
	int64_t hashes[BIG_GROUP];
	for (int32_t i = 0; i < BIG_GROUP; i++) {
		big_name(text[i], i);
		names[i] = ks(text[i]);
		hashes[i] = (int64_t)((uint64_t)i * 0x9E3779B97F4A7C15ull);
	}
	assert_int_equal(cgroup_group_hash(names, hashes, BIG_GROUP), (int64_t)0x7a389882ead633f6ULL);
	/* And in another order: reversed. */
	for (int32_t i = 0; i < BIG_GROUP / 2; i++) {
		struct kstr t = names[i];
		int64_t h = hashes[i];
		names[i] = names[BIG_GROUP - 1 - i];
		hashes[i] = hashes[BIG_GROUP - 1 - i];
		names[BIG_GROUP - 1 - i] = t;
		hashes[BIG_GROUP - 1 - i] = h;
	}
	assert_int_equal(cgroup_group_hash(names, hashes, BIG_GROUP), (int64_t)0x7a389882ead633f6ULL);
}

int main(void)
{
	fill_sanity();
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_xxh3_vectors),
		cmocka_unit_test(test_stream_encodings),
		cmocka_unit_test(test_long_string),
		cmocka_unit_test(test_topic_hash_matches_kafka),
		cmocka_unit_test(test_topic_hash_changes),
		cmocka_unit_test(test_group_hash_matches_kafka),
		cmocka_unit_test(test_missing_topic_is_left_out),
		cmocka_unit_test(test_group_hash_many_topics),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
