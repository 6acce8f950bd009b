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

#include "proto/compression.h"
#include "proto/cursor.h"

enum { PLAIN_BYTES = 100000 };

static uint8_t plain[PLAIN_BYTES];

static size_t make_gzip(uint8_t *out, size_t cap)
{
	z_stream z;
	memset(&z, 0, sizeof(z));
	deflateInit2(&z, 6, Z_DEFLATED, 16 + MAX_WBITS, 8, Z_DEFAULT_STRATEGY);
	z.next_in = plain;
	z.avail_in = PLAIN_BYTES;
	z.next_out = out;
	z.avail_out = (uInt)cap;
	assert_int_equal(deflate(&z, Z_FINISH), Z_STREAM_END);
	size_t n = z.total_out;
	deflateEnd(&z);
	return n;
}

static size_t make_xerial(uint8_t *out, size_t cap)
{
	static const uint8_t hdr[16] = { 0x82, 'S', 'N', 'A', 'P', 'P', 'Y', 0, 0, 0, 0, 1, 0, 0, 0, 1 };
	memcpy(out, hdr, 16);
	size_t pos = 16;
	for (size_t off = 0; off < PLAIN_BYTES; off += 32768) {
		size_t len = PLAIN_BYTES - off < 32768 ? PLAIN_BYTES - off : 32768;
		size_t n = cap - pos - 4;
		assert_int_equal(snappy_compress((const char *)plain + off, len, (char *)out + pos + 4, &n), SNAPPY_OK);
		be_store(out + pos, n, 4);
		pos += 4 + n;
	}
	return pos;
}

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
	check(CODEC_GZIP, buf, make_gzip(buf, cap));
	size_t n = cap;
	assert_int_equal(snappy_compress((const char *)plain, PLAIN_BYTES, (char *)buf, &n), SNAPPY_OK);
	check(CODEC_SNAPPY, buf, n);
	check(CODEC_SNAPPY, buf, make_xerial(buf, cap));
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
