// Every packet of a capture file, frames copied, and the CaptureError that ended the reading if one did (opening
// included): what a reader hands out, for tests that compare it with tshark or with another way of reading.
import { openCapture, CaptureError, type CapturedPacket } from '../../simulator/net/capture.ts';

export function readAll(path: string): { packets: CapturedPacket[]; error?: CaptureError } {
  const packets: CapturedPacket[] = [];
  let r: ReturnType<typeof openCapture>;
  try {
    r = openCapture(path);
  } catch (e) {
    if (!(e instanceof CaptureError)) throw e;
    return { packets, error: e };
  }
  try {
    for (let p; (p = r.next()); ) packets.push({ ...p, frame: p.frame.slice() });
  } catch (e) {
    if (!(e instanceof CaptureError)) throw e;
    return { packets, error: e };
  } finally {
    r.close();
  }
  return { packets };
}
