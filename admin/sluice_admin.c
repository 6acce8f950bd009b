/* sluice-admin's entry point: finds the sub-command (family and action) in
 * the command families' tables, parses its options, prints help or a usage
 * error (exit 2), and runs it against the broker. */
#include <stdio.h>
#include <string.h>

#include "admin.h"

static const struct admin_family *const families[] = {
	&admin_topics, &admin_configs, &admin_groups, &admin_records, &admin_cluster, &admin_logdirs,
};
#define FAMILY_COUNT (sizeof(families) / sizeof(families[0]))

static void print_commands(FILE *out, const char *family)
{
	for (size_t f = 0; f < FAMILY_COUNT; f++) {
		for (size_t c = 0; c < families[f]->count; c++) {
			const struct admin_command *cmd = &families[f]->commands[c];
			if (family && strcmp(family, cmd->family) != 0)
				continue;
			char name[64];
			snprintf(name, sizeof(name), "%s%s%s", cmd->family, cmd->action[0] ? " " : "",
				 cmd->action);
			fprintf(out, "  %-24s %s\n", name, cmd->summary);
		}
	}
}

static void print_usage(FILE *out)
{
	fprintf(out, "usage: sluice-admin COMMAND [SUB-COMMAND] [options]\n"
		     "Administers sluice (or any Kafka) through the Kafka admin API.\n\nCommands:\n");
	print_commands(out, NULL);
	fprintf(out, "\nEvery command takes --bootstrap-server, --timeout-ms, --json and --help.\n"
		     "Exit status: 0 done, 1 the broker refused or could not be reached, 2 usage error.\n");
}

static const struct admin_family *family_find(const char *name)
{
	for (size_t f = 0; f < FAMILY_COUNT; f++)
		if (strcmp(families[f]->name, name) == 0)
			return families[f];
	return NULL;
}

/* The command of family named action ("" for a family without actions). */
static const struct admin_command *command_find(const struct admin_family *f, const char *action)
{
	for (size_t c = 0; c < f->count; c++) {
		const struct admin_command *cmd = &f->commands[c];
		if (strcmp(cmd->action, action) == 0)
			return cmd;
	}
	return NULL;
}

static int usage_error(const char *command, const char *message)
{
	fprintf(stderr, "sluice-admin: %s: %s (see sluice-admin %s --help)\n", command, message,
		command);
	return ADMIN_EXIT_USAGE;
}

static void print_command_help(const struct admin_command *cmd, const char *name)
{
	printf("usage: sluice-admin %s [options]\n%s\n", name, cmd->summary);
	args_print_help(cmd->specs);
}

/* Reads the global options into ctx; 0 or -1 with ctx->args.error. */
static int read_globals(struct admin_ctx *ctx)
{
	int64_t timeout;
	if (args_int64(&ctx->args, "--timeout-ms", 1, ADMIN_TIMEOUT_MS_MAX, ADMIN_TIMEOUT_MS_DEFAULT,
		       &timeout) != 0)
		return -1;
	ctx->timeout_ms = (int)timeout;
	ctx->json = args_has(&ctx->args, "--json");
	const char *bootstrap = args_value(&ctx->args, "--bootstrap-server");
	if (bootstrap && !bootstrap[0]) {
		snprintf(ctx->args.error, sizeof(ctx->args.error), "--bootstrap-server is empty");
		return -1;
	}
	ctx->bootstrap = bootstrap ? bootstrap : ADMIN_BOOTSTRAP_DEFAULT;
	return 0;
}

static int run_command(const struct admin_command *cmd, const char *name, int argc, char **argv)
{
	struct admin_ctx ctx = {.command = name};
	if (args_parse(&ctx.args, cmd->specs, argc, argv) != 0)
		return usage_error(name, ctx.args.error);
	if (args_has(&ctx.args, "--help")) {
		print_command_help(cmd, name);
		return ADMIN_EXIT_OK;
	}
	if (read_globals(&ctx) != 0 || (cmd->check && cmd->check(&ctx) != 0))
		return usage_error(name, ctx.args.error);
	int rc = client_open(&ctx);
	if (rc == ADMIN_EXIT_OK)
		rc = cmd->run(&ctx);
	client_close(&ctx);
	return rc;
}

/* A family's own help (`sluice-admin topics --help`) or its usage error. */
static int family_without_action(const struct admin_family *f, const char *arg)
{
	if (arg && strcmp(arg, "--help") == 0) {
		printf("usage: sluice-admin %s SUB-COMMAND [options]\n\nSub-commands:\n", f->name);
		print_commands(stdout, f->name);
		return ADMIN_EXIT_OK;
	}
	char message[ARGS_ERROR_BYTES];
	if (arg)
		snprintf(message, sizeof(message), "unknown sub-command '%.64s'", arg);
	else
		snprintf(message, sizeof(message), "a sub-command is needed");
	return usage_error(f->name, message);
}

int main(int argc, char **argv)
{
	if (argc < 2 || strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "help") == 0) {
		print_usage(argc < 2 ? stderr : stdout);
		return argc < 2 ? ADMIN_EXIT_USAGE : ADMIN_EXIT_OK;
	}
	const struct admin_family *f = family_find(argv[1]);
	if (!f) {
		fprintf(stderr, "sluice-admin: unknown command '%.64s' (see sluice-admin --help)\n",
			argv[1]);
		return ADMIN_EXIT_USAGE;
	}
	char name[64];
	const struct admin_command *cmd = command_find(f, "");
	if (cmd) {
		snprintf(name, sizeof(name), "%s", f->name);
		return run_command(cmd, name, argc - 2, argv + 2);
	}
	cmd = argc > 2 ? command_find(f, argv[2]) : NULL;
	if (!cmd)
		return family_without_action(f, argc > 2 ? argv[2] : NULL);
	snprintf(name, sizeof(name), "%s %s", f->name, cmd->action);
	return run_command(cmd, name, argc - 3, argv + 3);
}
