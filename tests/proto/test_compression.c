/* Decompression of each codec's real output (made here with the codec's own
 * library), Kafka's xerial snappy framing, output bounds and garbage. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <lz4frame.h>
#include <snappy-c.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>
#include <zstd.h>

#include "batch_make.h"

enum { PLAIN_BYTES = 100000 };

static uint8_t plain[PLAIN_BYTES];

static void check(enum compression_codec codec, const uint8_t *in, size_t n)
{
	uint8_t *out = malloc(PLAIN_BYTES);
	size_t got = 0;
	assert_int_equal(compression_decompress(codec, in, n, out, PLAIN_BYTES, &got), 0);
	assert_int_equal(got, PLAIN_BYTES);
	assert_memory_equal(out, plain, PLAIN_BYTES);
	assert_int_equal(compression_decompress(codec, in, n, out, PLAIN_BYTES / 2, &got), -EMSGSIZE);
	uint8_t *bad = malloc(n);
	memcpy(bad, in, n);
	for (size_t i = n / 3; i < n / 3 + 16 && i < n; i++)
		bad[i] ^= 0x5a;
	int rc = compression_decompress(codec, bad, n, out, PLAIN_BYTES, &got);
	assert_true(rc != 0 || memcmp(out, plain, PLAIN_BYTES) != 0);
	assert_int_not_equal(compression_decompress(codec, in, n / 2, out, PLAIN_BYTES, &got), 0);
	free(bad);
	free(out);
}

static void test_codecs(void **state)
{
	(void)state;
	for (size_t i = 0; i < PLAIN_BYTES; i++)
		plain[i] = (uint8_t)("sluice record "[i % 14] + (i / 1000) % 3);
	size_t cap = PLAIN_BYTES * 2;
	uint8_t *buf = malloc(cap);
	check(CODEC_GZIP, buf, make_gzip(plain, PLAIN_BYTES, buf, cap));
	size_t n = cap;
	assert_int_equal(snappy_compress((const char *)plain, PLAIN_BYTES, (char *)buf, &n), SNAPPY_OK);
	check(CODEC_SNAPPY, buf, n);
	check(CODEC_SNAPPY, buf, make_xerial(plain, PLAIN_BYTES, buf, cap));
	n = LZ4F_compressFrame(buf, cap, plain, PLAIN_BYTES, NULL);
	assert_false(LZ4F_isError(n));
	check(CODEC_LZ4, buf, n);
	n = ZSTD_compress(buf, cap, plain, PLAIN_BYTES, 3);
	assert_false(ZSTD_isError(n));
	check(CODEC_ZSTD, buf, n);
	size_t got;
	assert_int_equal(compression_decompress(CODEC_NONE, buf, 10, buf, cap, &got), -EINVAL);
	assert_int_equal(compression_decompress(CODEC_GZIP, (const uint8_t *)"junk", 4, buf, cap, &got), -EINVAL);
	free(buf);
}

int main(void)
{
	const struct CMUnitTest tests[] = { cmocka_unit_test(test_codecs) };
	return cmocka_run_group_tests(tests, NULL, NULL);
}
