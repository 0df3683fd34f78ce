/** A string and the iid a sequence gave it. */
export interface InternedEntry {
  iid: bigint;
  name: string;
}

/**
 * Assigns iids to strings of one kind on one sequence and remembers which
 * entries have not been emitted yet. Iids start at 1 because Perfetto treats
 * 0 as "not set".
 */
export class InternTable {
  private readonly iids = new Map<string, bigint>();
  private pending: InternedEntry[] = [];

  intern(name: string): bigint {
    const known = this.iids.get(name);
    if (known !== undefined) return known;

    const iid = BigInt(this.iids.size + 1);
    this.iids.set(name, iid);
    this.pending.push({ iid, name });
    return iid;
  }

  /** Returns the entries added since the last call and clears that list. */
  takePending(): InternedEntry[] {
    const entries = this.pending;
    this.pending = [];
    return entries;
  }

  clear(): void {
    this.iids.clear();
    this.pending = [];
  }
}
