// Kernel anchors for bench/engine.ts: load one XDP program of an object with libbpf and time BPF_PROG_TEST_RUN on
// packets read from a file (each: 4-byte little-endian length, then the bytes).
//   kernel-timing OBJ PROGRAM PACKETS REPEAT
// Prints two lines:
//   syscall NS   wall time per packet with one BPF_PROG_TEST_RUN (repeat 1) per packet, over the whole file
//   repeat NS    the kernel's own per-run time (test_run duration, repeat REPEAT) averaged over the packets
#include <bpf/libbpf.h>
#include <bpf/bpf.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static double now_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return ts.tv_sec * 1e9 + ts.tv_nsec;
}

int main(int argc, char **argv) {
  if (argc != 5) { fprintf(stderr, "usage: kernel-timing OBJ PROGRAM PACKETS REPEAT\n"); return 2; }
  libbpf_set_print(NULL);
  struct bpf_object *obj = bpf_object__open_file(argv[1], NULL);
  if (!obj) { fprintf(stderr, "cannot open %s\n", argv[1]); return 1; }
  struct bpf_program *p;
  bpf_object__for_each_program(p, obj) bpf_program__set_autoload(p, strcmp(bpf_program__name(p), argv[2]) == 0);
  if (bpf_object__load(obj)) { fprintf(stderr, "cannot load %s\n", argv[1]); return 1; }
  struct bpf_program *prog = bpf_object__find_program_by_name(obj, argv[2]);
  if (!prog) { fprintf(stderr, "no program %s\n", argv[2]); return 1; }
  int fd = bpf_program__fd(prog);
  FILE *f = fopen(argv[3], "rb");
  if (!f) { perror(argv[3]); return 1; }
  fseek(f, 0, SEEK_END);
  long size = ftell(f);
  fseek(f, 0, SEEK_SET);
  unsigned char *buf = malloc(size);
  if (fread(buf, 1, size, f) != (size_t)size) { perror("read"); return 1; }
  fclose(f);
  int repeat = atoi(argv[4]);
  static unsigned char out[65536];
  long count = 0;
  double t0 = now_ns();
  for (long off = 0; off + 4 <= size;) {
    unsigned len = buf[off] | buf[off + 1] << 8 | buf[off + 2] << 16 | (unsigned)buf[off + 3] << 24;
    LIBBPF_OPTS(bpf_test_run_opts, o, .data_in = buf + off + 4, .data_size_in = len, .data_out = out, .data_size_out = sizeof(out), .repeat = 1);
    bpf_prog_test_run_opts(fd, &o);
    off += 4 + len;
    count++;
  }
  double t1 = now_ns();
  printf("syscall %.1f\n", (t1 - t0) / count);
  double sum = 0;
  long n = 0;
  for (long off = 0; off + 4 <= size && n < 2000;) {
    unsigned len = buf[off] | buf[off + 1] << 8 | buf[off + 2] << 16 | (unsigned)buf[off + 3] << 24;
    LIBBPF_OPTS(bpf_test_run_opts, o, .data_in = buf + off + 4, .data_size_in = len, .data_out = out, .data_size_out = sizeof(out), .repeat = repeat);
    if (bpf_prog_test_run_opts(fd, &o) == 0) { sum += o.duration; n++; }
    off += 4 + len;
  }
  printf("repeat %.1f\n", n ? sum / n : -1.0);
  return 0;
}
