// The read-only string kfuncs of the 6.18 kernel (bpf_strcmp, bpf_strcasecmp, bpf_strchr, bpf_strchrnul, bpf_strnchr,
// bpf_strrchr, bpf_strlen, bpf_strnlen, bpf_strspn, bpf_strcspn, bpf_strstr, bpf_strnstr), which any program type may
// call; the simulator refused programs calling them (kfunc not modelled). Against the kernel, both engines: strings
// from the packet on the stack, in the packet itself and in .rodata; bytes above 0x7f (the kernel's char is signed;
// its tolower folds Latin-1 capitals), counts that cut the string, NULL (-ERANGE) and an unmapped kernel address
// (-EFAULT). Each packet writes all the results into itself.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { kernelOrSkip } from '../kernel/runner.ts';
import { assertAgreesWithKernel, i64 } from './kernel-agree.ts';

const SOURCE = `#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>
extern int bpf_strcmp(const char *s1__ign, const char *s2__ign) __ksym;
extern int bpf_strcasecmp(const char *s1__ign, const char *s2__ign) __ksym;
extern int bpf_strchr(const char *s__ign, char c) __ksym;
extern int bpf_strchrnul(const char *s__ign, char c) __ksym;
extern int bpf_strnchr(const char *s__ign, __u64 count, char c) __ksym;
extern int bpf_strrchr(const char *s__ign, int c) __ksym;
extern int bpf_strlen(const char *s__ign) __ksym;
extern int bpf_strnlen(const char *s__ign, __u64 count) __ksym;
extern int bpf_strspn(const char *s__ign, const char *accept__ign) __ksym;
extern int bpf_strcspn(const char *s__ign, const char *reject__ign) __ksym;
extern int bpf_strstr(const char *s1__ign, const char *s2__ign) __ksym;
extern int bpf_strnstr(const char *s1__ign, const char *s2__ign, __u64 len) __ksym;
char LICENSE[] SEC("license") = "GPL";
SEC("xdp")
int prog(struct xdp_md *ctx) {
  char *d = (void *)(long)ctx->data;
  void *end = (void *)(long)ctx->data_end;
  char s1[40], s2[24];
  __s64 o[20];
  if ((void *)(d + 80) > end) return XDP_PASS;
  if (bpf_xdp_load_bytes(ctx, 16, s1, sizeof(s1)) < 0 || bpf_xdp_load_bytes(ctx, 56, s2, sizeof(s2)) < 0) return XDP_ABORTED;
  s1[39] = 0;
  s2[23] = 0;
  char c = d[14];
  __u64 n = (__u8)d[15];
  o[0] = bpf_strcmp(s1, s2);
  o[1] = bpf_strcasecmp(s1, s2);
  o[2] = bpf_strchr(s1, c);
  o[3] = bpf_strchrnul(s1, c);
  o[4] = bpf_strnchr(s1, n, c);
  o[5] = bpf_strrchr(s1, c);
  o[6] = bpf_strlen(s1);
  o[7] = bpf_strnlen(s1, n);
  o[8] = bpf_strspn(s1, s2);
  o[9] = bpf_strcspn(s1, s2);
  o[10] = bpf_strstr(s1, s2);
  o[11] = bpf_strnstr(s1, s2, n);
  o[12] = bpf_strlen(d + 16);      /* the packet itself (NUL within the frame) */
  o[13] = bpf_strcmp(s2, "GET ");  /* .rodata */
  o[14] = bpf_strlen((void *)0);   /* user address: -ERANGE */
  o[15] = bpf_strcmp(s1, (void *)0xffffffffff000000UL); /* unmapped kernel address: -EFAULT */
  o[16] = bpf_strrchr(s1, (int)(unsigned char)c);
  o[17] = bpf_strstr(s1, "");
  o[18] = bpf_strnstr(s1, "", n);
  o[19] = bpf_strspn(s1, "");
  if (bpf_xdp_store_bytes(ctx, 0, o, sizeof(o)) < 0) return XDP_DROP;
  return XDP_TX;
}
`;

function packet(s1: string, s2: string, c: string | number, n: number): Uint8Array {
  const p = new Uint8Array(160);
  p[12] = 0x08;
  p[14] = typeof c === 'number' ? c : c.charCodeAt(0);
  p[15] = n;
  p.set(Buffer.from(s1, 'latin1').subarray(0, 39), 16);
  p.set(Buffer.from(s2, 'latin1').subarray(0, 23), 56);
  return p;
}

test('the string kfuncs agree with the kernel', (t) => {
  if (kernelOrSkip(t)) return;
  const packets = [
    packet('Hello, World hello', 'hello', 'o', 5), packet('Hello, World hello', 'World', 'l', 12),
    packet('Hello, World hello', 'World', 'l', 11), packet('GET /index.html HTTP/1.1', 'GET ', ' ', 0),
    packet('GET /index.html HTTP/1.1', 'HTTP', '/', 40), packet('abc', 'abc', 0, 2), packet('abc', 'abd', 'c', 3),
    packet('abc', 'ab', 'z', 200), packet('', '', 0, 0), packet('', 'x', 'x', 1), packet('x', '', 'x', 1),
    packet('\xe9t\xe9', '\xc9T\xc9', '\xe9', 9), packet('a\x80b', 'a\x7fb', '\x80', 3), packet('ABCxyz', 'abcXYZ', 'y', 4),
    packet('aaaa', 'aa', 'a', 3), packet('abcabc', 'cba', 'b', 6), packet('mississippi', 'issip', 'i', 11),
    packet('mississippi', 'ssi', 's', 4), packet('12345', '0123456789', '5', 10), packet('  key=value', ' ', '=', 7),
  ];
  const kernel = assertAgreesWithKernel('string-kfuncs', SOURCE, packets);
  // Every packet reached the calls; errors and indexes both came back.
  assert.ok(kernel.results.every((r) => r.retval === 3));
  assert.equal(i64(kernel.results[0]!.out, 14), -34);
  assert.equal(i64(kernel.results[0]!.out, 15), -14);
  assert.equal(i64(kernel.results[1]!.out, 10), 7);
});
