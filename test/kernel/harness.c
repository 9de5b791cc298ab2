// Kernel side of the differential tests: load a BPF object with libbpf, seed its maps, run one XDP program through
// BPF_PROG_TEST_RUN for a list of packets (map state carries over from packet to packet, like a Session), then dump
// every map. Built and driven by test/kernel/runner.ts; the protocol is line-based text so that the runner needs no
// parser beyond split().
//
// usage: harness OBJECT PROGRAM INPUT
// INPUT lines (hex without separators; an empty hex field is written as "-"):
//   name OBJNAME               libbpf object name (internal map names derive from it); must come first
//   seed MAP KEY VALUE          ordinary map entry, or a global-data map's image (KEY 00000000), set before load
//   seedcpu MAP KEY V0 V1 ...   per-CPU map entry, one value per possible CPU
//   seedprog MAP KEY PROGRAM    PROG_ARRAY slot -> program (function) name
//   packet DATA
// stdout:
//   cpus N
//   result INDEX RETVAL OUT     (RETVAL as an unsigned decimal; OUT is data_out, exactly data_size_out bytes)
//   error INDEX ERRNO           (test_run itself failed)
//   map NAME TYPE KEYSIZE VALUESIZE
//   entry KEY VALUE             ordinary maps (PROG_ARRAY: VALUE is "prog:NAME")
//   entrycpu KEY V0 V1 ...      per-CPU maps
// exit: 0 ok, 2 usage/input error, 3 object open/load failed (libbpf's messages, incl. the verifier log, on stderr).
#define _GNU_SOURCE
#include <errno.h>
#include <sched.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#define MAX_OUT (64 * 1024)

static int libbpf_print(enum libbpf_print_level level, const char *fmt, va_list args) {
  if (level == LIBBPF_DEBUG) return 0;
  return vfprintf(stderr, fmt, args);
}

static int hexval(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

/* Decode hex into a fresh buffer; "-" is empty. Returns length or -1. */
static long unhex(const char *s, unsigned char **out) {
  if (strcmp(s, "-") == 0) s = "";
  size_t n = strlen(s);
  if (n % 2) return -1;
  unsigned char *b = malloc(n / 2 + 1);
  for (size_t i = 0; i < n / 2; i++) {
    int hi = hexval(s[2 * i]), lo = hexval(s[2 * i + 1]);
    if (hi < 0 || lo < 0) { free(b); return -1; }
    b[i] = (unsigned char)(hi << 4 | lo);
  }
  *out = b;
  return (long)(n / 2);
}

static void puthex(const unsigned char *b, size_t n) {
  if (n == 0) { fputs("-", stdout); return; }
  for (size_t i = 0; i < n; i++) printf("%02x", b[i]);
}

struct line { char **tok; int ntok; };

static struct line split(char *s) {
  struct line l = { calloc(strlen(s) / 2 + 2, sizeof(char *)), 0 };
  for (char *t = strtok(s, " \t\r\n"); t; t = strtok(NULL, " \t\r\n")) l.tok[l.ntok++] = t;
  return l;
}

static int is_percpu(enum bpf_map_type t) {
  return t == BPF_MAP_TYPE_PERCPU_ARRAY || t == BPF_MAP_TYPE_PERCPU_HASH || t == BPF_MAP_TYPE_LRU_PERCPU_HASH ||
         t == BPF_MAP_TYPE_PERCPU_CGROUP_STORAGE;
}

static const char *prog_name_by_id(struct bpf_object *obj, __u32 id) {
  struct bpf_program *p;
  bpf_object__for_each_program(p, obj) {
    struct bpf_prog_info info;
    __u32 len = sizeof(info);
    memset(&info, 0, sizeof(info));
    int fd = bpf_program__fd(p);
    if (fd >= 0 && bpf_obj_get_info_by_fd(fd, &info, &len) == 0 && info.id == id) return bpf_program__name(p);
  }
  return "?";
}

static void dump_map(struct bpf_object *obj, struct bpf_map *m, int ncpus) {
  enum bpf_map_type type = bpf_map__type(m);
  __u32 ks = bpf_map__key_size(m), vs = bpf_map__value_size(m);
  int fd = bpf_map__fd(m);
  printf("map %s %d %u %u\n", bpf_map__name(m), (int)type, ks, vs);
  if (fd < 0) return;
  size_t stride = (vs + 7) & ~7u;
  size_t vbytes = is_percpu(type) ? stride * ncpus : vs;
  unsigned char *key = calloc(1, ks + 8), *next = calloc(1, ks + 8), *val = calloc(1, vbytes + 8);
  void *prev = NULL;
  while (bpf_map_get_next_key(fd, prev, next) == 0) {
    memcpy(key, next, ks);
    prev = key;
    memset(val, 0, vbytes);
    if (bpf_map_lookup_elem(fd, key, val) != 0) continue; /* empty devmap slot, prog_array hole, ... */
    if (is_percpu(type)) {
      fputs("entrycpu ", stdout);
      puthex(key, ks);
      for (int c = 0; c < ncpus; c++) { putchar(' '); puthex(val + stride * c, vs); }
    } else if (type == BPF_MAP_TYPE_PROG_ARRAY) {
      fputs("entry ", stdout);
      puthex(key, ks);
      __u32 id;
      memcpy(&id, val, 4);
      printf(" prog:%s", prog_name_by_id(obj, id));
    } else {
      fputs("entry ", stdout);
      puthex(key, ks);
      putchar(' ');
      puthex(val, vs);
    }
    putchar('\n');
  }
  free(key); free(next); free(val);
}

int main(int argc, char **argv) {
  if (argc != 4) { fprintf(stderr, "usage: %s OBJECT PROGRAM INPUT\n", argv[0]); return 2; }
  libbpf_set_print(libbpf_print);

  // test_run executes on the calling CPU: pin to CPU 0 so per-CPU maps and get_smp_processor_id are deterministic.
  cpu_set_t set;
  CPU_ZERO(&set);
  CPU_SET(0, &set);
  if (sched_setaffinity(0, sizeof(set), &set) != 0) { perror("sched_setaffinity"); return 2; }

  FILE *in = fopen(argv[3], "r");
  if (!in) { perror(argv[3]); return 2; }
  size_t cap = 0;
  char *buf = NULL;
  struct line *lines = NULL;
  int nlines = 0;
  for (;;) {
    buf = NULL; cap = 0;
    if (getline(&buf, &cap, in) < 0) { free(buf); break; }
    lines = realloc(lines, sizeof(*lines) * (nlines + 1));
    lines[nlines] = split(buf);
    if (lines[nlines].ntok > 0) nlines++;
  }
  fclose(in);

  const char *objname = NULL;
  if (nlines > 0 && strcmp(lines[0].tok[0], "name") == 0 && lines[0].ntok == 2) objname = lines[0].tok[1];
  LIBBPF_OPTS(bpf_object_open_opts, oopts, .object_name = objname);
  struct bpf_object *obj = bpf_object__open_file(argv[1], &oopts);
  if (!obj) { fprintf(stderr, "cannot open %s: %s\n", argv[1], strerror(errno)); return 3; }
  int ncpus = libbpf_num_possible_cpus();

  // Global-data maps must be seeded before load (.rodata is frozen by libbpf).
  for (int i = 0; i < nlines; i++) {
    struct line *l = &lines[i];
    if (strcmp(l->tok[0], "seed") != 0 || l->ntok != 4) continue;
    struct bpf_map *m = bpf_object__find_map_by_name(obj, l->tok[1]);
    if (!m) { fprintf(stderr, "no map %s\n", l->tok[1]); return 2; }
    if (bpf_map__type(m) != BPF_MAP_TYPE_ARRAY || !strchr(bpf_map__name(m), '.')) continue;
    unsigned char *v;
    long n = unhex(l->tok[3], &v);
    if (n < 0 || bpf_map__set_initial_value(m, v, n) != 0) { fprintf(stderr, "bad initial value for %s\n", l->tok[1]); return 2; }
  }

  if (bpf_object__load(obj) != 0) { fprintf(stderr, "cannot load %s: %s\n", argv[1], strerror(errno)); return 3; }
  struct bpf_program *prog = bpf_object__find_program_by_name(obj, argv[2]);
  if (!prog) { fprintf(stderr, "no program %s\n", argv[2]); return 2; }
  int pfd = bpf_program__fd(prog);

  for (int i = 0; i < nlines; i++) {
    struct line *l = &lines[i];
    const char *k = l->tok[0];
    if (strcmp(k, "seed") && strcmp(k, "seedcpu") && strcmp(k, "seedprog")) continue;
    if (l->ntok < 4) { fprintf(stderr, "line %d: too few fields\n", i + 1); return 2; }
    struct bpf_map *m = bpf_object__find_map_by_name(obj, l->tok[1]);
    if (!m) { fprintf(stderr, "no map %s\n", l->tok[1]); return 2; }
    if (!strcmp(k, "seed") && bpf_map__type(m) == BPF_MAP_TYPE_ARRAY && strchr(bpf_map__name(m), '.')) continue;
    unsigned char *key;
    if (unhex(l->tok[2], &key) != (long)bpf_map__key_size(m)) { fprintf(stderr, "line %d: bad key\n", i + 1); return 2; }
    unsigned char *val = NULL;
    __u32 vs = bpf_map__value_size(m);
    if (!strcmp(k, "seedprog")) {
      struct bpf_program *t = bpf_object__find_program_by_name(obj, l->tok[3]);
      if (!t) { fprintf(stderr, "line %d: no program %s\n", i + 1, l->tok[3]); return 2; }
      int tfd = bpf_program__fd(t);
      val = malloc(4);
      memcpy(val, &tfd, 4);
    } else if (!strcmp(k, "seedcpu")) {
      size_t stride = (vs + 7) & ~7u;
      val = calloc(ncpus, stride);
      for (int c = 0; c < ncpus && 3 + c < l->ntok; c++) {
        unsigned char *v;
        if (unhex(l->tok[3 + c], &v) != (long)vs) { fprintf(stderr, "line %d: bad value\n", i + 1); return 2; }
        memcpy(val + stride * c, v, vs);
      }
    } else {
      if (unhex(l->tok[3], &val) != (long)vs) { fprintf(stderr, "line %d: bad value size\n", i + 1); return 2; }
    }
    if (bpf_map_update_elem(bpf_map__fd(m), key, val, BPF_ANY) != 0) {
      fprintf(stderr, "line %d: update %s failed: %s\n", i + 1, l->tok[1], strerror(errno));
      return 2;
    }
  }

  printf("cpus %d\n", ncpus);
  static unsigned char out[MAX_OUT];
  int index = 0;
  for (int i = 0; i < nlines; i++) {
    struct line *l = &lines[i];
    if (strcmp(l->tok[0], "packet") != 0) continue;
    unsigned char *data;
    long n = l->ntok == 2 ? unhex(l->tok[1], &data) : -1;
    if (n < 0) { fprintf(stderr, "line %d: bad packet\n", i + 1); return 2; }
    LIBBPF_OPTS(bpf_test_run_opts, topts, .data_in = data, .data_size_in = (__u32)n, .data_out = out,
                .data_size_out = sizeof(out), .repeat = 1);
    int err = bpf_prog_test_run_opts(pfd, &topts);
    if (err) {
      printf("error %d %d\n", index, errno);
    } else {
      printf("result %d %u ", index, topts.retval);
      puthex(out, topts.data_size_out);
      putchar('\n');
    }
    free(data);
    index++;
  }

  struct bpf_map *m;
  bpf_object__for_each_map(m, obj) dump_map(obj, m, ncpus);
  fflush(stdout);
  bpf_object__close(obj);
  return 0;
}
