/*
 * replay.c -- run a fuzzer's entry point over files, without libFuzzer, so
 * that the corpus replays under gcc and ASan in `make check` (cJSON's
 * fuzz_main.c, but the files are closed).  Each input gets its own
 * allocation of exactly its size, so a read past the end is caught.
 *
 *   build/asan/replay_normalize FILE...   (make replay: the fixtures and the corpus)
 */
#include <errno.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* The whole of path in a new buffer of exactly *size bytes (one byte for
 * an empty file).  NULL with errno set when it cannot be read. */
static uint8_t *
read_all(const char *path, size_t *size)
{
	struct stat st;
	uint8_t *buf;
	FILE *fp;
	size_t n;

	if ((fp = fopen(path, "rb")) == NULL)
		return NULL;
	if (fstat(fileno(fp), &st) != 0 || !S_ISREG(st.st_mode)) {
		fclose(fp);
		errno = EINVAL;
		return NULL;
	}
	n = (size_t)st.st_size;
	if ((buf = malloc(n > 0 ? n : 1)) == NULL) {
		fclose(fp);
		return NULL;
	}
	if (fread(buf, 1, n, fp) != n || ferror(fp)) {
		fclose(fp);
		free(buf);
		errno = EIO;
		return NULL;
	}
	fclose(fp);
	*size = n;
	return buf;
}

int
main(int argc, char **argv)
{
	const char *prog = strrchr(argv[0], '/') ? strrchr(argv[0], '/') + 1
	    : argv[0];
	int ran = 0, failed = 0;

	for (int i = 1; i < argc; i++) {
		size_t size = 0;
		uint8_t *buf = read_all(argv[i], &size);

		if (buf == NULL) {
			fprintf(stderr, "%s: cannot read %s: %s\n", prog,
			    argv[i], strerror(errno));
			failed++;
			continue;
		}
		LLVMFuzzerTestOneInput(buf, size);
		free(buf);
		ran++;
	}
	printf("%s: %d inputs ran", prog, ran);
	if (failed > 0)
		printf(", %d unreadable", failed);
	printf("\n");
	return failed > 0 || ran == 0 ? 1 : 0;
}
