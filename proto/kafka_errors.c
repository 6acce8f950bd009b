/* The names of Kafka's error codes (kafka_errors.h). */
#include "proto/kafka_errors.h"

#include <stddef.h>

const char *kafka_error_name(int16_t code)
{
	switch (code) {
#define KAFKA_ERROR_CASE(name, value) case value: return #name;
		KAFKA_ERRORS(KAFKA_ERROR_CASE)
#undef KAFKA_ERROR_CASE
	}
	return NULL;
}
