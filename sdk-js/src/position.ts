import type { StreamPosition } from './types';

/**
 * Recovery bookkeeping of a stream: the position after the last publication
 * delivered. Exported for tests.
 */
export class Position {
  offset = 0;
  epoch: string | undefined;

  /** Takes the position of a subscribe reply. */
  reset(offset: number, epoch: string): void {
    this.offset = offset;
    this.epoch = epoch;
  }

  /**
   * Records a publication's offset. Returns false for one already delivered
   * (offset not above the current one), which the caller drops.
   */
  advance(offset: number | undefined): boolean {
    if (!offset) return true;
    if (this.epoch !== undefined && offset <= this.offset) return false;
    this.offset = offset;
    return true;
  }

  /** The fields of a subscribe command asking for what came after this position. */
  recover(): { recover: true; offset: number; epoch: string } | undefined {
    return this.epoch === undefined ? undefined : { recover: true, offset: this.offset, epoch: this.epoch };
  }

  get known(): StreamPosition | undefined {
    return this.epoch === undefined ? undefined : { offset: this.offset, epoch: this.epoch };
  }
}
