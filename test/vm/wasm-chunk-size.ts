// Imported before wasm.test.ts by wasm-chunks.test.ts: chunks of at most 5 slots for every image made after it.
import { wasmChunkSlots } from '../../simulator/vm/compiled/wasm.ts';

wasmChunkSlots(5);
