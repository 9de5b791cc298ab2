// RSS queue selection: the Toeplitz hash of the flow (source and destination address, then source and destination
// port for TCP/UDP/SCTP), as a NIC computes it. The low bits of the hash index the indirection table, whose default
// entries are spread round-robin over the queues. Frames without an IP header hash to 0 and land on queue 0.
import { flowOf } from '../net/dissect.ts';
import { toeplitzHash } from '../net/toeplitz.ts';

export function rssHash(frame: Uint8Array): number {
  const flow = flowOf(frame);
  if (!flow) return 0;
  const a = flow.src.length;
  const withPorts = flow.sport !== undefined && flow.dport !== undefined;
  const input = new Uint8Array(2 * a + (withPorts ? 4 : 0));
  input.set(flow.src, 0);
  input.set(flow.dst, a);
  if (withPorts) {
    input[2 * a] = flow.sport! >> 8;
    input[2 * a + 1] = flow.sport! & 0xff;
    input[2 * a + 2] = flow.dport! >> 8;
    input[2 * a + 3] = flow.dport! & 0xff;
  }
  return toeplitzHash(input);
}

/** Size of the RSS indirection table; the kernel's default fills entry i with queue i % queues. */
export const RSS_INDIRECTION_SIZE = 128;

/** The indirection-table index of a frame; the driver maps it to a queue modulo its queue count. */
export function rssQueueOf(frame: Uint8Array): number {
  return rssHash(frame) % RSS_INDIRECTION_SIZE;
}
