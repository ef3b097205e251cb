/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * dpfwdctl: the operator's view of a running dpfwd, through DPDK's telemetry socket.
 *
 *   dpfwdctl [-p FILE_PREFIX] [--json] COMMAND [ARGS]
 *
 * Telemetry v2 is a unix SOCK_SEQPACKET socket, RUNDIR/dpdk/PREFIX/dpdk_telemetry.v2.
 * The server greets with {"version", "pid", "max_output_len"}, then answers each request
 * "/cmd[,params]" with one message {"/cmd": VALUE}; VALUE is null when the command is
 * unknown or failed. dpfwdctl only speaks that protocol: it links no DPDK.
 *
 * Replies are rendered generically, because the /dpfwd/ commands grow on their own.
 * Telemetry allows one level of nesting, so a VALUE is a scalar, an array of scalars or
 * a dict of both; a dict's arrays of equal length are the columns of a table.
 */
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/un.h>
#include <unistd.h>

#include <jansson.h>

#define SOCKET_NAME "dpdk_telemetry.v2"
#define DEFAULT_PREFIX "rte"
#define REQUEST_MAX 1024 /* the server reads a request into 1024 bytes, NUL included */
#define REPLY_TIMEOUT_S 30 /* a reload of a big file takes seconds; a hang is not a reply */
#define PAGED_RETRIES 3
#define PAGED_AGAIN (-1) /* the table changed between two pages */

enum { EXIT_FAILED = 1, EXIT_USAGE = 2, EXIT_NOT_RUNNING = 3 };

struct ctl {
	const char *prefix;
	bool json;
	const char *capture_count, *capture_file; /* capture's -c and -w */
	int fd;
	char *buf; /* one reply: max_output_len bytes and a NUL */
	size_t buf_len;
};

struct command;
typedef int command_fn(struct ctl *ctl, const struct command *cmd, char **args);

struct command {
	const char *name;
	const char *args; /* for the usage text */
	const char *help;
	const char *tel; /* the telemetry command it sends */
	command_fn *run;
	int min_args, max_args;
	bool (*args_ok)(char **args); /* says what is wrong, if anything */
};

/* Paging metadata, not data: "next" is dpfwdctl's business, the merged table has no
 * other "start" and its "total" is its row count. */
static const char *const paging_keys[] = { "total", "start", "next", NULL };

/* ---- the socket ---- */

/* DPDK's runtime directory as EAL picks it (eal_create_runtime_dir): systemd's
 * RUNTIME_DIRECTORY, else /var/run for root and XDG_RUNTIME_DIR (or /tmp) for others.
 * A user may be asking about a dpfwd that root started, so /var/run is always tried. */
static int runtime_dirs(const char *dirs[3])
{
	const char *env = getenv("RUNTIME_DIRECTORY");
	int n = 0;

	if (env && *env)
		dirs[n++] = env;
	if (getuid() != 0) {
		env = getenv("XDG_RUNTIME_DIR");
		dirs[n++] = env && *env ? env : "/tmp";
	}
	dirs[n++] = "/var/run";
	return n;
}

/* Returns a connected socket, or -1 with the reason in *ERR. */
static int try_connect(const char *path, int *err)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int fd;

	if (strlen(path) >= sizeof(sa.sun_path)) {
		*err = ENAMETOOLONG;
		return -1;
	}
	strcpy(sa.sun_path, path);
	fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		*err = errno;
		return -1;
	}
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		*err = errno;
		close(fd);
		return -1;
	}
	return fd;
}

/* jansson's integers are signed 64-bit, telemetry's counters unsigned: a reply with a
 * bigger one is decoded with every number a double, and those that fit become integers
 * again (the big ones stay doubles, exact to 53 bits). */
static void integers_back(json_t *v);

static json_t *as_integer(json_t *v)
{
	double d = json_real_value(v);

	if (json_is_real(v) && d >= -9223372036854775808.0 && d < 9223372036854775808.0 &&
	    d == (double)(json_int_t)d)
		return json_integer((json_int_t)d);
	integers_back(v);
	return json_incref(v);
}

static void integers_back(json_t *v)
{
	void *it;
	size_t i;

	for (i = 0; i < json_array_size(v); i++)
		json_array_set_new(v, i, as_integer(json_array_get(v, i)));
	for (it = json_object_iter(v); it; it = json_object_iter_next(v, it))
		json_object_iter_set_new(v, it, as_integer(json_object_iter_value(it)));
}

/* jansson (>= 2.8) keeps a dict's keys in the order it read them: the server's order. */
static json_t *parse(const char *text, size_t len, json_error_t *err)
{
	json_t *v = json_loadb(text, len, 0, err);

	if (v || !strstr(err->text, "too big"))
		return v;
	v = json_loadb(text, len, JSON_DECODE_INT_AS_REAL, err);
	if (v)
		integers_back(v);
	return v;
}

/* One message: SOCK_SEQPACKET keeps the server's message boundaries. */
static int receive(struct ctl *ctl, json_t **out)
{
	struct iovec iov = { .iov_base = ctl->buf, .iov_len = ctl->buf_len - 1 };
	struct msghdr msg = { .msg_iov = &iov, .msg_iovlen = 1 };
	json_error_t err;
	ssize_t n = recvmsg(ctl->fd, &msg, 0);

	if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
		fprintf(stderr, "dpfwdctl: no reply from dpfwd in %d s\n", REPLY_TIMEOUT_S);
		return EXIT_FAILED;
	}
	if (n < 0) {
		fprintf(stderr, "dpfwdctl: reading the telemetry socket: %s\n", strerror(errno));
		return EXIT_FAILED;
	}
	/* The server also hangs up at once when it has as many clients as it takes. */
	if (n == 0) {
		fprintf(stderr, "dpfwdctl: dpfwd closed the connection (exited, or busy with "
				"other telemetry clients)\n");
		return EXIT_FAILED;
	}
	if (msg.msg_flags & MSG_TRUNC) {
		fprintf(stderr, "dpfwdctl: a reply longer than the %zu bytes announced\n",
			ctl->buf_len - 1);
		return EXIT_FAILED;
	}
	*out = parse(ctl->buf, (size_t)n, &err);
	if (!*out) {
		fprintf(stderr, "dpfwdctl: not JSON from the telemetry socket: %s\n", err.text);
		return EXIT_FAILED;
	}
	return 0;
}

/* The greeting tells how long a reply may be. */
static int greet(struct ctl *ctl, const char *path)
{
	struct timeval tv = { .tv_sec = REPLY_TIMEOUT_S };
	json_t *hello;
	json_int_t max;
	int rc;

	setsockopt(ctl->fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	ctl->buf_len = 1024;
	ctl->buf = malloc(ctl->buf_len);
	if (!ctl->buf)
		return EXIT_FAILED;
	rc = receive(ctl, &hello);
	if (rc)
		return rc;
	max = json_integer_value(json_object_get(hello, "max_output_len"));
	json_decref(hello);
	if (max <= 0 || max > 64 * 1024 * 1024) {
		fprintf(stderr, "dpfwdctl: %s: not a DPDK telemetry v2 greeting\n", path);
		return EXIT_FAILED;
	}
	free(ctl->buf);
	ctl->buf_len = (size_t)max + 1;
	ctl->buf = malloc(ctl->buf_len);
	return ctl->buf ? 0 : EXIT_FAILED;
}

/* Not running: no socket, or one nobody listens on (what a killed dpfwd leaves behind).
 * Anything else (no permission) says nothing about whether it runs. */
static int not_connected(const struct ctl *ctl, char paths[][PATH_MAX], const int *errs,
			 int n)
{
	bool known = true;
	int i;

	for (i = 0; i < n; i++)
		known &= errs[i] == ENOENT || errs[i] == ECONNREFUSED;
	if (!known) {
		for (i = 0; i < n; i++)
			fprintf(stderr, "dpfwdctl: %s: %s\n", paths[i], strerror(errs[i]));
		fprintf(stderr, "dpfwdctl: cannot connect to dpfwd's telemetry socket\n");
		return EXIT_FAILED;
	}
	fprintf(stderr, "dpfwdctl: dpfwd is not running:");
	for (i = 0; i < n; i++)
		fprintf(stderr, "%s %s %s", i ? ";" : "",
			errs[i] == ENOENT ? "no socket" : "nothing listens on", paths[i]);
	fprintf(stderr, "\ndpfwdctl: if it runs with another EAL --file-prefix, name that "
			"with -p FILE_PREFIX (this was -p %s)\n", ctl->prefix);
	return EXIT_NOT_RUNNING;
}

static int sock_open(struct ctl *ctl)
{
	const char *dirs[3];
	char paths[3][PATH_MAX];
	int n = runtime_dirs(dirs), errs[3], i;

	for (i = 0; i < n; i++) {
		snprintf(paths[i], sizeof(paths[i]), "%s/dpdk/%s/%s", dirs[i], ctl->prefix,
			 SOCKET_NAME);
		ctl->fd = try_connect(paths[i], &errs[i]);
		if (ctl->fd >= 0)
			return greet(ctl, paths[i]);
	}
	return not_connected(ctl, paths, errs, n);
}

/* Sends REQ; *VALUE is the reply's value, JSON null when the server says null. */
static int request(struct ctl *ctl, const char *req, json_t **value)
{
	json_t *reply;
	int rc;

	if (send(ctl->fd, req, strlen(req), MSG_NOSIGNAL) < 0) {
		fprintf(stderr, "dpfwdctl: sending %s: %s\n", req, strerror(errno));
		return EXIT_FAILED;
	}
	rc = receive(ctl, &reply);
	if (rc)
		return rc;
	/* The one key is the command as the server cut it: no need to compare it. */
	if (!json_is_object(reply) || json_object_size(reply) != 1) {
		fprintf(stderr, "dpfwdctl: %s: the reply is not {\"CMD\": VALUE}\n", req);
		json_decref(reply);
		return EXIT_FAILED;
	}
	*value = json_incref(json_object_iter_value(json_object_iter(reply)));
	json_decref(reply);
	return 0;
}

/* The server answers null both to a command it does not know and to one that failed
 * (bad parameters, an error in dpfwd): its list of commands tells which. */
static void explain_null(struct ctl *ctl, const char *req)
{
	int len = (int)strcspn(req, ",");
	json_t *list = NULL, *v;
	bool known = false;
	size_t i;

	if (request(ctl, "/", &list) == 0)
		json_array_foreach(list, i, v)
			known |= json_string_length(v) == (size_t)len &&
				 !strncmp(json_string_value(v), req, len);
	json_decref(list);
	if (known)
		fprintf(stderr, "dpfwdctl: %s failed (bad parameters?)\n", req);
	else
		fprintf(stderr, "dpfwdctl: this dpfwd has no command %.*s "
				"('dpfwdctl raw /' lists them)\n", len, req);
}

/* request(), with a null reply reported and made a failure. */
static int query(struct ctl *ctl, const char *req, json_t **value)
{
	int rc = request(ctl, req, value);

	if (rc || !json_is_null(*value))
		return rc;
	json_decref(*value);
	explain_null(ctl, req);
	return EXIT_FAILED;
}

/* ---- rendering ---- */

static bool is_scalar(const json_t *v)
{
	return !json_is_object(v) && !json_is_array(v);
}

/* A scalar as text; TMP (32 bytes) holds numbers. */
static const char *scalar_text(const json_t *v, char *tmp)
{
	switch (json_typeof(v)) {
	case JSON_STRING:
		return json_string_value(v);
	case JSON_INTEGER:
		snprintf(tmp, 32, "%" JSON_INTEGER_FORMAT, json_integer_value(v));
		return tmp;
	case JSON_REAL: /* also a counter too big for jansson (see parse): no false digits */
		snprintf(tmp, 32, "%.15g", json_real_value(v));
		return tmp;
	case JSON_TRUE:
		return "true";
	case JSON_FALSE:
		return "false";
	default:
		return "null";
	}
}

static void print_json(const json_t *v)
{
	json_dumpf(v, stdout, JSON_ENCODE_ANY | JSON_COMPACT | JSON_PRESERVE_ORDER);
	putchar('\n');
}

/* A value on one line: a scalar as text, anything else as JSON. */
static void print_inline(const json_t *v)
{
	char tmp[32];

	if (is_scalar(v))
		printf("%s\n", scalar_text(v, tmp));
	else
		print_json(v);
}

/* A dict's arrays are a table's columns when all are of scalars and of one length:
 * returns that length, or -1 (no array, or they do not fit together). */
static long table_rows(const json_t *dict)
{
	const char *key;
	json_t *v, *cell;
	long rows = -1;
	size_t i;

	json_object_foreach((json_t *)dict, key, v) {
		if (!json_is_array(v))
			continue;
		if (rows >= 0 && json_array_size(v) != (size_t)rows)
			return -1;
		rows = (long)json_array_size(v);
		json_array_foreach(v, i, cell)
			if (!is_scalar(cell))
				return -1;
	}
	return rows;
}

struct column {
	const char *name;
	const json_t *cells;
	int width;
	bool numeric; /* right-aligned, so that digits line up */
};

/* A cell as text: an empty one shows as "-", so that a row still splits on blanks. */
static const char *cell_text(const json_t *cells, long row, char *tmp)
{
	const char *s = scalar_text(json_array_get(cells, (size_t)row), tmp);

	return *s ? s : "-";
}

static void print_row(const struct column *cols, int n, long row)
{
	char tmp[32];
	const char *s;
	int c, w;

	for (c = 0; c < n; c++) {
		s = row < 0 ? cols[c].name : cell_text(cols[c].cells, row, tmp);
		/* negative: left-aligned; none after the last, so no trailing blanks */
		w = cols[c].numeric ? cols[c].width : c == n - 1 ? 0 : -cols[c].width;
		printf("%s%*s", c ? "  " : "", w, s);
	}
	putchar('\n');
}

static void print_table(const json_t *dict, long rows)
{
	struct column *cols = calloc(json_object_size(dict), sizeof(*cols));
	const char *key;
	char tmp[32];
	json_t *v;
	int n = 0, w;
	long r;

	if (!cols)
		return;
	json_object_foreach((json_t *)dict, key, v) {
		if (!json_is_array(v))
			continue;
		cols[n] = (struct column){ .name = key, .cells = v, .width = (int)strlen(key),
					   .numeric = true };
		for (r = 0; r < rows; r++) {
			w = (int)strlen(cell_text(v, r, tmp));
			cols[n].width = w > cols[n].width ? w : cols[n].width;
			cols[n].numeric &= json_is_number(json_array_get(v, (size_t)r));
		}
		n++;
	}
	for (r = -1; r < rows; r++) /* -1: the header */
		print_row(cols, n, r);
	free(cols);
}

static bool listed(const char *key, const char *const *keys)
{
	for (; keys && *keys; keys++)
		if (!strcmp(key, *keys))
			return true;
	return false;
}

/* Scalars as aligned "key: value" lines, then the columns, if any, as a table. */
static void print_dict(const json_t *dict, const char *const *skip)
{
	long rows = table_rows(dict);
	const char *key;
	bool lines = false;
	int width = 0;
	json_t *v;

	json_object_foreach((json_t *)dict, key, v)
		if (!listed(key, skip) && !(rows >= 0 && json_is_array(v)) &&
		    (int)strlen(key) > width)
			width = (int)strlen(key);
	json_object_foreach((json_t *)dict, key, v) {
		if (listed(key, skip) || (rows >= 0 && json_is_array(v)))
			continue;
		printf("%s:", key);
		/* no trailing blanks before an empty string */
		if (!json_is_string(v) || json_string_length(v))
			printf("%*s ", width - (int)strlen(key), "");
		print_inline(v);
		lines = true;
	}
	if (rows < 0)
		return;
	if (lines)
		putchar('\n');
	print_table(dict, rows);
}

/* A value for people: SKIP names a dict's keys to leave out. */
static void print_human(const json_t *v, const char *const *skip)
{
	size_t i;
	json_t *e;

	if (json_is_object(v))
		print_dict(v, skip);
	else if (json_is_array(v))
		json_array_foreach(v, i, e)
			print_inline(e);
	else
		print_inline(v);
}

static void show(const struct ctl *ctl, const json_t *v, const char *const *skip)
{
	if (ctl->json)
		print_json(v);
	else
		print_human(v, skip);
}

/* ---- commands ---- */

static int cmd_simple(struct ctl *ctl, const struct command *cmd, char **args)
{
	const char *req = args[0] ? args[0] : cmd->tel;
	json_t *v;
	int rc = query(ctl, req, &v);

	if (rc)
		return rc;
	show(ctl, v, NULL);
	json_decref(v);
	return 0;
}

/* Three replies, as the sections of one report (with --json: of one dict). */
static int cmd_stats(struct ctl *ctl, const struct command *cmd, char **args)
{
	static const char *const sections[] = { "stats", "workers", "drops" };
	json_t *all = json_object(), *v;
	char req[64];
	size_t i;
	int rc = 0;

	for (i = 0; i < 3 && !rc; i++) {
		snprintf(req, sizeof(req), "/dpfwd/%s", sections[i]);
		rc = query(ctl, req, &v);
		if (!rc)
			json_object_set_new(all, sections[i], v);
	}
	if (!rc && ctl->json)
		print_json(all);
	for (i = 0; !rc && !ctl->json && i < 3; i++) {
		printf("%s[%s]\n", i ? "\n" : "", sections[i]);
		print_human(json_object_get(all, sections[i]), NULL);
	}
	json_decref(all);
	return rc;
}

/* Rows in a page: its longest column. */
static size_t page_rows(const json_t *page)
{
	const char *key;
	size_t rows = 0;
	json_t *v;

	json_object_foreach((json_t *)page, key, v)
		if (json_array_size(v) > rows)
			rows = json_array_size(v);
	return rows;
}

/* Pages of two tables cannot be merged: a reload between them changes the size or the
 * generation. */
static bool page_moved(const json_t *first, const json_t *page)
{
	static const char *const keys[] = { "total", "generation" };
	const json_t *a, *b;
	size_t i;

	for (i = 0; i < 2; i++) {
		a = json_object_get(first, keys[i]);
		b = json_object_get(page, keys[i]);
		if ((a || b) && !json_equal((json_t *)a, (json_t *)b))
			return true;
	}
	return false;
}

static void page_append(json_t *all, const json_t *page)
{
	const char *key;
	json_t *v, *col;

	json_object_foreach((json_t *)page, key, v) {
		col = json_object_get(all, key);
		if (json_is_array(v) && json_is_array(col))
			json_array_extend(col, v);
		else if (json_is_array(v) && !col)
			json_object_set(all, key, v);
	}
}

/* Checks a page; *NEXT is where the next one starts, or -1 after the last. */
static int page_check(const char *req, const json_t *page, json_int_t start,
		      json_int_t *next)
{
	const json_t *n = json_object_get(page, "next");

	*next = -1;
	if (!json_is_object(page)) {
		fprintf(stderr, "dpfwdctl: %s: a page is not a dict\n", req);
		return EXIT_FAILED;
	}
	if (!n)
		return 0;
	/* A server that does not move on would keep dpfwdctl asking forever. */
	if (!json_is_integer(n) || json_integer_value(n) <= start || !page_rows(page)) {
		fprintf(stderr, "dpfwdctl: %s: \"next\" does not move on\n", req);
		return EXIT_FAILED;
	}
	*next = json_integer_value(n);
	return 0;
}

static int fetch_pages(struct ctl *ctl, const char *tel, json_t **out)
{
	json_t *all = NULL, *page, *total;
	char req[REQUEST_MAX];
	json_int_t start = 0, next;
	int rc;

	for (;;) {
		snprintf(req, sizeof(req), "%s,%" JSON_INTEGER_FORMAT, tel, start);
		rc = query(ctl, req, &page);
		if (rc)
			break;
		rc = page_check(req, page, start, &next);
		if (!rc && all && page_moved(all, page))
			rc = PAGED_AGAIN;
		if (!rc && all)
			page_append(all, page);
		else if (!rc)
			all = json_incref(page);
		json_decref(page);
		if (rc || next < 0)
			break;
		total = json_object_get(all, "total");
		if (json_is_integer(total) && page_rows(all) > (size_t)json_integer_value(total)) {
			fprintf(stderr, "dpfwdctl: %s: more rows than its \"total\"\n", req);
			rc = EXIT_FAILED;
			break;
		}
		start = next;
	}
	if (rc) {
		json_decref(all);
		return rc;
	}
	json_object_del(all, "next");
	*out = all;
	return 0;
}

/* Every page, as one table: a reload between two pages starts it over. */
static int cmd_paged(struct ctl *ctl, const struct command *cmd, char **args)
{
	json_t *all;
	int rc, tries = 0;

	while ((rc = fetch_pages(ctl, cmd->tel, &all)) == PAGED_AGAIN) {
		if (++tries == PAGED_RETRIES) {
			fprintf(stderr, "dpfwdctl: %s kept changing while it was read\n",
				cmd->tel);
			return EXIT_FAILED;
		}
	}
	if (rc)
		return rc;
	show(ctl, all, paging_keys);
	json_decref(all);
	return 0;
}

/* A refused file is a failure with its FILE:LINE:COLUMN message; dpfwd runs on with
 * what it had. */
static int cmd_reload(struct ctl *ctl, const struct command *cmd, char **args)
{
	const json_t *ok;
	char tmp[32];
	bool done;
	json_t *v;
	int rc = query(ctl, cmd->tel, &v);

	if (rc)
		return rc;
	ok = json_object_get(v, "ok");
	if (!json_is_integer(ok) && !json_is_boolean(ok)) {
		fprintf(stderr, "dpfwdctl: %s: the reply has no \"ok\"\n", cmd->tel);
		json_decref(v);
		return EXIT_FAILED;
	}
	done = json_is_true(ok) || json_integer_value(ok) != 0;
	if (done || ctl->json)
		show(ctl, v, NULL);
	if (!done)
		fprintf(stderr, "dpfwdctl: reload failed: %s\n",
			json_object_get(v, "error") ? scalar_text(json_object_get(v, "error"), tmp)
						    : "(no reason given)");
	json_decref(v);
	return done ? 0 : EXIT_FAILED;
}

/* ---- capture ---- */

static volatile sig_atomic_t interrupted;

static void on_interrupt(int sig)
{
	interrupted = sig;
}

struct capture_args {
	const char *port;
	unsigned long long count; /* 0: until interrupted */
	char file[PATH_MAX];
};

/* PORT [-c COUNT] [-w FILE]; FILE made absolute, since dpfwd (elsewhere) writes it. */
static int capture_parse(const struct ctl *ctl, char **args, struct capture_args *ca)
{
	char name[PATH_MAX], dir[PATH_MAX], *end;
	const char *file = ctl->capture_file, *count = ctl->capture_count;

	ca->port = args[0];
	ca->count = 0;
	if (count) {
		ca->count = strtoull(count, &end, 10);
		if (*end || count[0] < '0' || count[0] > '9')
			return -1;
	}
	if (strchr(ca->port, ',') || !*ca->port)
		return -1;
	if (!file) {
		snprintf(name, sizeof(name), "%s.pcapng", ca->port);
		file = name;
	}
	if (file[0] == '/') {
		snprintf(ca->file, sizeof(ca->file), "%s", file);
		return 0;
	}
	if (!getcwd(dir, sizeof(dir)))
		return -1;
	return snprintf(ca->file, sizeof(ca->file), "%s/%s", dir, file) < (int)sizeof(ca->file)
		       ? 0 : -1;
}

/* Start, wait until COUNT packets are in the file (or ^C), stop, say what was done. */
static int cmd_capture(struct ctl *ctl, const struct command *cmd, char **args)
{
	struct capture_args ca;
	char req[REQUEST_MAX];
	const json_t *ok;
	json_t *v;
	int rc;

	if (capture_parse(ctl, args, &ca)) {
		fprintf(stderr, "dpfwdctl: usage: dpfwdctl capture PORT [-c COUNT] [-w FILE]\n");
		return EXIT_USAGE;
	}
	if ((size_t)snprintf(req, sizeof(req), "/dpfwd/capture_start,%s,%llu,%.*s", ca.port,
			     ca.count, (int)(sizeof(req) - 1), ca.file) >= sizeof(req)) {
		fprintf(stderr, "dpfwdctl: capture: the file name is too long\n");
		return EXIT_USAGE;
	}
	rc = query(ctl, req, &v);
	if (rc)
		return rc;
	ok = json_object_get(v, "ok");
	if (!json_is_integer(ok) || !json_integer_value(ok)) {
		const json_t *e = json_object_get(v, "error");

		fprintf(stderr, "dpfwdctl: capture: %s\n",
			json_is_string(e) ? json_string_value(e) : "refused");
		json_decref(v);
		return EXIT_FAILED;
	}
	json_decref(v);
	signal(SIGINT, on_interrupt);
	signal(SIGTERM, on_interrupt);
	while (!interrupted) {
		usleep(100 * 1000);
		if ((rc = query(ctl, "/dpfwd/capture", &v)))
			return rc;
		ok = json_object_get(v, "running");
		rc = json_is_integer(ok) && json_integer_value(ok);
		json_decref(v);
		if (!rc)
			break;
	}
	rc = query(ctl, "/dpfwd/capture_stop", &v);
	if (rc)
		return rc;
	show(ctl, v, NULL);
	json_decref(v);
	return 0;
}

/* The server ignores what does not start with '/' and reads 1023 bytes at most. */
static bool request_ok(char **args)
{
	if (args[0][0] == '/' && strlen(args[0]) < REQUEST_MAX)
		return true;
	fprintf(stderr, "dpfwdctl: a telemetry command starts with '/' and is shorter than "
			"%d bytes\n", REQUEST_MAX);
	return false;
}

static const struct command commands[] = {
	{ .name = "stats", .help = "counters, workers and drops", .run = cmd_stats },
	{ .name = "routes", .help = "the route table", .tel = "/dpfwd/routes",
	  .run = cmd_paged },
	{ .name = "neighbours", .help = "the neighbour table", .tel = "/dpfwd/neighbours",
	  .run = cmd_paged },
	{ .name = "config", .help = "the configuration in use", .tel = "/dpfwd/config",
	  .run = cmd_simple },
	{ .name = "nat", .help = "NAT sessions and mappings, created, expired, refused",
	  .tel = "/dpfwd/nat", .run = cmd_simple },
	{ .name = "nat-sessions", .help = "every NAPT session (a live view)",
	  .tel = "/dpfwd/nat_sessions", .run = cmd_paged },
	{ .name = "reload", .help = "re-read the config file; exit 1 with its error if refused",
	  .tel = "/dpfwd/reload", .run = cmd_reload },
	{ .name = "capture", .args = "PORT [-c COUNT] [-w FILE]",
	  .help = "write what PORT receives and sends into FILE (pcapng; default PORT.pcapng); "
		  "COUNT packets, or until ^C",
	  .run = cmd_capture, .min_args = 1, .max_args = 1 },
	{ .name = "raw", .args = "CMD[,PARAMS]", .help = "any telemetry command ('raw /' lists them)",
	  .run = cmd_simple, .min_args = 1, .max_args = 1, .args_ok = request_ok },
};

#define N_COMMANDS (sizeof(commands) / sizeof(commands[0]))

/* ---- main ---- */

static void usage(FILE *out)
{
	size_t i;
	char name[32];

	fprintf(out, "usage: dpfwdctl [-p FILE_PREFIX] [--json] COMMAND [ARGS]\n"
		     "       dpfwdctl --help | --version\n"
		     "\n"
		     "Asks a running dpfwd, through DPDK's telemetry socket.\n"
		     "\n"
		     "commands:\n");
	for (i = 0; i < N_COMMANDS; i++) {
		snprintf(name, sizeof(name), "%s %s", commands[i].name,
			 commands[i].args ? commands[i].args : "");
		fprintf(out, "  %-24s%s\n", name, commands[i].help);
	}
	fprintf(out, "\n"
		     "options:\n"
		     "  -p, --file-prefix FILE_PREFIX\n"
		     "                          dpfwd's EAL --file-prefix (default %s)\n"
		     "  -j, --json              print the replies as JSON, not as text\n"
		     "  -c COUNT, -w FILE       capture: stop after COUNT packets; the file\n"
		     "  -h, --help              this text\n"
		     "  -V, --version           the version\n"
		     "\n"
		     "exit status: 0 ok, 1 the command failed, 2 usage error, "
		     "3 dpfwd is not running\n", DEFAULT_PREFIX);
}

/* Returns -1 on a usage error, 1 when the program should exit 0 (help, version). */
static int parse_options(int argc, char **argv, struct ctl *ctl)
{
	static const struct option longs[] = {
		{ "file-prefix", required_argument, NULL, 'p' },
		{ "json", no_argument, NULL, 'j' },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ NULL, 0, NULL, 0 },
	};
	int c;

	while ((c = getopt_long(argc, argv, "p:jhVc:w:", longs, NULL)) != -1) {
		switch (c) {
		case 'p':
			ctl->prefix = optarg;
			break;
		case 'j':
			ctl->json = true;
			break;
		case 'c': /* capture's */
			ctl->capture_count = optarg;
			break;
		case 'w':
			ctl->capture_file = optarg;
			break;
		case 'h':
			usage(stdout);
			return 1;
		case 'V':
			printf("dpfwdctl %s\n", DPFWD_VERSION);
			return 1;
		default:
			usage(stderr);
			return -1;
		}
	}
	/* EAL makes a directory of the prefix: one path component. */
	if (!*ctl->prefix || strchr(ctl->prefix, '/') || strlen(ctl->prefix) > 64) {
		fprintf(stderr, "dpfwdctl: -p takes a file prefix (a name, not a path)\n");
		return -1;
	}
	return 0;
}

/* The command ARGV names, with its arguments checked; NULL after a usage error. */
static const struct command *find_command(int argc, char **argv)
{
	const struct command *cmd = NULL;
	size_t i;

	for (i = 0; argc > 0 && i < N_COMMANDS; i++)
		if (!strcmp(argv[0], commands[i].name))
			cmd = &commands[i];
	if (!cmd) {
		if (argc > 0)
			fprintf(stderr, "dpfwdctl: unknown command '%s'\n", argv[0]);
		usage(stderr);
		return NULL;
	}
	if (argc - 1 < cmd->min_args || argc - 1 > cmd->max_args) {
		fprintf(stderr, "dpfwdctl: usage: dpfwdctl [OPTIONS] %s %s\n", cmd->name,
			cmd->args ? cmd->args : "(no arguments)");
		return NULL;
	}
	return !cmd->args_ok || cmd->args_ok(argv + 1) ? cmd : NULL;
}

int main(int argc, char **argv)
{
	struct ctl ctl = { .prefix = DEFAULT_PREFIX, .fd = -1 };
	const struct command *cmd;
	int rc = parse_options(argc, argv, &ctl);

	if (rc)
		return rc < 0 ? EXIT_USAGE : 0;
	cmd = find_command(argc - optind, argv + optind);
	if (!cmd)
		return EXIT_USAGE;
	if ((ctl.capture_count || ctl.capture_file) && cmd->run != cmd_capture) {
		fprintf(stderr, "dpfwdctl: -c and -w belong to capture\n");
		return EXIT_USAGE;
	}
	rc = sock_open(&ctl);
	if (!rc)
		rc = cmd->run(&ctl, cmd, argv + optind + 1);
	if (ctl.fd >= 0)
		close(ctl.fd);
	free(ctl.buf);
	if (fflush(stdout) || ferror(stdout)) {
		fprintf(stderr, "dpfwdctl: writing the output: %s\n", strerror(errno));
		return EXIT_FAILED;
	}
	return rc;
}
