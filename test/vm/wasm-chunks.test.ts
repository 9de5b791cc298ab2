// The WebAssembly tier's chunked form (simulator/vm/compiled/wasm.ts: a big image is cut into chunks of consecutive
// blocks, one function each, under a dispatcher): every test of wasm.test.ts again, with chunks of at most 5 slots, so
// nearly every jump, fall-through, call return, hand-over and fault crosses from one chunk's function to another's.
// Real images are cut at 1,024 slots; the programs here are small, so 5 makes them chunked.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { wasmChunkSlots, wasmChunkStats } from '../../simulator/vm/compiled/wasm.ts';
import './wasm-chunk-size.ts'; // first: the chunk size, then the tests
import './wasm.test.ts';

test('the programs above ran in the chunked form', () => {
  assert.equal(wasmChunkSlots(), 5);
  assert.ok(wasmChunkStats.chunked > 10, `chunked modules made: ${wasmChunkStats.chunked}`);
  assert.ok(wasmChunkStats.chunks > 3 * wasmChunkStats.chunked, `chunks: ${wasmChunkStats.chunks} in ${wasmChunkStats.chunked} modules`);
});
