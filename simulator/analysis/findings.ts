// The shape every analysis tier reports in, and what the CLI (`xdp-lens check`) and the language server turn into
// their own formats. Positions are 1-based, like compiler messages; the LSP layer converts to 0-based.

/** Rule ids: the diagnostic `code` in the editor, the `rule` in `--format json`, the ruleId in SARIF. */
export const RULES = {
  'invalid-action': { severity: 'error', summary: 'return value that is not a valid XDP action' },
  'redirect-without-target': { severity: 'error', summary: 'XDP_REDIRECT returned without bpf_redirect/bpf_redirect_map on that path' },
  'ctx-write': { severity: 'error', summary: 'store into struct xdp_md, which is read-only' },
  'readonly-write': { severity: 'error', summary: 'store into .rodata/const data or a BPF_F_RDONLY_PROG map value' },
  'readonly-page-write': { severity: 'error', summary: 'store into packet memory, or XDP_TX/XDP_REDIRECT returned, while the driver hands out read-only pages' },
  'unchecked-packet-access': { severity: 'error', summary: 'packet access not proven inside data_end' },
  'stale-packet-pointer': { severity: 'error', summary: 'packet pointer used after a helper that invalidates packet pointers' },
  'tx-unmodified': { severity: 'warning', summary: 'XDP_TX of a frame the program did not change' },
  'map-value-null': { severity: 'error', summary: 'map lookup result used without a NULL check' },
  'pointer-misuse': { severity: 'error', summary: 'a pointer used as the verifier forbids: arithmetic other than add/sub, 32-bit, on a maybe-NULL or map pointer; a moved ctx pointer dereferenced; a ctx load that is not a whole xdp_md field; part of a spilled pointer read back; a stack access misaligned or outside the frame' },
  'stale-checksum': { severity: 'warning', summary: 'IPv4 header field (or TCP/UDP port) changed without updating the IPv4 (or TCP/UDP) checksum, on a path that sends the packet on' },
  'map-arg-size': { severity: 'warning', summary: 'a stack variable smaller than the map\'s key (or value) size given as a key (or an update\'s value): the helper reads past its end' },
  'compile-error': { severity: 'error', summary: 'clang could not compile the file' },
  verifier: { severity: 'error', summary: 'the kernel verifier refuses the program: predicted by the simulator\'s verifier model (as `run` predicts it), or, with the kernel tier, said by the kernel' },
} as const;

export type RuleId = keyof typeof RULES | (string & {});
export type Severity = 'error' | 'warning' | 'info';

export interface Range {
  line: number;
  column: number;
  endLine: number;
  endColumn: number;
}

/** A text edit for a quick fix (1-based, end exclusive). */
export interface FixEdit extends Range {
  newText: string;
}

export interface Fix {
  title: string;
  edits: FixEdit[];
  /**
   * The file the edits apply to, when it is not the finding's: a mistake in a helper of a header is reported on the
   * program's line that calls it, and its fix edits the header.
   */
  file?: string;
}

/** Another place that explains a finding (where the value came from, the first of many identical mistakes). */
export interface Related extends Range {
  file: string;
  message: string;
}

export interface Finding extends Range {
  file: string;
  severity: Severity;
  rule: RuleId;
  message: string;
  /** Which tier found it: 'source' (as you type), 'bytecode' (on save, on the compiled object), 'verifier' (kernel). */
  tier: 'source' | 'bytecode' | 'verifier';
  fixes?: Fix[];
  /** Places that explain it (LSP relatedInformation, SARIF relatedLocations). */
  related?: Related[];
  /** The XDP program (its function name) whose path it is on, when the tier knows: used to merge the tiers. */
  program?: string;
  /**
   * Bytecode findings about a returned value: true when the line is the `return` statement the path left through
   * (from the marked twin), false when it is only the line of the instruction that set the value. Source findings:
   * true for an XDP_TX/XDP_REDIRECT returned under read-only pages, false for a program that can fall off its end.
   */
  onReturn?: boolean;
  /**
   * Bytecode tx-unmodified on a path that goes on past a global function's result only because the verifier does
   * not tie that result to what the function did: left to the source tier where it ran (mergeFindings).
   */
  pastGlobal?: boolean;
}
