// What the tests of the unseen-program rounds share: the headers their small programs start with, and how they name
// a finding's line and show findings in a failure.
import { spawnSync } from 'node:child_process';
import type { Finding } from '../../simulator/analysis/findings.ts';

export const NO_CLANG = spawnSync('clang', ['--version']).error ? 'clang not installed' : false;

export const HEAD = `#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/ip.h>
#include <bpf/bpf_helpers.h>
`;

/** The line of `HEAD + body` holding `marker`. */
export const lineOf = (body: string, marker: string) => HEAD.split('\n').length - 1 + body.split('\n').findIndex((l) => l.includes(marker)) + 1;
export const show = (fs: Finding[], withFile = false) => fs.map((f) => `${withFile ? `${f.file}:` : ''}${f.line} ${f.tier} ${f.rule}: ${f.message}`).join('\n');
export const got = (fs: Finding[]) => fs.map((f) => `${f.rule}@${f.line}`);
