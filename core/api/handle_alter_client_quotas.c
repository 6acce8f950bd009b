/* AlterClientQuotas (key 49), v0-v1: sets or removes client quotas per
 * entity (KIP-546). Every entry is checked as Kafka's controller checks it
 * and answered with its code and message: an entity listed twice, or one
 * setting a key twice, is "Ignoring duplicate entity"; an empty entity, an
 * unknown entity type or an empty name; IP combined with user or client-id,
 * an IP entity that is not an address (Kafka also accepts a host name it can
 * resolve; sluice resolves nothing on a shard's loop); an unknown key for
 * the entity, a value not above 0, too large or fractional for an integral
 * key.
 *
 * sluice stores and enforces no client quotas yet: a valid entry that sets a
 * quota answers UNSUPPORTED_VERSION saying so, with validate_only too (it
 * would not succeed), rather than a success that changes nothing; one that
 * only removes quotas succeeds, since none exists. DescribeClientQuotas
 * answers accordingly with an empty set. Runs on the connection's shard. */
#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/api/api_message.h"
#include "core/api/handlers.h"
#include "core/net/request.h"
#include "proto/kafka_errors.h"
#include "proto/messages.h"

typedef struct alter_client_quotas_request_entry quota_entry;
typedef struct alter_client_quotas_request_entity quota_entity;
typedef struct alter_client_quotas_response_entry quota_result;

/* Kafka's entity types. */
static const char QUOTA_CLIENT_ID[] = "client-id";
static const char QUOTA_USER[] = "user";
static const char QUOTA_IP[] = "ip";

enum quota_value_type { QUOTA_DOUBLE, QUOTA_LONG, QUOTA_INT };

struct quota_key {
	const char *name;
	enum quota_value_type type;
	bool for_ip; /* else for user and client-id entities */
};

/* Kafka's QuotaConfigs. */
static const struct quota_key QUOTA_KEYS[] = {
	{ "producer_byte_rate", QUOTA_LONG, false },
	{ "consumer_byte_rate", QUOTA_LONG, false },
	{ "request_percentage", QUOTA_DOUBLE, false },
	{ "controller_mutation_rate", QUOTA_DOUBLE, false },
	{ "connection_creation_rate", QUOTA_INT, true },
};
enum { QUOTA_KEY_COUNT = sizeof(QUOTA_KEYS) / sizeof(QUOTA_KEYS[0]) };

/* A fraction below this is taken as rounding (Kafka's check); doubles from
 * 2^52 up have no fraction. */
static const double QUOTA_FRACTION_EPSILON = 1e-10;
static const double QUOTA_INTEGRAL_FROM = 0x1p52;
/* Room for a message's words around the peer's strings; for an IPv6
 * address; for a key's "len:len:" before each type. */
enum { QUOTA_MESSAGE_EXTRA_BYTES = 96, QUOTA_INET_BYTES = 16, QUOTA_KEY_LENGTHS_BYTES = 16 };

static const char QUOTA_NOT_STORED[] =
	"sluice does not store or enforce client quotas yet: nothing was changed for this entity";

/* One entry as Kafka reads it: its entity as a map (a type listed twice
 * keeps its last name), and the key that makes it comparable with others. */
struct quota_item {
	const quota_entry *in;
	const quota_entity **types; /* distinct types, in Kafka's order */
	int32_t type_count;
	struct kbytes key;          /* types sorted, with their names */
	int32_t position;
	bool duplicate;             /* the entity is listed again, or a key twice */
	bool omitted;               /* answered by its entity's first listing */
};

/* Sets out's error and its message. */
#define quota_fail(req, out, error, ...)                                         \
	((out)->error_code = (error), (out)->error_message = api_message(req, __VA_ARGS__))

static const quota_entity *quota_type(const struct quota_item *it, const char *type)
{
	for (int32_t i = 0; i < it->type_count; i++)
		if (kstr_eq_cstr(it->types[i]->entity_type, type))
			return it->types[i];
	return NULL;
}

static int kstr_order(struct kstr x, struct kstr y)
{
	int32_t len = x.len < y.len ? x.len : y.len;
	int c = len > 0 ? memcmp(x.ptr, y.ptr, (size_t)len) : 0;
	return c ? c : (x.len > y.len) - (x.len < y.len);
}

/* By type, and within a type the later listing first. */
static int quota_entity_order(const void *a, const void *b)
{
	const quota_entity *x = *(const quota_entity *const *)a, *y = *(const quota_entity *const *)b;
	int c = kstr_order(x->entity_type, y->entity_type);
	return c ? c : (x < y) - (x > y);
}

static int quota_op_order(const void *a, const void *b)
{
	const struct alter_client_quotas_request_op *x = *(const void *const *)a;
	const struct alter_client_quotas_request_op *y = *(const void *const *)b;
	return kstr_order(x->key, y->key);
}

/* Puts the types in the order Kafka's entity map iterates them (its
 * response and its messages): client-id, user, ip, then any other. */
static void quota_kafka_order(struct quota_item *it)
{
	static const char *const known[] = { QUOTA_CLIENT_ID, QUOTA_USER, QUOTA_IP };
	int32_t placed = 0;
	for (size_t k = 0; k < sizeof(known) / sizeof(known[0]); k++)
		for (int32_t i = placed; i < it->type_count; i++)
			if (kstr_eq_cstr(it->types[i]->entity_type, known[k])) {
				const quota_entity *e = it->types[i];
				memmove(&it->types[placed + 1], &it->types[placed],
					(size_t)(i - placed) * sizeof(*it->types));
				it->types[placed++] = e;
				break;
			}
}

/* The entity's key: its types in order, each with its name. */
static bool quota_item_key(struct request *req, struct quota_item *it)
{
	size_t bytes = 0;
	for (int32_t i = 0; i < it->type_count; i++)
		bytes += QUOTA_KEY_LENGTHS_BYTES + (size_t)it->types[i]->entity_type.len +
			 (size_t)(it->types[i]->entity_name.len > 0 ? it->types[i]->entity_name.len : 0);
	uint8_t *key = request_alloc(req, bytes + 1, 1);
	if (!key)
		return false;
	size_t at = 0;
	for (int32_t i = 0; i < it->type_count; i++) {
		struct kstr t = it->types[i]->entity_type, n = it->types[i]->entity_name;
		at += (size_t)snprintf((char *)key + at, bytes + 1 - at, "%d:%d:", t.len, n.len);
		memcpy(key + at, t.ptr, (size_t)t.len);
		at += (size_t)t.len;
		if (n.len > 0)
			memcpy(key + at, n.ptr, (size_t)n.len);
		at += n.len > 0 ? (size_t)n.len : 0;
	}
	it->key = (struct kbytes){ key, (int32_t)at };
	return true;
}

/* The entity's distinct types (the last name of each, in Kafka's order),
 * its key, and whether it sets a key twice; sorting keeps it
 * O(n log n) in what the peer sent. */
static bool quota_item_build(struct request *req, const quota_entry *in, int32_t position,
			     struct quota_item *it)
{
	*it = (struct quota_item){ .in = in, .position = position };
	it->types = request_alloc(req, (size_t)in->entity_count + 1, sizeof(*it->types));
	const struct alter_client_quotas_request_op **ops =
		request_alloc(req, (size_t)in->ops_count + 1, sizeof(*ops));
	if (!it->types || !ops)
		return false;
	for (int32_t i = 0; i < in->entity_count; i++)
		it->types[i] = &in->entity[i];
	qsort(it->types, (size_t)in->entity_count, sizeof(*it->types), quota_entity_order);
	for (int32_t i = 0; i < in->entity_count; i++)
		if (i == 0 || !kstr_eq(it->types[i]->entity_type, it->types[it->type_count - 1]->entity_type))
			it->types[it->type_count++] = it->types[i];
	if (!quota_item_key(req, it))
		return false;
	quota_kafka_order(it);
	for (int32_t i = 0; i < in->ops_count; i++)
		ops[i] = &in->ops[i];
	qsort(ops, (size_t)in->ops_count, sizeof(*ops), quota_op_order);
	for (int32_t i = 1; i < in->ops_count && !it->duplicate; i++)
		it->duplicate = kstr_eq(ops[i]->key, ops[i - 1]->key);
	return true;
}

static int quota_item_order(const void *a, const void *b)
{
	const struct quota_item *x = *(const struct quota_item *const *)a;
	const struct quota_item *y = *(const struct quota_item *const *)b;
	if (x->key.len != y->key.len)
		return x->key.len < y->key.len ? -1 : 1;
	int c = memcmp(x->key.ptr, y->key.ptr, (size_t)x->key.len);
	return c ? c : (x->position > y->position) - (x->position < y->position);
}

static bool quota_same_entity(const struct quota_item *x, const struct quota_item *y)
{
	return x->key.len == y->key.len && memcmp(x->key.ptr, y->key.ptr, (size_t)x->key.len) == 0;
}

/* Marks the entries whose entity is listed again (sorting by key): the
 * first of an entity answers for all its listings. */
static bool quota_mark_duplicates(struct request *req, struct quota_item *items, int32_t count)
{
	struct quota_item **sorted = request_alloc(req, (size_t)count + 1, sizeof(*sorted));
	if (!sorted)
		return false;
	for (int32_t i = 0; i < count; i++)
		sorted[i] = &items[i];
	qsort(sorted, (size_t)count, sizeof(*sorted), quota_item_order);
	for (int32_t i = 0; i < count;) {
		int32_t j = i + 1;
		for (; j < count && quota_same_entity(sorted[i], sorted[j]); j++)
			sorted[j]->omitted = true;
		if (j - i > 1)
			sorted[i]->duplicate = true;
		i = j;
	}
	return true;
}

/* Kafka's ClientQuotaEntity.toString: "ClientQuotaEntity(entries={user=a})". */
static void quota_duplicate_message(struct request *req, const struct quota_item *it,
				    quota_result *out)
{
	size_t len = QUOTA_MESSAGE_EXTRA_BYTES + (size_t)it->key.len + 8 * (size_t)it->type_count;
	char *buf = request_alloc(req, len, 1);
	if (!buf) {
		req->body.err = RC_ALLOC;
		return;
	}
	size_t at = (size_t)snprintf(buf, len, "Ignoring duplicate entity ClientQuotaEntity(entries={");
	for (int32_t i = 0; i < it->type_count; i++) {
		struct kstr type = it->types[i]->entity_type, name = it->types[i]->entity_name;
		at += (size_t)snprintf(buf + at, len - at, "%s%.*s=%.*s", i ? ", " : "", (int)type.len,
				       type.ptr, name.len < 0 ? 4 : (int)name.len,
				       name.len < 0 ? "null" : name.ptr);
	}
	at += (size_t)snprintf(buf + at, len - at, "})");
	out->error_code = KERR_INVALID_REQUEST;
	out->error_message = (struct kstr){ buf, (int32_t)at };
}

/* Kafka's validateEntity and configKeysForEntityType; *for_ip says which
 * keys apply. Returns false with out's error set. */
static bool quota_check_entity(struct request *req, const struct quota_item *it, bool *for_ip,
			       quota_result *out)
{
	if (it->type_count == 0) {
		quota_fail(req, out, KERR_INVALID_REQUEST, "Invalid empty client quota entity");
		return false;
	}
	for (int32_t i = 0; i < it->type_count; i++) {
		struct kstr type = it->types[i]->entity_type, name = it->types[i]->entity_name;
		if (!kstr_eq_cstr(type, QUOTA_USER) && !kstr_eq_cstr(type, QUOTA_CLIENT_ID) &&
		    !kstr_eq_cstr(type, QUOTA_IP)) {
			quota_fail(req, out, KERR_INVALID_REQUEST,
				   "Unhandled client quota entity type: %.*s", (int)type.len, type.ptr);
			return false;
		}
		if (name.len == 0) {
			quota_fail(req, out, KERR_INVALID_REQUEST, "Empty %.*s not supported", (int)type.len, type.ptr);
			return false;
		}
	}
	const quota_entity *ip = quota_type(it, QUOTA_IP);
	*for_ip = ip != NULL;
	if (ip && it->type_count > 1) {
		quota_fail(req, out, KERR_INVALID_REQUEST, "Invalid quota entity combination, IP "
			   "entity shouldnot be combined with User or ClientId");
		return false;
	}
	if (ip && ip->entity_name.len > 0) {
		char text[INET6_ADDRSTRLEN + 1];
		uint8_t addr[QUOTA_INET_BYTES];
		struct kstr n = ip->entity_name;
		bool fits = (size_t)n.len < sizeof(text);
		if (fits)
			snprintf(text, sizeof(text), "%.*s", (int)n.len, n.ptr);
		if (!fits || (inet_pton(AF_INET, text, addr) != 1 && inet_pton(AF_INET6, text, addr) != 1)) {
			quota_fail(req, out, KERR_INVALID_REQUEST,
				   "%.*s is not a valid IP or resolvable host.", (int)n.len, n.ptr);
			return false;
		}
	}
	return true;
}

/* Kafka's validateQuotaKeyValue. Returns false with out's error set. */
static bool quota_check_op(struct request *req, const struct alter_client_quotas_request_op *op,
			   bool for_ip, quota_result *out)
{
	const struct quota_key *k = NULL;
	for (int i = 0; i < QUOTA_KEY_COUNT && !k; i++)
		if (QUOTA_KEYS[i].for_ip == for_ip && kstr_eq_cstr(op->key, QUOTA_KEYS[i].name))
			k = &QUOTA_KEYS[i];
	int klen = (int)op->key.len;
	const char *what = NULL;
	if (!k)
		what = "Invalid configuration key %.*s";
	else if (!(op->value > 0.0))
		what = "Quota %.*s must be greater than 0";
	else if (k->type == QUOTA_LONG && op->value > 0x1p63)
		what = "Proposed value for %.*s is too large for a LONG.";
	else if (k->type == QUOTA_INT && op->value > INT32_MAX)
		what = "Proposed value for %.*s is too large for an INT.";
	else if (k->type != QUOTA_DOUBLE && op->value < QUOTA_INTEGRAL_FROM &&
		 op->value - (double)(int64_t)op->value > QUOTA_FRACTION_EPSILON)
		what = "%.*s cannot be a fractional value.";
	if (!what)
		return true;
	quota_fail(req, out, KERR_INVALID_REQUEST, what, klen, op->key.ptr);
	return false;
}

static void quota_answer(struct request *req, const struct quota_item *it, quota_result *out)
{
	alter_client_quotas_response_entry_init(out);
	out->entity = request_alloc(req, (size_t)it->type_count + 1, sizeof(*out->entity));
	if (!out->entity) {
		req->body.err = RC_ALLOC;
		return;
	}
	out->entity_count = it->type_count;
	for (int32_t i = 0; i < it->type_count; i++) {
		alter_client_quotas_response_entity_init(&out->entity[i]);
		out->entity[i].entity_type = it->types[i]->entity_type;
		out->entity[i].entity_name = it->types[i]->entity_name;
	}
	if (it->duplicate) {
		quota_duplicate_message(req, it, out);
		return;
	}
	bool for_ip = false;
	if (!quota_check_entity(req, it, &for_ip, out))
		return;
	bool sets = false;
	for (int32_t i = 0; i < it->in->ops_count; i++) {
		const struct alter_client_quotas_request_op *op = &it->in->ops[i];
		if (op->remove)
			continue;
		if (!quota_check_op(req, op, for_ip, out))
			return;
		sets = true;
	}
	if (sets)
		quota_fail(req, out, KERR_UNSUPPORTED_VERSION, "%s", QUOTA_NOT_STORED);
}

void handle_alter_client_quotas(struct request *req)
{
	int16_t version = req->header.api_version;
	struct alter_client_quotas_request q;
	if (alter_client_quotas_request_decode(&req->body, version, &req->arena, &q) != 0) {
		request_reject_malformed(req);
		return;
	}
	struct alter_client_quotas_response r;
	alter_client_quotas_response_init(&r);
	struct quota_item *items = request_alloc(req, (size_t)q.entries_count + 1, sizeof(*items));
	r.entries = request_alloc(req, (size_t)q.entries_count + 1, sizeof(*r.entries));
	bool ok = items && r.entries;
	for (int32_t i = 0; ok && i < q.entries_count; i++)
		ok = quota_item_build(req, &q.entries[i], i, &items[i]);
	ok = ok && quota_mark_duplicates(req, items, q.entries_count);
	for (int32_t i = 0; ok && i < q.entries_count; i++)
		if (!items[i].omitted)
			quota_answer(req, &items[i], &r.entries[r.entries_count++]);
	if (!ok || req->body.err != RC_OK) {
		req->body.err = RC_ALLOC;
		request_reject_malformed(req);
		return;
	}
	REQUEST_RESPOND(req, alter_client_quotas, version, &r);
}
