// Shared bits for the driver-model fixtures: the verdict/selector byte is the frame's last byte.
#pragma once
#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>

/* The last byte of the linear part, or -1 when the frame is empty. */
static __always_inline int last_byte(struct xdp_md *ctx) {
  void *data = (void *)(long)ctx->data;
  void *end = (void *)(long)ctx->data_end;
  __u32 len = (end - data) & 0xfff;
  if (len == 0) return -1;
  __u8 *p = data + (len - 1);
  if ((void *)(p + 1) > end) return -1;
  return *p;
}

char LICENSE[] SEC("license") = "GPL";
