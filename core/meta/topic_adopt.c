/* Adopting partition directories that the metadata store does not record,
 * such as a log dir Apache Kafka wrote (see topics_adopt_dirs in topics.h).
 *
 * A directory `<topic>-<partition>` is a candidate when its topic has no
 * record. Its topic's id is the one its partition.metadata names (every
 * partition must agree). With Kafka's KRaft metadata log beside it, that log
 * decides: a topic it does not know, or knows under another id, is stray to
 * Kafka too and is left alone; one it knows gets its partition count and
 * topic configs from there. Without it (a ZooKeeper-mode Kafka, or bare
 * copied directories) the directories alone give the partition count, and
 * the topic has the broker's defaults. The topic is then recorded like any
 * created one, unplaced, and the start goes on as for recorded topics: its
 * logs are recovered from Kafka's own checkpoints, which have the same names
 * and format as sluice's. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "core/meta/kraft_image.h"
#include "core/meta/metadata_store.h"
#include "core/meta/topic_config.h"
#include "core/meta/topic_registry.h"
#include "core/meta/topics.h"
#include "core/slog.h"

enum {
	ADOPT_PARTITION_DIGITS_MAX = 6,
	ADOPT_CANDIDATES_MAX = 1000000,
	PARTITION_METADATA_BYTES_MAX = 256,
};

struct adopt_dir {
	char topic[TOPIC_NAME_MAX + 1];
	int32_t partition;
};

/* `<topic>-<partition>` with a legal topic name and a partition number in
 * Kafka's form (no sign, no leading zero). */
static bool adopt_parse_name(const char *name, struct adopt_dir *out)
{
	const char *dash = strrchr(name, '-');
	if (!dash || dash == name)
		return false;
	const char *digits = dash + 1;
	size_t nd = strlen(digits);
	if (nd == 0 || nd > ADOPT_PARTITION_DIGITS_MAX || (digits[0] == '0' && nd > 1))
		return false;
	for (size_t i = 0; i < nd; i++)
		if (digits[i] < '0' || digits[i] > '9')
			return false;
	size_t tn = (size_t)(dash - name);
	struct kstr topic = { .ptr = name, .len = (int32_t)tn };
	if (tn > TOPIC_NAME_MAX || topic_name_invalid(topic))
		return false;
	long p = strtol(digits, NULL, 10);
	if (p >= KRAFT_PARTITIONS_MAX)
		return false;
	memcpy(out->topic, name, tn);
	out->topic[tn] = '\0';
	out->partition = (int32_t)p;
	return true;
}

static int adopt_cmp(const void *a, const void *b)
{
	const struct adopt_dir *x = a, *y = b;
	int c = strcmp(x->topic, y->topic);
	return c ? c : (x->partition > y->partition) - (x->partition < y->partition);
}

static int adopt_cmp_names(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* The recorded topics' names, sorted for bsearch. */
static const char **adopt_recorded_names(struct metadata_store *ms, size_t *n)
{
	const struct meta_topic *mt = metadata_store_topics(ms, n);
	const char **names = malloc((*n ? *n : 1) * sizeof(*names));
	if (!names)
		return NULL;
	for (size_t i = 0; i < *n; i++)
		names[i] = mt[i].name;
	qsort(names, *n, sizeof(*names), adopt_cmp_names);
	return names;
}

/* The candidates in log_dir, sorted by topic and partition; NULL with *n = 0
 * when there are none. */
static struct adopt_dir *adopt_scan(const char *log_dir, struct metadata_store *ms, size_t *n)
{
	*n = 0;
	size_t nrecorded;
	const char **recorded = adopt_recorded_names(ms, &nrecorded);
	DIR *d = recorded ? opendir(log_dir) : NULL;
	if (!d) {
		slog_error("topics", "%s: cannot list: %s; no directories adopted", log_dir,
			   recorded ? strerror(errno) : "out of memory");
		free(recorded);
		return NULL;
	}
	struct adopt_dir *dirs = NULL;
	size_t cap = 0;
	struct dirent *e;
	while ((e = readdir(d))) {
		struct adopt_dir a;
		struct stat st;
		const char *topic = a.topic;
		if (strcmp(e->d_name, KRAFT_METADATA_DIR) == 0 || !adopt_parse_name(e->d_name, &a) ||
		    fstatat(dirfd(d), e->d_name, &st, AT_SYMLINK_NOFOLLOW) != 0 || !S_ISDIR(st.st_mode) ||
		    bsearch(&topic, recorded, nrecorded, sizeof(*recorded), adopt_cmp_names))
			continue;
		if (*n == cap) {
			size_t ncap = cap ? cap * 2 : 64;
			struct adopt_dir *p = ncap <= ADOPT_CANDIDATES_MAX ? realloc(dirs, ncap * sizeof(*p)) : NULL;
			if (!p) {
				slog_error("topics", "%s: too many partition directories to adopt", log_dir);
				break;
			}
			dirs = p;
			cap = ncap;
		}
		dirs[(*n)++] = a;
	}
	closedir(d);
	free(recorded);
	if (*n)
		qsort(dirs, *n, sizeof(*dirs), adopt_cmp);
	return dirs;
}

/* Kafka's partition.metadata: "version: 0\ntopic_id: <id>", with or without
 * a final newline. Returns 1 with the id, 0 when the file is missing, -1
 * when it is malformed. */
static int adopt_read_topic_id(const char *dir, struct kuuid *id)
{
	char path[PATH_MAX + 384];
	snprintf(path, sizeof(path), "%s/partition.metadata", dir);
	FILE *f = fopen(path, "r");
	if (!f)
		return errno == ENOENT ? 0 : -1;
	char text[PARTITION_METADATA_BYTES_MAX + 1];
	size_t len = fread(text, 1, PARTITION_METADATA_BYTES_MAX, f);
	fclose(f);
	text[len] = '\0';
	static const char version[] = "version: 0\n", key[] = "topic_id: ";
	if (strncmp(text, version, sizeof(version) - 1) != 0)
		return -1;
	const char *p = text + sizeof(version) - 1;
	if (strncmp(p, key, sizeof(key) - 1) != 0)
		return -1;
	p += sizeof(key) - 1;
	size_t idlen = strcspn(p, "\n");
	if (p[idlen] == '\n' && p[idlen + 1] != '\0')
		return -1;
	return kuuid_parse(p, idlen, id) ? 1 : -1;
}

/* The topic's configs that sluice accepts; the others are logged. */
static size_t adopt_configs(struct runtime *rt, const char *topic, const struct kraft_topic *kt,
			    struct meta_kv *out)
{
	size_t n = 0;
	struct topic_config scratch;
	topic_config_from_broker(&scratch, &rt->cfg);
	for (size_t i = 0; kt && i < kt->config_count; i++) {
		const struct meta_kv *kv = &kt->configs[i];
		char why[256];
		if (topic_config_set(&scratch, kv->key, strlen(kv->key), kv->value, strlen(kv->value),
				     why, sizeof(why)) != 0) {
			slog_warn("topics", "topic %s: Kafka's config %s=%s is not taken: %s", topic,
				  kv->key, kv->value, why);
			continue;
		}
		out[n++] = *kv;
	}
	return n;
}

struct adopt_group {
	const char *topic;
	const struct adopt_dir *dirs; /* its partition directories, in order */
	size_t count;
};

/* The id every directory of the group names: 1 with *id, 0 when none names
 * one, -1 when they disagree or one cannot be read (logged). */
static int adopt_group_id(struct runtime *rt, const struct adopt_group *g, struct kuuid *id)
{
	int found = 0;
	for (size_t i = 0; i < g->count; i++) {
		char dir[PATH_MAX + 320];
		snprintf(dir, sizeof(dir), "%s/%s-%d", rt->cfg.log_dir, g->topic, g->dirs[i].partition);
		struct kuuid here;
		int rc = adopt_read_topic_id(dir, &here);
		if (rc < 0) {
			slog_error("topics", "%s/partition.metadata cannot be read as Kafka writes it; "
				   "topic %s is not adopted", dir, g->topic);
			return -1;
		}
		if (rc == 0)
			continue;
		if (found && memcmp(here.b, id->b, sizeof(id->b)) != 0) {
			slog_error("topics", "the directories of topic %s name different topic ids; "
				   "it is not adopted", g->topic);
			return -1;
		}
		*id = here;
		found = 1;
	}
	return found;
}

static void adopt_finish_deletion(struct runtime *rt, const struct adopt_group *g)
{
	for (size_t i = 0; i < g->count; i++) {
		char dir[PATH_MAX + 320];
		snprintf(dir, sizeof(dir), "%s/%s-%d", rt->cfg.log_dir, g->topic, g->dirs[i].partition);
		int rc = topics_remove_tree(dir);
		if (rc != 0)
			slog_error("topics", "%s: cannot remove: %s", dir, strerror(-rc));
	}
	slog_info("topics", "topic %s was deleted but a stop came before its %zu director%s went: "
		  "removed now", g->topic, g->count, g->count == 1 ? "y" : "ies");
}

static void adopt_group(struct runtime *rt, const struct kraft_image *img, const struct adopt_group *g)
{
	struct metadata_store *ms = topics_registry(rt)->store;
	struct kuuid id;
	int have_id = adopt_group_id(rt, g, &id);
	if (have_id < 0)
		return;
	if (have_id && metadata_store_was_deleted(ms, id)) {
		adopt_finish_deletion(rt, g);
		return;
	}
	const struct kraft_topic *kt = img->found ? kraft_image_find(img, g->topic) : NULL;
	if (img->found && (!kt || (have_id && memcmp(kt->id.b, id.b, sizeof(id.b)) != 0))) {
		slog_warn("topics", "%s/%s-%d...: Kafka's metadata log in this log dir does not have "
			  "this topic%s, so Kafka would not serve it either (a stray log); left alone",
			  rt->cfg.log_dir, g->topic, g->dirs[0].partition,
			  kt ? " under this id" : "");
		return;
	}
	if (kt)
		id = kt->id;
	else if (!have_id)
		topics_random_id(&id);
	int32_t partitions = g->dirs[g->count - 1].partition + 1;
	if (kt && kt->partition_count > partitions)
		partitions = kt->partition_count;
	if ((size_t)partitions != g->count)
		slog_warn("topics", "topic %s: %zu of its %d partition directories are missing; those "
			  "partitions start empty", g->topic, (size_t)partitions - g->count, partitions);
	struct meta_topic t;
	memset(&t, 0, sizeof(t));
	snprintf(t.name, sizeof(t.name), "%s", g->topic);
	t.id = id;
	t.partition_count = partitions;
	t.partition_shard = malloc((size_t)partitions * sizeof(int32_t));
	t.configs = calloc(kt && kt->config_count ? kt->config_count : 1, sizeof(*t.configs));
	if (!t.partition_shard || !t.configs) {
		slog_error("topics", "out of memory adopting topic %s", g->topic);
		free(t.partition_shard);
		free(t.configs);
		return;
	}
	for (int32_t i = 0; i < partitions; i++)
		t.partition_shard[i] = -1;
	t.config_count = adopt_configs(rt, g->topic, kt, t.configs);
	int rc = metadata_store_topic_create(ms, &t);
	if (rc != 0) {
		slog_error("topics", "cannot record adopted topic %s: %s", g->topic, strerror(-rc));
	} else {
		char text[KUUID_TEXT_BYTES];
		kuuid_format(id, text);
		slog_info("topics", "adopted topic %s (id %s, %d partition%s, %zu config%s) from "
			  "directories %s", g->topic, text, partitions, partitions == 1 ? "" : "s",
			  t.config_count, t.config_count == 1 ? "" : "s",
			  kt ? "and the KRaft metadata log Kafka wrote" : "without a record of sluice's");
	}
	free(t.partition_shard);
	free(t.configs);
}

void topics_adopt_dirs(struct runtime *rt)
{
	size_t n = 0;
	struct adopt_dir *dirs = adopt_scan(rt->cfg.log_dir, topics_registry(rt)->store, &n);
	if (n == 0) {
		free(dirs);
		return;
	}
	struct kraft_image img;
	char err[PATH_MAX + 256];
	if (kraft_image_read(rt->cfg.log_dir, &img, err, sizeof(err)) != 0)
		slog_error("topics", "Kafka's metadata log cannot be read (%s): topics are adopted from "
			   "their directories alone, with the broker's default configs", err);
	for (size_t i = 0; i < n;) {
		size_t j = i + 1;
		while (j < n && strcmp(dirs[j].topic, dirs[i].topic) == 0)
			j++;
		struct adopt_group g = { .topic = dirs[i].topic, .dirs = &dirs[i], .count = j - i };
		adopt_group(rt, &img, &g);
		i = j;
	}
	kraft_image_free(&img);
	free(dirs);
}
