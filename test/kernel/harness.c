// Kernel side of the differential tests: load a BPF object with libbpf, seed its maps, run one XDP program through
// BPF_PROG_TEST_RUN for a list of packets (map state carries over from packet to packet, like a Session), then dump
// every map. Built and driven by test/kernel/runner.ts; the protocol is line-based text so that the runner needs no
// parser beyond split().
//
// usage: harness OBJECT PROGRAM INPUT
// INPUT lines (hex without separators; an empty hex field is written as "-"):
//   name OBJNAME               libbpf object name (internal map names derive from it); must come first
//   only                       load PROGRAM and the programs named by seedprog only (autoload off for the rest), as a
//                              loader that picks one program does; default: every program of the object is loaded
//   xdptype                    the loaded programs whose section name libbpf does not know get type XDP, and those in
//                              the pre-1.0 sections "xdp_devmap/..." and "xdp_cpumap/..." expected attach type
//                              BPF_XDP_DEVMAP / BPF_XDP_CPUMAP (the legacy loader does the same, and knows
//                              "xdp/devmap", "xdp/cpumap" too)
//   zeromax N                  maps declared with max_entries 0 (sized by their loader at run time) get N
//   innermap                   outer maps (ARRAY_OF_MAPS, HASH_OF_MAPS) without an inner-map template get ARRAY(int,int,1)
//   sparse                     leave out the entries of ARRAY and PERCPU_ARRAY maps whose value is all zero bytes
//                              (every index exists, so nothing is lost; a map of a million counters stays readable)
//   devbound                   bind PROGRAM to a device (BPF_F_XDP_DEV_BOUND_ONLY): a veth created in a network
//                              namespace of this process's own, which disappears with it
//   seed MAP KEY VALUE          ordinary map entry, or a global-data map's image (KEY 00000000), set before load
//   seedcpu MAP KEY V0 V1 ...   per-CPU map entry, one value per possible CPU
//   seedprog MAP KEY PROGRAM    PROG_ARRAY slot -> program (function) name
//   seedmap MAP KEY INNER       ARRAY_OF_MAPS / HASH_OF_MAPS slot -> one of the object's maps, by name
//   seedinner MAP KEY NAME [K=V ...]  ARRAY_OF_MAPS / HASH_OF_MAPS slot -> a new map made from MAP's inner-map template
//                              (BTF __array(values, ...) or innermap's), holding the entries K=V; dumped as
//                              "map:NAME" followed by its entries as "inner KEY VALUE" lines
//   packet DATA
// Objects with a legacy SEC("maps") section (struct bpf_map_def), which libbpf 1.x refuses to open, are loaded by a
// small syscall-level loader instead: maps created from the definitions, global data (.data, .bss, .rodata*) as
// libbpf 0.x made it, called functions linked in, ld_imm64 references patched, each needed program loaded with
// BPF_PROG_LOAD as XDP.
// stdout:
//   cpus N
//   loaded SECTION HOW...        how PROGRAM was loaded: "legacy", "typeset", "attach:devmap" / "attach:cpumap",
//                                "devbound" (or "-" for none of these)
//   sized MAP N                  a max_entries-0 map given N entries (zeromax)
//   innertemplate MAP            an outer map given the ARRAY(int,int,1) template (innermap)
//   unpinned MAP                 a map declared LIBBPF_PIN_BY_NAME, created unpinned (fresh, nothing left in bpffs)
//   result INDEX RETVAL OUT     (RETVAL as an unsigned decimal; OUT is data_out, exactly data_size_out bytes)
//   error INDEX ERRNO           (test_run itself failed)
//   map NAME TYPE KEYSIZE VALUESIZE
//   entry KEY VALUE             ordinary maps (PROG_ARRAY: VALUE is "prog:NAME"; maps of maps: "map:NAME", the
//                               object's map with the id the slot holds, or "map:#ID" for a map not of the object)
//   entrycpu KEY V0 V1 ...      per-CPU maps
// exit: 0 ok, 2 usage/input error, 3 object open/load failed (libbpf's messages, incl. the verifier log, on stderr).
#define _GNU_SOURCE
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <gelf.h>
#include <libelf.h>
#include <net/if.h>
#include <sched.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#define MAX_OUT (128 * 1024) /* a frame of up to 73152 bytes (linear part and 17 fragments, what BPF_PROG_TEST_RUN takes) and what a program adds */
#ifndef BPF_F_XDP_DEV_BOUND_ONLY
#define BPF_F_XDP_DEV_BOUND_ONLY (1U << 6)
#endif

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

/* What both loaders leave behind: the object's maps and its loaded programs, by name. */
struct hmap {
  const char *name; enum bpf_map_type type; __u32 ks, vs; int fd; bool global_data;
  /* Outer maps: the inner-map template (type 0 when unknown). Inner maps made by seedinner: nested. */
  enum bpf_map_type itype; __u32 iks, ivs, imax, iflags;
  bool nested;
};
struct hprog { const char *name; int fd; };
static struct hmap *maps;
static int nmaps;
static struct hprog *progs;
static int nprogs;

static struct hmap *add_map(const char *name, enum bpf_map_type type, __u32 ks, __u32 vs, int fd, bool global_data) {
  maps = realloc(maps, sizeof(*maps) * (nmaps + 1));
  maps[nmaps] = (struct hmap){ .name = name, .type = type, .ks = ks, .vs = vs, .fd = fd, .global_data = global_data };
  return &maps[nmaps++];
}

static void add_prog(const char *name, int fd) {
  progs = realloc(progs, sizeof(*progs) * (nprogs + 1));
  progs[nprogs++] = (struct hprog){ name, fd };
}

static struct hmap *find_map(const char *name) {
  for (int i = 0; i < nmaps; i++) if (strcmp(maps[i].name, name) == 0) return &maps[i];
  return NULL;
}

static int find_prog_fd(const char *name) {
  for (int i = 0; i < nprogs; i++) if (strcmp(progs[i].name, name) == 0) return progs[i].fd;
  return -1;
}

static const char *prog_name_by_id(__u32 id) {
  for (int i = 0; i < nprogs; i++) {
    struct bpf_prog_info info;
    __u32 len = sizeof(info);
    memset(&info, 0, sizeof(info));
    if (progs[i].fd >= 0 && bpf_obj_get_info_by_fd(progs[i].fd, &info, &len) == 0 && info.id == id) return progs[i].name;
  }
  return "?";
}

static struct hmap *map_by_id(__u32 id) {
  for (int i = 0; i < nmaps; i++) {
    struct bpf_map_info info;
    __u32 len = sizeof(info);
    memset(&info, 0, sizeof(info));
    if (maps[i].fd >= 0 && bpf_obj_get_info_by_fd(maps[i].fd, &info, &len) == 0 && info.id == id) return &maps[i];
  }
  return NULL;
}

static const char *map_name_by_id(__u32 id, char *buf, size_t n) {
  struct hmap *m = map_by_id(id);
  if (m) return m->name;
  snprintf(buf, n, "#%u", id);
  return buf;
}

/* "entry" for a map's own entries, "inner" for those of a nested map listed under its outer slot. */
static const char *entry_word = "entry";
static void dump_entries(const struct hmap *m, int ncpus, bool sparse);

static bool all_zero(const unsigned char *b, size_t n) {
  for (size_t i = 0; i < n; i++) if (b[i]) return false;
  return true;
}

static void put_entry(const struct hmap *m, const unsigned char *key, const unsigned char *val, int ncpus, bool sparse) {
  size_t stride = (m->vs + 7) & ~7u;
  struct hmap *nested = NULL;
  if (is_percpu(m->type)) {
    if (sparse && m->type == BPF_MAP_TYPE_PERCPU_ARRAY && all_zero(val, stride * ncpus)) return;
    printf("%scpu ", entry_word);
    puthex(key, m->ks);
    for (int c = 0; c < ncpus; c++) { putchar(' '); puthex(val + stride * c, m->vs); }
  } else if (m->type == BPF_MAP_TYPE_PROG_ARRAY) {
    printf("%s ", entry_word);
    puthex(key, m->ks);
    __u32 id;
    memcpy(&id, val, 4);
    printf(" prog:%s", prog_name_by_id(id));
  } else if (m->type == BPF_MAP_TYPE_ARRAY_OF_MAPS || m->type == BPF_MAP_TYPE_HASH_OF_MAPS) {
    printf("%s ", entry_word);
    puthex(key, m->ks);
    __u32 id;
    char buf[16];
    memcpy(&id, val, 4);
    printf(" map:%s", map_name_by_id(id, buf, sizeof(buf)));
    nested = map_by_id(id);
    if (nested && !nested->nested) nested = NULL;
  } else {
    if (sparse && m->type == BPF_MAP_TYPE_ARRAY && all_zero(val, m->vs)) return;
    printf("%s ", entry_word);
    puthex(key, m->ks);
    putchar(' ');
    puthex(val, m->vs);
  }
  putchar('\n');
  if (nested && strcmp(entry_word, "entry") == 0) {
    entry_word = "inner";
    dump_entries(nested, ncpus, false);
    entry_word = "entry";
  }
}

/* Arrays through BPF_MAP_LOOKUP_BATCH, thousands of indices per call; false when the kernel will not (then the
 * caller walks the keys one by one). */
static bool dump_array_batched(const struct hmap *m, int ncpus, bool sparse) {
  if (m->type != BPF_MAP_TYPE_ARRAY && m->type != BPF_MAP_TYPE_PERCPU_ARRAY) return false;
  const __u32 chunk = 4096;
  size_t elem = m->type == BPF_MAP_TYPE_PERCPU_ARRAY ? ((m->vs + 7) & ~7u) * ncpus : m->vs;
  unsigned char *keys = malloc(4 * (size_t)chunk), *vals = malloc(elem * chunk);
  __u32 in = 0, out = 0;
  bool first = true, ok = true;
  for (;;) {
    __u32 count = chunk;
    int err = bpf_map_lookup_batch(m->fd, first ? NULL : &in, &out, keys, vals, &count, NULL);
    if (err && errno != ENOENT) { ok = !first; break; }
    for (__u32 i = 0; i < count; i++) put_entry(m, keys + 4 * i, vals + elem * i, ncpus, sparse);
    if (err) break;
    in = out;
    first = false;
  }
  free(keys); free(vals);
  return ok;
}

static void dump_map(const struct hmap *m, int ncpus, bool sparse) {
  if (m->nested) return; /* listed under the outer slot that holds it */
  printf("map %s %d %u %u\n", m->name, (int)m->type, m->ks, m->vs);
  dump_entries(m, ncpus, sparse);
}

static void dump_entries(const struct hmap *m, int ncpus, bool sparse) {
  if (m->fd < 0) return;
  if (dump_array_batched(m, ncpus, sparse)) return;
  size_t stride = (m->vs + 7) & ~7u;
  size_t vbytes = is_percpu(m->type) ? stride * ncpus : m->vs;
  unsigned char *key = calloc(1, m->ks + 8), *next = calloc(1, m->ks + 8), *val = calloc(1, vbytes + 8);
  void *prev = NULL;
  while (bpf_map_get_next_key(m->fd, prev, next) == 0) {
    memcpy(key, next, m->ks);
    prev = key;
    memset(val, 0, vbytes);
    if (bpf_map_lookup_elem(m->fd, key, val) != 0) continue; /* empty devmap slot, prog_array hole, ... */
    put_entry(m, key, val, ncpus, sparse);
  }
  free(key); free(next); free(val);
}

/* Options of the input that shape loading. */
struct load_opts {
  const char *objname;
  bool only, xdptype, innermap, devbound, sparse;
  __u32 zeromax;
};

/* How the chosen program was loaded, reported on stdout. */
static char loaded_how[256] = "";
static void how(const char *what) {
  if (loaded_how[0]) strncat(loaded_how, " ", sizeof(loaded_how) - strlen(loaded_how) - 1);
  strncat(loaded_how, what, sizeof(loaded_how) - strlen(loaded_how) - 1);
}
static const char *loaded_section = "?";

static bool wanted(struct line *lines, int nlines, const char *chosen, const char *name) {
  if (strcmp(name, chosen) == 0) return true;
  for (int i = 0; i < nlines; i++)
    if (strcmp(lines[i].tok[0], "seedprog") == 0 && lines[i].ntok >= 4 && strcmp(lines[i].tok[3], name) == 0) return true;
  return false;
}

/* A veth in a network namespace of our own (gone when the process exits); returns its ifindex or 0. */
static unsigned veth_ifindex(void) {
  if (unshare(CLONE_NEWNET) != 0) { perror("unshare(CLONE_NEWNET)"); return 0; }
  if (system("ip link add xlens0 type veth peer name xlens1 >&2 && ip link set xlens0 up >&2 && ip link set xlens1 up >&2") != 0) {
    fprintf(stderr, "cannot create a veth pair in the private network namespace\n");
    return 0;
  }
  return if_nametoindex("xlens0");
}

// --- libbpf path ----------------------------------------------------------------------------------------------------

static int load_libbpf(const char *path, const char *chosen, struct line *lines, int nlines, const struct load_opts *o) {
  LIBBPF_OPTS(bpf_object_open_opts, oopts, .object_name = o->objname);
  struct bpf_object *obj = bpf_object__open_file(path, &oopts);
  if (!obj) { fprintf(stderr, "cannot open %s: %s\n", path, strerror(errno)); return 3; }
  if (!bpf_object__find_program_by_name(obj, chosen)) { fprintf(stderr, "no program %s\n", chosen); return 2; }

  struct bpf_program *p;
  bpf_object__for_each_program(p, obj) {
    const char *name = bpf_program__name(p);
    if (o->only) bpf_program__set_autoload(p, wanted(lines, nlines, chosen, name));
    bool is_chosen = strcmp(name, chosen) == 0;
    if (o->xdptype && bpf_program__type(p) == BPF_PROG_TYPE_UNSPEC) {
      bpf_program__set_type(p, BPF_PROG_TYPE_XDP);
      // As libbpf's SEC("xdp") and cilium/ebpf's "xdp" prefix give: the kernel's PROG_ARRAY takes only programs of the
      // owner's expected_attach_type, so a custom-section entry must match the SEC("xdp") programs it tail-calls.
      bpf_program__set_expected_attach_type(p, BPF_XDP);
      if (strncmp(bpf_program__section_name(p), "xdp_devmap/", 11) == 0)
        bpf_program__set_expected_attach_type(p, BPF_XDP_DEVMAP);
      if (strncmp(bpf_program__section_name(p), "xdp_cpumap/", 11) == 0)
        bpf_program__set_expected_attach_type(p, BPF_XDP_CPUMAP);
      if (is_chosen) how("typeset");
    }
    if (o->devbound && is_chosen) {
      unsigned ifindex = veth_ifindex();
      if (!ifindex) return 3;
      bpf_program__set_ifindex(p, ifindex);
      bpf_program__set_flags(p, bpf_program__flags(p) | BPF_F_XDP_DEV_BOUND_ONLY);
      how("devbound");
    }
    if (is_chosen) {
      loaded_section = bpf_program__section_name(p);
      enum bpf_attach_type at = bpf_program__expected_attach_type(p);
      if (at == BPF_XDP_DEVMAP) how("attach:devmap");
      if (at == BPF_XDP_CPUMAP) how("attach:cpumap");
    }
  }

  // Inner-map templates, read before load (libbpf frees its template once the outer map exists).
  struct hmap *tmpl = calloc(1, sizeof(*tmpl));
  int ntmpl = 0;
  struct bpf_map *m;
  bpf_object__for_each_map(m, obj) {
    enum bpf_map_type ot = bpf_map__type(m);
    if (ot == BPF_MAP_TYPE_ARRAY_OF_MAPS || ot == BPF_MAP_TYPE_HASH_OF_MAPS) {
      struct bpf_map *in = bpf_map__inner_map(m);
      tmpl = realloc(tmpl, sizeof(*tmpl) * (ntmpl + 1));
      tmpl[ntmpl++] = in ? (struct hmap){ .name = bpf_map__name(m), .itype = bpf_map__type(in), .iks = bpf_map__key_size(in),
                                          .ivs = bpf_map__value_size(in), .imax = bpf_map__max_entries(in), .iflags = bpf_map__map_flags(in) }
                         : o->innermap ? (struct hmap){ .name = bpf_map__name(m), .itype = BPF_MAP_TYPE_ARRAY, .iks = 4, .ivs = 4, .imax = 1 }
                                       : (struct hmap){ .name = bpf_map__name(m) };
    }
  }
  // libbpf from 1.2 (and the kernel tree's, bpftool's) sizes an inner PERF_EVENT_ARRAY template of 0 entries to the
  // possible CPUs, as it does a top-level one; the system's libbpf 1.1 does not (and cannot resize an inner map), so
  // such an outer map gets a template of that size here, as a loader of today would.
  for (int i = 0; i < ntmpl; i++) {
    if (tmpl[i].itype != BPF_MAP_TYPE_PERF_EVENT_ARRAY || tmpl[i].imax != 0) continue;
    tmpl[i].imax = libbpf_num_possible_cpus();
    LIBBPF_OPTS(bpf_map_create_opts, copts, .map_flags = tmpl[i].iflags);
    int fd = bpf_map_create(BPF_MAP_TYPE_PERF_EVENT_ARRAY, "inner_template", tmpl[i].iks, tmpl[i].ivs, tmpl[i].imax, &copts);
    struct bpf_map *om = bpf_object__find_map_by_name(obj, tmpl[i].name);
    if (fd < 0 || !om || bpf_map__set_inner_map_fd(om, fd) != 0) {
      fprintf(stderr, "cannot give %s a sized inner-map template: %s\n", tmpl[i].name, strerror(errno));
      return 3;
    }
  }
  bpf_object__for_each_map(m, obj) {
    // LIBBPF_PIN_BY_NAME would reuse (and leave behind) /sys/fs/bpf/<map>: every run starts from fresh maps instead.
    if (bpf_map__pin_path(m)) {
      bpf_map__set_pin_path(m, NULL);
      printf("unpinned %s\n", bpf_map__name(m));
    }
    if (o->zeromax && bpf_map__max_entries(m) == 0) {
      bpf_map__set_max_entries(m, o->zeromax);
      printf("sized %s %u\n", bpf_map__name(m), o->zeromax);
    }
    enum bpf_map_type t = bpf_map__type(m);
    if (o->innermap && (t == BPF_MAP_TYPE_ARRAY_OF_MAPS || t == BPF_MAP_TYPE_HASH_OF_MAPS) && !bpf_map__inner_map(m)) {
      int inner = bpf_map_create(BPF_MAP_TYPE_ARRAY, "inner_template", 4, 4, 1, NULL);
      if (inner < 0 || bpf_map__set_inner_map_fd(m, inner) != 0) {
        fprintf(stderr, "cannot give %s an inner-map template: %s\n", bpf_map__name(m), strerror(errno));
        return 3;
      }
      printf("innertemplate %s\n", bpf_map__name(m));
    }
  }

  // Global-data maps must be seeded before load (.rodata is frozen by libbpf).
  for (int i = 0; i < nlines; i++) {
    struct line *l = &lines[i];
    if (strcmp(l->tok[0], "seed") != 0 || l->ntok != 4) continue;
    struct bpf_map *gm = bpf_object__find_map_by_name(obj, l->tok[1]);
    if (!gm) { fprintf(stderr, "no map %s\n", l->tok[1]); return 2; }
    if (bpf_map__type(gm) != BPF_MAP_TYPE_ARRAY || !strchr(bpf_map__name(gm), '.')) continue;
    unsigned char *v;
    long n = unhex(l->tok[3], &v);
    if (n < 0 || bpf_map__set_initial_value(gm, v, n) != 0) { fprintf(stderr, "bad initial value for %s\n", l->tok[1]); return 2; }
  }

  if (bpf_object__load(obj) != 0) { fprintf(stderr, "cannot load %s: %s\n", path, strerror(errno)); return 3; }
  bpf_object__for_each_program(p, obj) add_prog(bpf_program__name(p), bpf_program__fd(p));
  bpf_object__for_each_map(m, obj) {
    enum bpf_map_type t = bpf_map__type(m);
    struct hmap *h = add_map(bpf_map__name(m), t, bpf_map__key_size(m), bpf_map__value_size(m), bpf_map__fd(m),
            t == BPF_MAP_TYPE_ARRAY && strchr(bpf_map__name(m), '.') != NULL);
    for (int i = 0; i < ntmpl; i++) {
      if (strcmp(tmpl[i].name, h->name) != 0) continue;
      h->itype = tmpl[i].itype; h->iks = tmpl[i].iks; h->ivs = tmpl[i].ivs; h->imax = tmpl[i].imax; h->iflags = tmpl[i].iflags;
    }
  }
  return 0; /* the object stays open (and its fds valid) until the process exits */
}

// --- legacy path: SEC("maps") with struct bpf_map_def -----------------------------------------------------------------

struct legacy_sym { const char *name; GElf_Sym sym; };

static bool has_maps_section(const char *path) {
  int fd = open(path, O_RDONLY);
  if (fd < 0) return false;
  Elf *e = elf_begin(fd, ELF_C_READ, NULL);
  size_t shstrndx;
  bool found = false;
  if (e && elf_getshdrstrndx(e, &shstrndx) == 0) {
    for (Elf_Scn *s = elf_nextscn(e, NULL); s; s = elf_nextscn(e, s)) {
      GElf_Shdr sh;
      if (!gelf_getshdr(s, &sh)) continue;
      const char *n = elf_strptr(e, shstrndx, sh.sh_name);
      if (n && strcmp(n, "maps") == 0) found = true;
    }
  }
  if (e) elf_end(e);
  close(fd);
  return found;
}

/* libbpf's name for a global-data map (internal_map_name): the object name cut to fit, then the section name. */
static char *internal_name(const char *obj, const char *sec) {
  char name[BPF_OBJ_NAME_LEN];
  size_t sfx = strlen(sec) > 7 ? strlen(sec) : 7;
  size_t pfx = strchr(sec + 1, '.') ? 0 : (BPF_OBJ_NAME_LEN - 1 - sfx < strlen(obj) ? BPF_OBJ_NAME_LEN - 1 - sfx : strlen(obj));
  snprintf(name, sizeof(name), "%.*s%.*s", (int)pfx, obj, (int)sfx, sec);
  for (char *c = name; *c; c++) if (!isalnum((unsigned char)*c) && *c != '_' && *c != '.') *c = '_';
  return strdup(name);
}

static int load_legacy(const char *path, const char *chosen, struct line *lines, int nlines, const struct load_opts *o) {
  int fd = open(path, O_RDONLY);
  if (fd < 0) { fprintf(stderr, "cannot open %s: %s\n", path, strerror(errno)); return 3; }
  Elf *e = elf_begin(fd, ELF_C_READ, NULL);
  size_t shstrndx, nsec;
  if (!e || elf_getshdrstrndx(e, &shstrndx) != 0 || elf_getshdrnum(e, &nsec) != 0) {
    fprintf(stderr, "cannot read ELF %s: %s\n", path, elf_errmsg(-1));
    return 3;
  }
  Elf_Data **data = calloc(nsec, sizeof(*data));
  GElf_Shdr *shdr = calloc(nsec, sizeof(*shdr));
  const char **names = calloc(nsec, sizeof(*names));
  size_t maps_idx = 0, symtab_idx = 0;
  const char *license = "";
  __u32 kversion = 0;
  for (Elf_Scn *s = elf_nextscn(e, NULL); s; s = elf_nextscn(e, s)) {
    size_t i = elf_ndxscn(s);
    gelf_getshdr(s, &shdr[i]);
    names[i] = elf_strptr(e, shstrndx, shdr[i].sh_name);
    data[i] = elf_getdata(s, NULL);
    if (!names[i]) continue;
    if (strcmp(names[i], "maps") == 0) maps_idx = i;
    if (shdr[i].sh_type == SHT_SYMTAB) symtab_idx = i;
    if (strcmp(names[i], "license") == 0 && data[i] && data[i]->d_size > 0) license = data[i]->d_buf;
    if (strcmp(names[i], "version") == 0 && data[i] && data[i]->d_size == 4) memcpy(&kversion, data[i]->d_buf, 4);
  }
  if (!symtab_idx) { fprintf(stderr, "%s: no symbol table\n", path); return 3; }
  for (size_t i = 1; i < nsec; i++) {
    if (names[i] && strcmp(names[i], ".maps") == 0) {
      fprintf(stderr, "%s: legacy SEC(\"maps\") beside BTF-defined SEC(\".maps\") maps: libbpf 1.x refuses the object and "
              "the harness's legacy loader creates legacy maps only\n", path);
      return 3;
    }
  }

  size_t nsyms = shdr[symtab_idx].sh_size / shdr[symtab_idx].sh_entsize;
  struct legacy_sym *syms = calloc(nsyms, sizeof(*syms));
  int *map_fd_of_sym = calloc(nsyms, sizeof(int));
  int nmapsyms = 0;
  struct { long sym; __u32 def[9]; } *legacy_defs = NULL;
  int nlegacy = 0;
  for (size_t i = 0; i < nsyms; i++) {
    gelf_getsym(data[symtab_idx], (int)i, &syms[i].sym);
    syms[i].name = elf_strptr(e, shdr[symtab_idx].sh_link, syms[i].sym.st_name);
    map_fd_of_sym[i] = -1;
    if (maps_idx && syms[i].sym.st_shndx == maps_idx && GELF_ST_TYPE(syms[i].sym.st_info) != STT_SECTION) nmapsyms++;
  }
  // Maps, one per symbol in "maps", in the order of their offsets (as the old loaders number them).
  for (__u64 next = 0;;) {
    long best = -1;
    for (size_t i = 0; i < nsyms; i++) {
      GElf_Sym *s = &syms[i].sym;
      if (!maps_idx || s->st_shndx != maps_idx || GELF_ST_TYPE(s->st_info) == STT_SECTION || s->st_value < next) continue;
      if (best < 0 || s->st_value < syms[best].sym.st_value) best = (long)i;
    }
    if (best < 0) break;
    GElf_Sym *s = &syms[best].sym;
    size_t size = s->st_size ? s->st_size : shdr[maps_idx].sh_size / (nmapsyms ? nmapsyms : 1);
    __u32 def[9] = { 0 };
    if (size < 16 || s->st_value + 16 > data[maps_idx]->d_size) { fprintf(stderr, "%s: map %s: bad bpf_map_def\n", path, syms[best].name); return 3; }
    memcpy(def, (char *)data[maps_idx]->d_buf + s->st_value, size < 20 ? size : 20);
    // iproute2's struct bpf_elf_map (36 bytes): id, pinning, inner_id, inner_idx after the five bpf_map_def words.
    if (size == 36) memcpy(def, (char *)data[maps_idx]->d_buf + s->st_value, 36);
    else def[8] = (__u32)-1;
    if (def[3] == 0 && o->zeromax) {
      def[3] = o->zeromax;
      printf("sized %s %u\n", syms[best].name, o->zeromax);
    }
    legacy_defs = realloc(legacy_defs, sizeof(*legacy_defs) * (nlegacy + 1));
    legacy_defs[nlegacy].sym = best;
    memcpy(legacy_defs[nlegacy++].def, def, sizeof(def));
    next = s->st_value + 1;
  }
  // Created as iproute2 creates struct bpf_elf_map maps (lib/bpf_legacy.c bpf_maps_attach_all): maps of maps last,
  // each with the map whose id is its inner_id as the inner-map template; then every map with an id, no inner_id and
  // an inner_idx other than -1 is stored at key inner_idx of each map of maps whose inner_id is its id.
  for (int pass = 0; pass < 2; pass++) {
    for (int j = 0; j < nlegacy; j++) {
      __u32 *def = legacy_defs[j].def;
      bool mim = def[0] == BPF_MAP_TYPE_ARRAY_OF_MAPS || def[0] == BPF_MAP_TYPE_HASH_OF_MAPS;
      if (mim != (pass == 1)) continue;
      long best = legacy_defs[j].sym;
      char name[BPF_OBJ_NAME_LEN] = { 0 };
      strncpy(name, syms[best].name, sizeof(name) - 1);
      LIBBPF_OPTS(bpf_map_create_opts, mopts, .map_flags = def[4]);
      int tmpl = -1;
      if (mim && def[7]) {
        for (int t = 0; t < nlegacy && tmpl < 0; t++) if (legacy_defs[t].def[5] == def[7]) tmpl = t;
        if (tmpl < 0) { fprintf(stderr, "%s: map %s: no map with id %u for its inner_id\n", path, syms[best].name, def[7]); return 3; }
        mopts.inner_map_fd = map_fd_of_sym[legacy_defs[tmpl].sym];
      }
      int mfd = bpf_map_create(def[0], name, def[1], def[2], def[3], &mopts);
      if (mfd < 0) { fprintf(stderr, "%s: cannot create map %s: %s\n", path, syms[best].name, strerror(errno)); return 3; }
      map_fd_of_sym[best] = mfd;
      struct hmap *h = add_map(syms[best].name, def[0], def[1], def[2], mfd, false);
      if (tmpl >= 0) {
        __u32 *t = legacy_defs[tmpl].def;
        h->itype = t[0]; h->iks = t[1]; h->ivs = t[2]; h->imax = t[3]; h->iflags = t[4];
      }
    }
  }
  for (int i = 0; i < nlegacy; i++) {
    __u32 *d = legacy_defs[i].def;
    if (!d[5] || d[7] || d[8] == (__u32)-1) continue;
    int inner_fd = map_fd_of_sym[legacy_defs[i].sym];
    int idx = (int)d[8];
    for (int j = 0; j < nlegacy; j++) {
      __u32 *o2 = legacy_defs[j].def;
      if ((o2[0] != BPF_MAP_TYPE_ARRAY_OF_MAPS && o2[0] != BPF_MAP_TYPE_HASH_OF_MAPS) || o2[7] != d[5]) continue;
      if (bpf_map_update_elem(map_fd_of_sym[legacy_defs[j].sym], &idx, &inner_fd, BPF_ANY) != 0) {
        fprintf(stderr, "%s: cannot store map %s at index %d of %s: %s\n", path, syms[legacy_defs[i].sym].name, idx, syms[legacy_defs[j].sym].name, strerror(errno));
        return 3;
      }
    }
  }

  // Global data (.data, .bss, .rodata and their .suffix sections): one-element ARRAY maps named and filled as libbpf
  // names and fills them (a `seed` line for the map replaces the image); .rodata read-only for programs and frozen.
  int *data_fd = calloc(nsec, sizeof(int));
  for (size_t i = 0; i < nsec; i++) {
    data_fd[i] = -1;
    const char *n = names[i];
    if (!n || !(shdr[i].sh_flags & SHF_ALLOC) || (shdr[i].sh_flags & SHF_EXECINSTR) || shdr[i].sh_size == 0) continue;
    bool ro = !strcmp(n, ".rodata") || !strncmp(n, ".rodata.", 8);
    bool rw = !strcmp(n, ".data") || !strncmp(n, ".data.", 6) || !strcmp(n, ".bss") || !strncmp(n, ".bss.", 5);
    if (!ro && !rw) continue;
    __u32 size = (__u32)shdr[i].sh_size;
    char *mname = internal_name(o->objname ? o->objname : "", n);
    unsigned char *img = calloc(1, size);
    if (shdr[i].sh_type != SHT_NOBITS && data[i] && data[i]->d_buf) memcpy(img, data[i]->d_buf, data[i]->d_size < size ? data[i]->d_size : size);
    for (int l = 0; l < nlines; l++) {
      unsigned char *v;
      if (strcmp(lines[l].tok[0], "seed") || lines[l].ntok != 4 || strcmp(lines[l].tok[1], mname)) continue;
      if (unhex(lines[l].tok[3], &v) != (long)size) { fprintf(stderr, "bad initial value for %s\n", mname); return 2; }
      memcpy(img, v, size);
    }
    LIBBPF_OPTS(bpf_map_create_opts, dopts, .map_flags = ro ? BPF_F_RDONLY_PROG : 0);
    int dfd = bpf_map_create(BPF_MAP_TYPE_ARRAY, mname, 4, size, 1, &dopts);
    __u32 zero = 0;
    if (dfd < 0 || bpf_map_update_elem(dfd, &zero, img, BPF_ANY) != 0 || (ro && bpf_map_freeze(dfd) != 0)) {
      fprintf(stderr, "%s: cannot create the global-data map %s: %s\n", path, mname, strerror(errno));
      return 3;
    }
    add_map(mname, BPF_MAP_TYPE_ARRAY, 4, size, dfd, true);
    data_fd[i] = dfd;
  }

  // Programs: every global function symbol in an executable section other than .text.
  for (size_t i = 0; i < nsyms; i++) {
    GElf_Sym *s = &syms[i].sym;
    size_t sec = s->st_shndx;
    if (GELF_ST_TYPE(s->st_info) != STT_FUNC || sec == 0 || sec >= nsec) continue;
    if (!(shdr[sec].sh_flags & SHF_EXECINSTR) || strcmp(names[sec], ".text") == 0) continue;
    if (!(o->only ? wanted(lines, nlines, chosen, syms[i].name) : true)) continue;
    // The program, then every function it calls (transitively) appended once, with calls and function references
    // rewritten to the new offsets, as libbpf links subprograms; map and global-data references patched everywhere.
    struct piece { size_t sec; __u64 off, size; size_t base; } *pieces = malloc(sizeof(*pieces));
    size_t npieces = 1, cnt = s->st_size / sizeof(struct bpf_insn);
    pieces[0] = (struct piece){ sec, s->st_value, s->st_size, 0 };
    struct bpf_insn *insns = malloc(s->st_size);
    memcpy(insns, (char *)data[sec]->d_buf + s->st_value, s->st_size);
    for (size_t pi = 0; pi < npieces; pi++) {
      struct piece p = pieces[pi];
      size_t n = p.size / sizeof(struct bpf_insn);
      long *relsym = malloc(sizeof(long) * (n + 1));
      for (size_t j = 0; j < n; j++) relsym[j] = -1;
      for (size_t r = 1; r < nsec; r++) {
        if (shdr[r].sh_type != SHT_REL || shdr[r].sh_info != p.sec) continue;
        size_t nrel = shdr[r].sh_size / shdr[r].sh_entsize;
        for (size_t k = 0; k < nrel; k++) {
          GElf_Rel rel;
          gelf_getrel(data[r], (int)k, &rel);
          if (rel.r_offset < p.off || rel.r_offset >= p.off + p.size) continue;
          relsym[(rel.r_offset - p.off) / sizeof(struct bpf_insn)] = (long)GELF_R_SYM(rel.r_info);
        }
      }
      for (size_t j = 0; j < n; j++) {
        size_t at = p.base + j;
        bool lddw = insns[at].code == (BPF_LD | BPF_IMM | BPF_DW) && j + 1 < n;
        bool call = insns[at].code == (BPF_JMP | BPF_CALL) && insns[at].src_reg == BPF_PSEUDO_CALL;
        long si = relsym[j];
        if (si < 0 && !call) { if (lddw) j++; continue; }
        if (si >= (long)nsyms) { fprintf(stderr, "%s: relocation against symbol %ld, which does not exist\n", path, si); return 3; }
        size_t tsec = si >= 0 ? syms[si].sym.st_shndx : p.sec;
        if (call || (lddw && tsec < nsec && (shdr[tsec].sh_flags & SHF_EXECINSTR))) {
          // The callee's instruction in its section: symbol + imm + 1 (calls; pc-relative when clang resolved it),
          // (symbol + imm) / 8 for a function's address (BPF_PSEUDO_FUNC).
          long toff = !call ? (long)((syms[si].sym.st_value + insns[at].imm) / 8)
                    : si >= 0 ? (long)(syms[si].sym.st_value / 8) + insns[at].imm + 1
                              : (long)(p.off / 8 + j) + insns[at].imm + 1;
          long fsym = -1;
          for (size_t q = 0; q < nsyms && fsym < 0; q++) {
            GElf_Sym *f = &syms[q].sym;
            if (GELF_ST_TYPE(f->st_info) == STT_FUNC && f->st_shndx == tsec && toff >= (long)(f->st_value / 8) &&
                toff < (long)((f->st_value + f->st_size) / 8)) fsym = (long)q;
          }
          if (fsym < 0) {
            fprintf(stderr, "%s: program %s: the call at insn %zu goes to instruction %ld of section %s, in no function\n",
                    path, syms[i].name, at, toff, tsec < nsec && names[tsec] ? names[tsec] : "?");
            return 3;
          }
          GElf_Sym *f = &syms[fsym].sym;
          size_t placed = (size_t)-1;
          for (size_t q = 0; q < npieces; q++) if (pieces[q].sec == tsec && pieces[q].off == f->st_value) placed = pieces[q].base;
          if (placed == (size_t)-1) {
            placed = cnt;
            pieces = realloc(pieces, sizeof(*pieces) * (npieces + 1));
            pieces[npieces++] = (struct piece){ tsec, f->st_value, f->st_size, cnt };
            insns = realloc(insns, (cnt + f->st_size / sizeof(struct bpf_insn)) * sizeof(*insns));
            memcpy(insns + cnt, (char *)data[tsec]->d_buf + f->st_value, f->st_size);
            cnt += f->st_size / sizeof(struct bpf_insn);
          }
          long target = (long)placed + toff - (long)(f->st_value / 8);
          insns[at].imm = (__s32)(target - (long)(at + 1));
          if (!call) { insns[at].src_reg = BPF_PSEUDO_FUNC; insns[at + 1].imm = 0; j++; }
          continue;
        }
        if (lddw && tsec < nsec && data_fd[tsec] >= 0) {
          // A global variable: the map's value address plus the variable's offset (libbpf: insn imm + symbol value).
          insns[at + 1].imm = (__s32)(insns[at].imm + syms[si].sym.st_value);
          insns[at].src_reg = BPF_PSEUDO_MAP_VALUE;
          insns[at].imm = data_fd[tsec];
          j++;
          continue;
        }
        if (!lddw || map_fd_of_sym[si] < 0) {
          fprintf(stderr, "%s: program %s: relocation at insn %zu to %s is not a map, global data or a function\n",
                  path, syms[i].name, at, syms[si].name);
          return 3;
        }
        insns[at].src_reg = BPF_PSEUDO_MAP_FD;
        insns[at].imm = map_fd_of_sym[si];
        j++;
      }
      free(relsym);
    }
    static char log[1 << 22];
    log[0] = 0;
    LIBBPF_OPTS(bpf_prog_load_opts, popts, .kern_version = kversion, .log_buf = log, .log_size = sizeof(log), .log_level = 1);
    const char *sn = names[sec];
    if (!strncmp(sn, "xdp_devmap/", 11) || !strcmp(sn, "xdp/devmap") || !strncmp(sn, "xdp/devmap/", 11)) popts.expected_attach_type = BPF_XDP_DEVMAP;
    if (!strncmp(sn, "xdp_cpumap/", 11) || !strcmp(sn, "xdp/cpumap") || !strncmp(sn, "xdp/cpumap/", 11)) popts.expected_attach_type = BPF_XDP_CPUMAP;
    if (strcmp(syms[i].name, chosen) == 0) {
      how("legacy");
      loaded_section = names[sec];
      if (popts.expected_attach_type == BPF_XDP_DEVMAP) how("attach:devmap");
      if (popts.expected_attach_type == BPF_XDP_CPUMAP) how("attach:cpumap");
      if (o->devbound) {
        popts.prog_ifindex = veth_ifindex();
        popts.prog_flags |= BPF_F_XDP_DEV_BOUND_ONLY;
        how("devbound");
      }
    }
    char pname[BPF_OBJ_NAME_LEN] = { 0 };
    strncpy(pname, syms[i].name, sizeof(pname) - 1);
    int pfd = bpf_prog_load(BPF_PROG_TYPE_XDP, pname, license, insns, cnt, &popts);
    if (pfd < 0) {
      int err = errno;
      fprintf(stderr, "%s\ncannot load %s (program %s, legacy maps): %s\n", log, path, syms[i].name, strerror(err));
      return 3;
    }
    add_prog(syms[i].name, pfd);
    free(insns);
  }
  if (find_prog_fd(chosen) < 0) { fprintf(stderr, "no program %s\n", chosen); return 2; }
  return 0;
}

int main(int argc, char **argv) {
  if (argc != 4) { fprintf(stderr, "usage: %s OBJECT PROGRAM INPUT\n", argv[0]); return 2; }
  libbpf_set_print(libbpf_print);
  elf_version(EV_CURRENT);

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

  struct load_opts o = { 0 };
  if (nlines > 0 && strcmp(lines[0].tok[0], "name") == 0 && lines[0].ntok == 2) o.objname = lines[0].tok[1];
  for (int i = 0; i < nlines; i++) {
    const char *k = lines[i].tok[0];
    if (!strcmp(k, "only")) o.only = true;
    else if (!strcmp(k, "xdptype")) o.xdptype = true;
    else if (!strcmp(k, "innermap")) o.innermap = true;
    else if (!strcmp(k, "devbound")) o.devbound = true;
    else if (!strcmp(k, "sparse")) o.sparse = true;
    else if (!strcmp(k, "zeromax") && lines[i].ntok == 2) o.zeromax = (__u32)strtoul(lines[i].tok[1], NULL, 10);
  }
  int ncpus = libbpf_num_possible_cpus();
  const char *chosen = argv[2];
  int rc = has_maps_section(argv[1]) ? load_legacy(argv[1], chosen, lines, nlines, &o)
                                      : load_libbpf(argv[1], chosen, lines, nlines, &o);
  if (rc != 0) return rc;
  int pfd = find_prog_fd(chosen);
  if (pfd < 0) { fprintf(stderr, "program %s was not loaded\n", chosen); return 3; }

  for (int i = 0; i < nlines; i++) {
    struct line *l = &lines[i];
    const char *k = l->tok[0];
    if (strcmp(k, "seed") && strcmp(k, "seedcpu") && strcmp(k, "seedprog") && strcmp(k, "seedmap") && strcmp(k, "seedinner")) continue;
    if (l->ntok < 4) { fprintf(stderr, "line %d: too few fields\n", i + 1); return 2; }
    struct hmap *m = find_map(l->tok[1]);
    if (!m) { fprintf(stderr, "no map %s\n", l->tok[1]); return 2; }
    if (!strcmp(k, "seed") && m->global_data) continue;
    unsigned char *key;
    if (unhex(l->tok[2], &key) != (long)m->ks) { fprintf(stderr, "line %d: bad key\n", i + 1); return 2; }
    unsigned char *val = NULL;
    if (!strcmp(k, "seedprog")) {
      int tfd = find_prog_fd(l->tok[3]);
      if (tfd < 0) { fprintf(stderr, "line %d: no program %s\n", i + 1, l->tok[3]); return 2; }
      val = malloc(4);
      memcpy(val, &tfd, 4);
    } else if (!strcmp(k, "seedinner")) {
      if (!m->itype) { fprintf(stderr, "line %d: map %s has no inner-map template\n", i + 1, l->tok[1]); return 2; }
      char iname[BPF_OBJ_NAME_LEN] = { 0 };
      for (size_t c = 0; c < sizeof(iname) - 1 && l->tok[3][c]; c++) iname[c] = isalnum((unsigned char)l->tok[3][c]) || l->tok[3][c] == '.' ? l->tok[3][c] : '_';
      LIBBPF_OPTS(bpf_map_create_opts, iopts, .map_flags = m->iflags);
      int ifd = bpf_map_create(m->itype, iname, m->iks, m->ivs, m->imax, &iopts);
      if (ifd < 0) { fprintf(stderr, "line %d: cannot create inner map %s: %s\n", i + 1, l->tok[3], strerror(errno)); return 2; }
      for (int e = 4; e < l->ntok; e++) {
        char *eq = strchr(l->tok[e], '=');
        unsigned char *ik, *iv;
        if (!eq) { fprintf(stderr, "line %d: inner entry %s is not KEY=VALUE\n", i + 1, l->tok[e]); return 2; }
        *eq = 0;
        if (unhex(l->tok[e], &ik) != (long)m->iks || unhex(eq + 1, &iv) != (long)m->ivs) { fprintf(stderr, "line %d: bad inner entry\n", i + 1); return 2; }
        if (bpf_map_update_elem(ifd, ik, iv, BPF_ANY) != 0) { fprintf(stderr, "line %d: inner update failed: %s\n", i + 1, strerror(errno)); return 2; }
      }
      struct hmap *h = add_map(l->tok[3], m->itype, m->iks, m->ivs, ifd, false);
      h->nested = true;
      m = find_map(l->tok[1]); /* add_map may have moved the table */
      val = malloc(4);
      memcpy(val, &ifd, 4);
    } else if (!strcmp(k, "seedmap")) {
      struct hmap *inner = find_map(l->tok[3]);
      if (!inner || inner->fd < 0) { fprintf(stderr, "line %d: no map %s\n", i + 1, l->tok[3]); return 2; }
      val = malloc(4);
      memcpy(val, &inner->fd, 4);
    } else if (!strcmp(k, "seedcpu")) {
      size_t stride = (m->vs + 7) & ~7u;
      val = calloc(ncpus, stride);
      for (int c = 0; c < ncpus && 3 + c < l->ntok; c++) {
        unsigned char *v;
        if (unhex(l->tok[3 + c], &v) != (long)m->vs) { fprintf(stderr, "line %d: bad value\n", i + 1); return 2; }
        memcpy(val + stride * c, v, m->vs);
      }
    } else {
      if (unhex(l->tok[3], &val) != (long)m->vs) { fprintf(stderr, "line %d: bad value size\n", i + 1); return 2; }
      if (is_percpu(m->type)) {
        /* One value for a per-CPU map: every CPU gets it (as bpftool's `map update ... value`); the kernel reads
         * ncpus slots, so a buffer of one value would hand it whatever follows on the heap. */
        size_t stride = (m->vs + 7) & ~7u;
        unsigned char *all = calloc(ncpus, stride);
        for (int c = 0; c < ncpus; c++) memcpy(all + stride * c, val, m->vs);
        free(val);
        val = all;
      }
    }
    /* A map without keys (queue, stack, bloom filter) takes a NULL key: the value is pushed. */
    if (bpf_map_update_elem(m->fd, m->ks ? key : NULL, val, BPF_ANY) != 0) {
      fprintf(stderr, "line %d: update %s failed: %s\n", i + 1, l->tok[1], strerror(errno));
      return 2;
    }
  }

  printf("loaded %s %s\n", loaded_section, loaded_how[0] ? loaded_how : "-");
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

  for (int i = 0; i < nmaps; i++) dump_map(&maps[i], ncpus, o.sparse);
  fflush(stdout);
  return 0;
}
