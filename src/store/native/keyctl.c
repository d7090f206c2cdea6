/*
 * The Linux kernel key retention service (keyrings(7)) for xtalk's data-key cache: three calls on
 * "user" keys in the caller's session keyring, through the raw system calls (no libkeyutils).
 * Every failure is reported as "nothing" (null / false): the cache is an optimisation, and xtalk
 * then reads the key from the Secret Service as it would without it.
 *
 *   read(description)                  -> Buffer | null
 *   store(description, payload, secs)  -> boolean   (owner-only permissions, expires in secs)
 *   forget(description)                -> boolean   (invalidated: gone for every process at once)
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdint.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>
#include <node_api.h>

#define KEY_SPEC_SESSION_KEYRING -3
#define KEYCTL_GET_KEYRING_ID 0
#define KEYCTL_SETPERM 5
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
  if (key < 0) return null_value(env);
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
  /* add_key replaces the payload of a key with the same type and description in that keyring. */
  int32_t key = (int32_t)syscall(SYS_add_key, "user", description, payload, length, ring);
  if (key < 0) return boolean_value(env, 0);
  if (keyctl5(KEYCTL_SETPERM, key, OWNER_ONLY, 0, 0) < 0 || keyctl5(KEYCTL_SET_TIMEOUT, key, seconds, 0, 0) < 0) {
    keyctl5(KEYCTL_INVALIDATE, key, 0, 0, 0);
    return boolean_value(env, 0);
  }
  return boolean_value(env, 1);
}

static napi_value forget_key(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  char description[MAX_DESCRIPTION];
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok || argc < 1) return boolean_value(env, 0);
  if (!string_arg(env, argv[0], description, sizeof description)) return boolean_value(env, 0);
  int32_t key = find(description);
  if (key < 0) return boolean_value(env, errno == ENOKEY || errno == EKEYEXPIRED || errno == EKEYREVOKED);
  return boolean_value(env, keyctl5(KEYCTL_INVALIDATE, key, 0, 0, 0) == 0);
}

NAPI_MODULE_INIT() {
  napi_property_descriptor properties[] = {
      {"read", NULL, read_key, NULL, NULL, NULL, napi_enumerable, NULL},
      {"store", NULL, store_key, NULL, NULL, NULL, napi_enumerable, NULL},
      {"forget", NULL, forget_key, NULL, NULL, NULL, napi_enumerable, NULL},
  };
  if (napi_define_properties(env, exports, sizeof properties / sizeof properties[0], properties) != napi_ok) return NULL;
  return exports;
}
