// Test helper for test/core: what libbpf makes of one program's CO-RE relocations, and what the kernel then does with
// packets. Loads only PROGRAM (autoload off for the others), optionally against a custom target BTF
// (bpf_object_open_opts.btf_custom_path), prints the instructions libbpf handed to the kernel (also when the kernel
// refused them), then runs each packet through BPF_PROG_TEST_RUN. Maps with max_entries 0 get the number of CPUs.
//
//   core-tool OBJECT PROGRAM BTF|- [HEXPACKET...]
// stdout: `load ok` | `load failed ERRNO`, then `insn I CODE DST SRC OFF IMM` per slot, then `result I RETVAL HEXOUT`.
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>

static int quiet(enum libbpf_print_level level, const char *fmt, va_list args) {
  if (level == LIBBPF_DEBUG) return 0;
  return vfprintf(stderr, fmt, args);
}

static int unhex(const char *s, unsigned char *out, int cap) {
  int n = 0;
  for (; s[0] && s[1] && n < cap; s += 2) {
    unsigned v;
    if (sscanf(s, "%2x", &v) != 1) return -1;
    out[n++] = v;
  }
  return n;
}

int main(int argc, char **argv) {
  if (argc < 4) { fprintf(stderr, "usage: core-tool OBJECT PROGRAM BTF|- [HEXPACKET...]\n"); return 2; }
  libbpf_set_print(quiet);
  LIBBPF_OPTS(bpf_object_open_opts, oopts, .btf_custom_path = strcmp(argv[3], "-") ? argv[3] : NULL);
  struct bpf_object *obj = bpf_object__open_file(argv[1], &oopts);
  if (!obj) { fprintf(stderr, "cannot open %s: %s\n", argv[1], strerror(errno)); return 3; }
  struct bpf_program *prog = NULL, *p;
  bpf_object__for_each_program(p, obj) {
    if (strcmp(bpf_program__name(p), argv[2]) == 0) prog = p;
    else bpf_program__set_autoload(p, false);
  }
  if (!prog) { fprintf(stderr, "no program %s\n", argv[2]); return 2; }
  // Maps a loader sizes at run time (max_entries 0) get one entry per possible CPU, as the corpus notes say.
  struct bpf_map *m;
  bpf_object__for_each_map(m, obj)
    if (bpf_map__max_entries(m) == 0) bpf_map__set_max_entries(m, libbpf_num_possible_cpus());
  int err = bpf_object__load(obj);
  if (err) printf("load failed %d\n", -err);
  else printf("load ok\n");
  const struct bpf_insn *insns = bpf_program__insns(prog);
  size_t cnt = bpf_program__insn_cnt(prog);
  for (size_t i = 0; i < cnt; i++)
    printf("insn %zu %u %u %u %d %d\n", i, insns[i].code, insns[i].dst_reg, insns[i].src_reg, insns[i].off, insns[i].imm);
  if (err) return 0;
  int fd = bpf_program__fd(prog);
  static unsigned char in[9000], out[9000];
  for (int i = 4; i < argc; i++) {
    int n = unhex(argv[i], in, sizeof(in));
    LIBBPF_OPTS(bpf_test_run_opts, topts, .data_in = in, .data_size_in = n, .data_out = out, .data_size_out = sizeof(out), .repeat = 1);
    if (bpf_prog_test_run_opts(fd, &topts)) { printf("error %d %d\n", i - 4, errno); continue; }
    printf("result %d %u ", i - 4, topts.retval);
    for (unsigned j = 0; j < topts.data_size_out; j++) printf("%02x", out[j]);
    printf("\n");
  }
  bpf_object__close(obj);
  return 0;
}
