/*
 * fuzz_spool.c -- libFuzzer entry point for the spool's reader: the input
 * becomes a spool file in a private directory, which spool_status() counts
 * and spool_drain() replays.  The first byte chooses how:
 *
 *     bit 0   drain with the fuzz key (else with none)
 *     bit 1   a claimed file (*.draining) whose progress file holds the
 *             next 1 + data[1] % 40 bytes' tail (data[2..]); else a live
 *             *.spool file
 *
 * and the rest is the file.  Checked on every input: status and drain
 * succeed; no more records than magics in the file ("ZESPOOL1" or
 * "ZESPOOL2"), so none is invented; every record's lengths within their
 * limits, a format-1 record without signature headers or a name; without
 * a key, every body, request id and name is bytes of the file; afterwards
 * the file is gone (the callback never refuses) and nothing waits.
 * abort() on a violation.  Seeds: tests/fuzz/corpus/spool/.
 */
#include "spool.h"

#include <dirent.h>
#include <fcntl.h>
#include <limits.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Fixed, so that the seeds can carry sealed records. */
static const unsigned char fuzz_key[SPOOL_KEY_LEN] =
    "zoom_events fuzz key, 32 bytes!";

static char dir[PATH_MAX];
static struct spool *plain, *keyed;

struct check {
	const uint8_t *file;
	size_t size;
	bool keyed;
	long long records;
};

static void
violated(const char *what)
{
	fprintf(stderr, "fuzz_spool: invariant violated: %s\n", what);
	abort();
}

/* Format the reports, as a real warn() would, and drop them. */
static void
quiet(const char *msg)
{
	if (strlen(msg) >= 512)
		violated("a report longer than its buffer");
}

/* Remove everything in dir but the drain lock. */
static void
empty_dir(void)
{
	char path[PATH_MAX + 256];
	struct dirent *de;
	DIR *d = opendir(dir);

	if (d == NULL)
		return;
	while ((de = readdir(d)) != NULL) {
		if (de->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), "%s/%s", dir, de->d_name);
		unlink(path);
	}
	closedir(d);
}

static void
cleanup(void)
{
	char path[PATH_MAX + 32];

	spool_free(plain);
	spool_free(keyed);
	empty_dir();
	snprintf(path, sizeof(path), "%s/.drain.lock", dir);
	unlink(path);
	rmdir(dir);
}

static void
setup(void)
{
	const char *t = getenv("TMPDIR");

	snprintf(dir, sizeof(dir), "%s/fuzz_spool.XXXXXX", t && *t ? t :
	    "/tmp");
	if (mkdtemp(dir) == NULL)       /* 0700 */
		violated("cannot make a directory");
	plain = spool_new(dir, "fuzz", NULL, quiet);
	keyed = spool_new(dir, "fuzz", fuzz_key, quiet);
	atexit(cleanup);
}

static long long
magics(const uint8_t *p, size_t n)
{
	long long count = 0;

	for (size_t i = 0; i + 8 <= n; i++)
		if (memcmp(p + i, "ZESPOOL", 7) == 0 &&
		    (p[i + 7] == '1' || p[i + 7] == '2'))
			count++;
	return count;
}

static int
replayed(void *arg, const struct spool_record *r)
{
	struct check *c = arg;
	size_t idlen = strnlen(r->request_id, sizeof(r->request_id));

	if (r->len > ZE_MAX_BODY_BYTES || (r->len > 0 && r->body == NULL))
		violated("body length");
	if (idlen > ZE_REQUEST_ID_MAX ||
	    strnlen(r->sig_ts, sizeof(r->sig_ts)) > ZE_SIG_TS_MAX ||
	    strnlen(r->signature, sizeof(r->signature)) > ZE_SIGNATURE_MAX)
		violated("string length");
	if (r->legacy && (r->sig_ts[0] != '\0' || r->signature[0] != '\0'))
		violated("a format-1 record with signature headers");
	if (r->name != NULL && (r->legacy || r->name_len > SPOOL_NAME_MAX ||
	    memchr(r->name, '\0', r->name_len) != NULL))
		violated("a name out of its limits");
	if (r->name == NULL && r->name_len != 0)
		violated("a name length without a name");
	if (!c->keyed && r->name != NULL && r->name_len > 0 &&
	    memmem(c->file, c->size, r->name, r->name_len) == NULL)
		violated("a name that is not in the file");
	if (!c->keyed && r->len > 0 &&
	    memmem(c->file, c->size, r->body, r->len) == NULL)
		violated("a body that is not in the file");
	if (!c->keyed && idlen > 0 &&
	    memmem(c->file, c->size, r->request_id, idlen) == NULL)
		violated("a request id that is not in the file");
	if (++c->records > magics(c->file, c->size))
		violated("more records than magics");
	return 0;
}

static void
write_file(const char *name, const uint8_t *p, size_t n)
{
	char path[PATH_MAX + 256];
	int fd;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	if (fd < 0 || (n > 0 && write(fd, p, n) != (ssize_t)n))
		violated("cannot write the input");
	close(fd);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char *draining =
	    "fuzz-1.spool.1-0000000000000000.draining";
	struct spool_drain_result res;
	struct spool_status st;
	struct check c;
	struct spool *sp;
	uint8_t mode;

	if (dir[0] == '\0')
		setup();
	if (size == 0)
		return 0;
	mode = data[0];
	data++;
	size--;
	if (mode & 2) {
		size_t k = size > 0 ? 1 + data[0] % 40 : 0;
		char off[PATH_MAX];

		if (k > size)
			k = size;
		snprintf(off, sizeof(off), "%s.off", draining);
		write_file(off, data + 1, k > 0 ? k - 1 : 0);
		data += k;
		size -= k;
		write_file(draining, data, size);
	} else {
		write_file("fuzz-1.spool", data, size);
	}
	memset(&c, 0, sizeof(c));
	c.file = data;
	c.size = size;
	c.keyed = mode & 1;
	sp = c.keyed ? keyed : plain;

	if (spool_status(sp, &st) != 0)
		violated("status failed");
	if (st.pending > magics(data, size))
		violated("more pending than magics");
	if (spool_drain(sp, replayed, &c, INT_MAX, 60000, &res) != 0)
		violated("drain failed");
	if (res.busy || res.stopped || res.replayed != c.records)
		violated("drain result");
	/* A fresh empty live file is left for its appender. */
	if (size > 0 || (mode & 2)) {
		if (spool_has_pending(sp) ||
		    spool_status(sp, &st) != 0 || st.pending != 0)
			violated("records left after a complete drain");
	}
	empty_dir();
	return 0;
}
