#!/usr/bin/env bash
# Sets XDP Lens up on a fresh Debian/Ubuntu machine and runs the demo.
#   - system packages (clang, llvm, libbpf-dev, bpftool, tcpdump, tshark, python3, a C compiler): installed with apt-get when missing
#     and running as root; otherwise named, with the command to run;
#   - the bpf filesystem mounted at /sys/fs/bpf when root (the kernel-parity tests pin programs there);
#   - for the end-to-end tests: chromium, libkrb5-dev, ripgrep and code-server (scripts/setup-e2e.sh);
#   - npm dependencies and the build;
#   - the demo: examples/xdp_filter.c on examples/demo.pcap, one line per packet.
set -euo pipefail
cd "$(dirname "$0")/.."

need_pkgs=()
have() { command -v "$1" >/dev/null 2>&1; }
have clang || need_pkgs+=(clang)
have llvm-mc || need_pkgs+=(llvm)
have llvm-objdump || need_pkgs+=(llvm)
[ -f /usr/include/bpf/bpf_helpers.h ] || need_pkgs+=(libbpf-dev)
[ -f /usr/include/gelf.h ] || need_pkgs+=(libelf-dev)
[ -f /usr/include/zlib.h ] || need_pkgs+=(zlib1g-dev)
have bpftool || need_pkgs+=(bpftool)
have tcpdump || need_pkgs+=(tcpdump)
have tshark || need_pkgs+=(tshark) # the packet view's dissector is checked against it
have python3 || need_pkgs+=(python3) # compare reads the kernel's ring buffers with it (BPF_OBJ_GET, mmap)
have cc || need_pkgs+=(gcc)
have make || need_pkgs+=(make)

if [ ${#need_pkgs[@]} -gt 0 ]; then
  # Deduplicate while keeping order.
  mapfile -t need_pkgs < <(printf '%s\n' "${need_pkgs[@]}" | awk '!seen[$0]++')
  if [ "$(id -u)" = 0 ] && have apt-get; then
    echo "xdp-lens setup: installing ${need_pkgs[*]}"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    # Ubuntu ships bpftool in linux-tools; try Debian's name first, then Ubuntu's.
    if ! apt-get install -y -qq --no-install-recommends "${need_pkgs[@]}" >/dev/null; then
      rest=()
      for p in "${need_pkgs[@]}"; do [ "$p" = bpftool ] || rest+=("$p"); done
      [ ${#rest[@]} -eq 0 ] || apt-get install -y -qq --no-install-recommends "${rest[@]}" >/dev/null
      if ! have bpftool; then
        apt-get install -y -qq --no-install-recommends linux-tools-common "linux-tools-$(uname -r)" >/dev/null 2>&1 ||
          echo "xdp-lens setup: bpftool is not available from apt here; the kernel-parity tests will say so and skip" >&2
      fi
    fi
  else
    echo "xdp-lens setup: missing system packages: ${need_pkgs[*]}" >&2
    echo "  install them with: sudo apt-get install ${need_pkgs[*]}" >&2
    echo "  (the simulator still runs .o files without clang; compiling .c needs clang and libbpf-dev)" >&2
  fi
fi

if [ "$(id -u)" = 0 ] && [ -d /sys/fs/bpf ] && ! mountpoint -q /sys/fs/bpf; then
  mount -t bpf bpf /sys/fs/bpf 2>/dev/null || echo "xdp-lens setup: could not mount bpffs at /sys/fs/bpf" >&2
fi

# == End-to-end tests (test/e2e, a real VS Code) ==================================================================
# Debian's chromium, libkrb5-dev and ripgrep, and code-server 4.100.3 built into .cache/code-server/ (about two minutes
# the first time, nothing after). If this fails the e2e tests skip and say why, unless XDP_LENS_REQUIRE_E2E=1.
if ! bash scripts/setup-e2e.sh; then
  if [ "${XDP_LENS_REQUIRE_E2E:-}" = 1 ]; then exit 1; fi
  echo "xdp-lens setup: the end-to-end tests will skip (see above)" >&2
fi
# == end of the e2e block ===========================================================================================

if [ -f package-lock.json ]; then npm ci --no-audit --no-fund --loglevel=error; else npm install --no-audit --no-fund --loglevel=error; fi
npm run --silent build

echo
echo "== demo: examples/xdp_filter.c on examples/demo.pcap (blocklist seeded from examples/blocklist.json) =="
node dist/cli.js run examples/xdp_filter.c examples/demo.pcap --maps examples/blocklist.json
