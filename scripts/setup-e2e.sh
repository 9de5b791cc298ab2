#!/usr/bin/env bash
# Sets up what the end-to-end tests (test/e2e, a real VS Code) need, and is cheap to run again:
#   - Debian packages: chromium (the window, driven by playwright-core), libkrb5-dev (code-server's kerberos module
#     builds against it), ripgrep (stands in for the rg binary @vscode/ripgrep would download), installed with apt-get
#     when missing and running as root; otherwise named with the command to run;
#   - code-server 4.100.3 (VS Code 1.100.3, the last release whose install accepts Node 20) from the npm registry into
#     .cache/code-server/4.100.3/ (git-ignored, outside the project's node_modules), native modules built here.
# A second run finds the stamp file and returns in well under a second.
# Env: XDP_LENS_CODE_SERVER_DIR overrides the install directory.
set -euo pipefail
cd "$(dirname "$0")/.."

CODE_SERVER_VERSION=4.100.3
# What code-server 4.100.3's lib/vscode/npm-shrinkwrap.json pins, and the release tag that version's
# lib/postinstall.js asks for: its download step looks for
# $TMPDIR/vscode-ripgrep-cache-<package version>/ripgrep-<tag>-<target>.tar.gz before going to the network.
RIPGREP_PACKAGE_VERSION=1.15.11
RIPGREP_TAG=v13.0.0-10
install_dir="${XDP_LENS_CODE_SERVER_DIR:-$PWD/.cache/code-server/$CODE_SERVER_VERSION}"
stamp="$install_dir/.installed"
entry="$install_dir/node_modules/code-server/out/node/entry.js"

have() { command -v "$1" >/dev/null 2>&1; }
say() { echo "xdp-lens setup-e2e: $*" >&2; }

need_pkgs=()
have chromium || need_pkgs+=(chromium)
have rg || need_pkgs+=(ripgrep)
[ -f /usr/include/gssapi/gssapi.h ] || [ -f /usr/include/krb5.h ] || need_pkgs+=(libkrb5-dev)
if [ ${#need_pkgs[@]} -gt 0 ]; then
  if [ "$(id -u)" = 0 ] && have apt-get; then
    say "installing ${need_pkgs[*]}"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq --no-install-recommends "${need_pkgs[@]}" >/dev/null
  else
    say "missing system packages: ${need_pkgs[*]}"
    say "  install them with: sudo apt-get install ${need_pkgs[*]}"
    exit 1
  fi
fi

if [ -f "$stamp" ] && [ -f "$entry" ] && [ "$(cat "$stamp")" = "$CODE_SERVER_VERSION" ]; then
  exit 0
fi

case "$(uname -m)" in
  x86_64) rg_target=x86_64-unknown-linux-musl ;;
  aarch64 | arm64) rg_target=aarch64-unknown-linux-musl ;;
  *) say "no known @vscode/ripgrep target for $(uname -m)"; exit 1 ;;
esac

started=$(date +%s)
say "installing code-server $CODE_SERVER_VERSION into $install_dir (one minute with a warm npm cache, two to three with an empty one)"
rm -rf "$install_dir"
mkdir -p "$install_dir"
# A private TMPDIR for the install: it holds the seeded ripgrep download cache and whatever node-gyp leaves behind.
tmp="$install_dir/.tmp"
rg_cache="$tmp/vscode-ripgrep-cache-$RIPGREP_PACKAGE_VERSION"
mkdir -p "$rg_cache" "$tmp/rg"
cp "$(command -v rg)" "$tmp/rg/rg"
tar czf "$rg_cache/ripgrep-$RIPGREP_TAG-$rg_target.tar.gz" -C "$tmp/rg" rg
echo '{ "name": "xdp-lens-code-server", "private": true }' >"$install_dir/package.json"

# npm_config_yes: node-pty's install runs npx, which would ask on a terminal and fail without one.
# unsafe_perm: code-server's postinstall refuses to run as root without it.
# build_from_source: node-pre-gyp/prebuild-install build the native modules here instead of trying a download.
log="$install_dir/install.log"
if ! (cd "$install_dir" && TMPDIR="$tmp" npm_config_yes=true npm_config_unsafe_perm=true \
  npm_config_build_from_source=true npm install --no-audit --no-fund --no-save \
  "code-server@$CODE_SERVER_VERSION" >"$log" 2>&1); then
  tail -40 "$log" >&2
  say "code-server install failed; the full log is $log"
  exit 1
fi
rg_bin="$install_dir/node_modules/code-server/lib/vscode/node_modules/@vscode/ripgrep/bin/rg"
if [ ! -x "$rg_bin" ] || [ ! -f "$entry" ]; then
  say "code-server installed without $rg_bin or $entry; see $log"
  exit 1
fi
rm -rf "$tmp"
echo "$CODE_SERVER_VERSION" >"$stamp"
say "code-server $CODE_SERVER_VERSION ready in $(($(date +%s) - started)) s"
