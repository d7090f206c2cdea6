/*
 * The Linux kernel key retention service (keyrings(7)) for xtalk's data-key cache: three calls on
 * "user" keys in the caller's session keyring, through the raw system calls (no libkeyutils).
 * Every failure is reported as "nothing" (null / false): the cache is an optimisation, and xtalk
 * then reads the key from the Secret Service as it would without it.
 *
 *   read(description)                  -> Buffer | null
 *   store(description, payload, secs)  -> boolean   (owner-only permissions, expires in secs)
 *   forget(description)                -> boolean   (invalidated: gone for every process at once)
 *   forgetAll(prefix, suffix)          -> number    (forgets each of ours named prefix + [0-9a-f]* + suffix)
 *
 * Another user's process can share the session keyring (su or sudo -u without pam_keyinit) and
 * plant a key of the same description there, writable by us but owned by them: add_key into the
 * session keyring would put the data key in it. So the key is made in this thread's keyring, which
 * no other process can reach, given its permissions and expiry there, checked, and only then linked
 * into the session keyring (which displaces a planted key); reading uses only a key that is ours.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>
#include <node_api.h>

#define KEY_SPEC_THREAD_KEYRING -1
#define KEY_SPEC_SESSION_KEYRING -3
#define KEYCTL_GET_KEYRING_ID 0
#define KEYCTL_SETPERM 5
#define KEYCTL_DESCRIBE 6
#define KEYCTL_LINK 8
#define KEYCTL_UNLINK 9
#define KEYCTL_SEARCH 10
#define KEYCTL_READ 11
#define KEYCTL_SET_TIMEOUT 15
#define KEYCTL_INVALIDATE 21
/* The owner (this user): view, read, write, search, link, setattr; possessor, group, other:
 * nothing. Not possessor rights: a process of another user that shares this session keyring (su
 * without pam_keyinit) possesses it too, and must not read the key. */
#define OWNER_ONLY 0x003f0000u

#define MAX_DESCRIPTION 1024
#define MAX_PAYLOAD 4096

static long keyctl5(long op, long a, long b, long c, long d) { return syscall(SYS_keyctl, op, a, b, c, d); }

/* The session keyring's id without creating one: a process without a session keyring gets the
 * user-session keyring, the one a later process of the same user finds too. */
static int32_t session_keyring(void) { return (int32_t)keyctl5(KEYCTL_GET_KEYRING_ID, KEY_SPEC_SESSION_KEYRING, 0, 0, 0); }

static int32_t find(const char *description) {
  int32_t ring = session_keyring();
  if (ring < 0) return -1;
  return (int32_t)keyctl5(KEYCTL_SEARCH, ring, (long)"user", (long)description, 0);
}

/* True when `key` is what store() makes: a "user" key named `description`, owned by this process's
 * user, with exactly the owner-only permissions (KEYCTL_DESCRIBE: "type;uid;gid;perm;description"). */
static int is_ours(int32_t key, const char *description) {
  char info[MAX_DESCRIPTION + 64];
  long n = keyctl5(KEYCTL_DESCRIBE, key, (long)info, sizeof info, 0);
  if (n <= 0 || n > (long)sizeof info) return 0;
  info[sizeof info - 1] = '\0';
  char expected[MAX_DESCRIPTION + 64];
  int m = snprintf(expected, sizeof expected, "user;%u;", (unsigned)geteuid());
  if (m < 0 || (size_t)m >= sizeof expected || strncmp(info, expected, (size_t)m) != 0) return 0;
  const char *rest = strchr(info + m, ';'); /* after the gid */
  if (!rest) return 0;
  m = snprintf(expected, sizeof expected, ";%08x;%s", OWNER_ONLY, description);
  return m > 0 && (size_t)m < sizeof expected && strcmp(rest, expected) == 0;
}

static int string_arg(napi_env env, napi_value value, char *out, size_t size) {
  size_t length = 0;
  if (napi_get_value_string_utf8(env, value, out, size, &length) != napi_ok) return 0;
  return length > 0 && length < size - 1;
}

static napi_value null_value(napi_env env) {
  napi_value v;
  napi_get_null(env, &v);
  return v;
}

static napi_value boolean_value(napi_env env, int b) {
  napi_value v;
  napi_get_boolean(env, b, &v);
  return v;
}

static napi_value read_key(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  char description[MAX_DESCRIPTION];
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok || argc < 1) return null_value(env);
  if (!string_arg(env, argv[0], description, sizeof description)) return null_value(env);
  int32_t key = find(description);
  /* A key someone else made (or one whose permissions were changed) is no cache. */
  if (key < 0 || !is_ours(key, description)) return null_value(env);
  unsigned char payload[MAX_PAYLOAD];
  long n = keyctl5(KEYCTL_READ, key, (long)payload, sizeof payload, 0);
  if (n < 0 || n > (long)sizeof payload) return null_value(env);
  void *data;
  napi_value buffer;
  napi_status status = napi_create_buffer_copy(env, (size_t)n, payload, &data, &buffer);
  explicit_bzero(payload, sizeof payload);
  return status == napi_ok ? buffer : null_value(env);
}

static napi_value store_key(napi_env env, napi_callback_info info) {
  size_t argc = 3;
  napi_value argv[3];
  char description[MAX_DESCRIPTION];
  void *payload;
  size_t length;
  uint32_t seconds;
  bool is_buffer = false;
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok || argc < 3) return boolean_value(env, 0);
  if (!string_arg(env, argv[0], description, sizeof description)) return boolean_value(env, 0);
  if (napi_is_buffer(env, argv[1], &is_buffer) != napi_ok || !is_buffer) return boolean_value(env, 0);
  if (napi_get_buffer_info(env, argv[1], &payload, &length) != napi_ok || length == 0 || length > MAX_PAYLOAD) return boolean_value(env, 0);
  if (napi_get_value_uint32(env, argv[2], &seconds) != napi_ok || seconds == 0) return boolean_value(env, 0);
  int32_t ring = session_keyring();
  if (ring < 0) return boolean_value(env, 0);
  /* Made where only this thread reaches: add_key into the session keyring would update a key
   * another user planted there under this description. */
  int32_t key = (int32_t)syscall(SYS_add_key, "user", description, payload, length, KEY_SPEC_THREAD_KEYRING);
  if (key < 0) return boolean_value(env, 0);
  int ok = keyctl5(KEYCTL_SETPERM, key, OWNER_ONLY, 0, 0) == 0 && keyctl5(KEYCTL_SET_TIMEOUT, key, seconds, 0, 0) == 0 && is_ours(key, description) &&
           /* Linking displaces a key of the same type and description from the session keyring. */
           keyctl5(KEYCTL_LINK, key, ring, 0, 0) == 0;
  keyctl5(KEYCTL_UNLINK, key, KEY_SPEC_THREAD_KEYRING, 0, 0);
  if (!ok) keyctl5(KEYCTL_INVALIDATE, key, 0, 0, 0);
  return boolean_value(env, ok);
}

static napi_value forget_key(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  char description[MAX_DESCRIPTION];
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok || argc < 1) return boolean_value(env, 0);
  if (!string_arg(env, argv[0], description, sizeof description)) return boolean_value(env, 0);
  int32_t key = find(description);
  if (key < 0) return boolean_value(env, errno == ENOKEY || errno == EKEYEXPIRED || errno == EKEYREVOKED);
  if (is_ours(key, description)) return boolean_value(env, keyctl5(KEYCTL_INVALIDATE, key, 0, 0, 0) == 0);
  /* Someone else's key under this name: out of the session keyring, so it shadows nothing. */
  int32_t ring = session_keyring();
  return boolean_value(env, ring >= 0 && keyctl5(KEYCTL_UNLINK, key, ring, 0, 0) == 0);
}

/* The middle of `description` between `prefix` and `suffix`, if it has both, is lowercase hex only. */
static int matches(const char *description, const char *prefix, const char *suffix) {
  size_t length = strlen(description), p = strlen(prefix), s = strlen(suffix);
  if (length < p + s || strncmp(description, prefix, p) != 0 || strcmp(description + length - s, suffix) != 0) return 0;
  for (size_t i = p; i < length - s; i++)
    if (!((description[i] >= '0' && description[i] <= '9') || (description[i] >= 'a' && description[i] <= 'f'))) return 0;
  return 1;
}

/* Every key of ours in the session keyring under a name of that family (the launcher's token copies
 * of one store, one per account selector): invalidated. Keys of others are left to forget(). */
static napi_value forget_all(napi_env env, napi_callback_info info) {
  size_t argc = 2;
  napi_value argv[2];
  char prefix[MAX_DESCRIPTION], suffix[MAX_DESCRIPTION];
  napi_value count;
  int32_t forgotten = 0;
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok || argc < 2 || !string_arg(env, argv[0], prefix, sizeof prefix) ||
      !string_arg(env, argv[1], suffix, sizeof suffix)) {
    napi_create_int32(env, -1, &count);
    return count;
  }
  int32_t ring = session_keyring();
  int32_t ids[1024];
  long n = ring < 0 ? -1 : keyctl5(KEYCTL_READ, ring, (long)ids, sizeof ids, 0);
  if (n > (long)sizeof ids) n = sizeof ids;
  for (long i = 0; n > 0 && i < n / (long)sizeof ids[0]; i++) {
    char about[MAX_DESCRIPTION + 64];
    long m = keyctl5(KEYCTL_DESCRIBE, ids[i], (long)about, sizeof about, 0);
    if (m <= 0 || m > (long)sizeof about) continue;
    about[sizeof about - 1] = '\0';
    /* "type;uid;gid;perm;description": the description follows the fourth ';'. */
    const char *description = about;
    for (int k = 0; k < 4 && description; k++) description = strchr(description, ';') ? strchr(description, ';') + 1 : NULL;
    if (!description || !matches(description, prefix, suffix) || !is_ours(ids[i], description)) continue;
    if (keyctl5(KEYCTL_INVALIDATE, ids[i], 0, 0, 0) == 0) forgotten++;
  }
  napi_create_int32(env, forgotten, &count);
  return count;
}

NAPI_MODULE_INIT() {
  napi_property_descriptor properties[] = {
      {"read", NULL, read_key, NULL, NULL, NULL, napi_enumerable, NULL},
      {"store", NULL, store_key, NULL, NULL, NULL, napi_enumerable, NULL},
      {"forget", NULL, forget_key, NULL, NULL, NULL, napi_enumerable, NULL},
      {"forgetAll", NULL, forget_all, NULL, NULL, NULL, napi_enumerable, NULL},
  };
  if (napi_define_properties(env, exports, sizeof properties / sizeof properties[0], properties) != napi_ok) return NULL;
  return exports;
}
