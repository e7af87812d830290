/** Curl-P-81 on 32 lanes in plain JavaScript (one Int32 word per plane and trit): the portable fallback. */
import { type BitPlanes, HASH_LENGTH, type LaneCurl, READ_B, ROUNDS, STATE_LENGTH, lowestLane } from './lanes';

function planes(): BitPlanes {
  return { low: new Int32Array(STATE_LENGTH).fill(-1), high: new Int32Array(STATE_LENGTH).fill(-1) };
}

export class JsLaneCurl implements LaneCurl {
  readonly backend = 'js';
  readonly lanes = 32;
  readonly state = planes();
  /** The rounds alternate between `result` and `spare`; 81 is odd, so the last one writes `result`. */
  readonly result = planes();
  private readonly spare = planes();

  transform(): void {
    let from = this.state;
    let to = this.result;
    for (let round = 0; round < ROUNDS; round++) {
      const fl = from.low;
      const fh = from.high;
      const tl = to.low;
      const th = to.high;
      // Trit b of one step is trit a of the next: keeping it in locals saves two of four loads (about 30%).
      let aLow = fl[0];
      let aHigh = fh[0];
      for (let i = 0; i < STATE_LENGTH; i++) {
        const b = READ_B[i];
        const bLow = fl[b];
        const bHigh = fh[b];
        const delta = (aLow | ~bHigh) & (bLow ^ aHigh);
        tl[i] = ~delta;
        th[i] = (aLow ^ bHigh) | delta;
        aLow = bLow;
        aHigh = bHigh;
      }
      from = to;
      to = to === this.result ? this.spare : this.result;
    }
  }

  firstZeroLane(mwm: number): number {
    const { low, high } = this.result;
    let zero = -1;
    for (let i = HASH_LENGTH - mwm; i < HASH_LENGTH && zero !== 0; i++) zero &= low[i] & high[i];
    return zero === 0 ? -1 : lowestLane(0, zero);
  }
}
