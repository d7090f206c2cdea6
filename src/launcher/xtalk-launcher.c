/*
 * The native launcher of `xtalk` (Linux): answers `xtalk token` from the short-lived copy of the
 * access token that the JavaScript CLI keeps in the kernel keyring
 * (src/store/keys/keychain/kernel-cache/token-copy.ts says what the copy holds and when it is made),
 * and for anything else execv()s Node with the JavaScript CLI: same process, argv and environment
 * unchanged, so nothing tells the two apart but the time taken.
 *
 * Served, and only when every check passes: `xtalk token` with `--min-ttl N`, `--account X` and
 * `--format raw|header` (each at most once, as `--flag value` or `--flag=value`), output byte for
 * byte what the JavaScript path prints. Everything else, and every doubt (no copy, a copy that is
 * not ours, a token that expires within the margin, another environment, a changed store or
 * config.json, a `.env` in the folder, XTALK_KEY_CACHE_SECONDS=0), goes to the JavaScript CLI.
 *
 * Security: the copy is a "user" key of this uid with owner-only permissions (keyctl.c makes it so
 * and explains why); a key under the same name that another user planted, or whose permissions are
 * not exactly those, is never read.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <limits.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#ifndef XTALK_VERSION
#define XTALK_VERSION "dev"
#endif

#define KEY_SPEC_SESSION_KEYRING -3
#define KEYCTL_GET_KEYRING_ID 0
#define KEYCTL_DESCRIBE 6
#define KEYCTL_SEARCH 10
#define KEYCTL_READ 11
/* As in keyctl.c: the owner may view, read, write, search, link, setattr; nobody else anything. */
#define OWNER_ONLY 0x003f0000u

#define MAX_DESCRIPTION 1024
#define MAX_PAYLOAD 8192
#define COPY_MAGIC "xtalk-token-copy 1"
#define DEFAULT_MIN_TTL_MS 60000.0

extern char **environ;

static long keyctl5(long op, long a, long b, long c, long d) { return syscall(SYS_keyctl, op, a, b, c, d); }

/* True when the value has a `..` segment: Node's path.join folds it before the path is followed,
 * the kernel after, and the two can name different folders. Such a setting is left to Node. */
static int has_dot_dot(const char *p) {
  for (const char *s = p; (s = strstr(s, "..")) != NULL; s += 2)
    if ((s == p || s[-1] == '/') && (s[2] == '\0' || s[2] == '/')) return 1;
  return 0;
}

static const char *env_set(const char *name) {
  const char *v = getenv(name);
  return v && *v ? v : NULL;
}

/* src/config/paths.ts on Linux, by concatenation (join only folds what realpath folds too). */
static int xtalk_dirs(char *data, char *config, size_t size) {
  const char *home = env_set("HOME");
  if (!home) home = env_set("USERPROFILE");
  const char *own = env_set("XTALK_HOME"), *xdg_data = env_set("XDG_DATA_HOME"), *xdg_config = env_set("XDG_CONFIG_HOME");
  const char *values[] = {own, xdg_data, xdg_config, home};
  for (size_t i = 0; i < sizeof values / sizeof values[0]; i++)
    if (values[i] && has_dot_dot(values[i])) return 0;
  int a, b;
  if (own) {
    a = snprintf(data, size, "%s", own);
    b = snprintf(config, size, "%s", own);
  } else {
    if ((!xdg_data || !xdg_config) && !home) return 0;
    a = xdg_data ? snprintf(data, size, "%s/xtalk", xdg_data) : snprintf(data, size, "%s/.local/share/xtalk", home);
    b = xdg_config ? snprintf(config, size, "%s/xtalk", xdg_config) : snprintf(config, size, "%s/.config/xtalk", home);
  }
  return a > 0 && (size_t)a < size && b > 0 && (size_t)b < size;
}

/* "dev.ino.size.mtime.ctime" (nanoseconds) of a file, "-" when there is none; 0 on any other error. */
static int stat_stamp(const char *path, char *out, size_t size) {
  struct stat st;
  int n;
  if (stat(path, &st) != 0)
    n = errno == ENOENT ? snprintf(out, size, "-") : -1;
  else
    n = snprintf(out, size, "%llu.%llu.%lld.%lld%09ld.%lld%09ld", (unsigned long long)st.st_dev, (unsigned long long)st.st_ino,
                 (long long)st.st_size, (long long)st.st_mtim.tv_sec, st.st_mtim.tv_nsec, (long long)st.st_ctim.tv_sec, st.st_ctim.tv_nsec);
  return n > 0 && (size_t)n < size;
}

static int by_name(const void *a, const void *b) {
  const char *x = *(const char *const *)a, *y = *(const char *const *)b;
  size_t nx = strcspn(x, "="), ny = strcspn(y, "=");
  int c = memcmp(x, y, nx < ny ? nx : ny);
  return c ? c : (nx > ny) - (nx < ny);
}

/* FNV-1a (64 bits) of every XTALK_* variable, "NAME=VALUE\0" in the order of their names: the copy
 * was made under the same settings. A change check, not a secret. */
static int env_hash(uint64_t *hash) {
  const char *picked[256];
  size_t count = 0;
  for (char **e = environ; *e; e++) {
    if (strncmp(*e, "XTALK_", 6) != 0 || !strchr(*e, '=')) continue;
    if (count == sizeof picked / sizeof picked[0]) return 0;
    picked[count++] = *e;
  }
  qsort(picked, count, sizeof picked[0], by_name);
  uint64_t h = 0xcbf29ce484222325ull;
  for (size_t i = 0; i < count; i++)
    for (const unsigned char *p = (const unsigned char *)picked[i];; p++) {
      h = (h ^ *p) * 0x100000001b3ull;
      if (!*p) break;
    }
  *hash = h;
  return 1;
}

/* True when `key` is a "user" key named `description`, owned by this uid, with exactly OWNER_ONLY. */
static int is_ours(int32_t key, const char *description) {
  char info[MAX_DESCRIPTION + 64], expected[MAX_DESCRIPTION + 64];
  long n = keyctl5(KEYCTL_DESCRIBE, key, (long)info, sizeof info, 0);
  if (n <= 0 || n > (long)sizeof info) return 0;
  info[sizeof info - 1] = '\0';
  int m = snprintf(expected, sizeof expected, "user;%u;", (unsigned)geteuid());
  if (m < 0 || (size_t)m >= sizeof expected || strncmp(info, expected, (size_t)m) != 0) return 0;
  const char *rest = strchr(info + m, ';');
  if (!rest) return 0;
  m = snprintf(expected, sizeof expected, ";%08x;%s", OWNER_ONLY, description);
  return m > 0 && (size_t)m < sizeof expected && strcmp(rest, expected) == 0;
}

/* `^\d+(\.\d+)?$`, as src/commands/command-env.ts parseMinTtl (without its trim: left to Node). */
static int seconds_value(const char *v, double *out) {
  const char *p = v;
  if (*p < '0' || *p > '9') return 0;
  while (*p >= '0' && *p <= '9') p++;
  if (*p == '.') {
    p++;
    if (*p < '0' || *p > '9') return 0;
    while (*p >= '0' && *p <= '9') p++;
  }
  if (*p) return 0;
  *out = strtod(v, NULL);
  return 1;
}

struct request {
  const char *min_ttl, *account, *format;
};

/* The options of a `token` line, or 0 for anything the launcher does not serve. */
static int parse(int argc, char **argv, struct request *r) {
  memset(r, 0, sizeof *r);
  for (int i = 2; i < argc; i++) {
    static const char *const names[] = {"--min-ttl", "--account", "--format"};
    const char **slots[] = {&r->min_ttl, &r->account, &r->format};
    int matched = 0;
    for (int k = 0; k < 3 && !matched; k++) {
      size_t n = strlen(names[k]);
      if (strncmp(argv[i], names[k], n) != 0) continue;
      const char *value;
      if (argv[i][n] == '=')
        value = argv[i] + n + 1;
      else if (argv[i][n] == '\0' && i + 1 < argc)
        value = argv[++i];
      else
        return 0;
      if (*slots[k] || !*value || value[0] == '-') return 0;
      *slots[k] = value;
      matched = 1;
    }
    if (!matched) return 0;
  }
  return !r->format || strcmp(r->format, "raw") == 0 || strcmp(r->format, "header") == 0;
}

static int write_all(const char *p, size_t n) {
  while (n > 0) {
    ssize_t w = write(1, p, n);
    if (w < 0 && errno == EINTR) continue;
    if (w <= 0) return 0;
    p += w;
    n -= (size_t)w;
  }
  return 1;
}

/* Serves the line from the copy: 1 when the token was printed, 0 to hand the line to Node. */
static int serve(int argc, char **argv) {
  struct request r;
  double min_ttl_ms = -1;
  if (!parse(argc, argv, &r)) return 0;
  if (r.min_ttl) {
    if (!seconds_value(r.min_ttl, &min_ttl_ms)) return 0;
    min_ttl_ms *= 1000;
  }
  const char *cache = getenv("XTALK_KEY_CACHE_SECONDS");
  if (cache && strcmp(cache, "0") == 0) return 0;
  /* A .env file makes Node print a notice (src/config/dotenv-notice.ts); a folder named so does not. */
  struct stat dotenv;
  if (stat(".env", &dotenv) == 0 && !S_ISDIR(dotenv.st_mode)) return 0;

  char data[PATH_MAX], config[PATH_MAX], real[PATH_MAX], path[PATH_MAX + 16];
  char stamp[512], db[128], wal[128], conf[128];
  uint64_t hash;
  if (!xtalk_dirs(data, config, sizeof data) || !realpath(data, real) || !env_hash(&hash)) return 0;
  snprintf(path, sizeof path, "%s/xtalk.db", real);
  if (!stat_stamp(path, db, sizeof db)) return 0;
  snprintf(path, sizeof path, "%s/xtalk.db-wal", real);
  if (!stat_stamp(path, wal, sizeof wal)) return 0;
  if (snprintf(path, sizeof path, "%s/config.json", config) >= (int)sizeof path || !stat_stamp(path, conf, sizeof conf)) return 0;
  snprintf(stamp, sizeof stamp, "e%016llx d%s w%s c%s", (unsigned long long)hash, db, wal, conf);

  /* The name: the account as given (hex, empty for the current one), then the store's folder. */
  char description[MAX_DESCRIPTION];
  int n = snprintf(description, sizeof description, "xtalk:token:");
  for (const unsigned char *p = (const unsigned char *)(r.account ? r.account : ""); *p && n < (int)sizeof description - 3; p++)
    n += snprintf(description + n, sizeof description - (size_t)n, "%02x", *p);
  if (n >= (int)sizeof description - 3 || snprintf(description + n, sizeof description - (size_t)n, ":%s", real) >= (int)sizeof description - n)
    return 0;

  int32_t ring = (int32_t)keyctl5(KEYCTL_GET_KEYRING_ID, KEY_SPEC_SESSION_KEYRING, 0, 0, 0);
  if (ring < 0) return 0;
  int32_t key = (int32_t)keyctl5(KEYCTL_SEARCH, ring, (long)"user", (long)description, 0);
  if (key < 0 || !is_ours(key, description)) return 0;
  static char payload[MAX_PAYLOAD + 1];
  long length = keyctl5(KEYCTL_READ, key, (long)payload, MAX_PAYLOAD, 0);
  if (length <= 0 || length > MAX_PAYLOAD) return 0;
  payload[length] = '\0';

  /* "xtalk-token-copy 1\nEXPIRES_MS\nCREATED_MS\nSTAMP\nTYPE\nTOKEN" */
  char *fields[6], *cursor = payload;
  for (int i = 0; i < 6; i++) {
    fields[i] = cursor;
    char *end = i < 5 ? strchr(cursor, '\n') : NULL;
    if (i < 5 && !end) return 0;
    if (end) *end = '\0', cursor = end + 1;
  }
  if (strcmp(fields[0], COPY_MAGIC) != 0 || strcmp(fields[3], stamp) != 0 || !*fields[4] || !*fields[5]) return 0;
  char *end;
  long long expires = strtoll(fields[1], &end, 10);
  if (*end || end == fields[1]) return 0;
  long long created = strtoll(fields[2], &end, 10);
  if (*end || end == fields[2]) return 0;
  struct timespec now;
  clock_gettime(CLOCK_REALTIME, &now);
  long long now_ms = (long long)now.tv_sec * 1000 + now.tv_nsec / 1000000;
  /* src/auth/refresh/fresh-token.ts isFresh. */
  double margin = min_ttl_ms >= 0 ? min_ttl_ms : ((double)(expires - created) / 2 < DEFAULT_MIN_TTL_MS ? (double)(expires - created) / 2 : DEFAULT_MIN_TTL_MS);
  if (!((double)(expires - now_ms) > margin)) return 0;

  int header = r.format && strcmp(r.format, "header") == 0;
  size_t size = strlen(fields[4]) + strlen(fields[5]) + 32;
  char *out = malloc(size);
  if (!out) return 0;
  int printed = header ? snprintf(out, size, "Authorization: %s %s\n", fields[4], fields[5]) : snprintf(out, size, "%s\n", fields[5]);
  explicit_bzero(payload, sizeof payload);
  /* Node ignores SIGPIPE and ends quietly with 0 when stdout is closed (src/cli/process-edge.ts). */
  signal(SIGPIPE, SIG_IGN);
  write_all(out, (size_t)printed);
  explicit_bzero(out, size);
  free(out);
  return 1;
}

/* The folder this program is in (symbolic links followed), or 0. */
static int own_dir(char *out, size_t size, const char *argv0) {
  ssize_t n = readlink("/proc/self/exe", out, size - 1);
  if (n > 0) {
    out[n] = '\0';
  } else {
    if (!strchr(argv0, '/') || !realpath(argv0, out)) return 0;
  }
  char *slash = strrchr(out, '/');
  if (!slash) return 0;
  *slash = '\0';
  return 1;
}

/* Node with the JavaScript CLI, in place of this process. */
static int run_node(int argc, char **argv) {
  char dir[PATH_MAX], js[PATH_MAX + 32], node[PATH_MAX + 32];
  if (!own_dir(dir, sizeof dir, argv[0])) {
    fprintf(stderr, "xtalk: cannot find where the launcher is installed\n");
    return 127;
  }
  /* Installed, this program is bin/xtalk.cjs and the JavaScript CLI was moved beside it to
   * bin/xtalk-js.cjs (scripts/install-launcher.cjs); as built, it is dist/prebuilds/<p>-<a>/xtalk, in
   * an installed package or a checkout (whose bin/xtalk.cjs is the JavaScript CLI). */
  static const char *const entries[] = {"%s/xtalk-js.cjs", "%s/../../../bin/xtalk-js.cjs", "%s/../../../bin/xtalk.cjs"};
  for (size_t i = 0; i < sizeof entries / sizeof entries[0]; i++) {
    snprintf(js, sizeof js, entries[i], dir);
    if (access(js, R_OK) == 0) break;
  }
  /* The Node that installed the launcher (scripts/install-launcher.cjs records it), else PATH's. */
  const char *program = "node";
  snprintf(node, sizeof node, "%s/xtalk-node-path", dir);
  FILE *f = fopen(node, "re");
  if (f) {
    if (fgets(node, sizeof node, f)) {
      node[strcspn(node, "\n")] = '\0';
      if (node[0] == '/' && access(node, X_OK) == 0) program = node;
    }
    fclose(f);
  }
  char **args = calloc((size_t)argc + 2, sizeof *args);
  if (!args) return 127;
  args[0] = (char *)program;
  args[1] = js;
  for (int i = 1; i < argc; i++) args[i + 1] = argv[i];
  if (program[0] == '/')
    execv(program, args);
  else
    execvp(program, args);
  fprintf(stderr, "xtalk: cannot start Node.js (%s): %s\n", program, strerror(errno));
  return 127;
}

int main(int argc, char **argv) {
  if (argc == 2 && strcmp(argv[1], "--xtalk-launcher-version") == 0) {
    printf("xtalk-launcher %s\n", XTALK_VERSION);
    return 0;
  }
  if (argc >= 2 && strcmp(argv[1], "token") == 0 && serve(argc, argv)) return 0;
  return run_node(argc, argv);
}
